"""The debugger screen: the panels, the debugger's keys, and the controller they drive.

The screen composes the panels and paints them from the session; what the
user has done lives in an engine `Controller` (the session, what is inspected
and selected, focus, breakpoints, the move queue, the root-here stack). A key
calls the controller; the screen then repaints, and says in the status line
what happened (`microgpt_tui.notes`). Loading and switching sessions
(`screens.sessions`) and the dialogs it opens (`screens.dialogs`) are mixed in.

Slow work never runs on the UI thread: building a session (tracing a million
nodes takes seconds) runs in a worker with a progress note, and so do moves:
the controller's runner is a worker thread, and the panels repaint once it
reports that the queue is empty, so they never show a half-done move.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widget import Widget
from textual.widgets import TabbedContent, TabPane

from engine import model as model_source
from engine.controller import Controller, Job, MovesDone
from engine.errors import InputError
from engine.session import BACKWARD, MOVES, PHASES, DebugSession
from engine.value import Value
from engine.workspace import Workspace
from microgpt_tui import notes
from microgpt_tui.commands import DebuggerCommands
from microgpt_tui.display import node_name
from microgpt_tui.keys import DEBUGGER_KEYS
from microgpt_tui.messages import NodeSelected, ScopeSelected
from microgpt_tui.screens.arrangement import Arrangement
from microgpt_tui.screens.choose import Choice
from microgpt_tui.screens.dialogs import Dialogs
from microgpt_tui.screens.explaining import Explaining
from microgpt_tui.screens.rehearsal import Rehearsal
from microgpt_tui.screens.sessions import Sessions
from microgpt_tui.screens.vector_level import (
    DRILLED,
    GRAPH_HINT,
    SCALARS,
    VECTORS,
    VectorLevelViews,
)
from microgpt_tui.widgets import (
    AttentionView,
    CallStack,
    GradientView,
    GraphView,
    Inspector,
    ParametersView,
    PathGraphView,
    ScopeTree,
    SourceView,
    StatusLine,
    TrainingView,
)
from microgpt_tui.widgets.footer import KeyFooter
from microgpt_tui.widgets.member_graph import MemberGraph
from microgpt_tui.widgets.panel_bar import PanelBar
from microgpt_tui.widgets.vector_inspector import VectorInspector
from microgpt_tui.widgets.vector_panel import VectorPanel

SESSION_ACTIONS = frozenset(
    "move phase focus_scope breakpoint goto find export follow choose root_here root_back "
    "bookmark next_bookmark save_walk open_walk copy next_panel previous_panel check_gradient "
    "toggle_level".split()
)
"""Actions that need a session, and this screen on top."""


class DebuggerScreen(Sessions, Dialogs, Explaining, Rehearsal, VectorLevelViews, Arrangement):
    """Step through one token's forward and backward pass, node by node."""

    BINDINGS = DEBUGGER_KEYS
    COMMANDS = {DebuggerCommands}

    @dataclass
    class MovesReported(Message):
        """The controller's runner emptied the move queue."""

        done: MovesDone

    def __init__(
        self,
        workspace: Workspace | None,
        session: DebugSession | None,
        choice: Choice,
        *,
        cursor_blink: bool = True,
        source: str = "",
        source_file: str | None = None,
        previous: list[DebugSession] | None = None,
        note: str = "",
    ) -> None:
        """Debug `workspace`'s model at `choice`, or only `session` when there is no workspace.

        `source` is what the status line calls the model; `source_file` the file
        the source panel shows for a node no line made (a parameter). `previous`: the
        sessions `session` was rooted from (R goes back); `note`: the status line's
        first note (e.g. the walk-through it opens).
        """
        super().__init__()
        self.workspace = workspace
        self.source = source
        self.source_file = source_file
        self.choice = choice
        self.cursor_blink = cursor_blink
        self.controller = Controller(self._runner_idle, start=self._start_runner)
        self.note = ""  # the last thing that happened, in the status line
        # Without a session given, one is built on mount: busy from the start, so a test or
        # benchmark that waits for "not busy" never sends keys before the screen has mounted.
        self.building = session is None
        self.load_seconds: float | None = None
        self._initial_session = session
        self._initial_previous = previous or []
        self._initial_note = note

    @property
    def session(self) -> DebugSession | None:
        return self.controller.session

    @property
    def can_choose(self) -> bool:
        """Is there a model to trace another document with? (Not for a script's graph.)"""
        return self.workspace is not None

    @property
    def busy(self) -> bool:
        """A session is being built or a move is running (tests and benchmarks wait on it)."""
        return self.building or self.controller.moving

    # -- layout ---------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield StatusLine(id="status")
        yield PanelBar(id="panel-bar")  # (below 120 columns, in place of the tab strip)
        with TabbedContent(initial="debugger", id="tabs"):
            with TabPane("Debugger", id="debugger"):
                with Vertical(id="panels"):
                    with Horizontal(id="top"):
                        yield _titled(SourceView(id="source"), "source")
                        yield _titled(Inspector(id="inspector"), "inspector")
                        yield _titled(VectorInspector(id="vector-inspector"), "inspector")
                    with Horizontal(id="bottom"):
                        with Vertical(id="scopes"):
                            stack = _titled(CallStack(id="call-stack"), "call stack")
                            stack.border_subtitle = "enter: select"
                            yield stack
                            yield _titled(ScopeTree(id="scope-tree"), "scopes")
                        graph = _titled(PathGraphView(id="graph"), "graph")
                        graph.border_subtitle = GRAPH_HINT
                        yield graph
                        yield _titled(VectorPanel(id="vector-graph"), "vectors")
                        yield _titled(MemberGraph(id="vector-scalars"), "scalars")
            with TabPane("Parameters", id="parameters"):
                yield ParametersView(id="parameters-view")
            with TabPane("Attention", id="attention"):
                yield AttentionView(id="attention-view")
            with TabPane("Gradient", id="gradient"):
                yield GradientView(id="gradient-view")
            with TabPane("Training", id="training"):
                yield TrainingView(id="training-view")
        yield KeyFooter(compact=True)

    def on_mount(self) -> None:
        self.set_interval(0.25, self.tick, name="progress")
        if self._initial_session is not None:
            session, self._initial_session = self._initial_session, None
            self.controller.install(session, previous=self._initial_previous)
            self.load_seconds = 0.0
            self.show_session(session)
            if self._initial_note:
                self.note = self._initial_note
                self.show_status(self.note)
        else:
            self.load(self.choice)

    def show_session(self, session: DebugSession) -> None:
        """Show the session the controller has just installed (a new trace, or a root)."""
        if self.workspace is not None:
            self.source = self.workspace.source
        self.building = False
        self.query_one("#tabs").loading = False
        self.query_one(GraphView).show(session)
        self.query_one(VectorPanel).show(session)
        self.drilled = False
        self.query_one(ScopeTree).show(session)
        self.query_one(ParametersView).show(session)
        self.query_one(AttentionView).show(session)  # (it says so when it has nothing to show)
        self.show_history()
        self.note = notes.opening_note(session)
        self.refresh_bindings()  # the footer's keys were disabled while loading
        self.refresh_views(recentre=True)

    # -- moves -----------------------------------------------------------------------------

    def action_move(self, move: str) -> None:
        if move in MOVES and move != "goto":  # (a jump goes to a bookmark: `'`)
            self._queue(move)

    def action_phase(self, phase: str) -> None:
        if phase in PHASES:
            self._queue(phase)

    def _queue(self, name: str) -> None:
        if self.session is None or self.building:
            return
        self.controller.queue(name)

    def _start_runner(self, job: Job) -> None:
        self.run_worker(job, thread=True, group="moves")

    def _runner_idle(self, done: MovesDone) -> None:
        """On the runner's thread: hand the report to the UI thread."""
        self.post_message(self.MovesReported(done))

    def on_debugger_screen_moves_reported(self, message: MovesReported) -> None:
        results = self.controller.finished(message.done)
        if not results:
            return  # another session's moves, or none
        self.note = notes.move_note(results[-1], self.completed_op_name())
        if not self.controller.moving:  # (else: more moves are queued; paint after them)
            self.refresh_views(recentre=True)

    # -- selection, focus, breakpoints ------------------------------------------------------

    def inspect_node(self, node_id: int, *, recentre: bool = True) -> None:
        """Inspect a node without moving the cursor (`g`, find, a parameter)."""
        if not self.controller.inspect(node_id):
            return
        self.note = ""
        self.refresh_views(recentre=False)
        graph = self.query_one(GraphView)
        if recentre:
            graph.centre_on(node_id)
        else:
            graph.show_node(node_id)

    def select_scope(self, path: str) -> None:
        """Select a scope (F focuses it, B breaks on it) and inspect its first node."""
        if self.session is None:
            return
        try:
            scope = self.controller.select_scope(path)
        except InputError as error:
            self.notify(str(error), severity="error")
            return
        self.query_one(ScopeTree).reveal(path)
        self.inspect_node(scope.first_id)
        self.note = notes.selected_note(path)
        self.show_status(self.note)

    def set_focus_scope(self, path: str | None) -> None:
        if self.session is None:
            return
        try:
            self.controller.set_focus(path)
        except InputError as error:
            self.notify(str(error), severity="error")
            return
        self.note = notes.focus_note(path)
        self.refresh_views(recentre=False)

    def clear_breakpoints(self) -> None:
        if self.session is None:
            return
        self.controller.clear_breakpoints()
        self.note = "breakpoints cleared"
        self.refresh_views(recentre=False)

    def action_focus_scope(self) -> None:
        if self.session is None:
            return
        self.note = notes.focus_note(self.controller.toggle_focus())
        self.refresh_views(recentre=False)

    def action_breakpoint(self) -> None:
        if self.session is None:
            return
        toggled = self.controller.toggle_breakpoint()
        if toggled is None:
            return
        self.note = notes.breakpoint_note(*toggled)
        self.refresh_views(recentre=False)

    def action_follow(self) -> None:
        """Back to the cursor: the panels follow the current node again (and a vector's
        scalars go back to the vectors)."""
        self.leave_drill_down()
        self.controller.follow()
        self.note = ""
        self.refresh_views(recentre=True)

    # -- messages from the panels ------------------------------------------------------------

    def on_node_selected(self, message: NodeSelected) -> None:
        """A node picked in the graph, the parameters or the attention: inspect it."""
        message.stop()
        tabs = self.query_one("#tabs", TabbedContent)
        if tabs.active != "debugger":
            tabs.active = "debugger"  # where the inspector is
            self.show_page("inspector")  # (below 120 columns: the panel that shows it)
        self.inspect_node(message.node_id, recentre=False)

    def on_scope_selected(self, message: ScopeSelected) -> None:
        message.stop()
        self.select_scope(message.path)

    def show_parameters(self, matrix: str) -> None:
        """The parameters tab, filtered to `matrix` (with its heatmap)."""
        if self.session is None:
            return
        try:
            self.query_one(ParametersView).set_matrix(matrix)
        except ValueError as error:
            self.notify(str(error), severity="error")
            return
        self.action_tab("parameters")

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if getattr(self.app, "closing", False):
            return False  # quitting: a key typed behind `q` opens nothing
        modal_up = len(self.app.screen_stack) > 1
        if action in SESSION_ACTIONS:
            if modal_up:
                return False  # a modal screen is up: its keys, not the debugger's
            if action != "choose" and (self.session is None or self.building):
                return None  # shown, but disabled
        if action == "tab" and modal_up:
            return False
        return True

    # -- painting ------------------------------------------------------------------------------

    def show_status(self, note: str) -> None:
        status = self.query_one(StatusLine)
        warning = self.workspace.data_note if self.workspace is not None else ""
        status.show(self.session, self.source, self.controller.inspected, note, warning)

    def refresh_views(self, *, recentre: bool) -> None:
        """Repaint every panel from the session (after a move, a selection, a new session)."""
        session = self.session
        if session is None:
            return
        cursor = session.cursor_node()
        node = self.controller.inspected_node()
        self.show_status(self.note)
        level = self.show_level()
        if level == VECTORS:
            op = self.refresh_vector_views(recentre=recentre)
            node = op.output.members[-1] if op is not None else node  # (the source of its line)
        else:
            just_processed = (
                session.phase == BACKWARD and node is not None and node is session.walk.current
            )
            inspector = self.query_one(Inspector)
            inspector.show(session, node, just_processed=just_processed)
            title = f" · {node_name(node)}" if node is not None else ""
            inspector.border_title = "inspector" + title
        if node is not None:
            self._show_source(session, node)
        self.query_one(CallStack).show_scope(
            session, session.where(), self.controller.selected_scope
        )
        self.query_one(ScopeTree).refresh_marks()
        graph = self.query_one(MemberGraph if level == DRILLED else "#graph", GraphView)
        if cursor is not None and level != VECTORS:
            graph.set_current(cursor.id if session.walk.current is not None else -1)
            if recentre and self.controller.inspected is None and level == SCALARS:
                graph.centre_on(cursor.id)
            graph.refresh_state()
        self.refresh_tab_views()

    def _show_source(self, session: DebugSession, node: Value) -> None:
        note = ""
        if node.op == "param":
            note = (
                "a parameter: no line computes it"
                if session.script is not None
                else "a parameter: made by GPT.init, no line computes it"
            )
        fallback = self.source_file or model_source.__file__
        self.query_one(SourceView).show_site(session.source_site(node), note, fallback=fallback)


def _titled(widget: Widget, title: str) -> Widget:
    """`widget` with `title` on its border."""
    widget.border_title = title
    return widget
