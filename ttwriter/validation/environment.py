"""What a run needs from the machine it starts on: the files its config names, and the packages
its components import when they are built.

These are the checks a config cannot pass or fail on its own. A local path that does not exist
here is a warning (the cluster may have it; an error with --strict): the dataset's data files, every
file argument of the tokenizer builder (Qwen2.5 needs `merges_file` as well as `path`, Llama 3 may
take `special_tokens_path`; found from the builder's parameters, not a list kept here), the
checkpoint folder and files. `data_files` on a dataset whose source is a Hugging Face hub dataset
is a warning: `load_dataset` then looks for those files inside the hub dataset, which is rarely
what was meant. A metric logger whose package is not installed is an error: the logger is built
before training starts, so the run dies at start-up (torchtune imports wandb, mlflow, comet_ml and
torch.utils.tensorboard inside the loggers' `__init__`).
"""

from __future__ import annotations

import ast
import functools
import importlib.util
import re
from pathlib import Path
from typing import Any

from ttwriter.errors import join_key
from ttwriter.validation.code_imports import code_imports, find_spec
from ttwriter.validation.components import ComponentChecker, component_nodes
from ttwriter.validation.report import ERROR, WARNING, Finding
from ttwriter.validation.signature import EMPTY, Annotation

_PATH_PARAMETER = re.compile(r"(?:^|_)(?:path|file|dir)s?$")
"""Parameter names of files: path, merges_file, vocab_path, special_tokens_path, tokenizer_json_path."""
_BUILDERS_FALLBACK = ("json", "csv", "text", "parquet", "arrow", "pandas", "webdataset", "xml")
_FORMATS = {
    ".json": "json",
    ".jsonl": "json",
    ".csv": "csv",
    ".tsv": "csv",
    ".parquet": "parquet",
    ".txt": "text",
}
_LOCAL_FALLBACK_LOGGER = "torchtune.training.metric_logging.DiskLogger"


