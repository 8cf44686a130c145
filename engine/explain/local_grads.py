"""Why this local gradient: each op's derivative in plain words, and as a formula on the numbers.

`explain(node, consumers)` returns data for a UI to render, no markup: the op in
words, its forward formula with the inputs' values, and for each input the
derivative as a formula (`d(a·b)/da = b`), the same formula on the numbers
(`0.31`), the node's own local gradient (`stored`: the float `backward()` uses,
from `_local_grads`) and the formula recomputed from the inputs (`recomputed`:
for every op but `+`, whose local gradients are the constant 1, a real
recomputation; the two must be equal). `**` does not store its exponent: it is
derived and checked (`engine.ops.exponent_of`), and said so. Notes on how microgpt
builds the ops it has no node for come from `engine.explain.composites`.
"""

from __future__ import annotations

import linecache
import math
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction

from engine.explain.composites import notes
from engine.explain.ops import Exponent, exponent_of
from engine.value import Value

WORDS = {
    "+": "A sum passes its gradient to each input unchanged: nudge either input by ε and "
    "the sum moves by ε, so both local gradients are 1.",
    "*": "A product's slope in one input is the other input: nudge a by ε and a·b moves "
    "by b·ε. So each input's local gradient is the other input's value.",
    "**": "A power x^p has slope p·x^(p−1) (the power rule).",
    "log": "The natural log's slope at x is 1/x: steep near 0, flat for large x.",
    "exp": "exp is its own slope: d(eˣ)/dx = eˣ, the node's own value.",
    "relu": "relu(x) = max(0, x) passes x where it is positive and blocks it otherwise; its "
    "slope is 1 where x > 0 and 0 where x ≤ 0 (the mask). At exactly 0 microgpt takes 0.",
    "param": "A parameter: a leaf the model learns. Nothing is below it; its grad is what "
    "the optimiser (Adam) uses to change it.",
    "const": "A constant leaf: it has no inputs, so no local gradients.",
}
TITLES = {
    "+": "sum",
    "*": "product",
    "**": "power",
    "log": "natural log",
    "exp": "exponential",
    "relu": "relu",
    "param": "parameter",
    "const": "constant",
}


@dataclass(frozen=True)
class LocalGrad:
    """One input's local gradient d(node)/d(input), explained."""

    slot: int  # which input (its index in the node's inputs)
    child: Value
    formula: str  # the derivative symbolically: "d(a·b)/da = b"
    substituted: str  # its right-hand side on the numbers: "0.31"
    stored: float  # node._local_grads[slot]: the float backward() multiplies by
    recomputed: float | None  # the formula evaluated on the inputs (None: it cannot be)
    words: str = ""  # what this case means (relu's mask, an exponent's origin)

    @property
    def agrees(self) -> bool:
        """Is the recomputed value the stored one, to the bit?"""
        return self.recomputed is not None and self.recomputed == self.stored

    @property
    def text(self) -> str:
        """One line: `d(a·b)/da = b = 0.31`, `d(x⁻¹)/dx = −x⁻² = −(2)⁻² = −0.25` (no repeats)."""
        parts = self.formula.split(" = ")
        for more in (self.substituted, num(self.stored)):
            if more != parts[-1]:
                parts.append(more)
        return " = ".join(parts)


@dataclass(frozen=True)
class Explanation:
    """Why a node's local gradients are what they are."""

    node: Value
    op: str
    title: str  # "product", "power", ...
    words: str  # the op's derivative in plain words
    forward: str  # the forward formula on the numbers: "a·b = 0.7 × −1.3 = −0.91"
    inputs: tuple[LocalGrad, ...]  # one per input, in order (none for a leaf)
    numbers: dict[str, float]  # the named numbers the formulas use: a, b, x, p, out
    notes: tuple[str, ...] = ()  # how microgpt builds what this node is part of
    exponent: Exponent | None = None  # for `**`: the exponent, derived (or why not)
    source: str | None = None  # the model line that made the node


def num(x: float) -> str:
    """A number for a formula: 6 significant digits, a real minus sign."""
    text = f"{x:.6g}" if isinstance(x, float) else str(x)
    return text.replace("-", "−")


def explain(node: Value, consumers: Sequence[Value] = ()) -> Explanation:
    """Explain `node`'s op and local gradients; `consumers` (nodes using it) sharpen the notes."""
    build = _BUILDERS.get(node.op, _unknown)
    return build(node, tuple(notes(node, consumers)), _source(node))


def _source(node: Value) -> str | None:
    code = getattr(node, "code", None)  # set only on nodes a trace recorded
    if code is None:
        return None
    line = linecache.getline(code.co_filename, node.line).strip()
    return line or None


def _made(node, words, forward, inputs, notes_, source, exponent=None) -> Explanation:
    """The explanation, with the numbers named as the formulas name them."""
    names = {0: (), 1: ("x",), 2: ("a", "b")}.get(len(node._children), ())
    numbers = {name: c.data for name, c in zip(names, node._children)}
    numbers["out"] = node.data
    if exponent is not None and exponent.value is not None:
        numbers["p"] = exponent.value
    title = TITLES.get(node.op, node.op)
    inputs = tuple(inputs)
    return Explanation(
        node, node.op, title, words, forward, inputs, numbers, notes_, exponent, source
    )


def _sum(node: Value, notes_: tuple, source: str | None) -> Explanation:
    a, b = node._children
    inputs = [
        LocalGrad(i, c, f"d(a + b)/d{name} = 1", "1", node._local_grads[i], 1)
        for i, (c, name) in enumerate(zip((a, b), "ab"))
    ]
    forward = f"a + b = {num(a.data)} + {num(b.data)} = {num(node.data)}"
    return _made(node, WORDS["+"], forward, inputs, notes_, source)


