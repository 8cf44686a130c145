"""The ops microgpt has no node for, recognised in a graph: how it builds them from others.

microgpt's `Value` has nodes for `+ * ** log exp relu` only. Everything else is
built from those, and a learner meets the pieces in the graph:

- `−a` is `a · (−1)`: a product with the constant −1;
- `a − b` is `a + (b · −1)`;
- `a / b` is `a · b⁻¹`, and `a / c` for a plain number c is `a · (1/c)`, with
  1/c computed by Python, so it enters as a constant;
- `sum(xs)` starts from the integer 0: Python computes `0 + x₀`, which `Value`
  turns into `x₀ + 0` (0 wrapped as a constant), then adds the rest one by one;
- softmax subtracts `max_val`, a plain float taken from the logits' values, so it
  enters as a constant (one per logit: `val − max_val` wraps it anew each time).

`notes(node, consumers)` returns the sentences that apply to a node, given the
nodes that consume it. Some recognitions use the scope names of the built-in
model (`softmax`, `rmsnorm`, `loss`); a script's graph gets the general ones.
"""

from __future__ import annotations

from collections.abc import Sequence

from engine.explain.ops import exponent_of
from engine.value import Value

NEGATION = (
    "−a: microgpt has no negation node; −a is a · (−1), a product with the constant −1, "
    "so the local gradient for a is −1."
)
SUBTRACTION = (
    "a − b: microgpt has no subtraction node; a − b is a + (b · −1), the sum of a and "
    "the negation of b."
)
DIVISION = (
    "a / b: microgpt has no division node; a / b is a · b⁻¹, a product with the power "
    "b**−1, whose local gradient is −b⁻²."
)
DIVISION_BY_NUMBER = (
    "a / c for a plain number c is a · c⁻¹: Python computes c⁻¹ itself, so it enters the "
    "graph as a constant."
)
SUM_START = (
    "sum() starts from the integer 0: Python computes 0 + x₀ first, which Value turns "
    "into x₀ + 0 (0 wrapped as a constant leaf), then adds the other terms one by one."
)
MAX_VAL = (
    "−max_val: softmax subtracts the largest logit before exp, so that exp never "
    "overflows. microgpt takes it from the raw floats (max(val.data …)), so it enters "
    "as a constant, wrapped anew for each logit, and no gradient flows into the max. "
    "Nothing is lost: softmax(x − c) = softmax(x) for every c, so the loss does not "
    "depend on a common shift; each of these constants has a gradient (minus its "
    "logit's share), but together they add up to 0."
)
EPSILON = (
    "ε = 1e-5: rmsnorm adds it to the mean square so that (ms + ε)^(−1/2) stays finite "
    "when every input is 0."
)
MEAN = (
    "1/n: the document's loss is the mean (1/n)·Σ loss_t of its n positions' losses; "
    "Python computes 1/n, so it enters as a constant."
)
CONSTANT = (
    "A constant: a plain Python number wrapped as a leaf Value so that it can take part "
    "in an op. Its grad is computed like any node's, but nothing uses it."
)
RECIPROCAL = "x⁻¹ = 1/x: microgpt's a / b is a · b**−1, so every division makes one of these."
RSQRT = "x^(−1/2) = 1/√x: rmsnorm scales by (mean square + ε)^(−1/2)."
LOSS = "The loss is −ln p(target): microgpt takes ln, then multiplies by −1."


def notes(node: Value, consumers: Sequence[Value] = ()) -> list[str]:
    """The sentences on how microgpt builds what this node is part of (may be empty)."""
    if node.op == "const":
        return [_constant_note(node, consumers)]
    found: list[str] = []
    children = node._children
    if node.op == "*" and _is_const(children[1], -1):
        found.append(NEGATION)
        if any(c.op == "+" and c._children[1] is node for c in consumers):
            found.append(SUBTRACTION)
        if _last_part(getattr(node, "scope", "")) == "loss" and children[0].op == "log":
            found.append(LOSS)
    if node.op == "*" and children[1].op == "**" and _exponent(children[1]) == -1:
        found.append(DIVISION)
    if node.op == "**":
        p = _exponent(node)
        if p == -1:
            found.append(RECIPROCAL)
            if any(c.op == "*" and c._children[1] is node for c in consumers):
                found.append(DIVISION)
        elif p == -0.5:
            found.append(RSQRT)
    if node.op == "+" and _is_const(children[1], 0):
        found.append(SUM_START)
    return found


def _constant_note(node: Value, consumers: Sequence[Value]) -> str:
    """What a constant is for, judged by what uses it and where."""
    second = [c for c in consumers if len(c._children) == 2 and c._children[1] is node]
    ops = {c.op for c in second}
    full_scope = getattr(node, "scope", "")  # a Value made outside a trace has no scope
    scope = _last_part(full_scope)
    if "+" in ops and node.data == 0 and type(node.data) is int:
        return SUM_START
    if "*" in ops and node.data == -1 and type(node.data) is int:
        return NEGATION
    if "+" in ops and scope == "softmax":
        return MAX_VAL
    if "+" in ops and scope == "rmsnorm":
        return EPSILON
    if "*" in ops and full_scope == "loss":
        return MEAN
    if "*" in ops and (scope == "rmsnorm" or scope.startswith("head")):  # / len(x), / √d
        return DIVISION_BY_NUMBER + " " + CONSTANT
    return CONSTANT


def _is_const(node: Value, value: int) -> bool:
    """The constant microgpt makes from the int `value` (as `sum` and negation do)."""
    return node.op == "const" and type(node.data) is int and node.data == value


def _exponent(node: Value) -> float | None:
    return exponent_of(node).value


def _last_part(scope: str) -> str:
    return scope.rsplit(".", 1)[-1]
