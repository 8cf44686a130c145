"""The gradient and training tabs of the debugger screen, and the check by nudging (`x`).

A mixin of `DebuggerScreen`: it shows the inspected node (or the cursor's) in the
gradient tab when that tab is up, marks the top paths it found in the graph
panel, starts a check in the gradient view's worker, and hands the workspace's
training history to the training tab.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.screen import Screen
from textual.widgets import TabbedContent

from microgpt_tui.widgets.gradient_view import GradientView
from microgpt_tui.widgets.path_graph import PathGraphView
from microgpt_tui.widgets.training_view import TrainingView

if TYPE_CHECKING:
    from engine.controller import Controller
    from engine.session import DebugSession
    from engine.value import Value
    from engine.workspace import Workspace

GRADIENT, TRAINING = "gradient", "training"  # the tabs' ids


class Explaining(Screen):
    """The debugger screen's gradient and training tabs (mixed into `DebuggerScreen`)."""

    controller: Controller
    workspace: Workspace | None

    if TYPE_CHECKING:  # what DebuggerScreen provides

        @property
        def session(self) -> DebugSession | None: ...
        def action_tab(self, tab: str) -> None: ...

    def shown_node(self) -> Value | None:
        """The node the gradient tab explains: the inspected one, else the cursor's."""
        session = self.session
        if session is None:
            return None
        return self.controller.inspected_node() or session.cursor_node()

    def action_check_gradient(self) -> None:
        """Check the shown node's gradient by nudging (in a worker), in the gradient tab."""
        session = self.session
        if session is None:
            return
        self.action_tab(GRADIENT)
        view = self.query_one(GradientView)
        view.show(session, self.shown_node())
        view.start_check()  # (the gradient tab shows its progress and its result)

    def refresh_explaining(self, active: str) -> None:
        """Bring the gradient or training tab up to date, if it is the one shown."""
        session = self.session
        if session is None:
            return
        if active == GRADIENT:
            self.query_one(GradientView).show(session, self.shown_node())
        elif active == TRAINING:
            node = self.shown_node()
            label = node.label if node is not None and node.op == "param" else None
            self.query_one(TrainingView).follow(label)

    def show_history(self) -> None:
        """The training tab: this workspace's history (a new session, or a new checkpoint)."""
        session, ws = self.session, self.workspace
        history = ws.history if ws is not None else None
        at = (ws.train_state or {}).get("step") if ws is not None else None
        self.query_one(TrainingView).show(history, session.model if session else None, at)
        self.query_one(PathGraphView).clear_paths()

    def on_gradient_view_paths_found(self, message: GradientView.PathsFound) -> None:
        message.stop()
        self.query_one(PathGraphView).set_paths(message.node_id, message.paths)

    def active_tab(self) -> str:
        return self.query_one("#tabs", TabbedContent).active
