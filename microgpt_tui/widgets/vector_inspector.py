"""The inspector at vector level: one op, its formula, and its gradient two ways.

For the op the debugger is at (or the one picked in the vector panel) it shows
what the op computes, where, how many scalar nodes it is and how far the walk
is through them, its output's values and grads (g), and for each vector it
reads, the gradient's vector form evaluated on the real numbers beside the sum
of the scalar chain-rule terms that vector received from the op's nodes
(`engine.vector.gradients`), entry by entry, with the largest difference:

    ∂L/∂attn_logits = w ⊙ (g − Σ w·g)
      [i]  x            vector form   chain rule
      [0]  0.4131       -0.001234     -0.001234     =

`=` is bit for bit; `≈ 2e-18` where the two add the same terms in another
order (the chain rule in backward()'s order, the vector form by index).
"""

from __future__ import annotations

from engine.session import BACKWARD, DebugSession
from engine.stepper import BackwardPass
from engine.vector import DONE, RUNNING, VectorOp
from engine.vector.gradients import OpGradient, Side, chain_rule_sums, op_gradient, sums_from_terms
from microgpt_tui.display import PENDING, num
from microgpt_tui.widgets.inspector import Inspector, Line

LISTED = 8  # an output's values and grads written out (the rest are counted)
MAX_ENTRIES = 24  # entries listed per vector (a matrix: the first ones); the rest are counted
ORDER_NOTE = ("the chain rule adds the terms in", "backward()'s order: last bits may differ")


def _key(text: str) -> tuple[str, str]:
    return (f"{text:<10}", "muted")


def gradient_of(session: DebugSession, op: VectorOp) -> OpGradient:
    """`op`'s gradient two ways, as the backward walk stands now (in the forward phase: its
    formulas alone)."""
    if session.phase != BACKWARD:
        return op_gradient(op, {}, evaluate=False)
    walk = session.backward
    if isinstance(walk, BackwardPass):
        sums = chain_rule_sums(op, walk)
    else:  # a script's recorded backward: its own writes
        sums = sums_from_terms(op, session.terms)
    return op_gradient(op, sums)


def describe_op(session: DebugSession, op: VectorOp, gradient: OpGradient) -> list[Line]:
    """The vector inspector's lines for `op`."""
    walk = session.vectors.current
    state = walk.state(op)
    count = len(session.vectors.graph.ops)
    mark = {DONE: "✓ done", RUNNING: "◐ under way"}.get(state, "not reached yet")
    lines: list[Line] = [
        [
            _key("op"),
            (op.name, "title"),
            (f"   {session.phase}: {mark}", "positive" if state == DONE else "muted"),
        ],
        [_key("scope"), (op.scope, "")],
        [_key("computes"), (gradient.computes, "bold")],
        [
            _key("nodes"),
            (f"{op.stop - op.start:,} scalar nodes #{op.first_id}…#{op.last_id}", ""),
            (f"   (op {op.number + 1} of {count})", "muted"),
        ],
    ]
    if session.phase != BACKWARD:
        lines += _output(session, op)
        lines.append([("gradient", "title"), ("  evaluated in the backward phase (b)", "muted")])
        for side in gradient.sides:
            if side.formula:
                lines.append([("  " + side.name + " = " + side.formula, "")])
        return lines
    lines += _summary(gradient)
    lines += _output(session, op)
    for part in gradient.note.split(", ") if gradient.note else []:
        lines.append([("  " + part, "muted")])
    for side, label in zip(gradient.sides, side_labels(gradient.sides), strict=True):
        lines += _side(side, label)
    return lines


def side_labels(sides: list[Side]) -> list[str]:
    """Each side's name; sides of one name get where they differ: `∂L/∂k[4:8] · pos2`."""
    labels = []
    for side in sides:
        twins = [s.operand.vector.scope.split(".") for s in sides if s.name == side.name]
        parts = side.operand.vector.scope.split(".")
        differ = [p for i, p in enumerate(parts) if any(t[i : i + 1] != [p] for t in twins)]
        labels.append(side.name + (f" · {differ[0]}" if len(twins) > 1 and differ else ""))
    return labels


