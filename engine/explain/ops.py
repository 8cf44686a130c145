"""microgpt's ops as functions of their inputs' values, and the exponent `**` does not store.

A node keeps its value and its local gradients, not the function that made them.
For `+ * log exp relu` the op's name says everything, so a forward pass can be
replayed from the inputs (`forward`, in floats exactly as `Value` computes them, or
in high-precision decimals). `**` is the catch: microgpt's node for `x**p` stores
`x**p` and `p·x**(p−1)` but not p. `exponent_of` derives p from those two numbers
and accepts it only if it reproduces both of them bit for bit.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal

from engine.value import Value

OPS = ("+", "*", "**", "log", "exp", "relu")  # the ops with a node in microgpt's Value
LEAVES = ("param", "const")

_MAX_ULPS = 4  # how far from the estimate a non-round exponent is looked for


@dataclass(frozen=True)
class Exponent:
    """What a `**` node says about its exponent p."""

    value: float | None  # p, when one reproduces the node exactly; else None
    estimate: float | None  # local_grad · x / value: the p the numbers suggest (None: x or value 0)
    candidates: tuple[float, ...]  # every exponent tried that reproduces the node bit for bit
    how: str  # in words: how p was found, or why it was not

    @property
    def derived(self) -> bool:
        return self.value is not None


def reproduces(node: Value, p: float) -> bool:
    """Do `x**p` and `p * x**(p - 1)` give this node's value and local gradient, bit for bit?"""
    x = node._children[0].data
    try:
        return x**p == node.data and p * x ** (p - 1) == node._local_grads[0]
    except (ArithmeticError, ValueError):
        return False


def exponent_of(node: Value) -> Exponent:
    """The exponent of a `**` node, derived from its value and local gradient.

    For out = x**p the local gradient is p·x**(p−1) = p·out/x, so p ≈ local_grad·x/out.
    Round exponents near that estimate (integers, halves, thirds, quarters) are tried
    first, then the estimate itself and the floats a few ulps around it; the first
    that reproduces both stored numbers exactly is taken. It is then the exponent as
    far as this node can tell: any other would have given other bits.
    """
    if node.op != "**":
        raise ValueError(f"a {node.op!r} node is not a power")
    x, out, local_grad = node._children[0].data, node.data, node._local_grads[0]
    try:
        estimate = local_grad * x / out
    except (ZeroDivisionError, OverflowError):
        estimate = None
    if estimate is None or not math.isfinite(estimate):
        how = (
            f"p is not stored on the node, and cannot be derived from it: with x = {x!r} and "
            f"x**p = {out!r}, the local gradient p·x**(p−1) does not pin p down"
        )
        return Exponent(None, None, (), how)
    candidates = [c for c in _candidates(estimate) if reproduces(node, c)]
    if not candidates:
        how = (
            f"p is not stored on the node; the numbers suggest p ≈ local_grad·x/(x**p) = "
            f"{estimate!r}, but no exponent near it reproduces the node's value and local "
            "gradient bit for bit, so it cannot be stated exactly"
        )
        return Exponent(None, estimate, (), how)
    p = candidates[0]
    how = (
        f"p = {_number(p)} is not stored on the node: it is derived from the node's value and "
        f"local gradient (p ≈ local_grad·x/(x**p) = {estimate!r}), and x**p and p·x**(p−1) with "
        "it reproduce both bit for bit"
    )
    if len(candidates) > 1:
        others = ", ".join(_number(c) for c in candidates[1:])
        how += f" (so do {others}; the roundest is shown)"
    return Exponent(p, estimate, tuple(candidates), how)


def _candidates(estimate: float) -> list[float]:
    """Exponents to try, roundest first: n, n/2, n/3, n/4 near the estimate, then floats by it."""
    out: list[float] = []
    for denominator in (1, 2, 3, 4):
        out.append(round(estimate * denominator) / denominator)
    out.append(estimate)
    below = above = estimate
    for _ in range(_MAX_ULPS):
        below, above = math.nextafter(below, -math.inf), math.nextafter(above, math.inf)
        out += [below, above]
    return list(dict.fromkeys(out))


def _number(p: float) -> str:
    return str(int(p)) if float(p).is_integer() else repr(p)


def forward(op: str, args: list, exponent: float | None = None) -> float:
    """An op's value from its inputs' values, exactly as `Value` computes it (same bits)."""
    if op == "+":
        return args[0] + args[1]
    if op == "*":
        return args[0] * args[1]
    if op == "**":
        return args[0] ** exponent
    if op == "log":
        return math.log(args[0])
    if op == "exp":
        return math.exp(args[0])
    if op == "relu":
        return max(0, args[0])
    raise ValueError(f"no forward for op {op!r}")


_ZERO = Decimal(0)


def decimal_forward(op: str, args: list[Decimal], exponent: float | None = None) -> Decimal:
    """An op's value in decimals, rounded to the current decimal context's precision."""
    if op == "+":
        return args[0] + args[1]
    if op == "*":
        return args[0] * args[1]
    if op == "**":
        p = int(exponent) if float(exponent).is_integer() else Decimal(exponent)
        return args[0] ** p
    if op == "log":
        return args[0].ln()
    if op == "exp":
        return args[0].exp()
    if op == "relu":
        return args[0] if args[0] > 0 else _ZERO
    raise ValueError(f"no forward for op {op!r}")
