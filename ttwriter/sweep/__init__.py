"""From an experiment to per-run config dicts: the base config, key resolution, merging, smoke variants and the plan (pure: writes nothing)."""
