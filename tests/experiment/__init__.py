"""Tests of loading experiments: the dataclass, both loaders, lineage."""
