"""An op's gradient two ways: the vector form a teacher writes, and the scalar chain rule's sum.

For a vector op (`softmax`, `linear W_q`, ...) and each vector it reads, this
evaluates the gradient's vector form on the real numbers (softmax:
`∂L/∂logits = w ⊙ (g − Σ w·g)`, g being the grads of the op's output) and
beside it, for each member, the sum of the chain-rule terms that member has
received from the op's own scalar nodes so far, in the order the backward
pass added them. Once the op is done the two agree: exactly where one term
makes each entry (`g xᵀ`, `+`, the relu mask), otherwise up to the rounding
of a different summation order (`Wᵀ g` sums over rows; backward adds the
terms in its own order), which `largest_difference` states.

Only numbers already in the graph are read (values, grads, the op's own
intermediate nodes such as softmax's exponentials); nothing here changes a
value or a grad. An op with no known vector form (a script's own function)
still gets the chain-rule sums.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache

from engine.stepper import BackwardPass
from engine.value import Value
from engine.vector.graph import Operand, VectorOp
from engine.vector.naming import MEAN, matrix_symbol

Sums = dict[int, float]  # node id -> the sum of the chain-rule terms it received from an op


@dataclass
class Side:
    """What one vector the op reads gets from it: ∂L/∂(that vector), two ways."""

    operand: Operand
    formula: str  # `w ⊙ (g − Σ w·g)`; "" when no vector form is known
    vector_form: list[float] | None  # evaluated, one per member read (None: no formula)
    scalar: list[float | None]  # the chain-rule terms' sum per member (None: none yet)
    shape: tuple[int, int] | None = None  # (rows, columns) when the operand is a matrix

    @property
    def name(self) -> str:
        """`∂L/∂attn_logits`, `∂L/∂W_q`, `∂L/∂k[4:8]` (the operand as the op reads it)."""
        return f"∂L/∂{operand_title(self.operand)}"

    @property
    def complete(self) -> bool:
        """Has every member read received its terms from the op?"""
        return all(s is not None for s in self.scalar)

    def largest_difference(self) -> float | None:
        """max |vector form − scalar sum| over the members with terms (None: nothing to compare)."""
        if self.vector_form is None:
            return None
        found = [abs(v - s) for v, s in zip(self.vector_form, self.scalar) if s is not None]
        return max(found, default=None)


@dataclass
class OpGradient:
    """An op's formula, the grads of its output (g), and each input's gradient two ways."""

    op: VectorOp
    computes: str  # `attn_weights = softmax(attn_logits)`
    g: list[float]  # ∂L/∂output, the output's grads now
    sides: list[Side]
    note: str = ""  # what the symbols stand for (`s = (mean(x²) + 1e-5)^−½ = 0.93`)

    def largest_difference(self) -> float | None:
        found = [d for side in self.sides if (d := side.largest_difference()) is not None]
        return max(found, default=None)


# -- the chain rule's side ---------------------------------------------------------------------


def chain_rule_sums(op: VectorOp, walk: BackwardPass) -> Sums:
    """For each node the op reads: the sum of the terms it received from the op's nodes so far.

    The terms are `local_grad × consumer.grad`, added in the walk's order (as `terms_received`
    reads them: a consumer's grad is final once it has propagated).
    """
    first, sums = op.first_id, {}  # (a node read from outside has a smaller id)
    nodes, position = op.nodes, walk.position
    steps = op.steps_in(walk.index_of)  # where the op's nodes are in the walk's order
    received = sums.get
    # (a linear's tens of thousands of nodes are read once a step: the two-input case,
    # nearly all of them, is written out; the sums are the same floats in the same order)
    for k in sorted(range(len(steps)), key=steps.__getitem__):
        if steps[k] >= position:
            break  # (the rest have not propagated yet)
        consumer = nodes[k]
        children = consumer._children
        if len(children) == 2:
            a, b = children
            i, j = a.id, b.id
            if i >= first and j >= first:
                continue  # (most: both inputs inside the op, such as a sum's running total)
            grad = consumer.grad
            local_a, local_b = consumer._local_grads
            if i < first:
                term, before = local_a * grad, received(i)
                sums[i] = term if before is None else before + term
            if j < first:
                term, before = local_b * grad, received(j)
                sums[j] = term if before is None else before + term
            continue
        grad = consumer.grad
        for child, local in zip(children, consumer._local_grads, strict=True):
            i = child.id
            if i < first:
                term, before = local * grad, received(i)
                sums[i] = term if before is None else before + term
    return sums


def sums_from_terms(op: VectorOp, terms_of: Callable[[Value], Sequence]) -> Sums:
    """`chain_rule_sums` from each member's received terms (a replayed backward's records)."""
    sums: Sums = {}
    first, last = op.first_id, op.last_id
    for operand in op.inputs:
        for member in operand.members:
            from_op = [t.value for t in terms_of(member) if first <= t.consumer.id <= last]
            if from_op and member.id not in sums:
                total = from_op[0]
                for value in from_op[1:]:
                    total += value
                sums[member.id] = total
    return sums


# -- the vector forms --------------------------------------------------------------------------


def op_gradient(op: VectorOp, sums: Sums, *, evaluate: bool = True) -> OpGradient:
    """`op`'s formula and each input's gradient, evaluated now (see the module's docstring).

    `evaluate=False`: the formulas alone (no vector form computed where it costs: the
    forward phase shows them before the gradient exists).
    """
    g = op.output.grads
    inputs = op.inputs
    form = _FORMS.get(_kind(op.name))
    found = None
    if form is not None:
        try:
            found = form(op, inputs, g)
        except _NoForm:  # not the shape the formula is for (a script's own variant)
            found = None
    if found is None:
        read = ", ".join(operand_title(o) for o in inputs)
        computes = f"{op.output.title()} = {op.name}({read})"
        sides = [Side(o, "", None, _scalar(o, sums), o.vector.shape) for o in inputs]
        return OpGradient(op, computes, g, sides)
    computes, note, forms = found
    sides = [
        Side(
            o,
            formula,
            _evaluated(values, evaluate),
            _scalar(o, sums),
            o.vector.shape if o.whole else None,
        )
        for o, (formula, values) in zip(inputs, forms, strict=True)
    ]
    return OpGradient(op, computes, g, sides, note)


def _evaluated(values: Values, evaluate: bool) -> list[float] | None:
    if not callable(values):
        return values
    return values() if evaluate else None


class _NoForm(Exception):
    """The op does not have the shape its name's vector form is for."""


Values = list[float] | Callable[[], list[float]]  # (a callable: costly, made when asked)
Found = tuple[str, str, list[tuple[str, Values]]]  # computes, note, (formula, values)


def operand_title(operand: Operand) -> str:
    """How an op's formula names what it reads: `W_q` for a whole matrix, else its title."""
    vector = operand.vector
    if vector.shape is not None and operand.whole and "[" not in vector.name:
        return matrix_symbol(vector.name)
    return operand.title()


def _kind(name: str) -> str:
    return "linear" if name.startswith("linear ") else name


def _scalar(operand: Operand, sums: Sums) -> list[float | None]:
    return [sums.get(m.id) for m in operand.members]


def _values(operand: Operand) -> list[float]:
    return [m.data for m in operand.members]


def _check(condition: bool) -> None:
    if not condition:
        raise _NoForm


def _linear(op: VectorOp, inputs: list[Operand], g: list[float]) -> Found:
    """`W · x`; x may be read as several vectors one after another (W_o: the heads' outputs)."""
    matrices = [o for o in inputs if o.vector.shape is not None]
    _check(len(matrices) == 1 and matrices[0].whole and len(inputs) >= 2)
    matrix = matrices[0]
    parts = [o for o in inputs if o is not matrix]
    rows, cols = matrix.vector.shape  # type: ignore[misc]
    xs = [x for part in parts for x in _values(part)]
    _check(rows == len(g) and cols == len(xs))

    @cache
    def transposed() -> list:  # Σᵢ W[i][j] g[i], i in order (as `sum` adds: from 0)
        w, dx = _values(matrix), [0] * cols
        for i, gi in enumerate(g):
            dx = [d + wij * gi for d, wij in zip(dx, w[i * cols : (i + 1) * cols])]
        return dx

    sym = operand_title(matrix)
    name = parts[0].title() if len(parts) == 1 else "x"
    forms: dict[int, tuple[str, Values]] = {
        id(matrix): (f"g {name}ᵀ", lambda: [xj * gi for gi in g for xj in xs])
    }
    at = 0
    for part in parts:
        n = len(part.positions)
        formula = f"({sym}ᵀ g)[{at}:{at + n}]" if len(parts) > 1 else f"{sym}ᵀ g"
        forms[id(part)] = (formula, lambda at=at, n=n: transposed()[at : at + n])
        at += n
    joined = " ‖ ".join(p.title() for p in parts)
    computes = f"{op.output.title()} = {sym} · {name}" + (
        f",  x = {joined}" if len(parts) > 1 else ""
    )
    return computes, "", [forms[id(o)] for o in inputs]


def _attention_logits(op: VectorOp, inputs: list[Operand], g: list[float]) -> Found:
    q, keys = inputs[0], inputs[1:]
    d = len(q.positions)
    _check(len(keys) == len(g) and all(len(k.positions) == d for k in keys))
    scale = (d**0.5) ** -1  # as microgpt divides: `/ head_dim**0.5`
    gs = [scale * gt for gt in g]
    qs, ks = _values(q), [_values(k) for k in keys]
    dq = [sum(ks[t][j] * gs[t] for t in range(len(keys))) for j in range(d)]
    forms = [(f"Σₜ g[t] k[t] / √{d}", dq)]
    forms += [(f"g[{t}] {q.title()} / √{d}", [qj * gs[t] for qj in qs]) for t in range(len(keys))]
    computes = f"{op.output.title()}[t] = {q.title()} · k[t] / √{d}   (t = 0…{len(keys) - 1})"
    return computes, "", forms


def _softmax(op: VectorOp, inputs: list[Operand], g_kept: list[float]) -> Found:
    _check(len(inputs) == 1)
    logits = inputs[0]
    nodes = op.nodes
    exps = [n for n in nodes if n.op == "exp"]
    inverses = [n for n in nodes if n.op == "**"]  # `total**-1`, once per entry kept
    _check(len(exps) == len(logits.positions) and len(inverses) >= 1)
    inverse = inverses[0]._children[0].data ** -1  # as `**` computes it
    w = [e.data * inverse for e in exps]  # microgpt's `e / total`, every entry
    g = [0.0] * len(w)  # entries the graph did not keep (probs but the target's) pass on 0
    entry = {id(e): i for i, e in enumerate(exps)}  # an output `e · total⁻¹` is e's entry
    for member, gi in zip(op.output.members, g_kept, strict=True):
        found = [entry[id(c)] for c in member._children if id(c) in entry]
        _check(len(found) == 1)
        g[found[0]] = gi
    wg = sum(wi * gi for wi, gi in zip(w, g))
    dl = [wi * (gi - wg) for wi, gi in zip(w, g)]
    out = op.output.name
    note = f"w = {out} (all {len(w)}), Σ w·g = {wg:.4g}"
    return f"{op.output.title()} = softmax({logits.title()})", note, [("w ⊙ (g − Σ w·g)", dl)]


def _weighted_sum(op: VectorOp, inputs: list[Operand], g: list[float]) -> Found:
    w, vs = inputs[0], inputs[1:]
    ws = _values(w)
    _check(len(ws) == len(vs) and all(len(v.positions) == len(g) for v in vs))
    values = [_values(v) for v in vs]
    dw = [sum(values[t][j] * g[j] for j in range(len(g))) for t in range(len(vs))]
    forms = [("v[t] · g", dw)] + [(f"w[{t}] g", [ws[t] * gj for gj in g]) for t in range(len(vs))]
    computes = f"{op.output.title()} = Σₜ {w.title()}[t] v[t]   (t = 0…{len(vs) - 1})"
    return computes, "", forms


def _rmsnorm(op: VectorOp, inputs: list[Operand], g: list[float]) -> Found:
    _check(len(inputs) == 1)
    x = inputs[0]
    xs, n = _values(x), len(x.positions)
    scales = [node for node in op.nodes if node.op == "**"]
    _check(len(scales) == 1 and n == len(g))
    s = scales[0].data  # (mean(x²) + 1e-5) ** -0.5, the op's own node
    gx = sum(gi * xi for gi, xi in zip(g, xs))
    c = s**3 / n * gx
    dx = [s * gi - c * xi for gi, xi in zip(g, xs)]
    note = f"s = (mean(x²) + 1e-5)^−½ = {s:.6g}, n = {n}, g·x = {gx:.4g}"
    return f"{op.output.title()} = s · {x.title()}", note, [("s g − (s³/n)(g·x) x", dx)]


def _relu(op: VectorOp, inputs: list[Operand], g: list[float]) -> Found:
    _check(len(inputs) == 1 and len(inputs[0].positions) == len(g))
    x = inputs[0]
    dx = [gi * float(xi > 0) for gi, xi in zip(g, _values(x))]
    return f"{op.output.title()} = max(0, {x.title()})", "", [("g ⊙ [x > 0]", dx)]


def _add(op: VectorOp, inputs: list[Operand], g: list[float]) -> Found:
    _check(all(len(o.positions) == len(g) for o in inputs))
    computes = f"{op.output.title()} = {' + '.join(operand_title(o) for o in inputs)}"
    return computes, "", [("g", list(g)) for _ in inputs]


def _neg_log(op: VectorOp, inputs: list[Operand], g: list[float]) -> Found:
    _check(len(inputs) == 1 and len(inputs[0].positions) == 1 and len(g) == 1)
    p = inputs[0]
    (pv,) = _values(p)
    return f"{op.output.title()} = −log {p.title()}", "", [("−g / p", [-g[0] / pv])]


def _mean(op: VectorOp, inputs: list[Operand], g: list[float]) -> Found:
    n = sum(len(o.positions) for o in inputs)
    _check(len(g) == 1 and n > 0)
    forms = [(f"g / {n}", [(1 / n) * g[0]] * len(o.positions)) for o in inputs]
    return f"{op.output.title()} = (1/{n}) Σ losses", "", forms


_FORMS: dict[str, Callable[[VectorOp, list[Operand], list[float]], Found]] = {
    "linear": _linear,
    "q·k/√d": _attention_logits,
    "softmax": _softmax,
    "Σ w·v": _weighted_sum,
    "rmsnorm": _rmsnorm,
    "relu": _relu,
    "+ residual": _add,
    "tok + pos": _add,
    "−log p[target]": _neg_log,
    MEAN: _mean,
}
