"""The arithmetic of YAML `derived:` values (`"2 * lora_rank"`), evaluated safely without eval.

An expression is parsed with `ast` and only an allow-list of nodes is accepted: numbers, names of
the run's params, `+ - * / // % **`, unary `-`/`+`, parentheses, and calls of `min`, `max` and
`round`. Anything else (attributes, subscripts, other calls, strings, lambdas) is refused when the
experiment is planned, so nothing a YAML file says can run code.
"""

from __future__ import annotations

import ast
import operator
from collections.abc import Callable, Collection, Mapping
from typing import Any

from ttwriter.errors import ExperimentSchemaError, ValuePath, did_you_mean
from ttwriter.safe_read import MAX_INT_DIGITS, int_fits

_BINARY: dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: operator.pow,
}
_UNARY: dict[type, Callable[[Any], Any]] = {ast.USub: operator.neg, ast.UAdd: operator.pos}
_FUNCTIONS: dict[str, Callable[..., Any]] = {"min": min, "max": max, "round": round}
_MAX_EXPONENT = 64
"""`2 ** 10 ** 9` would compute for minutes: an exponent beyond this is an error instead."""
_MAX_INT_BITS = (10**MAX_INT_DIGITS).bit_length()
"""No integer on the way may pass what a config can hold (MAX_INT_DIGITS): `((8 ** 64) ** 64) ** 64`
keeps every exponent small and would still fill the memory."""
ALLOWED = "numbers, param names, + - * / // % **, parentheses, min(), max(), round()"


class Expression:
    """A checked expression; call it with a run's params to get the value."""

    def __init__(self, text: str, names: Collection[str], path: ValuePath) -> None:
        """Parse `text`; an error (at `path`, e.g. ('derived', 'lora_alpha')) for syntax, a node
        outside the allow-list, or a name that is not one of `names`."""
        self.text = text
        self._path = path
        try:
            tree = ast.parse(text.strip(), mode="eval")
        except SyntaxError as exc:
            raise ExperimentSchemaError(
                f"derived expression {text!r} is not valid arithmetic ({exc.msg})",
                path=path,
                fix=f"write e.g. '2 * lora_rank'; allowed: {ALLOWED}",
            ) from None
        self._body = tree.body
        self.names: tuple[str, ...] = ()
        found: list[str] = []
        self._check(self._body, names, found)
        self.names = tuple(dict.fromkeys(found))

    def _refuse(self, what: str) -> ExperimentSchemaError:
        return ExperimentSchemaError(
            f"derived expression {self.text!r} uses {what}, which is not allowed",
            path=self._path,
            fix=f"allowed: {ALLOWED}",
        )

    def _check(self, node: ast.AST, names: Collection[str], found: list[str]) -> None:
        if isinstance(node, ast.Constant):
            if isinstance(node.value, bool) or not isinstance(node.value, (int, float)):
                raise self._refuse(f"the constant {node.value!r}")
        elif isinstance(node, ast.Name):
            if node.id not in names:
                hint = did_you_mean(node.id, names)
                raise ExperimentSchemaError(
                    f"derived expression {self.text!r} uses unknown name {node.id!r}"
                    + (f"; {hint}" if hint else ""),
                    path=self._path,
                    fix="names are the run's params: " + (", ".join(sorted(names)) or "(none)"),
                )
            found.append(node.id)
        elif isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
            self._check(node.left, names, found)
            self._check(node.right, names, found)
        elif isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY:
            self._check(node.operand, names, found)
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in _FUNCTIONS:
            if node.keywords or not node.args:
                raise self._refuse(f"{node.func.id}() without plain arguments")
            for arg in node.args:
                self._check(arg, names, found)
        else:
            raise self._refuse(f"'{ast.unparse(node)}'")

    def __call__(self, params: Mapping[str, Any]) -> Any:
        return self._eval(self._body, params)

    def _eval(self, node: ast.AST, params: Mapping[str, Any]) -> Any:
        if isinstance(node, ast.Constant):
            return node.value
        if isinstance(node, ast.Name):
            return params[node.id]
        if isinstance(node, ast.BinOp):
            left, right = self._eval(node.left, params), self._eval(node.right, params)
            if isinstance(node.op, ast.Pow) and abs(right) > _MAX_EXPONENT and abs(left) > 1:
                raise ValueError(f"exponent {right!r} is too large (at most {_MAX_EXPONENT})")
            if (
                isinstance(node.op, ast.Pow)
                and isinstance(left, int)
                and isinstance(right, int)
                and (abs(left).bit_length() - 1) * right > _MAX_INT_BITS
            ):
                raise ValueError(f"{ast.unparse(node)} has more than {MAX_INT_DIGITS} digits")
            result = _BINARY[type(node.op)](left, right)
            if isinstance(result, int) and not int_fits(result):
                raise ValueError(f"{ast.unparse(node)} has more than {MAX_INT_DIGITS} digits")
            return result
        if isinstance(node, ast.UnaryOp):
            return _UNARY[type(node.op)](self._eval(node.operand, params))
        assert isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
        return _FUNCTIONS[node.func.id](*(self._eval(a, params) for a in node.args))
