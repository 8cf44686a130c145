"""The graph around one node: its consumers above, its inputs below, expanded on demand.

A Line-API widget (`ScrollView` + `render_line`) over a flat list of visible
rows. Expanding a row inserts its children after it, collapsing removes them:
no recursion and no widget per node, so a node deep in a million-node graph
opens as fast as one in a small graph. Expansion is capped in depth and in
children per row.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding
from textual.geometry import Size
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from engine.session import DebugSession
from engine.value import Value
from microgpt_tui.display import num, used_by
from microgpt_tui.messages import NodeSelected
from microgpt_tui.widgets.graph_columns import RowColumns

MAX_DEPTH = 24  # rows nested deeper than this do not expand: centre on them instead
MAX_CHILDREN = 48  # children listed per expanded row; the rest as "… N more"
INPUTS, CONSUMERS = "inputs", "consumers"


@dataclass
class Row:
    """One visible line: a node (with the edge that led to it), a heading, or "… more"."""

    kind: str  # "node", "heading" or "more"
    depth: int = 0
    node_id: int = -1
    direction: str = INPUTS  # which way this row expands: its inputs or its consumers
    local_grad: float | None = None  # d(parent row's node) / d(this node), or the reverse
    edge_of: int = -1  # the node whose local gradient that is (known once it is computed)
    expanded: bool = False
    text: str = ""  # headings and "… more" rows


class GraphView(ScrollView, can_focus=True):
    """The current node's neighbourhood as an expandable tree; click a row to inspect it."""

    BINDINGS = [
        Binding("up", "cursor(-1)", "Up", show=False),
        Binding("down", "cursor(1)", "Down", show=False),
        Binding("pageup", "cursor(-10)", "Page up", show=False),
        Binding("pagedown", "cursor(10)", "Page down", show=False),
        Binding("home", "cursor(-1000000000)", "First", show=False),
        Binding("end", "cursor(1000000000)", "Last", show=False),
        Binding("right", "expand", "Expand", show=False),
        Binding("space", "toggle", "Expand", show=False),
        Binding("left", "collapse", "Collapse", show=False),
        Binding("enter", "centre", "Centre here", show=False, tooltip="Centre the graph here"),
    ]

    COMPONENT_CLASSES = {
        "graph-view--cursor",
        "graph-view--current",
        "graph-view--centre",
        "graph-view--heading",
        "graph-view--dim",
        "graph-view--op",
        "graph-view--label",
        "graph-view--positive",
        "graph-view--negative",
    }

    DEFAULT_CSS = """
    GraphView {
        background: $surface;
        overflow-x: hidden;
        scrollbar-size-vertical: 1;
        & > .graph-view--cursor { background: $block-cursor-blurred-background; }
        &:focus > .graph-view--cursor { background: $block-cursor-background; }
        & > .graph-view--current { color: $text-warning; text-style: bold; }
        & > .graph-view--centre { text-style: bold; }
        & > .graph-view--heading { color: $text-muted; text-style: italic; }
        & > .graph-view--dim { color: $text-disabled; }
        & > .graph-view--op { color: $text-accent; }
        & > .graph-view--label { color: $text-primary; }
        & > .graph-view--positive { color: $text-success; }
        & > .graph-view--negative { color: $text-error; }
    }
    """

    cursor: reactive[int] = reactive(0, layout=False, init=False)
    """The index of the highlighted row."""

    def __init__(self, *, name: str | None = None, id: str | None = None) -> None:
        super().__init__(name=name, id=id)
        self.session: DebugSession | None = None
        self.rows: list[Row] = []
        self.centre_id: int = -1
        self.current_id: int = -1  # the debugger's cursor node, marked ▶
        self._name_width = 0  # the widest row name (see _measure_names)

    # -- what the app calls -------------------------------------------------------------

    def show(self, session: DebugSession) -> None:
        """A new session: forget the old graph."""
        self.session = session
        self.rows = []
        self.centre_id = self.current_id = -1
        self._update_size()

    def centre_on(self, node_id: int) -> None:
        """Rebuild the rows around `node_id`: one level of consumers and one of inputs."""
        session = self.session
        if session is None:
            return
        node = session.node(node_id)
        self.centre_id = node_id
        uses = session.consumers_of(node)
        consumers = list(dict.fromkeys(uses))
        root_or_loss = "loss" if session.rooted_at is None else "root"
        summed = ", summed over its uses" if len(uses) != len(consumers) else ""
        rows: list[Row] = [
            Row(
                "heading",
                text=f"▲ {used_by(len(consumers), len(uses))}   (∂ = ∂consumer/∂this{summed})"
                if consumers
                else f"▲ used by nothing: this is the {root_or_loss}",
            )
        ]
        rows += self._children(node, CONSUMERS, 1)
        centre = len(rows)
        rows.append(Row("node", 0, node_id, INPUTS, expanded=True))
        inputs = self._children(node, INPUTS, 1)
        rows.append(
            Row(
                "heading",
                text=f"▼ computed from {len(node._children)}   (∂ = ∂this/∂input)"
                if inputs
                else "▼ a leaf: computed from nothing",
            )
        )
        rows += inputs
        self.rows = rows
        self._update_size()
        self.set_cursor(centre, announce=False)
        self.scroll_to(y=max(0, centre - self.scrollable_content_region.height // 3), animate=False)

    def show_node(self, node_id: int) -> None:
        """Highlight `node_id` if it is visible; otherwise centre the graph on it."""
        if self.rows and self.cursor < len(self.rows) and self.rows[self.cursor].node_id == node_id:
            self.refresh()
            return
        for i, row in enumerate(self.rows):
            if row.kind == "node" and row.node_id == node_id:
                self.set_cursor(i, announce=False)
                return
        self.centre_on(node_id)

    def set_current(self, node_id: int) -> None:
        self.current_id = node_id
        self.refresh()

    def refresh_state(self) -> None:
        """Values and grads changed (a step): repaint the visible rows."""
        self.refresh()

    @property
    def cursor_node_id(self) -> int | None:
        if 0 <= self.cursor < len(self.rows) and self.rows[self.cursor].kind == "node":
            return self.rows[self.cursor].node_id
        return None

    # -- rows ---------------------------------------------------------------------------

    def _children(self, node: Value, direction: str, depth: int) -> list[Row]:
        assert self.session is not None
        if direction == INPUTS:
            pairs = [(c, g) for c, g in zip(node._children, node._local_grads)]
        else:
            pairs = []
            for consumer in dict.fromkeys(self.session.consumers_of(node)):
                local = sum(
                    g for c, g in zip(consumer._children, consumer._local_grads) if c is node
                )
                pairs.append((consumer, local))
        rows = [
            Row("node", depth, child.id, direction, local, edge_of=node.id if direction == INPUTS
                else child.id)
            for child, local in pairs[:MAX_CHILDREN]
        ]  # fmt: skip
        if len(pairs) > MAX_CHILDREN:
            more = len(pairs) - MAX_CHILDREN
            rows.append(
                Row("more", depth, text=f"… {more} more (centre on the parent to see them)")
            )
        return rows

    def _expandable(self, row: Row) -> bool:
        if row.kind != "node" or self.session is None or row.depth >= MAX_DEPTH:
            return False
        if row.depth == 0:
            return False  # the centre row's neighbours are always shown
        node = self.session.node(row.node_id)
        if row.direction == INPUTS:
            return bool(node._children)
        return self.session.consumer_count(node) > 0

    def expand(self, index: int) -> None:
        row = self.rows[index]
        if row.expanded or not self._expandable(row):
            return
        assert self.session is not None
        node = self.session.node(row.node_id)
        row.expanded = True
        self.rows[index + 1 : index + 1] = self._children(node, row.direction, row.depth + 1)
        self._update_size()
        self.refresh()

    def collapse(self, index: int) -> None:
        row = self.rows[index]
        if not row.expanded or row.depth == 0:
            return
        end = index + 1
        while (
            end < len(self.rows)
            and self.rows[end].depth > row.depth
            and self.rows[end].kind != "heading"
        ):
            end += 1
        del self.rows[index + 1 : end]
        row.expanded = False
        self._update_size()
        self.refresh()

    def _update_size(self) -> None:
        # at least the visible height, so that small neighbourhoods never change the
        # virtual size (a change costs a layout of the whole screen)
        room = self.container_size  # the content area, scrollbars or not
        size = Size(room.width, max(len(self.rows), room.height))
        if size != self.virtual_size:
            self.virtual_size = size
        self._measure_names()
        self.refresh()

    def on_resize(self) -> None:
        self._update_size()

    def set_cursor(self, index: int, *, announce: bool = True) -> None:
        if not self.rows:
            return
        index = max(0, min(index, len(self.rows) - 1))
        self.cursor = index
        self.scroll_to_region_of(index)
        if announce and self.rows[index].kind == "node":
            self.post_message(NodeSelected(self.rows[index].node_id))

    def scroll_to_region_of(self, index: int) -> None:
        top, height = self.scroll_offset.y, self.scrollable_content_region.height
        if height <= 0:
            return
        if index < top:
            self.scroll_to(y=index, animate=False)
        elif index >= top + height:
            self.scroll_to(y=index - height + 1, animate=False)

    def watch_cursor(self) -> None:
        self.refresh()

    # -- actions ------------------------------------------------------------------------

    def action_cursor(self, delta: int) -> None:
        target = self.cursor + delta
        # skip headings, so the cursor always rests on something to inspect
        step = 1 if delta > 0 else -1
        target = max(0, min(target, len(self.rows) - 1))
        while 0 <= target < len(self.rows) and self.rows[target].kind != "node":
            target += step
        if 0 <= target < len(self.rows):
            self.set_cursor(target)

    def action_expand(self) -> None:
        if self.rows:
            self.expand(self.cursor)

    def action_collapse(self) -> None:
        if not self.rows:
            return
        row = self.rows[self.cursor]
        if row.expanded and row.depth > 0:
            self.collapse(self.cursor)
            return
        # already collapsed: go to the parent row
        for i in range(self.cursor - 1, -1, -1):
            if self.rows[i].kind == "node" and self.rows[i].depth < row.depth:
                self.set_cursor(i)
                return

    def action_toggle(self) -> None:
        if not self.rows:
            return
        if self.rows[self.cursor].expanded:
            self.collapse(self.cursor)
        else:
            self.expand(self.cursor)

    def action_centre(self) -> None:
        node_id = self.cursor_node_id
        if node_id is not None and node_id != self.centre_id:
            self.centre_on(node_id)
            self.post_message(NodeSelected(node_id))

    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is None:
            return
        index = offset.y + self.scroll_offset.y
        if not 0 <= index < len(self.rows) or self.rows[index].kind != "node":
            return
        row = self.rows[index]
        if event.chain >= 2:  # double click: centre the graph here
            self.set_cursor(index, announce=False)
            self.action_centre()
            return
        on_arrow = offset.x + self.scroll_offset.x <= 2 * row.depth + 2
        self.set_cursor(index)
        if on_arrow and self._expandable(row):
            self.action_toggle()

    # -- painting -----------------------------------------------------------------------

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        index = scroll_y + y
        width = self.scrollable_content_region.width
        base = self.visual_style.rich_style
        if not 0 <= index < len(self.rows) or self.session is None:
            return Strip.blank(width, base)
        segments = self._row_segments(self.rows[index], base)
        if index == self.cursor:
            cursor = self.get_component_rich_style("graph-view--cursor")
            segments = [Segment(text, (style or Style()) + cursor) for text, style, _ in segments]
            strip = Strip(segments).extend_cell_length(max(width, scroll_x + width), base + cursor)
        else:
            strip = Strip(segments).extend_cell_length(max(width, scroll_x + width), base)
        return strip.crop(scroll_x, scroll_x + width)

    def _row_segments(self, row: Row, base: Style) -> list[Segment]:
        style = self.get_component_rich_style
        indent = "  " * row.depth
        if row.kind == "heading":
            return [Segment(" " + row.text, base + style("graph-view--heading"))]
        if row.kind == "more":
            return [Segment(" " + indent + "  " + row.text, base + style("graph-view--dim"))]
        session = self.session
        assert session is not None
        node = session.node(row.node_id)
        if row.depth == 0:
            arrow = "●"
        elif not self._expandable(row):
            arrow = "·" if row.depth < MAX_DEPTH else "…"
        else:
            arrow = "▾" if row.expanded else "▸"
        marker = "▶" if node.id == self.current_id else " "
        name_style = base
        if node.id == self.current_id:
            name_style = base + style("graph-view--current")
        elif row.depth == 0:
            name_style = base + style("graph-view--centre")
        segments = [
            Segment(marker + indent + arrow + " ", name_style),
            Segment(f"#{node.id} ", name_style),
            Segment(f"{node.op} ", base + style("graph-view--op")),
        ]
        label = num(node.data) if node.op == "const" else (node.label or "")
        if label:
            segments.append(Segment(label + " ", base + style("graph-view--label")))
        centre_scope = session.node(self.centre_id).scope if self.centre_id >= 0 else ""
        used = sum(len(s.text) for s in segments)
        width = self.scrollable_content_region.width
        columns = RowColumns(session, base, style, width, centre_scope, self._name_width)
        return segments + columns.of(node, used, row.local_grad, row.edge_of)

    def _measure_names(self) -> None:
        """The widest name of the rows (the values' column starts after it)."""
        session, widest = self.session, 0
        for row in self.rows:
            if row.kind == "node" and session is not None:
                node = session.node(row.node_id)
                label = num(node.data) if node.op == "const" else (node.label or "")
                name = 3 + 2 * row.depth + len(f"#{node.id} {node.op} ") + len(label) + bool(label)
                widest = max(widest, name)
        self._name_width = widest
