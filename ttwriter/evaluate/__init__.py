"""Evaluating a sweep's checkpoints: the harness commands, the checks before anything starts, the eval job and its scores."""
