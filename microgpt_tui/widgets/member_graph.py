"""The scalar graph panel on one vector's nodes: what drilling down from the vector level shows.

A `GraphView` that starts from a list (the vector's members, each a row that
expands to its inputs) instead of one centred node; Enter on a member centres
the graph on it as usual. Their common scope is not repeated on every row.
"""

from __future__ import annotations

from rich.segment import Segment
from rich.style import Style

from microgpt_tui.widgets.graph_view import INPUTS, GraphView, Row


class MemberGraph(GraphView):
    """A scalar graph panel listing a vector's nodes."""

    def __init__(self, *, name: str | None = None, id: str | None = None) -> None:
        super().__init__(name=name, id=id)
        self.listed_scope = ""

    def list_nodes(self, heading: str, node_ids: list[int]) -> None:
        """List these nodes under `heading`, each expandable to its inputs."""
        session = self.session
        if session is None or not node_ids:
            return
        self.centre_id = -1
        self.listed_scope = session.node(node_ids[0]).scope
        self.rows = [Row("heading", text=heading)]
        self.rows += [Row("node", 1, node_id, INPUTS) for node_id in node_ids]
        self._update_size()
        self.set_cursor(1, announce=False)
        self.scroll_to(y=0, animate=False)

    def _row_segments(self, row: Row, base: Style) -> list[Segment]:
        segments = super()._row_segments(row, base)
        if self.centre_id < 0 and segments and segments[-1].text == self.listed_scope:
            segments.pop()  # (every member's scope: said once, in the panel's title)
        return segments
