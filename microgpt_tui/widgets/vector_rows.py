"""What the vector panel draws, line by line: the ops of a scope and the vectors between them.

Pure layout, no widget: `layout(view, width, expanded)` makes the rows (a heading,
then in reading order each op's inputs not shown yet, the op, its output), and
`pieces(row, ...)` paints one row as (text, style) pieces from the live values and
grads, so only the visible rows are painted and a step costs no new layout.

A vector is a strip of signed bars, one per member: the bar's height is |x| over
the largest |x| of that strip (written after it), its colour the sign (green ≥ 0,
red < 0); a value the forward replay has not reached, or a grad nothing has been
passed to yet, is `·`; a grad still waiting for consumers is dimmed. A strip that
does not fit beside the other goes on its own line (and wraps if it must). A stack
(the keys a head reads from every position) is a line per position; a parameter
matrix is one line with its shape. The numbers are on demand (`expanded`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from engine.export.vector_view import OpNode, VectorBox, VectorView
from engine.value import Value
from engine.vector import DONE, RUNNING
from microgpt_tui.display import PENDING, num

HEADING, OP, BOX, NUMBER = "heading", "op", "box", "number"
BARS = "▁▂▃▄▅▆▇█"
AMOUNT = 6  # the width of a strip's largest |x|
Piece = tuple[str, str]  # (text, style: "", "muted", "heading", "op", "current", "label",
# "positive", "negative", "dim-positive", "dim-negative")


@dataclass(frozen=True)
class Part:
    """One line of a box: members `start:stop` of row `row` (-1: the title alone), `what`."""

    row: int
    what: str  # "both" (values and grads), "values", "grads", "title", "matrix"
    start: int = 0
    stop: int = 0


@dataclass
class PanelRow:
    """One visible line of the panel."""

    kind: str  # HEADING, OP, BOX or NUMBER
    op: OpNode | None = None  # OP: the op; BOX, NUMBER: the op that made the box, if any
    box: VectorBox | None = None
    part: Part | None = None  # BOX: which line of it
    member: int = -1  # NUMBER: the member's index in `box.members`
    text: str = ""  # HEADING


class Look:
    """What painting a row asks of the session: values known, grads shown, grads final.

    `cache` keeps what a row's paint computes over a whole vector or matrix (its
    largest |x|, a matrix's summary) until the values or grads change (`clear`).
    """

    def __init__(
        self,
        value_known: Callable[[Value], bool],
        grads: bool,
        final: Callable[[Value], bool],
        state: Callable[[OpNode], str],
        current: OpNode | None,
        label_width: int,
    ) -> None:
        self.value_known = value_known
        self.grads = grads
        self.final = final
        self.state = state  # DONE, RUNNING or PENDING
        self.current = current
        self.label_width = label_width
        self.cache: dict[tuple, object] = {}

    def clear(self) -> None:
        """The values or grads changed (a move)."""
        self.cache.clear()

    def limit(self, box: VectorBox, row: int, *, grads: bool) -> float:
        """The largest |x| (values known, or grads) of a box's row: what its bars are against."""
        key = (box.key, row, grads)
        found = self.cache.get(key)
        if found is None:
            members = box.rows[row]
            if grads:
                numbers = [m.grad for m in members]
            else:
                numbers = [m.data for m in members if self.value_known(m)]
            found = self.cache[key] = max(map(abs, numbers), default=0.0)
        return found  # type: ignore[return-value]


