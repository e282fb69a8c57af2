"""Validating generated configs: everything `tune validate` checks, and what it misses.

A config that passes `tune validate` can still die on the cluster hours later, after waiting in
the queue, or worse, train fine while ignoring the value being swept. Each run is checked for:
torchtune's own validation; components at any depth (imports, unknown or misspelled arguments,
types against annotations; see component_checks); interpolations that do not resolve; keys the
recipe needs but the config lacks, and keys the experiment set that the recipe never reads (see
recipe_keys); local files that do not exist and packages that are not installed (see
environment_checks). Across runs:
output folders must be distinct and outside the checkpoint folder, and no two runs may be the
same config. Everything is collected and reported together.

torch and torchtune are imported here, lazily and once per sweep; generating without
validation never imports them.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import re
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from ttwriter.errors import TorchtuneValidationError, did_you_mean, join_key
from ttwriter.formats import counted
from ttwriter.registry import recipe_keys
from ttwriter.validation.components import UNRESOLVED, ComponentChecker, Finding
from ttwriter.validation.environment import EnvironmentChecker
from ttwriter.validation.startup.checks import startup_findings
from ttwriter.yaml_io import load_config_file

_INTERPOLATION_ROOT = re.compile(r"\$\{([A-Za-z_]\w*)")
_UNEXPECTED = re.compile(r"unexpected keyword argument '([^']+)'")
_COMPONENT = re.compile(r"component '([^']+)'")


@dataclasses.dataclass(frozen=True)
class ValidationContext:
    """What the checks need to know beyond the config files themselves."""

    recipe: str | None = None
    """Recipe name or path of a recipe .py; None skips the recipe checks (with a warning)."""
    set_keys: frozenset[str] = frozenset()
    """Top-level config keys the experiment set (controls, variables), for the never-read check."""
    strict: bool = False
    """Missing local data paths are errors instead of warnings."""


@dataclasses.dataclass(frozen=True)
class RunValidation:
    run_id: str
    findings: tuple[Finding, ...]

    @property
    def errors(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.severity == "error")

    @property
    def warnings(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.severity == "warning")

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def problems(self) -> tuple[str, ...]:
        """Errors as one line each: `key: message (fix)`."""
        return tuple(_line(f) for f in self.errors)


def _line(finding: Finding) -> str:
    text = f"{finding.key}: {finding.message}" if finding.key else finding.message
    return f"{text} ({finding.fix})" if finding.fix else text


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
    def n_warnings(self) -> int:
        return sum(len(r.warnings) for r in self.results)

    @property
    def ok(self) -> bool:
        return self.n_valid == self.n_total

    def summary_line(self) -> str:
        return f"{self.n_valid}/{self.n_total} configs valid"

    def grouped(self) -> list[tuple[Finding, list[str]]]:
        """Each distinct finding once, with the runs it occurs in (errors first)."""
        groups: dict[Finding, list[str]] = {}
        for result in self.results:
            for finding in result.findings:
                groups.setdefault(finding, []).append(result.run_id)
        return sorted(groups.items(), key=lambda item: item[0].severity != "error")

    def report(self) -> str:
        """The text of validation_report.txt: each run's findings, then the summary line."""
        lines = [
            "# ttwriter validation: torchtune's `tune validate` checks plus deeper ones",
            "# (components at any depth, types, interpolations, recipe keys, data paths, across runs)",
            "",
        ]
        for result in self.results:
            status = "OK" if result.ok else "FAILED"
            extra = f" ({counted(len(result.warnings), 'warning')})" if result.warnings else ""
            lines.append(f"{result.run_id}: {status}{extra}")
            for finding in result.errors + result.warnings:
                lines.append(f"    {finding.severity:<7} [{finding.check}] {finding.key}: {finding.message}")
                if finding.fix:
                    lines.append(f"            fix: {finding.fix}")
        lines += ["", counted(self.n_warnings, "warning"), self.summary_line()]
        return "\n".join(lines) + "\n"

    def as_json(self) -> dict[str, Any]:
        """The content of validation_report.json, for scripts."""
        return {
            "summary": {
                "runs": self.n_total,
                "valid": self.n_valid,
                "errors": sum(len(r.errors) for r in self.results),
                "warnings": self.n_warnings,
            },
            "runs": [
                {"id": r.run_id, "ok": r.ok, "findings": [f.as_dict() for f in r.findings]}
                for r in self.results
            ],
        }

    def report_json(self) -> str:
        return json.dumps(self.as_json(), indent=2) + "\n"


def _import_torchtune() -> tuple[Callable[..., None], Callable[..., Any], type[Exception], Any]:
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
    return validate, OmegaConf.load, ConfigError, OmegaConf


