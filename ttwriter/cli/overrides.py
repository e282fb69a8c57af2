"""Command-line overrides for a loaded experiment, generated with tyro.

The flags depend on the experiment: every field of `Experiment`, plus one flag per key present in
its controls (`--controls.learning-rate 1e-4`) and variables (`--variables.lora-rank 4 8`), each
showing its current value in `--help`. Values are read as YAML, exactly like experiment.yaml, so
`1e-4` is a float and `null` is None.
"""

from __future__ import annotations

import dataclasses
import functools
import keyword
import typing
from collections.abc import Mapping, Sequence
from typing import Annotated, Any, TextIO

import tyro
from tyro.constructors import PrimitiveConstructorSpec

from ttwriter.cli._parser import field_docs as docs_of
from ttwriter.cli._parser import parse
from ttwriter.cli.seed_flags import check_seed_variable
from ttwriter.errors import (
    COMMAND_LINE,
    ConfigWriterError,
    ExperimentSchemaError,
    KeyPath,
    Location,
    Locator,
    Problems,
    ValuePath,
    locating,
    split_path,
)
from ttwriter.experiment.evaluation import Evaluation
from ttwriter.experiment.experiment import Experiment
from ttwriter.experiment.frozen import freeze, thaw
from ttwriter.experiment.sample import Sample
from ttwriter.experiment.schema import build_valid, sub_configs
from ttwriter.yaml_io import dump_scalar, parse_scalar

_TOOL_FIELDS = {
    "dry_run": (
        bool,
        False,
        "Print the run table and validate every config as it would be written; write nothing.",
    ),
    "validate": (
        bool,
        True,
        "Check every config with torchtune's validator (--no-validate skips it; torch is then never imported).",
    ),
    "strict": (
        bool,
        False,
        "Treat local data paths that do not exist (data files, tokenizer, checkpoints) as errors, not warnings.",
    ),
    "force": (bool, False, "Replace an existing ttwriter output folder (never one that holds run results)."),
    "smoke": (
        bool,
        False,
        "Write a short variant of every run (1 epoch, 3 steps, log every step, compile off) to check the pipeline.",
    ),
}
_DICT_FIELDS = ("controls", "variables")
_YAML_FIELDS = ("linked", "derived", "exclude")
"""Sweep strategies given whole on the command line, as YAML: --derived '{lora_alpha: 2 * lora_rank}'."""
_REPLICATES = "replicates"
_SAMPLE = "sample"


def field_docs() -> dict[str, str]:
    """Experiment field docstrings (the string right after each field), the --help text."""
    return docs_of(Experiment)


def _metavar(value: Any) -> str:
    if isinstance(value, bool):
        return "BOOL"
    if isinstance(value, int):
        return "INT"
    if isinstance(value, float):
        return "FLOAT"
    if isinstance(value, str):
        return "STR"
    if isinstance(value, (list, tuple)):
        return "LIST"
    return "YAML"


def _flag(name: str) -> str:
    """The flag tyro makes for a field path (`controls.learning_rate` -> `--controls.learning-rate`)."""
    return "--" + name.replace("_", "-")


def _value_spec(metavar: str, flag: str) -> PrimitiveConstructorSpec:
    return PrimitiveConstructorSpec(
        nargs=1,
        metavar=metavar,
        instance_from_str=lambda args: parse_scalar(args[0], flag),
        is_instance=lambda x: True,
        str_from_instance=lambda x: [dump_scalar(thaw(x))],
    )


def _values_spec(metavar: str, flag: str) -> PrimitiveConstructorSpec:
    return PrimitiveConstructorSpec(
        nargs="*",
        metavar=f"{metavar} [{metavar} ...]",
        instance_from_str=lambda args: [parse_scalar(a, flag) for a in args],
        is_instance=lambda x: True,
        str_from_instance=lambda x: [dump_scalar(thaw(v)) for v in x],
    )


def _list_setting(args: list[str], flag: str) -> list[Any]:
    """An evaluation list setting's values: each word read as YAML, and one YAML list given whole
    (`[0, 2]`, as experiment.yaml writes it) is those values, not one value that is a list."""
    values = [parse_scalar(a, flag) for a in args]
    if len(values) == 1 and isinstance(values[0], list):
        return list(values[0])
    return values


