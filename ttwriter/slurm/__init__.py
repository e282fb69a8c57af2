"""Running a written folder on SLURM: the job-array script, submission and status."""
