"""The graph panel at vector level: the current scope as vectors and the ops between them.

The scope is the current op's (one that holds nothing but that op, such as a
head's `softmax`, shows its parent: the head), or the scope the user selected.
Its picture is the slide export's (`engine.export.vector_view`): the vectors
the ops read from outside it, each op, its output; the rows are laid out by
`vector_rows` and painted from the live values and grads. The current op is
marked ▶. Moving the cursor onto a row inspects its op; `→`/space shows a
vector's numbers, `←` hides them; Enter drills down to its scalars (the
screen shows the scalar graph panel on its nodes; esc comes back).
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from engine.export.selection import Selection
from engine.export.vector_view import OpNode, VectorView, vector_view
from engine.session import BACKWARD, DebugSession
from engine.vector import RUNNING, VectorGraph, VectorOp
from microgpt_tui.widgets.vector_rows import HEADING, OP, Look, PanelRow, Piece, layout
from microgpt_tui.widgets.vector_rows import label_width as _label_width
from microgpt_tui.widgets.vector_rows import pieces as _pieces

LIFT_LIMIT = 20  # a one-op scope shows its parent, unless the parent has more ops than this


def panel_scope(graph: VectorGraph, op: VectorOp) -> str:
    """The scope the panel shows for `op`: its own, or (a scope with only `op`) the parent's."""
    scope = op.scope
    while "." in scope and len(graph.ops_in(scope)) == 1:
        parent = scope.rsplit(".", 1)[0]
        if len(graph.ops_in(parent)) > LIFT_LIMIT:
            break
        scope = parent
    return scope


