"""The flag classes tyro builds for one experiment: a frozen dataclass per level of its controls
and variables (one flag per key, its current value as the default), the value readers that parse
every flag's words as YAML, and the way back from parsed flags to the keys they set.

cli.overrides puts them together into the experiment's command line.
"""

from __future__ import annotations

import dataclasses
import keyword
from collections.abc import Mapping
from typing import Annotated, Any

import tyro
from tyro.constructors import PrimitiveConstructorSpec

from ttwriter.cli._parser import field_docs as docs_of
from ttwriter.errors import KeyPath
from ttwriter.experiment.frozen import freeze, thaw
from ttwriter.experiment.sample import Sample
from ttwriter.yaml_io import dump_scalar, parse_scalar

SAMPLE = "sample"


def metavar_of(value: Any) -> str:
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


def flag_of(name: str) -> str:
    """The flag tyro makes for a field path (`controls.learning_rate` -> `--controls.learning-rate`)."""
    return "--" + name.replace("_", "-")


def value_spec(metavar: str, flag: str) -> PrimitiveConstructorSpec:
    return PrimitiveConstructorSpec(
        nargs=1,
        metavar=metavar,
        instance_from_str=lambda args: parse_scalar(args[0], flag),
        is_instance=lambda x: True,
        str_from_instance=lambda x: [dump_scalar(thaw(x))],
    )


def values_spec(metavar: str, flag: str) -> PrimitiveConstructorSpec:
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


def list_setting_spec(metavar: str, flag: str) -> PrimitiveConstructorSpec:
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


def yaml_spec(flag: str) -> PrimitiveConstructorSpec:
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


def replicates_spec() -> PrimitiveConstructorSpec:
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


def sample_flags(current: Sample) -> tuple[type, Any]:
    """`--sample.num-samples`, `--sample.seed` and `--sample.params YAML`."""
    docs = docs_of(Sample)
    fields: list[tuple[str, Any, Any]] = []
    for field in dataclasses.fields(Sample):
        flag = flag_of(f"{SAMPLE}.{field.name}")
        spec = yaml_spec(flag) if field.name == "params" else value_spec("INT", flag)
        annotation = Annotated[Any, spec, tyro.conf.arg(help=docs.get(field.name, ""))]
        fields.append((field.name, annotation, dataclasses.field(default=getattr(current, field.name))))
    cls = dataclasses.make_dataclass(SAMPLE, fields, frozen=True)
    return cls, cls()


def _field_name(key: str, taken: set[str]) -> str | None:
    name = "".join(c if c.isalnum() or c == "_" else "_" for c in key.lstrip("+"))
    if not name or name[0].isdigit() or keyword.iskeyword(name) or name in taken:
        return None
    return name


@dataclasses.dataclass
class FlagNode:
    children: dict[str, FlagNode] = dataclasses.field(default_factory=dict)
    leaf: KeyPath | None = None
    value: Any = None


def flag_tree(tree: Mapping[str, Any], is_variables: bool) -> FlagNode:
    root = FlagNode()

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
                node = node.children.setdefault(segment, FlagNode())
            if node.children or node.leaf is not None:
                continue
            node.leaf, node.value = path, value

    walk(tree, ())
    return root


def build_class(
    name: str, node: FlagNode, is_variables: bool, section: str
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
                metavar = metavar_of(values[0]) if values else "YAML"
                help_text = f"values of variable {dotted!r}, one run per value"
                spec = values_spec(metavar, flag_of(f"{name}.{field_name}"))
                annotation = Annotated[Any, spec, tyro.conf.arg(help=help_text)]
                default = tuple(freeze(values))
            else:
                help_text = f"control {dotted!r}"
                spec = value_spec(metavar_of(child.value), flag_of(f"{name}.{field_name}"))
                annotation = Annotated[Any, spec, tyro.conf.arg(help=help_text)]
                default = freeze(child.value)
            fields.append((field_name, annotation, dataclasses.field(default=default)))
            defaults[field_name] = default
            index[field_name] = child.leaf
        else:
            sub_cls, sub_default, sub_index = build_class(
                f"{name}.{field_name}", child, is_variables, section
            )
            fields.append((field_name, sub_cls, dataclasses.field(default=sub_default)))
            defaults[field_name] = sub_default
            index[field_name] = sub_index
    cls = dataclasses.make_dataclass(name.replace(".", "_"), fields, frozen=True)
    return cls, cls(**defaults), index


def collect(instance: Any, index: dict[str, Any], out: dict[KeyPath, Any]) -> None:
    for field_name, entry in index.items():
        value = getattr(instance, field_name)
        if isinstance(entry, dict):
            collect(value, entry, out)
        else:
            out[entry] = thaw(value)


def get_original(tree: dict[str, Any], path: KeyPath) -> Any:
    node: Any = tree
    for key in path:
        node = node[key]
    return node


def set_original(tree: dict[str, Any], path: KeyPath, value: Any) -> None:
    node = tree
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
