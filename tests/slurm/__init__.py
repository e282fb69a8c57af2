"""Tests of SLURM: the job script, submission and status, and real clusters."""
