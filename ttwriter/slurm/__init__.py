"""Running a written folder on SLURM: the job-array script, which runs to start, submission and status."""
