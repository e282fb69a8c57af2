"""Checking generated configs with torchtune's own validator, in this process.

`tune validate` imports torch on every call (about 5 s each); here torchtune is imported once for
the whole sweep, lazily, so generating without validation never pays for it. Every config is
checked even when some fail, and the results are collected into one summary.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Iterable
from pathlib import Path

from ttwriter.errors import TorchtuneValidationError


@dataclasses.dataclass(frozen=True)
class RunValidation:
    run_id: str
    problems: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not self.problems


@dataclasses.dataclass(frozen=True)
class ValidationSummary:
    results: tuple[RunValidation, ...]

    @property
    def n_valid(self) -> int:
        return sum(r.ok for r in self.results)

    @property
    def n_total(self) -> int:
        return len(self.results)

    @property
    def ok(self) -> bool:
        return self.n_valid == self.n_total

    def summary_line(self) -> str:
        return f"{self.n_valid}/{self.n_total} configs valid"

    def report(self) -> str:
        """The text of validation_report.txt: one block per run, then the summary line."""
        lines = ["# torchtune config validation (what `tune validate` checks), one line per run", ""]
        for result in self.results:
            if result.ok:
                lines.append(f"{result.run_id}: OK")
            else:
                lines.append(f"{result.run_id}: FAILED")
                lines += [f"    {p}" for p in result.problems]
        lines += ["", self.summary_line()]
        return "\n".join(lines) + "\n"


def _import_torchtune_validate() -> tuple[Callable[..., None], Callable[..., object], type]:
    logging.getLogger("torchao").setLevel(logging.ERROR)
    try:
        from omegaconf import OmegaConf
        from torchtune.config import validate
        from torchtune.config._errors import ConfigError
    except Exception as exc:  # torchtune's import can fail in many ways (torch, torchao versions)
        raise TorchtuneValidationError(
            f"cannot import torchtune to validate the configs: {type(exc).__name__}: {exc}",
            fix="run 'make setup' (or pip install torchtune==0.6.1 'torchao>=0.13,<0.16'), "
            "or pass --no-validate",
        ) from None
    return validate, OmegaConf.load, ConfigError


def validate_configs(
    configs: Iterable[tuple[str, Path]],
    progress: Callable[[int], None] | None = None,
) -> ValidationSummary:
    """Validate each `(run_id, config path)`; never stops at the first failure."""
    validate, load, config_error = _import_torchtune_validate()
    results = []
    for done, (run_id, path) in enumerate(configs, start=1):
        problems: list[str] = []
        try:
            validate(load(path))
        except config_error as exc:
            problems = [str(e) for e in exc.errors]
        except Exception as exc:  # a component path that does not import, a bad interpolation
            problems = [f"{type(exc).__name__}: {exc}".strip()]
        results.append(RunValidation(run_id, tuple(" ".join(p.split()) for p in problems)))
        if progress:
            progress(done)
    return ValidationSummary(tuple(results))