def _resolve(cfg: Any, omegaconf: Any) -> tuple[Any, list[Finding]]:
    """The config as plain data with interpolations resolved; unresolvable ones reported."""
    findings: list[Finding] = []

    def raw(node: Any, key: Any) -> str:
        try:
            return str(node._get_node(key)._value())
        except Exception:  # internal API moved: the message just shows less
            return "?"

    def walk(node: Any, path: str) -> Any:
        keys = list(node.keys()) if omegaconf.is_dict(node) else list(range(len(node)))
        out: dict[Any, Any] | list[Any] = {} if omegaconf.is_dict(node) else []
        for key in keys:
            here = join_key(path, key)
            try:
                value = node[key]
            except Exception as exc:
                text = raw(node, key)
                env = "oc.env" in text
                findings.append(
                    Finding(
                        "warning" if env else "error",
                        "interpolation",
                        here,
                        f"{text!r} does not resolve: {type(exc).__name__}: {str(exc).splitlines()[0]}",
                        "set the environment variable where the job runs, or give a default: ${oc.env:VAR,default}"
                        if env
                        else "point the interpolation at a key that exists, e.g. ${output_dir}",
                    )
                )
                value = UNRESOLVED
            if omegaconf.is_config(value):
                value = walk(value, here)
            if isinstance(out, dict):
                out[key] = value
            else:
                out.append(value)
        return out

    return walk(cfg, ""), findings


def _interpolation_roots(node: Any) -> set[str]:
    if isinstance(node, str):
        return set(_INTERPOLATION_ROOT.findall(node))
    if isinstance(node, dict):
        return set().union(set(), *(_interpolation_roots(v) for v in node.values()))
    if isinstance(node, list):
        return set().union(set(), *(_interpolation_roots(v) for v in node))
    return set()


def _recipe_findings(plain: dict[str, Any], raw: dict[str, Any], context: ValidationContext) -> list[Finding]:
    if context.recipe is None:
        return [
            Finding(
                "warning",
                "recipe",
                "",
                "no recipe is known for this config, so recipe checks were skipped",
                "set `recipe` in the experiment",
            )
        ]
    keys = recipe_keys(context.recipe)
    if keys is None:
        return [
            Finding(
                "warning",
                "recipe",
                "",
                f"cannot read the source of recipe {context.recipe!r}; recipe checks were skipped",
                "check the recipe name or path",
            )
        ]
    findings = []
    name = Path(context.recipe).name if context.recipe.endswith(".py") else context.recipe
    for key in sorted(keys.required - set(plain)):
        findings.append(
            Finding(
                "error",
                "recipe",
                key,
                f"recipe {name} reads cfg.{key} without a default, but the config has no {key!r}",
                f"add {key!r} (torchtune's own configs for {name} have it)",
            )
        )
    referenced = _interpolation_roots(raw)
    for key in sorted(context.set_keys - keys.reads - referenced - {"output_dir"}):
        hint = did_you_mean(key, keys.reads, capital=True)
        findings.append(
            Finding(
                "error",
                "recipe",
                key,
                f"the experiment sets {key!r}, but recipe {name} never reads it, so it would have no effect",
                hint or f"remove {key!r}, or use a recipe that reads it",
            )
        )
    return findings


def _torchtune_findings(
    cfg: Any, validate: Callable[..., None], config_error: type[Exception], mine: list[Finding]
) -> list[Finding]:
    try:
        validate(cfg)
    except config_error as exc:
        errors = list(getattr(exc, "errors", [exc]))
    except Exception as exc:  # tune validate itself crashes on components that do not import
        errors = [exc]
    else:
        return []
    covered = {f.key.rsplit(".", 1)[-1] for f in mine if f.severity == "error"}
    components = {m.group(1) for f in mine if (m := _COMPONENT.match(f.message))}
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
        findings.append(Finding("error", "torchtune", "", " ".join(text.split()), "see torchtune's message"))
    return findings


_SIMPLE_REF = re.compile(r"\$\{([A-Za-z_][\w]*(?:\.[A-Za-z_][\w]*)*)\}")


def _resolve_simple(raw: Any) -> Any:
    """Resolve `${a.b}` references without OmegaConf, or None when anything else is used.

    Generated configs mostly hold `${output_dir}`-style references; resolving them directly
    costs microseconds where building an OmegaConf object costs milliseconds per run. Anything
    beyond absolute key references (resolvers such as oc.env, relative or nested
    interpolations, references to references) returns None and goes through OmegaConf.
    """
    if not isinstance(raw, dict):
        return None

    def lookup(dotted: str) -> Any:
        node: Any = raw
        for key in dotted.split("."):
            if not isinstance(node, dict) or key not in node:
                raise KeyError(dotted)
            node = node[key]
        if isinstance(node, str) and "${" in node or isinstance(node, (dict, list)):
            raise KeyError(dotted)  # a chain or a container: leave it to OmegaConf
        return node

    def walk(node: Any) -> Any:
        if isinstance(node, dict):
            return {k: walk(v) for k, v in node.items()}
        if isinstance(node, list):
            return [walk(v) for v in node]
        if isinstance(node, str) and "${" in node:
            if _SIMPLE_REF.sub("", node).count("${"):
                raise KeyError(node)
            whole = _SIMPLE_REF.fullmatch(node)
            if whole:
                return lookup(whole.group(1))
            return _SIMPLE_REF.sub(lambda m: str(lookup(m.group(1))), node)
        return node

    try:
        return walk(raw)
    except KeyError:
        return None