def _paths(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [v for v in value if isinstance(v, str)]
    return []


def _is_local(path: str) -> bool:
    return bool(path) and "://" not in path and "${" not in path


def _path_like(name: str, annotation: Annotation) -> bool:
    """A parameter that names a file: by its name, and by an annotation (if any, as written in
    the signature) that takes a str."""
    if not _PATH_PARAMETER.search(name):
        return False
    if annotation.kind in ("empty", "text"):
        return True
    options = annotation.args if annotation.kind in ("union", "literal", "generic") else (annotation,)
    return any(
        isinstance(a, Annotation) and a.kind == "class" and (a.name == "builtins.str" or a.path)
        for a in options
    )


@functools.lru_cache(maxsize=1)
def packaged_builders() -> frozenset[str]:
    """`load_dataset` builder names (json, csv, parquet, ...), as the installed datasets has them:
    the keys of `datasets.packaged_modules._PACKAGED_DATASETS_MODULES`, read from its source
    (importing datasets costs a second and pulls in pyarrow and pandas)."""
    try:
        spec = find_spec("datasets.packaged_modules")
        tree = ast.parse(Path(spec.origin).read_bytes()) if spec is not None and spec.origin else None
    except (ImportError, ValueError, OSError, SyntaxError):
        tree = None
    for node in tree.body if tree is not None else ():
        if (
            isinstance(node, ast.Assign)
            and any(isinstance(t, ast.Name) and t.id == "_PACKAGED_DATASETS_MODULES" for t in node.targets)
            and isinstance(node.value, ast.Dict)
        ):
            keys = [k.value for k in node.value.keys if isinstance(k, ast.Constant)]
            if keys and all(isinstance(k, str) for k in keys):
                return frozenset(str(k) for k in keys)
    try:
        from datasets.packaged_modules import _PACKAGED_DATASETS_MODULES

        return frozenset(_PACKAGED_DATASETS_MODULES)
    except Exception:  # datasets moved it: the formats torchtune's docs name
        return frozenset(_BUILDERS_FALLBACK)


def _is_hub_dataset(source: str) -> bool:
    if source.startswith((".", "/", "~")) or "${" in source:
        return False
    return source not in packaged_builders() and not Path(source).expanduser().exists()


def _missing_package(module: str) -> str | None:
    """The package that importing `module` would miss here, looking one module deep
    (torch.utils.tensorboard is part of torch, but imports `tensorboard` first thing)."""
    top = module.split(".")[0]
    try:
        if importlib.util.find_spec(top) is None:
            return top
        spec = find_spec(module)
    except (ImportError, ValueError):
        return top
    if spec is None:
        return module
    if not (spec.origin and spec.origin.endswith(".py")):
        return None
    try:
        imports = code_imports(Path(spec.origin).read_text(encoding="utf-8"), deep=False)
    except (OSError, SyntaxError, UnicodeDecodeError):
        return None
    for name in imports:
        first = name.split(".")[0]
        if first != top and importlib.util.find_spec(first) is None:
            return first
    return None


class EnvironmentChecker:
    """Checks one run's config against this machine; one instance per sweep (results cached)."""

    def __init__(self, components: ComponentChecker, strict: bool) -> None:
        self._components = components
        self._strict = strict
        self._path_parameters: dict[str, tuple[str, ...] | None] = {}
        self._logger_findings: dict[str, list[Finding]] = {}
        self._sources: dict[str, str | None] = {}
        self._found: dict[str, bool] = {}

    def _exists(self, path: str) -> bool:
        """Whether a local path exists, asked once per sweep (the same files in every run)."""
        if path not in self._found:
            if len(self._found) >= 256:
                self._found.clear()
            self._found[path] = Path(path).exists()
        return self._found[path]

    def _hub(self, source: str) -> bool:
        key = f"hub:{source}"
        if key not in self._found:
            self._found[key] = _is_hub_dataset(source)
        return self._found[key]

    def check(self, plain: dict[str, Any]) -> list[Finding]:
        return self._data_findings(plain) + self._logger(plain.get("metric_logger"))

    def _file_parameters(self, dotted: Any) -> tuple[str, ...] | None:
        """The file parameters of a builder, or None when it cannot be inspected here."""
        if not isinstance(dotted, str):
            return None
        if dotted not in self._path_parameters:
            info = self._components.resolve(dotted)
            self._path_parameters[dotted] = (
                tuple(p.name for p in info.params if _path_like(p.name, p.raw))
                if info is not None and info.params is not None
                else None
            )
        return self._path_parameters[dotted]

    def _tokenizer_files(self, tokenizer: Any) -> list[tuple[str, str, str]]:
        if not isinstance(tokenizer, dict):
            return []
        names = self._file_parameters(tokenizer.get("_component_"))
        if names is None:  # the builder cannot be inspected here: judge by the names alone
            names = tuple(k for k in tokenizer if _path_like(k, EMPTY))
        return [
            (join_key("tokenizer", name), file, "tokenizer file")
            for name in names
            for file in _paths(tokenizer.get(name))
        ]

    def _source(self, node: dict[str, Any]) -> tuple[str | None, bool]:
        """The dataset's `source`, and whether it is the builder's default (not in the config)."""
        if isinstance(node.get("source"), str):
            return node["source"], False
        dotted = node.get("_component_")
        if not isinstance(dotted, str):
            return None, False
        if dotted not in self._sources:
            info = self._components.resolve(dotted)
            parameter = info.by_name.get("source") if info is not None else None
            default = parameter.plain_default if parameter is not None else None
            self._sources[dotted] = default if isinstance(default, str) else None
        return self._sources[dotted], True

    def _data_findings(self, plain: dict[str, Any]) -> list[Finding]:
        """Local files the config names that this machine does not have, and hub data_files."""
        severity = ERROR if self._strict else WARNING
        fix = (
            "fix the path (an error because of --strict)"
            if self._strict
            else "fix the path, or ignore this if the cluster has it"
        )
        findings: list[Finding] = []
        checks: list[tuple[str, str, str]] = []
        for path, node in component_nodes(plain.get("dataset"), "dataset"):
            files = _paths(node.get("data_files"))
            source, default = self._source(node)
            if files and source is not None and self._hub(source):
                findings.append(_hub_data_files(join_key(path, "data_files"), node, files, source, default))
                continue  # paths inside the hub dataset, not on this machine
            checks += [(join_key(path, "data_files"), file, "data file") for file in files]
        checks += self._tokenizer_files(plain.get("tokenizer"))
        checkpointer = plain.get("checkpointer")
        if isinstance(checkpointer, dict) and isinstance(checkpointer.get("checkpoint_dir"), str):
            checks.append(
                ("checkpointer.checkpoint_dir", checkpointer["checkpoint_dir"], "checkpoint folder")
            )
            folder = Path(checkpointer["checkpoint_dir"])
            if folder.is_dir():
                for file in _paths(checkpointer.get("checkpoint_files")):
                    checks.append(("checkpointer.checkpoint_files", str(folder / file), "checkpoint file"))
        return findings + [
            Finding(severity, "data", key, f"{what} {path!r} does not exist on this machine", fix)
            for key, path, what in checks
            if _is_local(path) and not self._exists(path)
        ]

    def _logger(self, node: Any) -> list[Finding]:
        """A metric logger that would fail to import its package when the run starts."""
        if not (isinstance(node, dict) and isinstance(node.get("_component_"), str)):
            return []
        dotted = node["_component_"]
        if dotted not in self._logger_findings:
            self._logger_findings[dotted] = self._logger_packages(dotted)
        return self._logger_findings[dotted]

    def _logger_packages(self, dotted: str) -> list[Finding]:
        info = self._components.resolve(dotted)
        if info is None:
            return []  # reported by the component check
        if info.imports is None:
            return []  # its source cannot be read
        imports = info.imports
        short = dotted.rsplit(".", 1)[-1]
        findings = []
        for module in dict.fromkeys(imports):
            package = _missing_package(module)
            if package is None:
                continue
            via = "" if module.split(".")[0] == package else f", which needs {package}"
            findings.append(
                Finding(
                    ERROR,
                    "package",
                    "metric_logger._component_",
                    f"{short} imports {module} when the run starts{via}, and {package} is not "
                    "installed here: the run would die at start-up",
                    f"pip install {package} where the runs train (and here, so validation sees it), "
                    f"or log with {_LOCAL_FALLBACK_LOGGER}",
                )
            )
        return findings


def _hub_data_files(key: str, node: dict[str, Any], files: list[str], source: str, default: bool) -> Finding:
    short = str(node.get("_component_", "")).rsplit(".", 1)[-1] or "the dataset"
    where = f"{short}'s default source {source!r}" if default else f"source {source!r}"
    formats = {_FORMATS.get(Path(f).suffix.lower()) for f in files} - {None}
    builder = formats.pop() if len(formats) == 1 else "json"
    return Finding(
        WARNING,
        "data",
        key,
        f"data_files {files[0] if len(files) == 1 else files!r} goes to load_dataset with {where}, a "
        "Hugging Face hub dataset, so it selects files inside that dataset, not local files",
        f"for local files set source: {builder} (the files' format); for files of the hub dataset, "
        "ignore this",
    )
