"""torchtune's own `tune validate`, run on each distinct top-level component node of a sweep.

torch and torchtune are imported here, lazily and once per sweep: generating without validation
never imports them. torchtune's findings that another check already reported (with its key path
and a suggestion) are left out, so each problem is reported once.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import Any

from ttwriter.errors import TorchtuneValidationError
from ttwriter.validation.interpolation import contains_unresolved
from ttwriter.validation.report import ERROR, Finding

_UNEXPECTED = re.compile(r"unexpected keyword argument '([^']+)'")
"""How torchtune says an argument is not the component's (its message, not ours)."""


class TuneValidate:
    """`torchtune.config.validate`, imported once; one instance per sweep (results cached)."""

    def __init__(self) -> None:
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
        self.omegaconf: Any = OmegaConf
        self._validate: Callable[..., None] = validate
        self._config_error: type[Exception] = ConfigError
        self._cache: dict[tuple[str, str], list[Finding]] = {}

    def findings(self, plain: dict[str, Any], mine: list[Finding]) -> list[Finding]:
        """torchtune's validation of each top-level component node, once per distinct node.

        `validate` looks at top-level `_component_` nodes one at a time, so checking each
        distinct (already resolved) node on its own is the same check, and a sweep pays once
        for what its runs share. `mine` are the run's findings so far.
        """
        findings: list[Finding] = []
        for key, node in plain.items():
            if not (isinstance(node, dict) and "_component_" in node):
                continue
            if contains_unresolved(node):
                continue  # an interpolation inside it did not resolve; that is reported at its key
            cache_key = (key, repr(node))
            if cache_key not in self._cache:
                self._cache[cache_key] = self._node_findings(self.omegaconf.create({key: node}), mine)
            findings += self._cache[cache_key]
        return findings

    def _node_findings(self, cfg: Any, mine: list[Finding]) -> list[Finding]:
        try:
            self._validate(cfg)
        except self._config_error as exc:
            errors = list(getattr(exc, "errors", [exc]))
        except Exception as exc:  # tune validate itself crashes on components that do not import
            errors = [exc]
        else:
            return []
        covered = {f.key.rsplit(".", 1)[-1] for f in mine if f.severity == ERROR}
        components = {f.component for f in mine if f.component}
        findings = []
        for error in errors:
            text = f"{type(error).__name__}: {error}"
            match = _UNEXPECTED.search(text)
            if match and match.group(1) in covered:
                continue  # already reported with its key path and a suggestion
            if any(f"'{c}'" in text for c in components):
                continue  # a component that cannot be imported here: already reported, with its severity
            if any(f.check == "interpolation" and f"full_key: {f.key}" in text for f in mine):
                continue  # torchtune stumbled on an interpolation that is already reported at its key
            findings.append(
                Finding(ERROR, "torchtune", "", " ".join(text.split()), "see torchtune's message")
            )
        return findings