def _torchtune_by_node(
    plain: dict[str, Any],
    validate: Callable[..., None],
    config_error: type[Exception],
    omegaconf: Any,
    mine: list[Finding],
    cache: dict[tuple[str, str], list[Finding]],
) -> list[Finding]:
    """torchtune's `validate` on each top-level component node, once per distinct node.

    `validate` looks at top-level `_component_` nodes one at a time, so checking each distinct
    (already resolved) node on its own is the same check, and a sweep pays once for what its
    runs share.
    """
    findings: list[Finding] = []
    for key, node in plain.items():
        if not (isinstance(node, dict) and "_component_" in node):
            continue
        cache_key = (key, repr(node))
        if "<unresolved>" in cache_key[1]:
            continue  # an interpolation inside it did not resolve; that is reported at its key
        if cache_key not in cache:
            cache[cache_key] = _torchtune_findings(
                omegaconf.create({key: node}), validate, config_error, mine
            )
        findings += cache[cache_key]
    return findings


def _config_hash(raw: dict[str, Any]) -> str:
    same = {k: v for k, v in raw.items() if k != "output_dir"}
    return hashlib.sha256(json.dumps(same, sort_keys=True, default=str).encode()).hexdigest()


def validate_configs(
    configs: Iterable[tuple[str, Path]],
    context: ValidationContext | None = None,
    progress: Callable[[int], None] | None = None,
) -> ValidationSummary:
    """Validate each `(run_id, config path)`; never stops at the first failure."""
    context = context or ValidationContext()
    validate, _, config_error, omegaconf = _import_torchtune()
    components = ComponentChecker()
    environment = EnvironmentChecker(components, context.strict)
    findings: dict[str, list[Finding]] = {}
    output_dirs: dict[str, list[str]] = {}
    hashes: dict[str, list[str]] = {}
    torchtune_cache: dict[tuple[str, str], list[Finding]] = {}
    for done, (run_id, path) in enumerate(configs, start=1):
        raw = load_config_file(path)
        plain = _resolve_simple(raw)
        if plain is None:  # resolvers, relative or nested interpolations: let OmegaConf do it
            cfg = omegaconf.create(raw)
            plain, run_findings = _resolve(cfg, omegaconf)
        else:
            run_findings = []
        run_findings += components.check(plain)
        run_findings += _torchtune_by_node(
            plain, validate, config_error, omegaconf, run_findings, torchtune_cache
        )
        run_findings += _recipe_findings(plain, raw, context)
        run_findings += startup_findings(plain, context.recipe)
        run_findings += environment.check(plain)
        output_dir = plain.get("output_dir")
        if isinstance(output_dir, str):
            output_dirs.setdefault(str(Path(output_dir).resolve()), []).append(run_id)
            checkpoint_dir = (
                (plain.get("checkpointer") or {}).get("checkpoint_dir")
                if isinstance(plain.get("checkpointer"), dict)
                else None
            )
            if isinstance(checkpoint_dir, str) and Path(output_dir).resolve().is_relative_to(
                Path(checkpoint_dir).resolve()
            ):
                run_findings.append(
                    Finding(
                        "error",
                        "sweep",
                        "output_dir",
                        f"output_dir {output_dir!r} is inside checkpointer.checkpoint_dir {checkpoint_dir!r}: "
                        "saving would write into the checkpoint being loaded",
                        "put output_dir outside the checkpoint folder",
                    )
                )
        hashes.setdefault(_config_hash(raw), []).append(run_id)
        findings[run_id] = run_findings
        if progress:
            progress(done)
    for folder, runs in output_dirs.items():
        if len(runs) > 1:
            for run_id in runs:
                findings[run_id].append(
                    Finding(
                        "error",
                        "sweep",
                        "output_dir",
                        f"runs {', '.join(runs)} all write to {folder}: checkpoints would overwrite each other",
                        "leave output_dir to ttwriter, or put {run_id} in it",
                    )
                )
    for runs in hashes.values():
        if len(runs) > 1:
            for run_id in runs:
                findings[run_id].append(
                    Finding(
                        "error",
                        "sweep",
                        "",
                        f"runs {', '.join(runs)} have identical configs: the sweep would train the same thing twice",
                        "check that every variable really changes the config (a key the recipe ignores, or duplicate values)",
                    )
                )
    return ValidationSummary(tuple(RunValidation(run_id, tuple(f)) for run_id, f in findings.items()))