def _list_setting_spec(metavar: str, flag: str) -> PrimitiveConstructorSpec:
    """`--evaluation.checkpoints 0 2` or `--evaluation.checkpoints '[0, 2]'`: the same list."""
    return PrimitiveConstructorSpec(
        nargs="*",
        metavar=f"{metavar} [{metavar} ...]",
        instance_from_str=lambda args: _list_setting(args, flag),
        is_instance=lambda x: True,
        str_from_instance=lambda x: [dump_scalar(thaw(v)) for v in x],
    )


def _shown(value: Any) -> list[str]:
    """A field's current value for --help; a Python callable (derived) is shown as `<callable>`."""
    plain = thaw(value)
    if isinstance(plain, dict):
        plain = {k: "<callable>" if callable(v) else v for k, v in plain.items()}
    return [dump_scalar(plain)]


def _yaml_spec(flag: str) -> PrimitiveConstructorSpec:
    return PrimitiveConstructorSpec(
        nargs=1,
        metavar="YAML",
        instance_from_str=lambda args: parse_scalar(args[0], flag),
        is_instance=lambda x: True,
        str_from_instance=_shown,
    )


def _replicates_value(args: list[str]) -> Any:
    values = [parse_scalar(a, "--replicates") for a in args]
    return values[0] if len(values) == 1 else values


def _replicates_spec() -> PrimitiveConstructorSpec:
    """`--replicates 3` (a count) or `--replicates 11 22 33` (the seeds)."""
    return PrimitiveConstructorSpec(
        nargs="*",
        metavar="N|SEED [SEED ...]",
        instance_from_str=_replicates_value,
        is_instance=lambda x: True,
        str_from_instance=lambda x: (
            ["null"] if x is None else [dump_scalar(v) for v in ([x] if isinstance(x, int) else x)]
        ),
    )


def _sample_flags(current: Sample) -> tuple[type, Any]:
    """`--sample.num-samples`, `--sample.seed` and `--sample.params YAML`."""
    docs = docs_of(Sample)
    fields: list[tuple[str, Any, Any]] = []
    for field in dataclasses.fields(Sample):
        flag = _flag(f"{_SAMPLE}.{field.name}")
        spec = _yaml_spec(flag) if field.name == "params" else _value_spec("INT", flag)
        annotation = Annotated[Any, spec, tyro.conf.arg(help=docs.get(field.name, ""))]
        fields.append((field.name, annotation, dataclasses.field(default=getattr(current, field.name))))
    cls = dataclasses.make_dataclass(_SAMPLE, fields, frozen=True)
    return cls, cls()


def _field_name(key: str, taken: set[str]) -> str | None:
    name = "".join(c if c.isalnum() or c == "_" else "_" for c in key.lstrip("+"))
    if not name or name[0].isdigit() or keyword.iskeyword(name) or name in taken:
        return None
    return name


@dataclasses.dataclass
class _Node:
    children: dict[str, _Node] = dataclasses.field(default_factory=dict)
    leaf: KeyPath | None = None
    value: Any = None


def _flag_tree(tree: Mapping[str, Any], is_variables: bool) -> _Node:
    root = _Node()

    def walk(mapping: Mapping[str, Any], original: KeyPath) -> None:
        for key, value in mapping.items():
            path = (*original, key)
            if isinstance(value, Mapping) and value:
                walk(value, path)
                continue
            node = root
            segments = [s for part in path for s in part.split(".")]
            for segment in segments:
                if node.leaf is not None:
                    return
                node = node.children.setdefault(segment, _Node())
            if node.children or node.leaf is not None:
                continue
            node.leaf, node.value = path, value

    walk(tree, ())
    return root


def _build_class(
    name: str, node: _Node, is_variables: bool, section: str
) -> tuple[type, Any, dict[str, Any]]:
    """A frozen dataclass for one level of the flag tree, its default instance, and leaf index."""
    fields = []
    defaults: dict[str, Any] = {}
    index: dict[str, Any] = {}
    taken: set[str] = set()
    for key, child in node.children.items():
        field_name = _field_name(key, taken)
        if field_name is None:
            continue
        taken.add(field_name)
        if child.leaf is not None:
            dotted = ".".join(child.leaf)
            annotation: Any
            if is_variables:
                values = list(thaw(child.value))
                metavar = _metavar(values[0]) if values else "YAML"
                help_text = f"values of variable {dotted!r}, one run per value"
                spec = _values_spec(metavar, _flag(f"{name}.{field_name}"))
                annotation = Annotated[Any, spec, tyro.conf.arg(help=help_text)]
                default = tuple(freeze(values))
            else:
                help_text = f"control {dotted!r}"
                spec = _value_spec(_metavar(child.value), _flag(f"{name}.{field_name}"))
                annotation = Annotated[Any, spec, tyro.conf.arg(help=help_text)]
                default = freeze(child.value)
            fields.append((field_name, annotation, dataclasses.field(default=default)))
            defaults[field_name] = default
            index[field_name] = child.leaf
        else:
            sub_cls, sub_default, sub_index = _build_class(
                f"{name}.{field_name}", child, is_variables, section
            )
            fields.append((field_name, sub_cls, dataclasses.field(default=sub_default)))
            defaults[field_name] = sub_default
            index[field_name] = sub_index
    cls = dataclasses.make_dataclass(name.replace(".", "_"), fields, frozen=True)
    return cls, cls(**defaults), index


