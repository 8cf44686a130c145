"""The debugger screen at vector level: the level key, the vector panel and inspector, drill-down.

A mixin of `DebuggerScreen`. `v` queues a level switch on the controller (the
runner builds the vector level the first time, off the UI thread); at vector
level the graph panel's place shows the `VectorPanel` and the inspector's the
`VectorInspector`, both following the op the walk is at, or the op picked in
the panel. Enter on a vector drills down: a scalar graph panel (`MemberGraph`)
lists its nodes and the scalar inspector shows the one under the cursor; esc
comes back. Below 120 columns these take the graph's and the inspector's turns
(`screens.arrangement` says which places show; this, which widget shows in each).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.screen import Screen
from textual.widget import Widget

from engine.controller import Controller
from engine.session import DebugSession
from engine.vector import VECTOR, VectorOp
from microgpt_tui.widgets import GraphView, Inspector
from microgpt_tui.widgets.member_graph import MemberGraph
from microgpt_tui.widgets.vector_inspector import VectorInspector
from microgpt_tui.widgets.vector_panel import VectorPanel, panel_scope

VECTORS, DRILLED, SCALARS = "vectors", "drilled", "scalars"
GRAPH_HINT = "click: inspect · ▸/→: expand · enter: centre"
PANEL_HINT = "↑↓: inspect an op · →: numbers · enter: scalars"
DRILLED_HINT = "▸/→: expand · enter: centre · esc: back to the vectors"


class VectorLevelViews(Screen):
    """The vector level's keys and panels (mixed into `DebuggerScreen`, which paints them)."""

    controller: Controller
    building: bool
    drilled: bool = False  # the graph panel lists one vector's scalars
    level_placed: str | None = None  # the level whose panels are in their places
    places_shown: frozenset[str]  # (Arrangement's: the places shown now)

    if TYPE_CHECKING:

        @property
        def session(self) -> DebugSession | None: ...
        def refresh_views(self, *, recentre: bool) -> None: ...
        def name_panels(self) -> None: ...

    def action_toggle_level(self) -> None:
        """`v`: queue a switch to the other level (after the moves queued before it)."""
        if self.session is None or self.building:
            return
        self.controller.toggle_level()

    def completed_op_name(self) -> str:
        """At vector level, the op the last move completed ("" if none, or at scalar level)."""
        session = self.session
        if session is None or session.level != VECTOR:
            return ""
        op = session.vectors.current.completed_op
        return op.name if op is not None else ""

    def shown_level(self) -> str:
        """What the panels show: VECTORS, DRILLED (one vector's scalars) or SCALARS."""
        session = self.session
        if session is None or session.level != VECTOR:
            self.drilled = False
            return SCALARS
        return DRILLED if self.drilled else VECTORS

    def _graph_panels(self) -> dict[str, Widget]:
        """What shows in the graph's place at each level."""
        return {
            SCALARS: self.query_one("#graph", GraphView),
            VECTORS: self.query_one(VectorPanel),
            DRILLED: self.query_one(MemberGraph),
        }

    def show_level(self) -> str:
        """Show the panels of the level (`shown_level`), keeping the keyboard focus in place."""
        shown = self.shown_level()
        if shown != self.level_placed:
            panels = self._graph_panels()
            moving_focus = any(panel.has_focus for panel in panels.values())
            self.place_level_panels(self.places_shown)
            self.name_panels()  # (below 120 columns the bar names the graph's place so)
            if moving_focus and panels[shown].display:
                panels[shown].focus()
        return shown

    def place_level_panels(self, places: frozenset[str]) -> None:
        """The level's panels in the graph's and the inspector's places, where those are shown
        (all of them from 120 columns; below, the places on the current page)."""
        shown = self.level_placed = self.shown_level()
        for level, panel in self._graph_panels().items():
            panel.display = level == shown and "graph" in places
        vectors = shown == VECTORS
        self.query_one("#inspector", Inspector).display = not vectors and "inspector" in places
        self.query_one(VectorInspector).display = vectors and "inspector" in places

    def place_names(self) -> dict[str, str]:
        """What the panel bar calls a place at this level (the graph's: vectors, or scalars)."""
        return {VECTORS: {"graph": "vectors"}, DRILLED: {"graph": "scalars"}}.get(
            self.shown_level(), {}
        )

    def refresh_vector_views(self, *, recentre: bool) -> VectorOp | None:
        """Paint the vector panel and inspector; the op they show."""
        session = self.session
        assert session is not None
        controller = self.controller
        walk_op = session.vectors.shown_op()
        op = controller.shown_op()
        panel = self.query_one(VectorPanel)
        graph = session.vectors.graph
        scope = controller.selected_scope
        if controller.inspected_op is not None and panel.scope is not None:
            scope = panel.scope  # (an op picked in the panel: the panel stays where it is)
        elif not scope or not graph.ops_in(scope):
            shown = op if op is not None else walk_op
            scope = panel_scope(graph, shown) if shown is not None else None
        follow = recentre and controller.inspected_op is None
        panel.show_step(scope, walk_op, follow=follow)  # (one repaint: rows built once)
        _entitle(panel, f"vectors · {scope}" if scope else "vectors", PANEL_HINT)
        inspector = self.query_one(VectorInspector)
        inspector.show_op(session, op)
        _entitle(inspector, "inspector" + (f" · op {op.name}" if op is not None else ""))
        return op

    def on_vector_panel_op_picked(self, message: VectorPanel.OpPicked) -> None:
        message.stop()
        self.controller.inspect_op(message.op)
        self.refresh_views(recentre=False)

    def on_vector_panel_drill_down(self, message: VectorPanel.DrillDown) -> None:
        """Enter on a vector: the scalar graph panel lists its nodes (esc comes back)."""
        message.stop()
        if self.session is None or not message.node_ids:
            return
        self.drilled = True
        graph = self.query_one(MemberGraph)
        graph.show(self.session)
        self.show_level()
        graph.list_nodes(f"{message.title}: {len(message.node_ids)} scalars", message.node_ids)
        graph.border_title = f"scalars of {message.title}"
        graph.border_subtitle = DRILLED_HINT
        graph.focus()
        self.controller.inspect(message.node_ids[0])
        self.refresh_views(recentre=False)

    def leave_drill_down(self) -> bool:
        """Back from a vector's scalars to the vectors (esc); False if not drilled down."""
        if not self.drilled:
            return False
        self.drilled = False
        self.show_level()
        self.query_one(VectorPanel).focus()
        return True


def _entitle(widget: Widget, title: str, subtitle: str | None = None) -> None:
    """Set a panel's border title (and subtitle) if they change: setting one repaints the
    whole panel, where a step may repaint only a few of its lines."""
    if widget.border_title != title:
        widget.border_title = title
    if subtitle is not None and widget.border_subtitle != subtitle:
        widget.border_subtitle = subtitle
