"""Experiment trackers (W&B, MLflow, TensorBoard) behind `Experiment.tracking`.

node: the `metric_logger` node each run's config gets (pure data, no torch); logger: the logger
component that node names, which torchtune instantiates when a run starts; check: what generation
checks about logger nodes (the backend's package, every argument against the logger and its
client).
"""