def _collect(instance: Any, index: dict[str, Any], out: dict[KeyPath, Any]) -> None:
    for field_name, entry in index.items():
        value = getattr(instance, field_name)
        if isinstance(entry, dict):
            _collect(value, entry, out)
        else:
            out[entry] = thaw(value)


def _get_original(tree: dict[str, Any], path: KeyPath) -> Any:
    node: Any = tree
    for key in path:
        node = node[key]
    return node


def _set_original(tree: dict[str, Any], path: KeyPath, value: Any) -> None:
    node = tree
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value


@functools.cache
def _unchecked(cls: type) -> type:
    """A config class (SlurmConfig) for tyro to build from flags without checking the values:
    they are checked with the experiment's other changes, so every problem is reported at once."""
    return type(cls.__name__, (cls,), {"__post_init__": lambda self: None, "__doc__": cls.__doc__})


def _values(config: Any) -> dict[str, Any]:
    return {f.name: getattr(config, f.name) for f in dataclasses.fields(config) if f.init}


SET_FLAG = "--set"


def split_set_flags(argv: Sequence[str]) -> tuple[list[tuple[str, Any]], list[str]]:
    """`--set KEY=VALUE` / `--set=KEY=VALUE` pairs (values read as YAML), and the other flags.

    tyro makes flags for keys the experiment already has; `--set` reaches any other config key
    (resolved like a control: dotted, alias, short name, `+new`).
    """
    settings: list[tuple[str, Any]] = []
    rest: list[str] = []
    tokens = iter(argv)
    for token in tokens:
        if token == SET_FLAG or token.startswith(SET_FLAG + "="):
            item = token[len(SET_FLAG) + 1 :] if token != SET_FLAG else next(tokens, "")
            key, sep, raw = item.partition("=")
            if not sep or not key.strip():
                raise ExperimentSchemaError(
                    f"--set needs KEY=VALUE, got {item!r}",
                    file=COMMAND_LINE,
                    fix="e.g. --set epochs=1 or --set optimizer.weight_decay=0.1",
                )
            settings.append((key.strip(), parse_scalar(raw, f"{SET_FLAG} {key.strip()}")))
        else:
            rest.append(token)
    return settings, rest


@dataclasses.dataclass(frozen=True)
class ParsedOptions:
    experiment: Experiment
    dry_run: bool
    validate: bool
    force: bool
    strict: bool
    smoke: bool = False
    overrides: tuple[str, ...] = ()
    """The flags that changed the experiment, as typed (tool switches such as --no-validate left out)."""
    set_keys: frozenset[ValuePath] = frozenset()
    """Key paths the command line changed, split at dots: `('name',)`, `('controls', 'learning_rate')`."""
    problems: tuple[ConfigWriterError, ...] = ()
    """What the changes made wrong (each located on the command line). `experiment` is then
    made of the values that have no problem, only for finding the other problems of the sweep."""


TOOL_FLAGS = frozenset(
    f"--{prefix}{name.replace('_', '-')}" for name in _TOOL_FIELDS for prefix in ("", "no-")
)
"""The switches of how ttwriter runs (--dry-run, --no-validate, ...), not of what it generates."""


def switch_fields() -> list[tuple[str, Any, Any]]:
    """The switches of how ttwriter runs, as fields of an options class (with their help)."""
    return [
        (name, Annotated[annotation, tyro.conf.arg(help=help_text)], dataclasses.field(default=default))
        for name, (annotation, default, help_text) in _TOOL_FIELDS.items()
    ]


_EVALUATION = "evaluation"
_LIST_SETTINGS = ("tasks", "args", "checkpoints")
"""Evaluation settings that take several values on the command line (checkpoints: `last`, `all`
or epoch numbers), as words (`0 2`) or as one YAML list (`[0, 2]`), since every flag value is
read as YAML; none of them holds a list, so a list given whole is never one value."""
_METAVARS = {
    "limit": "INT",
    "batch_size": "INT",
    "max_tokens": "INT",
    "model_args": "YAML",
    "checkpoints": "EPOCH",
}