def _product(node: Value, notes_: tuple, source: str | None) -> Explanation:
    a, b = node._children
    inputs = [
        LocalGrad(0, a, "d(a·b)/da = b", num(b.data), node._local_grads[0], b.data),
        LocalGrad(1, b, "d(a·b)/db = a", num(a.data), node._local_grads[1], a.data),
    ]
    words = WORDS["*"]
    if a is b:
        words += " Here a and b are the same node (x·x): it receives both terms, 2x in all."
    forward = f"a·b = {num(a.data)} × {num(b.data)} = {num(node.data)}"
    return _made(node, words, forward, inputs, notes_, source)


def _power(node: Value, notes_: tuple, source: str | None) -> Explanation:
    (x,) = node._children
    exponent = exponent_of(node)
    stored = node._local_grads[0]
    p = exponent.value
    if p is None:
        local = LocalGrad(0, x, "d(x^p)/dx = p·x^(p−1)", "?", stored, None, exponent.how)
        forward = f"x^p = ({num(x.data)})^p = {num(node.data)}"
        words = WORDS["**"] + " Here p cannot be read off the node (see below)."
        return _made(node, words, forward, [local], notes_, source, exponent)
    value = f"({num(x.data)})"
    formula = f"d({_power_text('x', p)})/dx = {_derivative_text('x', p)}"
    recomputed = p * x.data ** (p - 1)  # as Value computes it
    local = LocalGrad(0, x, formula, _derivative_text(value, p), stored, recomputed, exponent.how)
    forward = f"{_power_text('x', p)} = {_power_text(value, p)} = {num(node.data)}"
    return _made(node, WORDS["**"], forward, [local], notes_, source, exponent)


def _log(node: Value, notes_: tuple, source: str | None) -> Explanation:
    (x,) = node._children
    stored = node._local_grads[0]
    local = LocalGrad(0, x, "d(ln x)/dx = 1/x", f"1/{num(x.data)}", stored, 1 / x.data)
    forward = f"ln x = ln {num(x.data)} = {num(node.data)}"
    return _made(node, WORDS["log"], forward, [local], notes_, source)


def _exp(node: Value, notes_: tuple, source: str | None) -> Explanation:
    (x,) = node._children
    own = f"the node's own value, e^{num(x.data)} = {num(node.data)}"
    stored = node._local_grads[0]
    local = LocalGrad(0, x, "d(eˣ)/dx = eˣ", f"e^{num(x.data)}", stored, math.exp(x.data), own)
    forward = f"eˣ = e^{num(x.data)} = {num(node.data)}"
    return _made(node, WORDS["exp"], forward, [local], notes_, source)


def _relu(node: Value, notes_: tuple, source: str | None) -> Explanation:
    (x,) = node._children
    on = x.data > 0
    if on:
        mask = f"x = {num(x.data)} > 0: the mask is 1, the gradient passes"
    else:
        mask = f"x = {num(x.data)} ≤ 0: the mask is 0, no gradient passes"
    stored = node._local_grads[0]
    substituted = f"[{num(x.data)} > 0]"
    local = LocalGrad(0, x, "d relu(x)/dx = [x > 0]", substituted, stored, float(on), mask)
    forward = f"relu(x) = max(0, {num(x.data)}) = {num(node.data)}"
    return _made(node, WORDS["relu"], forward, [local], notes_, source)


def _leaf(node: Value, notes_: tuple, source: str | None) -> Explanation:
    name = getattr(node, "label", None) or f"#{getattr(node, 'id', '?')}"  # untraced: neither
    forward = f"{name} = {num(node.data)}"
    return _made(node, WORDS[node.op], forward, [], notes_, source)


def _unknown(node: Value, notes_: tuple, source: str | None) -> Explanation:
    """An op a script's value class has and microgpt does not (e.g. tanh): shown as stored."""
    words = f"{node.op!r} is not one of microgpt's ops: its local gradients are shown as stored."
    inputs = [
        LocalGrad(i, c, f"d(out)/d(input {i})", "?", g, None)
        for i, (c, g) in enumerate(zip(node._children, node._local_grads))
    ]
    return _made(node, words, "", inputs, notes_, source)


_BUILDERS = {
    "+": _sum,
    "*": _product,
    "**": _power,
    "log": _log,
    "exp": _exp,
    "relu": _relu,
    "param": _leaf,
    "const": _leaf,
}

# -- powers as text -------------------------------------------------------------------------

_SUPERSCRIPT = str.maketrans("0123456789-", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻")


def _ratio_text(p: float) -> str:
    """-1 -> "−1", -0.5 -> "−1/2", 0.37 -> "0.37"."""
    if float(p).is_integer():
        text = str(int(p))
    else:
        fraction = Fraction(p).limit_denominator(12)
        text = str(fraction) if float(fraction) == p else repr(p)
    return text.replace("-", "−")


def _exponent_text(p: float) -> str:
    """2 -> "²", −1 -> "⁻¹", −0.5 -> "^(−1/2)"."""
    if float(p).is_integer():
        return str(int(p)).translate(_SUPERSCRIPT)
    return f"^({_ratio_text(p)})"


def _power_text(base: str, p: float) -> str:
    return base if p == 1 else f"{base}{_exponent_text(p)}"


def _derivative_text(base: str, p: float) -> str:
    """p·base^(p−1) as text: −x⁻² for p = −1, 2·x for p = 2, −1/2·x^(−3/2) for −0.5."""
    if p == 0 or p == 1:
        return str(int(p))
    power = _power_text(base, p - 1)
    return f"−{power}" if p == -1 else f"{_ratio_text(p)}·{power}"
