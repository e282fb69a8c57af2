"""Tools for a family of Python experiments: compare two experiments, read a family as a tree, write the next file."""
