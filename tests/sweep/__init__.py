"""Tests of planning a sweep: base configs, keys, merging, the plan, smoke variants."""
