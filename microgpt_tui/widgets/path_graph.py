"""The graph panel with the top paths of a gradient marked: ①②③ on the nodes they pass.

When the gradient tab has found the top paths from the loss to a node, the graph
panel marks every node on them with the ranks of the paths through it, and, if the
graph is centred on that node, opens its consumers along path ① (a few levels up
towards the loss), so the route the most gradient took is there to read.
"""

from __future__ import annotations

from rich.segment import Segment
from rich.style import Style

from microgpt_tui.explain_text import rank_mark
from microgpt_tui.widgets.graph_view import CONSUMERS, GraphView, Row

OPEN_LEVELS = 8  # levels of consumers opened along path ①


class PathGraphView(GraphView):
    """A GraphView that marks the nodes on the top paths to one node."""

    COMPONENT_CLASSES = GraphView.COMPONENT_CLASSES | {"graph-view--path"}

    DEFAULT_CSS = """
    PathGraphView > .graph-view--path { color: $text-warning; text-style: bold; }
    """

    def __init__(self, *, name: str | None = None, id: str | None = None) -> None:
        super().__init__(name=name, id=id)
        self.path_target: int = -1  # the node the marked paths lead to (-1: none)
        self.marks: dict[int, str] = {}  # node id -> the ranks of the paths through it

    def set_paths(self, target_id: int, paths: list[list[int]]) -> None:
        """Mark `paths` (node ids, loss first) to `target_id`; open path ① if centred there."""
        self.path_target = target_id
        marks: dict[int, str] = {}
        for rank, path in enumerate(paths, 1):
            for node_id in path:
                marks[node_id] = marks.get(node_id, "") + rank_mark(rank)
        self.marks = marks
        if paths:  # the title says whose paths the marks are
            self.border_title = f"graph · {rank_mark(1)}… the top paths to #{target_id}"
        if paths and self.centre_id == target_id:
            self.open_along(paths[0])
            centre = next(i for i, r in enumerate(self.rows) if r.kind == "node" and r.depth == 0)
            self.set_cursor(centre, announce=False)  # (rows were added above it)
        self.refresh()

    def clear_paths(self) -> None:
        self.path_target, self.marks = -1, {}
        self.border_title = "graph"
        self.refresh()

    def open_along(self, path: list[int]) -> None:
        """Expand the consumers row by row along `path` (loss first), up from the centre."""
        route = list(reversed(path))[1 : OPEN_LEVELS + 1]  # the centre's consumer, then theirs
        start = 0
        for depth, node_id in enumerate(route, 1):
            index = self._row_of(node_id, depth, start)
            if index is None:
                return
            self.expand(index)
            start = index + 1

    def _row_of(self, node_id: int, depth: int, start: int) -> int | None:
        for i in range(start, len(self.rows)):
            row = self.rows[i]
            if row.kind == "heading" and i > start:
                return None  # past the consumers
            if row.kind == "node" and row.depth == depth and row.node_id == node_id:
                if row.direction == CONSUMERS:
                    return i
        return None

    def _row_segments(self, row: Row, base: Style) -> list[Segment]:
        segments = super()._row_segments(row, base)
        mark = self.marks.get(row.node_id) if row.kind == "node" else None
        if not mark:
            return segments
        style = base + self.get_component_rich_style("graph-view--path")
        for i, segment in enumerate(segments[2:], 2):  # the padding after the name
            if segment.text.isspace() and len(segment.text) > len(mark):
                rest = " " * (len(segment.text) - len(mark))
                segments[i : i + 1] = [Segment(mark, style), Segment(rest, segment.style)]
                return segments
        return segments + [Segment(" " + mark, style)]
