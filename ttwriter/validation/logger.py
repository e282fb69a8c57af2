"""The run's metric logger, argument by argument, against the logger and the client it feeds.

torchtune's `WandBLogger` takes `**kwargs` and hands them to `wandb.init`, so a misspelled or
invented argument (`experiment_name: x`) passes the component check and kills the run at start
with `TypeError: init() got an unexpected keyword argument`. Here those arguments are checked
against `wandb.init`'s own parameters (with "did you mean"); loggers whose `**kwargs` go nowhere
(DiskLogger, TensorBoardLogger) get a warning that the value is ignored. ttwriter's TeeLogger is
looked into: its `tracker` node is checked the same way, and its package must be installed.
One hook in validation.validate; everything about loggers lives here.
"""

from __future__ import annotations

import importlib
import inspect
from typing import Any

from ttwriter.errors import close_matches, join_key, suggestion
from ttwriter.tracking.check import installed
from ttwriter.tracking.node import DISK_LOGGER, LOGGERS, METRIC_LOGGER, PACKAGES, TEE_LOGGER, TRACKER
from ttwriter.validation.report import ERROR, WARNING, Finding

_WANDB = LOGGERS["wandb"]
_IGNORES_KWARGS = {DISK_LOGGER: ("log_dir", "filename"), LOGGERS["tensorboard"]: ("log_dir", "organize_logs")}
"""Loggers that accept any argument and use only these."""
_WANDB_OWN = ("project", "entity", "group", "log_dir")
"""WandBLogger's own parameters; every other argument goes to wandb.init."""
_INSTALL = "pip install 'ttwriter[tracking]'"


class LoggerChecker:
    """Checks `metric_logger` of each run; client signatures are looked up once per sweep."""

    def __init__(self) -> None:
        self._clients: dict[str, tuple[str, ...] | None] = {}
        self._cache: dict[str, list[Finding]] = {}

    def check(self, plain: dict[str, Any]) -> list[Finding]:
        node = plain.get(METRIC_LOGGER)
        if not isinstance(node, dict):
            return []
        key = repr(node)
        if key not in self._cache:
            self._cache[key] = self._node(METRIC_LOGGER, node)
        return self._cache[key]

    def _node(self, path: str, node: dict[str, Any]) -> list[Finding]:
        dotted = node.get("_component_")
        if dotted == TEE_LOGGER:
            child = node.get(TRACKER)
            if not isinstance(child, dict) or not isinstance(child.get("_component_"), str):
                return [
                    Finding(
                        ERROR,
                        "component",
                        join_key(path, TRACKER),
                        "TeeLogger needs a tracker node with a _component_",
                        "set tracking.backend in the experiment instead of writing this node by hand",
                    )
                ]
            return self._package(join_key(path, TRACKER), child["_component_"]) + self._node(
                join_key(path, TRACKER), child
            )
        if dotted == _WANDB:
            return self._wandb(path, node)
        if dotted in _IGNORES_KWARGS:
            used = _IGNORES_KWARGS[dotted]
            short = dotted.rsplit(".", 1)[-1]
            return [
                Finding(
                    WARNING,
                    "component",
                    join_key(path, arg),
                    f"{short} accepts {arg!r} and ignores it: it uses only {', '.join(used)}",
                    suggestion(close_matches(arg, used, n=1)) or f"remove {arg}",
                )
                for arg in node
                if arg != "_component_" and arg not in used
            ]
        return []

    def _package(self, path: str, dotted: str) -> list[Finding]:
        backend = next((b for b, logger in LOGGERS.items() if logger == dotted), None)
        if backend is None or installed(PACKAGES[backend]):
            return []
        return [
            Finding(
                ERROR,
                "package",
                join_key(path, "_component_"),
                f"{dotted.rsplit('.', 1)[-1]} needs {PACKAGES[backend]}, which is not installed here: "
                "the run would die at start-up",
                f"{_INSTALL} where the runs train (and here, so validation sees it)",
            )
        ]

    def _wandb(self, path: str, node: dict[str, Any]) -> list[Finding]:
        accepted = self._client("wandb", "init")
        if accepted is None:
            return []  # wandb is not installed: the package check says so
        findings = []
        for arg in node:
            if arg == "_component_" or arg in _WANDB_OWN or arg in accepted:
                continue
            if close_matches(arg, _WANDB_OWN, n=1, cutoff=0.75):
                continue  # a misspelled WandBLogger parameter: the component check says so
            close = close_matches(arg, (*_WANDB_OWN, *accepted), n=1)
            findings.append(
                Finding(
                    ERROR,
                    "component",
                    join_key(path, arg),
                    f"WandBLogger passes {arg!r} to wandb.init, which has no such parameter: the run "
                    "would die at start with a TypeError",
                    suggestion(close) or "wandb.init takes: " + ", ".join(accepted),
                )
            )
        return findings

    def _client(self, module: str, function: str) -> tuple[str, ...] | None:
        """The keyword parameters of `module.function`, or None when the module is not installed."""
        dotted = f"{module}.{function}"
        if dotted not in self._clients:
            if not installed(module):
                self._clients[dotted] = None
            else:
                target = getattr(importlib.import_module(module), function)
                params = inspect.signature(target).parameters.values()
                self._clients[dotted] = tuple(
                    p.name for p in params if p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD)
                )
        return self._clients[dotted]