def label_width(view: VectorView, width: int) -> int:
    """The label column: the longest box title (stack rows are `pos0`), 8 to 22 wide, and
    at most a third of the panel's `width` (a longer title is cut)."""
    longest = max((len(box.title) for box in view.boxes.values()), default=8)
    return max(8, min(22, longest + 3, width // 3))


def layout(view: VectorView, width: int, expanded: set[str], *, grads: bool) -> list[PanelRow]:
    """The panel's rows for `view` at `width` columns (`expanded`: boxes showing numbers)."""
    rows = [PanelRow(HEADING, text=f"{view.what} · {len(view.ops)} ops")]
    shown: set[str] = set()
    made_by = {node.output: node for node in view.ops}
    labels = label_width(view, width)
    for node in view.ops:
        for key in node.inputs:
            if key not in shown:
                shown.add(key)
                rows += _box_rows(view.boxes[key], made_by.get(key), width, labels, expanded, grads)
        rows.append(PanelRow(OP, op=node))
        shown.add(node.output)
        rows += _box_rows(view.boxes[node.output], node, width, labels, expanded, grads)
    return rows


def _box_rows(
    box: VectorBox,
    node: OpNode | None,
    width: int,
    labels: int,
    expanded: set[str],
    grads: bool,
) -> list[PanelRow]:
    parts = box_parts(box, width, labels, grads)
    rows = [PanelRow(BOX, op=node, box=box, part=part) for part in parts]
    if box.key in expanded:
        rows += [PanelRow(NUMBER, op=node, box=box, member=i) for i in range(len(box.members))]
    return rows


def box_parts(box: VectorBox, width: int, labels: int, grads: bool) -> list[Part]:
    """The lines a box takes at `width`: see the module's docstring."""
    if len(box.rows) > 1 and box.param:
        return [Part(-1, "matrix")]
    parts = [Part(-1, "title")] if len(box.rows) > 1 else []
    for r, members in enumerate(box.rows):
        n = len(members)
        strip = n + 3 + AMOUNT  # "v " + bars + " " + amount
        if not grads and labels + strip <= width:
            parts.append(Part(r, "values", 0, n))
        elif grads and labels + 2 * strip + 2 <= width:
            parts.append(Part(r, "both", 0, n))
        else:
            room = max(4, width - labels - 3 - AMOUNT)
            for what in ("values", "grads") if grads else ("values",):
                parts += [Part(r, what, i, min(n, i + room)) for i in range(0, n, room)]
    return parts


# -- painting ----------------------------------------------------------------------------


def pieces(row: PanelRow, look: Look) -> list[Piece]:
    """One row as (text, style) pieces, from the values and grads as they are now."""
    if row.kind == HEADING:
        return [(" " + row.text, "heading")]
    if row.kind == OP:
        return _op_pieces(row.op, look)  # type: ignore[arg-type]
    assert row.box is not None
    if row.kind == NUMBER:
        return _number_pieces(row.box, row.member, look)
    return _box_pieces(row, look)


def _op_pieces(node: OpNode, look: Look) -> list[Piece]:
    state = look.state(node)
    current = node is look.current
    mark = {DONE: "✓", RUNNING: "◐"}.get(state, PENDING)
    size = sum(op.stop - op.start for op in node.ops)
    style = "current" if current else "op"
    return [
        ("▶ " if current else "  ", style),
        ("└─ " + node.name, style),
        (f"  {mark} {state}", "muted" if state != DONE else "positive"),
        (f"  {size:,} scalar nodes", "muted"),
    ]


def _box_pieces(row: PanelRow, look: Look) -> list[Piece]:
    box, part = row.box, row.part
    assert box is not None and part is not None
    first = part.start == 0 and part.what in ("both", "values", "title", "matrix")
    current = row.op is not None and row.op is look.current
    if part.row >= 0 and len(box.rows) > 1:
        label = "  " + (box.row_names[part.row] if part.row < len(box.row_names) else "")
    else:
        label = box.title if first else ""
    text = f"  {label}"[: look.label_width - 1].ljust(look.label_width)
    out: list[Piece] = [(text, "current" if current and label else "label")]
    if part.what == "title":
        return out + [(f"{len(box.rows)} × {box.width}", "muted"), *_note(box)]
    if part.what == "matrix":
        return out + _matrix_pieces(box, look)
    members = box.rows[part.row][part.start : part.stop]
    if part.what in ("both", "values"):
        out += _strip("v", members, look, look.limit(box, part.row, grads=False), grads=False)
    if part.what == "both":
        out.append(("  ", ""))
    if part.what in ("both", "grads"):
        out += _strip("g", members, look, look.limit(box, part.row, grads=True), grads=True)
    return out + (_note(box) if first and len(box.rows) == 1 else [])


def _note(box: VectorBox) -> list[Piece]:
    return [(f"  {box.note}", "muted")] if box.note else []


def _strip(tag: str, members: list[Value], look: Look, limit: float, *, grads: bool) -> list[Piece]:
    """`v ▂█▄▁▃ 0.51`: a bar per member, and the largest |x| (of the whole row) they are
    drawn against."""
    out: list[Piece] = [(tag + " ", "muted")]
    for m in members:
        out.append(_bar(m, look, limit, grads=grads))
    out.append((" " + _amount(limit).ljust(AMOUNT), "muted"))
    return out


def _bar(m: Value, look: Look, limit: float, *, grads: bool) -> Piece:
    if not grads and not look.value_known(m):
        return (PENDING, "muted")
    x = m.grad if grads else m.data
    final = not grads or look.final(m)
    if grads and x == 0 and not final:
        return (PENDING, "muted")
    if x == 0 or limit == 0:
        return (BARS[0], "muted")
    level = min(len(BARS) - 1, max(0, int(abs(x) / limit * len(BARS) - 1e-9)))
    sign = "negative" if x < 0 else "positive"
    return (BARS[level], sign if final else "dim-" + sign)


def _amount(limit: float) -> str:
    """The largest |x| in at most AMOUNT characters: `0.83`, `0.012`, `2e-05`."""
    if limit == 0:
        return "0"
    return f"{limit:.0e}".replace("e-0", "e-") if limit < 1e-3 else f"{limit:.2g}"


def _matrix_pieces(box: VectorBox, look: Look) -> list[Piece]:
    key = ("matrix", box.key)
    found = look.cache.get(key)
    if found is None:
        found = look.cache[key] = _matrix_summary(box, look)
    return found  # type: ignore[return-value]


def _matrix_summary(box: VectorBox, look: Look) -> list[Piece]:
    """`16×16  v |x| ≤ 0.55  g |x| ≤ 0.012` (its numbers on demand, →)."""
    members = box.members
    out: list[Piece] = [(f"{len(box.rows)}×{box.width}", "muted")]
    values = max(map(abs, [m.data for m in members]))
    out.append((f"  v |x| ≤ {_amount(values)}", "muted"))
    if look.grads:
        grads = max(map(abs, [m.grad for m in members]))
        out.append((f"  g |x| ≤ {_amount(grads)}", "muted"))
    return out + _note(box)


def _number_pieces(box: VectorBox, i: int, look: Look) -> list[Piece]:
    """`[3]  v 0.1234   g -0.00123` (a matrix: `[r][c]`, a stack: `pos2[3]`)."""
    width = box.width
    r, c = divmod(i, width) if width else (0, i)
    if box.param and len(box.rows) > 1:
        where = f"[{r}][{c}]"
    elif len(box.rows) > 1:
        where = f"{box.row_names[r] if r < len(box.row_names) else ''}[{c}]"
    else:
        where = f"[{i}]"
    m = box.members[i]
    value = num(m.data) if look.value_known(m) else PENDING
    out: list[Piece] = [(f"      {where:<10}", "muted"), (f"v {value:<12}", "")]
    if look.grads:
        final = look.final(m)
        if m.grad == 0 and not final:
            out.append((f"g {PENDING}", "muted"))
        else:
            sign = "negative" if m.grad < 0 else "positive"
            out.append((f"g {num(m.grad)}" + ("" if final else "…"), sign if final else "muted"))
    out.append((f"   #{m.id}", "muted"))
    return out