def _evaluation_flags(current: Evaluation | None) -> tuple[type, Any]:
    """The `--evaluation.*` flags: one per Evaluation field, its docstring the help, its value
    read as YAML like a control's (`--evaluation.model-args '{dtype: bfloat16}'`). Without an
    evaluation in the experiment, the defaults are Evaluation()'s and giving any flag adds one."""
    docs = docs_of(Evaluation)
    base = current or Evaluation()
    fields: list[tuple[str, Any, Any]] = []
    for field in dataclasses.fields(Evaluation):
        value = getattr(base, field.name)
        flag = _flag(f"{_EVALUATION}.{field.name}")
        help_text = docs.get(field.name, "")
        if field.name == "base_model":
            annotation: Any = Annotated[bool, tyro.conf.arg(help=help_text)]
            default = value
        elif field.name in _LIST_SETTINGS:
            items = [value] if isinstance(value, str) else list(value)
            metavar = _METAVARS.get(field.name, "STR")
            annotation = Annotated[Any, _list_setting_spec(metavar, flag), tyro.conf.arg(help=help_text)]
            default = tuple(items)
        else:
            metavar = _METAVARS.get(field.name, "STR")
            annotation = Annotated[Any, _value_spec(metavar, flag), tyro.conf.arg(help=help_text)]
            default = value
        fields.append((field.name, annotation, dataclasses.field(default=default)))
    cls = dataclasses.make_dataclass(_EVALUATION, fields, frozen=True)
    return cls, cls()


def _parsed_evaluation(
    parsed: Any, default: Any, current: Evaluation | None
) -> tuple[Evaluation | dict[str, Any] | None, set[ValuePath]]:
    """The evaluation after the flags (as its fields, checked when the experiment is built), and
    the keys they changed (`('evaluation', 'limit')`)."""
    changed = {
        f.name for f in dataclasses.fields(Evaluation) if getattr(parsed, f.name) != getattr(default, f.name)
    }
    if not changed:
        return current, set()
    values: dict[str, Any] = {}
    for field in dataclasses.fields(Evaluation):
        value = getattr(parsed, field.name)
        if field.name in _LIST_SETTINGS:
            value = list(value)
            if field.name == "checkpoints" and len(value) == 1 and isinstance(value[0], str):
                value = value[0]
        values[field.name] = thaw(value) if field.name == "model_args" else value
    return values, {(_EVALUATION, name) for name in changed}


def _on_command_line(path: ValuePath) -> Location:
    return Location(COMMAND_LINE)