def _output(session: DebugSession, op: VectorOp) -> list[Line]:
    """The output's values, and in the backward phase its grads (g), as short lists."""
    output = op.output
    members = output.members
    shown = members[:LISTED]  # (only these are written out: a linear's output has hundreds)
    values = [num(m.data) if session.value_known(m) else PENDING for m in shown]
    lines: list[Line] = [
        [_key("output"), (f"{output.title()} = ", ""), (_listed(values, len(members)), "")]
    ]
    if session.phase == BACKWARD:
        final = all(session.has_final_grad(m) for m in members)
        grads = _listed([num(m.grad) for m in shown], len(members))
        lines.append(
            [
                _key(""),
                ("g = ", ""),
                (grads, "accent" if final else "muted"),
                (f"  ∂L/∂{output.title()}", "muted"),
            ]
        )
        if not final:
            lines.append([_key(""), ("(not final yet: consumers still to pass theirs)", "muted")])
    return lines


def _listed(texts: list[str], total: int) -> str:
    """`[0.1556, -0.0981, …]`: the first LISTED of `total`, then how many more."""
    more = f", … {total - LISTED} more" if total > LISTED else ""
    return "[" + ", ".join(texts[:LISTED]) + more + "]"


def _more(n: int) -> list[Line]:
    return [[(f"  … {n - MAX_ENTRIES} more", "muted")]] if n > MAX_ENTRIES else []


def _side(side: Side, label: str) -> list[Line]:
    """One input's gradient: the formula, then entry by entry, two ways."""
    if not side.formula:
        head: Line = [("gradient", "title"), (f"  {label}: the chain rule's sums", "")]
    else:
        head = [("gradient", "title"), (f"  {label} = ", ""), (side.formula, "accent")]
    lines: list[Line] = [head]
    lines.append([("  [i]     x          vector form chain rule", "muted")])
    operand = side.operand
    members, index = operand.members, operand.vector.index
    forms = side.vector_form
    width = side.shape[1] if side.shape else 0
    for i, m in enumerate(members[:MAX_ENTRIES]):
        where = f"[{i // width}][{i % width}]" if width else f"[{index[operand.positions[i]]}]"
        scalar = side.scalar[i]
        vector = forms[i] if forms is not None else None
        # (a space after each number, however long: -0.000618176 fills its column)
        line: Line = [(f"  {where:<8}", "muted"), (f"{num(m.data, 6):<10} ", "")]
        line.append((f"{num(vector, 6) if vector is not None else '':<11} ", "accent"))
        line.append((f"{num(scalar, 6) if scalar is not None else PENDING:<11} ", ""))
        if vector is not None and scalar is not None:
            same = vector == scalar
            line.append(("=" if same else f"≈ {abs(vector - scalar):.0e}", "muted"))
        lines.append(line)
    return lines + _more(len(members))


def _summary(gradient: OpGradient) -> list[Line]:
    """The largest difference between the two, and why they need not be bit-equal."""
    largest = gradient.largest_difference()
    if largest is None:
        if any(side.formula for side in gradient.sides):
            return [
                [("agree?", "title"), ("    nothing to compare yet: no term received", "muted")]
            ]
        return [[("agree?", "title"), ("    no vector form for this op", "muted")]]
    complete = all(side.complete for side in gradient.sides)
    so_far = "" if complete else " (so far: some terms are still to come)"
    if largest == 0:
        return [[("agree?", "title"), (f"    every entry equal, bit for bit{so_far}", "positive")]]
    return [
        [("agree?", "title"), (f"    largest difference {largest:.2g}{so_far}", "positive")],
        *([(" " * 12 + text, "muted")] for text in ORDER_NOTE),
    ]


class VectorInspector(Inspector):
    """Shows `describe_op()` for the op the debugger is at (or the one picked): lines wrapped to
    the width as the inspector's."""

    GROW_BY = 128  # (each op has its own number of lines: a change of size costs a layout)

    def __init__(self, *, name: str | None = None, id: str | None = None) -> None:
        super().__init__(name=name, id=id)
        self.op: VectorOp | None = None
        self.gradient: OpGradient | None = None

    def show_op(self, session: DebugSession, op: VectorOp | None) -> None:
        if op is None:
            self.gradient, self.lines = None, []
        else:
            self.gradient = gradient_of(session, op)
            self.lines = describe_op(session, op, self.gradient)
        if op is not self.op:
            self.op = op
            self.scroll_to(0, 0, animate=False)  # (a scroll repaints the whole panel)
        shown = self.rows
        self._update_size()
        self._repaint_changed(shown)

    def _repaint_changed(self, shown: list[Line]) -> None:
        """Repaint the visible lines whose row is not the one they show (`shown`, by index):
        ops share much of their description (the headings, the lines left blank)."""
        top, height = self.scroll_offset.y, self.scrollable_content_region.height
        for index in range(top, top + height):
            if shown[index : index + 1] != self.rows[index : index + 1]:
                self.refresh_line(index)
