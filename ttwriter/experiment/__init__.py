"""What the researcher wrote, and where: the `Experiment` dataclass, its loaders and lineage."""