def parse_overrides(
    experiment: Experiment,
    argv: Sequence[str],
    prog: str,
    description: str,
    locate: Locator | None = None,
    out: TextIO | None = None,
) -> ParsedOptions:
    """Apply command-line overrides to `experiment`. --help prints to `out` (cli._parser.HelpShown);
    a flag it does not have or a value tyro rejects is a cli._parser.ArgumentError.

    `locate` says where the experiment's own values are written: a problem the changes cause in
    a value they did not set (a control now swept) is located there, the others on the command line.
    """
    docs = field_docs()
    fields: list[tuple[str, Any, Any]] = []
    defaults: dict[str, Any] = {}
    indexes: dict[str, dict[str, Any]] = {}
    hints = typing.get_type_hints(Experiment)
    for field in dataclasses.fields(Experiment):
        if field.name in _DICT_FIELDS:
            tree = _flag_tree(thaw(getattr(experiment, field.name)), field.name == "variables")
            cls, default, index = _build_class(field.name, tree, field.name == "variables", field.name)
            help_text = docs.get(field.name, "")
            fields.append(
                (
                    field.name,
                    Annotated[cls, tyro.conf.arg(help=help_text)],
                    dataclasses.field(default=default),
                )
            )
            indexes[field.name] = index
            continue
        if field.name in (*_YAML_FIELDS, _REPLICATES, _SAMPLE):
            flags: Any
            if field.name == _SAMPLE:
                flags, default = _sample_flags(experiment.sample)
            else:
                spec = _replicates_spec() if field.name == _REPLICATES else _yaml_spec(_flag(field.name))
                flags, default = Annotated[Any, spec], getattr(experiment, field.name)
            fields.append(
                (
                    field.name,
                    Annotated[flags, tyro.conf.arg(help=docs.get(field.name, ""))],
                    dataclasses.field(default=default),
                )
            )
            continue
        if field.name == _EVALUATION:
            eval_cls, eval_default = _evaluation_flags(experiment.evaluation)
            help_text = docs.get(field.name, "")
            fields.append(
                (
                    field.name,
                    Annotated[eval_cls, tyro.conf.arg(help=help_text)],
                    dataclasses.field(default=eval_default),
                )
            )
            continue
        annotation = hints[field.name]
        default = getattr(experiment, field.name)
        if field.name in sub_configs(Experiment):
            annotation = _unchecked(annotation)
            default = annotation(**_values(default))
        fields.append(
            (
                field.name,
                Annotated[annotation, tyro.conf.arg(help=docs.get(field.name, ""))],
                dataclasses.field(default=default),
            )
        )
        defaults[field.name] = default
    fields += switch_fields()
    cli_cls = dataclasses.make_dataclass("GenerateOptions", fields, frozen=True)
    raw_argv = list(argv)
    if "-h" not in raw_argv and "--help" not in raw_argv:
        check_seed_variable(experiment, raw_argv, prog)
    settings, argv = split_set_flags(argv)
    description += (
        " Keys the experiment does not name yet: --set KEY=VALUE (repeatable) adds a control, "
        "e.g. --set epochs=1 --set optimizer.weight_decay=0.1 (values read as YAML)."
    )
    with locating(_on_command_line):  # what tyro builds (--slurm.time) is all the command line's
        parsed: Any = parse(
            cli_cls,
            argv,
            prog=prog,
            description=description,
            out=out,
            config=(),
            extra_flags=(SET_FLAG,),
            typed=raw_argv,
        )

    changes: dict[str, Any] = {}
    set_keys: set[ValuePath] = set()
    for field in dataclasses.fields(Experiment):
        if field.name in _DICT_FIELDS:
            values: dict[KeyPath, Any] = {}
            _collect(getattr(parsed, field.name), indexes[field.name], values)
            tree = thaw(getattr(experiment, field.name))
            for path, value in values.items():
                if value != _get_original(tree, path):
                    set_keys.add(split_path((field.name, *path)))
                _set_original(tree, path, value)
            changes[field.name] = tree
        elif field.name == _SAMPLE:
            given = _values(getattr(parsed, field.name))
            before = _values(experiment.sample)
            changed_keys = [k for k in given if thaw(given[k]) != thaw(before[k])]
            changes[field.name] = (
                {k: thaw(v) for k, v in given.items()} if changed_keys else experiment.sample
            )
            set_keys.update((field.name, k) for k in changed_keys)
        elif field.name in (*_YAML_FIELDS, _REPLICATES):
            value = getattr(parsed, field.name)
            changes[field.name] = value
            if value is not getattr(experiment, field.name):
                set_keys.add((field.name,))
        elif field.name == _EVALUATION:
            changes[field.name], changed = _parsed_evaluation(
                getattr(parsed, field.name), eval_default, experiment.evaluation
            )
            set_keys |= changed
        elif field.name in sub_configs(Experiment):
            given, before = _values(getattr(parsed, field.name)), _values(getattr(experiment, field.name))
            changes[field.name] = given if given != before else getattr(experiment, field.name)
            set_keys.update((field.name, k) for k in given if given[k] != before[k])
        else:
            changes[field.name] = getattr(parsed, field.name)
            if changes[field.name] != getattr(experiment, field.name):
                set_keys.add((field.name,))
    for key, value in settings:  # last, so they win over the experiment's own spelling
        changes["controls"][key] = value
        set_keys.add(split_path(("controls", key)))
    new_experiment: Experiment | None = experiment
    problems: tuple[ConfigWriterError, ...] = ()
    if argv or settings:

        def where(path: ValuePath) -> Location | None:
            if any(tuple(path[: len(key)]) == key for key in set_keys):
                return Location(COMMAND_LINE)
            return locate(path) if locate is not None else Location(COMMAND_LINE)

        current = {f.name: getattr(experiment, f.name) for f in dataclasses.fields(experiment) if f.init}
        with locating(where):
            new_experiment, problems = build_valid(type(experiment), {**current, **changes})
        if new_experiment is None:
            Problems(problems).raise_if_any()
    assert new_experiment is not None
    return ParsedOptions(
        new_experiment,
        parsed.dry_run,
        parsed.validate,
        parsed.force,
        parsed.strict,
        smoke=parsed.smoke,
        overrides=tuple(f for f in raw_argv if f not in TOOL_FLAGS),
        set_keys=frozenset(set_keys),
        problems=problems,
    )
