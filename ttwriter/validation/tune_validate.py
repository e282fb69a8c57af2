"""torchtune's own `tune validate`, run on each distinct top-level component node of a sweep.

`torchtune.config.validate` binds each top-level node's arguments to its component's signature
(all of them; a component that needs other objects, such as an optimizer's params, partially).
That is done here line for line on the component's description (validation.signature), from the
component table or the imported component, so validating never imports torch or torchtune for
the components the table covers. torchtune itself is imported only for a `_component_` that is
not a dotted string (its own error is then the message). torchtune's findings that another check
already reported (with its key path and a suggestion) are left out, so each problem is reported
once.
"""

from __future__ import annotations

import importlib.util
import logging
import re
from typing import Any

from ttwriter.errors import TorchtuneValidationError
from ttwriter.validation.components import ComponentChecker
from ttwriter.validation.interpolation import contains_unresolved
from ttwriter.validation.report import ERROR, Finding

_UNEXPECTED = re.compile(r"unexpected keyword argument '([^']+)'")
"""How torchtune says an argument is not the component's (its message, not ours)."""
_MISSING = "missing a required argument"
"""torchtune's validate then binds partially: an optimizer's `params` come from the recipe."""


def require_torchtune() -> None:
    """Raise `TorchtuneValidationError` when torchtune is not installed (found, not imported)."""
    try:
        found = importlib.util.find_spec("torchtune") is not None
    except (ImportError, ValueError):
        found = False
    if not found:
        raise TorchtuneValidationError(
            "cannot import torchtune to validate the configs: ModuleNotFoundError: No module named 'torchtune'",
            fix="run 'make setup' (or pip install torchtune==0.6.1 'torchao>=0.13,<0.16'), "
            "or pass --no-validate",
        )


class TuneValidate:
    """`torchtune.config.validate` on component descriptions; one instance per sweep (torchtune's
    errors cached per component and argument names, which are all binding looks at)."""

    def __init__(self, components: ComponentChecker) -> None:
        require_torchtune()
        self._components = components
        self._cache: dict[tuple[str, str, tuple[Any, ...]], list[str]] = {}
        self._torchtune: tuple[Any, Any, type[Exception]] | None = None

    def findings(self, plain: dict[str, Any], mine: list[Finding]) -> list[Finding]:
        """torchtune's validation of each top-level component node; `mine` are the run's
        findings so far.

        `validate` looks at top-level `_component_` nodes one at a time, so checking each node
        on its own is the same check."""
        findings: list[Finding] = []
        for key, node in plain.items():
            if not (isinstance(node, dict) and "_component_" in node):
                continue
            if contains_unresolved(node):
                continue  # an interpolation inside it did not resolve; that is reported at its key
            dotted = node["_component_"]
            if isinstance(dotted, str):
                cache_key = (key, dotted, tuple(node))
                if cache_key not in self._cache:
                    self._cache[cache_key] = self._errors(key, dotted, node)
                errors = self._cache[cache_key]
            else:
                errors = self._torchtune_errors(key, node)
            findings += _reported(errors, mine)
        return findings

    def _errors(self, key: str, dotted: str, node: dict[str, Any]) -> list[str]:
        """What `torchtune.config.validate` raises for one node, as `Type: message` texts."""
        if dotted == "":
            return ["ValueError: Empty path"]
        if not all(dotted.split(".")):
            return [
                f"ValueError: Error loading '{dotted}': invalid dotstring.\nRelative imports are not supported."
            ]
        located = self._components.locate(dotted)
        if located.info is None:
            # torchtune's InstantiationError names the path; the component check reported it
            return [f"InstantiationError: Error loading '{dotted}'"]
        info = located.info
        if info.params is None:  # no signature: torchtune's own words for it
            return self._torchtune_errors(key, node)
        kwargs = {k: v for k, v in node.items() if k != "_component_"}
        try:
            info.signature.bind(**kwargs)
        except TypeError as exc:
            if _MISSING not in str(exc):
                if info.name is None:  # a functools.partial: torchtune's message fails on __name__
                    return self._torchtune_errors(key, node)
                return [f"TypeError: {info.name} {exc}"]
            try:
                info.signature.bind_partial(**kwargs)
            except TypeError as partial:  # escapes torchtune's validate as it is
                return [f"TypeError: {partial}"]
        return []

    def _torchtune_errors(self, key: str, node: dict[str, Any]) -> list[str]:
        """torchtune's validate itself, imported on first use."""
        if self._torchtune is None:
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
            self._torchtune = (OmegaConf, validate, ConfigError)
        omegaconf, validate, config_error = self._torchtune
        try:
            validate(omegaconf.create({key: node}))
        except config_error as exc:
            errors = list(getattr(exc, "errors", [exc]))
        except Exception as exc:  # tune validate itself crashes on components that do not import
            errors = [exc]
        else:
            return []
        return [f"{type(error).__name__}: {error}" for error in errors]


def _reported(errors: list[str], mine: list[Finding]) -> list[Finding]:
    """torchtune's errors that no other check of the run reported already."""
    if not errors:
        return []
    covered = {f.key.rsplit(".", 1)[-1] for f in mine if f.severity == ERROR}
    components = {f.component for f in mine if f.component}
    findings = []
    for text in errors:
        match = _UNEXPECTED.search(text)
        if match and match.group(1) in covered:
            continue  # already reported with its key path and a suggestion
        if any(f"'{c}'" in text for c in components):
            continue  # a component that cannot be imported here: already reported, with its severity
        if any(f.check == "interpolation" and f"full_key: {f.key}" in text for f in mine):
            continue  # torchtune stumbled on an interpolation that is already reported at its key
        findings.append(Finding(ERROR, "torchtune", "", " ".join(text.split()), "see torchtune's message"))
    return findings
