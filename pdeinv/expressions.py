"""Functions of x written as text, for the command line: ``"1e-3*exp(0.5*sin(pi*x))"``.

Only arithmetic, numbers, ``x``, ``pi``, ``e`` and a few NumPy functions are allowed; the text is
parsed, never executed as Python.
"""

from __future__ import annotations

import ast
import operator
from typing import Callable

import numpy as np

__all__ = ["parse_function"]

_FUNCTIONS = {
    name: getattr(np, name)
    for name in ("sin", "cos", "tan", "exp", "log", "sqrt", "tanh", "sinh", "cosh", "abs", "arctan")
}
_CONSTANTS = {"pi": np.pi, "e": np.e}
_BINARY = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
           ast.Pow: operator.pow}
_UNARY = {ast.UAdd: operator.pos, ast.USub: operator.neg}


def parse_function(text: str) -> Callable[[np.ndarray], np.ndarray]:
    """A vectorized function of ``x`` from an expression; ``ValueError`` names what is not allowed."""
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError:
        raise ValueError(f"cannot parse {text!r} as a function of x") from None

    def check(node):
        if isinstance(node, ast.Expression):
            return check(node.body)
        if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) and not isinstance(node.value, bool):
            return
        if isinstance(node, ast.Name) and (node.id == "x" or node.id in _CONSTANTS):
            return
        if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
            check(node.left)
            check(node.right)
            return
        if isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY:
            check(node.operand)
            return
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in _FUNCTIONS
                and len(node.args) == 1 and not node.keywords):
            check(node.args[0])
            return
        shown = ast.unparse(node) if hasattr(ast, "unparse") else type(node).__name__
        raise ValueError(
            f"{shown!r} is not allowed in a function of x (use numbers, x, pi, e, + - * / ** and "
            f"{', '.join(sorted(_FUNCTIONS))})"
        )

    check(tree)

    def evaluate(node, x):
        if isinstance(node, ast.Expression):
            return evaluate(node.body, x)
        if isinstance(node, ast.Constant):
            return np.float64(node.value)
        if isinstance(node, ast.Name):
            return x if node.id == "x" else _CONSTANTS[node.id]
        if isinstance(node, ast.BinOp):
            return _BINARY[type(node.op)](evaluate(node.left, x), evaluate(node.right, x))
        if isinstance(node, ast.UnaryOp):
            return _UNARY[type(node.op)](evaluate(node.operand, x))
        return _FUNCTIONS[node.func.id](evaluate(node.args[0], x))

    def function(x):
        x = np.asarray(x, dtype=float)
        with np.errstate(all="ignore"):
            return np.broadcast_to(evaluate(tree, x), x.shape).astype(float)

    function.expression = text.strip()  # recorded in observation files as the description
    return function
