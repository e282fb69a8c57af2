"""Replicates: the derived-alpha sweep run over 3 seeds, for the mean and spread of each rank."""

from dataclasses import replace

from derived_alpha_03_01 import experiment as parent

experiment = replace(
    parent,
    name="derived_alpha_replicates",
    controls={**parent.controls, "seed": 100},
    replicates=3,
    question="Is the effect of rank larger than the noise between seeds?",
    hypothesis="The rank effect exceeds one standard deviation across seeds.",
)
