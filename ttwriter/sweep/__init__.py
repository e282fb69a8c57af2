"""From an experiment to per-run config dicts: key resolution, merging, placeholders and the plan (pure: writes nothing)."""
