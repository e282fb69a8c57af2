"""Validating generated configs: everything `tune validate` checks, and what it misses.

A config that passes `tune validate` can still die on the cluster hours later, after waiting in
the queue, or worse, train fine while ignoring the value being swept. Each run is checked for:
interpolations that do not resolve (validation.interpolation); components at any depth (imports,
unknown or misspelled arguments, types against annotations: validation.components); torchtune's
own validation (validation.tune_validate); keys the recipe needs but the config lacks, and keys
the experiment set that the recipe never reads (validation.recipe; when a written folder is
validated again, also the keys typed into its configs by hand); constraints torchtune only
checks when a run starts (validation.startup); local files that do not exist and packages that
are not installed (validation.environment). Across runs (validation.cross_run): output folders
must be distinct and outside the checkpoint folder, and no two runs may be the same config.
Everything is collected and reported together (validation.report).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from ttwriter.validation.base_keys import BaseKeys
from ttwriter.validation.components import ComponentChecker, walking_once
from ttwriter.validation.cross_run import CrossRunChecks
from ttwriter.validation.environment import EnvironmentChecker
from ttwriter.validation.interpolation import resolve, resolve_simple
from ttwriter.validation.logger import LoggerChecker
from ttwriter.validation.recipe import hand_key_findings, recipe_findings
from ttwriter.validation.report import Finding, RunValidation, ValidationSummary
from ttwriter.validation.startup.checks import startup_findings
from ttwriter.validation.tune_validate import TuneValidate
from ttwriter.yaml_io import load_config_file


@dataclasses.dataclass(frozen=True)
class ValidationContext:
    """What the checks need to know beyond the config files themselves."""

    recipe: str | None = None
    """Recipe name or path of a recipe .py; None skips the recipe checks (with a warning)."""
    set_keys: frozenset[str] = frozenset()
    """Top-level config keys the experiment set (controls, variables), for the never-read check."""
    strict: bool = False
    """Missing local data paths are errors instead of warnings."""
    derived: Mapping[str, str] = dataclasses.field(default_factory=dict)
    """Top-level config key -> the experiment's derived expression (`lora_rank / 4`), so that the
    fix of a float where the recipe wants an integer can say how to compute one."""
    use_table: bool = True
    """Look components up in the shipped component table (False: import every one, as a check
    of the table does)."""
    written: BaseKeys | None = None
    """Validating a written folder again (validation.gate): its base config's top-level keys, so
    that a key typed into a config by hand is checked as if the experiment had set it. None at
    generation, where every key is the base config's or the experiment's."""


def validate_configs(
    configs: Iterable[tuple[str, Path] | tuple[str, Path | None, dict[str, Any]]],
    context: ValidationContext | None = None,
    progress: Callable[[int], None] | None = None,
) -> ValidationSummary:
    """Validate each `(run_id, config path)`; never stops at the first failure.

    `(run_id, path, config)` gives the config as it was just written, so the file is not parsed
    back (parsing is most of the time of a large sweep). The first such config is compared with
    its file read back; if they differ, every file is read instead. A path of None is a config
    not written at all (a dry run): the config given is the one checked.
    """
    context = context or ValidationContext()
    components = ComponentChecker(context.use_table)
    tune = TuneValidate(components)
    environment = EnvironmentChecker(components, context.strict)
    across = CrossRunChecks()
    loggers = LoggerChecker()
    findings: dict[str, list[Finding]] = {}
    shared: dict[Finding, Finding] = {}
    trusted: bool | None = None
    for done, (run_id, path, *written) in enumerate(configs, start=1):
        if written and trusted is None:
            trusted = path is None or load_config_file(path) == written[0]
        if written and (trusted or path is None):
            raw = written[0]
        else:
            assert path is not None  # a config without a file comes with its content
            raw = load_config_file(path)
        plain = resolve_simple(raw)
        if plain is None:  # resolvers, relative or nested interpolations: let OmegaConf do it
            from omegaconf import OmegaConf

            plain, run_findings = resolve(OmegaConf.create(raw), OmegaConf)
        else:
            run_findings = []
        with walking_once(plain):
            run_findings += components.check(plain)
            run_findings += tune.findings(plain, run_findings)
            run_findings += recipe_findings(plain, raw, context.recipe, context.set_keys)
            if context.written is not None and path is not None:
                run_findings += hand_key_findings(
                    raw, context.recipe, context.set_keys, context.written, path
                )
            run_findings += startup_findings(plain, context.recipe, context.derived)
            run_findings += environment.check(plain)
            run_findings += loggers.check(plain)
        run_findings += across.add(run_id, plain, raw)
        # Runs share their findings' objects (most are the same in every run): memory stays flat.
        findings[run_id] = [shared.setdefault(f, f) for f in run_findings]
        if progress:
            progress(done)
    for run_id, extra in across.findings().items():
        findings[run_id] += extra
    return ValidationSummary(tuple(RunValidation(run_id, tuple(f)) for run_id, f in findings.items()))