class VectorPanel(ScrollView, can_focus=True):
    """A scope's vectors and ops; the cursor picks an op to inspect, Enter drills down."""

    BINDINGS = [
        Binding("up", "cursor(-1)", "Up", show=False),
        Binding("down", "cursor(1)", "Down", show=False),
        Binding("pageup", "cursor(-10)", "Page up", show=False),
        Binding("pagedown", "cursor(10)", "Page down", show=False),
        Binding("home", "cursor(-1000000)", "First", show=False),
        Binding("end", "cursor(1000000)", "Last", show=False),
        Binding("right", "numbers(True)", "Numbers", show=False),
        Binding("space", "numbers(None)", "Numbers", show=False),
        Binding("left", "numbers(False)", "Hide numbers", show=False),
        Binding("enter", "drill", "Scalars", tooltip="Drill down to this vector's scalars"),
    ]

    COMPONENT_CLASSES = {
        "vector-panel--cursor",
        "vector-panel--current",
        "vector-panel--heading",
        "vector-panel--muted",
        "vector-panel--op",
        "vector-panel--label",
        "vector-panel--positive",
        "vector-panel--negative",
        "vector-panel--dim-positive",
        "vector-panel--dim-negative",
    }

    DEFAULT_CSS = """
    VectorPanel {
        background: $surface;
        overflow-x: hidden;
        scrollbar-size-vertical: 1;
        & > .vector-panel--cursor { background: $block-cursor-blurred-background; }
        &:focus > .vector-panel--cursor { background: $block-cursor-background; }
        & > .vector-panel--current { color: $text-warning; text-style: bold; }
        & > .vector-panel--heading { color: $text-muted; text-style: italic; }
        & > .vector-panel--muted { color: $text-muted; }
        & > .vector-panel--op { color: $text-accent; }
        & > .vector-panel--label { color: $text-primary; }
        & > .vector-panel--positive { color: $text-success; }
        & > .vector-panel--negative { color: $text-error; }
        & > .vector-panel--dim-positive { color: $success-muted; }
        & > .vector-panel--dim-negative { color: $error-muted; }
    }
    """

    @dataclass
    class OpPicked(Message):
        """The cursor moved onto an op, or a vector (its op): inspect it."""

        op: VectorOp

    @dataclass
    class DrillDown(Message):
        """Enter on a vector: show its scalars."""

        title: str
        node_ids: list[int]

    cursor: reactive[int] = reactive(0, repaint=False, init=False)  # (watch_cursor repaints)

    def __init__(self, *, name: str | None = None, id: str | None = None) -> None:
        super().__init__(name=name, id=id)
        self.session: DebugSession | None = None
        self.view: VectorView | None = None
        self.rows: list[PanelRow] = []
        self.current: OpNode | None = None
        self.expanded: set[str] = set()  # boxes showing their numbers
        self._scope: str | None = None
        self._laid_out: tuple = ()  # what the rows were laid out for
        self._grown = 0  # the tallest virtual height since the last resize
        self._painting: Look | None = None  # how rows are painted now (reset on any change)
        self._painted: dict[int, list[Piece]] = {}  # row index -> what its line shows now

    # -- what the screen calls ------------------------------------------------------------

    def show(self, session: DebugSession) -> None:
        """A new session: forget the old picture."""
        self.session = session
        self.view, self.rows, self.current = None, [], None
        self._scope, self._laid_out, self._painting = None, (), None
        self._update_size()

    @property
    def scope(self) -> str | None:
        """The scope shown (None: none yet)."""
        return self._scope

    def show_step(self, scope: str | None, current: VectorOp | None, *, follow: bool) -> None:
        """After a move: show `scope` (None: the one shown) with `current` marked, painted from
        the values and grads as they are now; `follow`: put the cursor on the current op.

        The one repaint per step: the visible rows' pieces are built once (marking the
        current op and reading the new values are the same repaint)."""
        moved = self._place(scope, current, follow=follow) if scope is not None else False
        self._relayout()  # (again only if the phase changed: grads shown or not)
        if self._painting is not None:
            self._painting.clear()  # (the values and grads changed)
        if moved:
            self.refresh()
        self._repaint_changed()

    def _place(self, scope: str, current: VectorOp | None, *, follow: bool) -> bool:
        """Take `scope` and `current` (the cursor with it if `follow`), unpainted; True if the
        scope changed (the whole panel is to be repainted)."""
        session = self.session
        if session is None:
            return False
        moved = scope != self._scope
        if moved:
            selection = Selection.of_scope(scope, level="vector")
            self.view = vector_view(session, selection, session.vectors.graph)
            self._scope, self.expanded = scope, set()
        self._relayout()
        assert self.view is not None
        self.current = self.view.op_node_of(current)
        self._painting = None
        if (follow or moved) and self.current is not None:
            at = next(i for i, r in enumerate(self.rows) if r.kind == OP and r.op is self.current)
            self.set_cursor(at, announce=False)
            self._scroll_to_show(max(0, at - 2), min(len(self.rows) - 1, at + 3))
        return moved

    def _repaint_changed(self) -> None:
        """Repaint the visible rows whose pieces differ from the ones their line shows."""
        if self.session is None or self.view is None:
            self.refresh()
            return
        top, height = self.scroll_offset.y, self.scrollable_content_region.height
        for index in range(top, min(top + height, len(self.rows))):
            pieces = self._row_pieces(index)
            if self._painted.get(index) != pieces:
                self._painted[index] = pieces  # (what the line shows once repainted)
                self.refresh_line(index)

    @property
    def text(self) -> str:
        """Every row as plain text (for tests)."""
        if self.session is None or self.view is None:
            return ""
        look = self._look()
        return "\n".join("".join(text for text, _ in _pieces(row, look)) for row in self.rows)

    @property
    def cursor_row(self) -> PanelRow | None:
        return self.rows[self.cursor] if 0 <= self.cursor < len(self.rows) else None

    # -- rows -------------------------------------------------------------------------------

    def _relayout(self) -> None:
        """Lay the rows out again if the scope, the width, the phase or the numbers changed."""
        session, view = self.session, self.view
        if session is None or view is None:
            return
        width = self.scrollable_content_region.width or 80
        grads = session.phase == BACKWARD
        key = (self._scope, width, grads, frozenset(self.expanded))
        if key != self._laid_out:
            self.rows = layout(view, width, self.expanded, grads=grads)
            self._laid_out, self._painting = key, None
            self._update_size()

    def _look(self) -> Look:
        """How to paint the rows (it reads the values and grads live: made once per layout)."""
        if self._painting is not None:
            return self._painting
        session = self.session
        assert session is not None and self.view is not None
        walk = session.vectors.current

        def state(node: OpNode) -> str:
            states = {walk.state(op) for op in node.ops}
            return states.pop() if len(states) == 1 else RUNNING

        self._painting = Look(
            session.value_known,
            session.phase == BACKWARD,
            session.has_final_grad,
            state,
            self.current,
            _label_width(self.view, self.scrollable_content_region.width or 80),
        )
        return self._painting

    def _row_pieces(self, index: int) -> list[Piece]:
        """Row `index` as pieces (kept in the look's cache: comparing them to the line's, then
        painting the line, computes them once a step)."""
        look = self._look()
        key = ("row", index)
        found = look.cache.get(key)
        if found is None:
            found = look.cache[key] = _pieces(self.rows[index], look)
        return found  # type: ignore[return-value]

    def _update_size(self) -> None:
        # The virtual height grows, never shrinks (until a resize): a change costs a
        # layout of the whole screen, and stepping moves from scope to scope.
        room = self.container_size
        rows = -(-len(self.rows) // 64) * 64  # (in steps of 64)
        height = max(rows, room.height, self._grown)
        self._grown = height if len(self.rows) > room.height else self._grown
        size = Size(room.width, height)
        if size != self.virtual_size:
            self.virtual_size = size
        self.refresh()

    def on_resize(self) -> None:
        self._grown = 0
        self._relayout()
        self._update_size()

    # -- the cursor -------------------------------------------------------------------------

    def set_cursor(self, index: int, *, announce: bool = True) -> None:
        if not self.rows:
            return
        index = max(0, min(index, len(self.rows) - 1))
        self.cursor = index
        self._scroll_to_show(index, index)
        if announce:
            op = self._op_of(self.rows[index])
            if op is not None:
                self.post_message(self.OpPicked(op))

    def _op_of(self, row: PanelRow) -> VectorOp | None:
        """The op a row stands for: an op's, a vector's maker, else the first op reading it."""
        if row.op is not None:
            return row.op.ops[-1]
        if row.box is None or self.view is None:
            return None
        reader = next((n for n in self.view.ops if row.box.key in n.inputs), None)
        return reader.ops[0] if reader is not None else None

    def _scroll_to_show(self, first: int, last: int) -> None:
        top, height = self.scroll_offset.y, self.scrollable_content_region.height
        if height <= 0:
            return
        if first < top:
            self.scroll_to(y=first, animate=False)
        elif last >= top + height:
            self.scroll_to(y=min(first, last - height + 1), animate=False)

    def watch_cursor(self, old: int, new: int) -> None:
        self.refresh_line(old)  # (only the two lines change: stepping moves the cursor)
        self.refresh_line(new)

    def action_cursor(self, delta: int) -> None:
        step = 1 if delta > 0 else -1
        target = max(0, min(self.cursor + delta, len(self.rows) - 1))
        while 0 <= target < len(self.rows) and self.rows[target].kind == HEADING:
            target += step
        if 0 <= target < len(self.rows):
            self.set_cursor(target)

    def action_numbers(self, show: bool | None) -> None:
        """Show (True), hide (False) or toggle (None) the numbers of the vector at the cursor."""
        row = self.cursor_row
        box = row.box if row is not None else None
        if box is None and row is not None and row.op is not None and self.view is not None:
            box = self.view.boxes[row.op.output]
        if box is None:
            return
        now = (box.key not in self.expanded) if show is None else show
        if now == (box.key in self.expanded):
            return
        if now:
            self.expanded.add(box.key)
        else:
            self.expanded.discard(box.key)
        self._relayout()
        at = next(i for i, r in enumerate(self.rows) if r.box is box)
        self.set_cursor(at, announce=False)
        last = max(i for i, r in enumerate(self.rows) if r.box is box)
        self._scroll_to_show(at, last)  # (its numbers, as many as fit)

    def action_drill(self) -> None:
        row = self.cursor_row
        if row is None or self.view is None:
            return
        box = row.box if row.box is not None else None
        if box is None and row.op is not None:
            box = self.view.boxes[row.op.output]
        if box is not None:
            self.post_message(self.DrillDown(box.title, [m.id for m in box.members]))

    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is None:
            return
        index = offset.y + self.scroll_offset.y
        if 0 <= index < len(self.rows) and self.rows[index].kind != HEADING:
            self.set_cursor(index)
            if event.chain >= 2:
                self.action_drill()

    # -- painting ---------------------------------------------------------------------------

    def render_line(self, y: int) -> Strip:
        index = self.scroll_offset.y + y
        width = self.scrollable_content_region.width
        base = self.visual_style.rich_style
        if not 0 <= index < len(self.rows) or self.session is None or self.view is None:
            self._painted.pop(index, None)
            return Strip.blank(width, base)
        style = self.get_component_rich_style
        pieces = self._painted[index] = self._row_pieces(index)
        segments = [
            Segment(text, base + style(f"vector-panel--{kind}") if kind else base)
            for text, kind in _merged(pieces)
        ]
        if index == self.cursor:
            cursor = style("vector-panel--cursor")
            segments = [Segment(text, (s or Style()) + cursor) for text, s, _ in segments]
            return Strip(segments).crop_extend(0, width, base + cursor)
        return Strip(segments).crop_extend(0, width, base)


def _merged(pieces: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Neighbouring pieces of one style as one (a strip is a piece per bar)."""
    merged: list[tuple[str, str]] = []
    for text, kind in pieces:
        if merged and merged[-1][1] == kind:
            merged[-1] = (merged[-1][0] + text, kind)
        else:
            merged.append((text, kind))
    return merged
