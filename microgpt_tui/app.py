"""The debugger app: a thin view over an engine `DebugSession`.

The app owns the session and two pieces of UI state: what is *inspected* (None:
the cursor's node, which the panels follow after every move) and the *selected*
scope (what `F` focuses and `B` breaks on; None: the cursor's scope).

Slow work never runs on the UI thread: building a session (tracing a million
nodes takes seconds) runs in a worker with a progress note, and so do moves (a
`c` to the end of a million-node backward pass takes a while). Moves are queued
and applied in order by one mover thread; the panels repaint once it is idle,
so they never show a half-done move.
"""

from __future__ import annotations

import gc
import os
import threading
import time
from collections import deque
from dataclasses import dataclass

from textual import work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.command import CommandPalette
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import Footer, LoadingIndicator, TabbedContent, TabPane
from textual.worker import get_current_worker

from engine import model as model_source
from engine.errors import InputError
from engine.session import BACKWARD, FORWARD, DebugSession
from engine.trace import recording_trace
from engine.value import Value
from engine.workspace import Workspace, open_workspace
from microgpt_tui.commands import DebuggerCommands
from microgpt_tui.display import cursor_node, node_name
from microgpt_tui.messages import NodeSelected, ScopeSelected
from microgpt_tui.screens.choose import Choice, ChooseScreen
from microgpt_tui.screens.find import FindScreen
from microgpt_tui.screens.goto import GoToScreen
from microgpt_tui.screens.help import HelpScreen
from microgpt_tui.screens.modal import DismissOnce
from microgpt_tui.widgets import (
    AttentionView,
    CallStack,
    GraphView,
    Inspector,
    ParametersView,
    ScopeTree,
    SourceView,
    StatusLine,
)

MOVES = ("step", "step_over", "step_out", "cont", "back", "run_to_end")
MOVE_NAMES = {
    "step": "step",
    "step_over": "next",
    "step_out": "out",
    "cont": "continue",
    "back": "back",
    "run_to_end": "run to the end",
}


@dataclass
class SessionLoaded(Message):
    """A worker finished building a session."""

    session: DebugSession
    workspace: Workspace
    choice: Choice
    seconds: float


@dataclass
class LoadFailed(Message):
    """A worker could not build the session asked for (bad input): keep the current one."""

    error: str


@dataclass
class MovesDone(Message):
    """The mover thread is idle; `results` says what each queued move did."""

    session: DebugSession
    results: list[tuple[str, str, int]]  # (kind, name, nodes processed or 1/0)


class _LoadingIndicator(LoadingIndicator):
    """Textual's indicator, but not a place to start a text selection.

    (A mouse press on the overlay a `loading` widget shows would otherwise start a
    selection in a widget without a parent, and Textual 8 raises.)
    """

    ALLOW_SELECT = False


class _CommandPalette(DismissOnce, CommandPalette):
    """Textual's palette; a click queued behind the one that closed it is ignored."""


def _recorded_nodes() -> int | None:
    """How many nodes the trace being recorded has so far (a progress figure), if any."""
    trace = recording_trace()
    return len(trace.nodes) if trace is not None else None


class DebuggerApp(App[int]):
    """Step through one token's forward and backward pass, node by node."""

    CSS_PATH = "app.tcss"
    TITLE = "microgpt-tui"
    COMMANDS = App.COMMANDS | {DebuggerCommands}

    BINDINGS = [
        Binding(
            "s", "move('step')", "Step", tooltip="Process exactly one node", id="debugger.step"
        ),
        Binding(
            "n", "move('step_over')", "Next", tooltip="Step over inner scopes", id="debugger.next"
        ),
        Binding(
            "o",
            "move('step_out')",
            "Out",
            tooltip="Run to the end of the current scope",
            id="debugger.out",
        ),
        Binding(
            "c",
            "move('cont')",
            "Cont",
            tooltip="Run to the next breakpoint or the end",
            id="debugger.continue",
        ),
        Binding(
            "p", "move('back')", "Back", tooltip="Undo the last move exactly", id="debugger.back"
        ),
        Binding(
            "F",
            "focus_scope",
            "Focus",
            tooltip="Stop only inside the selected scope; again to clear",
            id="debugger.focus",
        ),
        Binding(
            "B",
            "breakpoint",
            "Break",
            tooltip="Toggle a breakpoint on the selected scope",
            id="debugger.breakpoint",
        ),
        Binding("f", "phase('forward')", "Fwd", tooltip="The forward phase", id="debugger.forward"),
        Binding(
            "b", "phase('backward')", "Bwd", tooltip="The backward phase", id="debugger.backward"
        ),
        Binding("g", "goto", "Go to", tooltip="Inspect a node by id", id="debugger.goto"),
        Binding(
            "slash",
            "find",
            "Find",
            key_display="/",
            tooltip="Find a scope or a label",
            id="debugger.find",
        ),
        Binding(
            "d",
            "choose('doc')",
            "Doc",
            tooltip="Another document, position or checkpoint",
            id="debugger.choose",
        ),
        Binding("e", "export", "Export", tooltip="Export with Graphviz", id="debugger.export"),
        Binding(
            "r",
            "root_here",
            "Root here",
            show=False,
            tooltip="Backprop from the inspected node: a new session rooted there",
            id="debugger.root_here",
        ),
        Binding(
            "R",
            "root_back",
            "Previous root",
            show=False,
            tooltip="Back to the session before the last Root here",
            id="debugger.root_back",
        ),
        Binding("question_mark", "help", "Help", key_display="?", id="debugger.help"),
        Binding("q", "quit", "Quit", id="debugger.quit"),
        Binding("escape", "follow", "Follow cursor", show=False, id="debugger.follow"),
        Binding("1", "tab('debugger')", "Debugger", show=False, id="debugger.tab.debugger"),
        Binding("2", "tab('parameters')", "Parameters", show=False, id="debugger.tab.parameters"),
        Binding("3", "tab('attention')", "Attention", show=False, id="debugger.tab.attention"),
    ]

    # actions that need a session and the main screen
    SESSION_ACTIONS = {
        "move",
        "focus_scope",
        "breakpoint",
        "phase",
        "goto",
        "find",
        "export",
        "follow",
        "choose",
        "root_here",
        "root_back",
    }

    def __init__(
        self,
        workspace: Workspace | None,
        session: DebugSession | None = None,
        *,
        doc: str = "emma",
        pos: int | None = None,
        whole_document: bool = False,
        cursor_blink: bool = True,
        source: str | None = None,
        source_file: str | None = None,
    ) -> None:
        """Debug `workspace`'s model, or only `session` when there is no workspace.

        Without a workspace (a graph captured from the user's own script) `session`
        is required and fixed: `d` cannot trace another document. `source` is what
        the status line calls the model (default: the workspace's); `source_file`
        the file the source panel shows for a node no line made (a parameter).
        """
        super().__init__()
        if workspace is None and session is None:
            raise ValueError("DebuggerApp needs a workspace or a session")
        self.workspace = workspace
        self.source = source if source is not None else (workspace.source if workspace else "")
        self.source_file = source_file
        self.session: DebugSession | None = None
        self._initial_session = session
        self.choice = Choice(doc, pos, whole_document)
        self.cursor_blink = cursor_blink
        self.inspected: int | None = None  # a node inspected away from the cursor
        self.selected_scope: str | None = None  # what F and B act on (None: the cursor's scope)
        self.note = ""  # the last thing that happened, in the status line
        self.loading = False
        self.load_seconds: float | None = None
        self._load_started = 0.0
        self._build_lock = threading.Lock()  # one trace records at a time, process-wide
        self._pending: deque[tuple[str, str]] = deque()  # queued moves for the mover thread
        self._moving = False  # a mover thread is running (set and cleared on the UI thread)
        self._parameter_ids: dict[str, int] | None = None
        # "backprop from here": the sessions a Root here replaced, the latest last
        self.previous_sessions: list[DebugSession] = []

    @property
    def captured(self) -> bool:
        """Is this a fixed graph (the user's script) rather than the workspace's model?"""
        return self.workspace is None

    # -- layout ---------------------------------------------------------------------------

    def get_loading_widget(self) -> LoadingIndicator:
        return _LoadingIndicator()

    def compose(self) -> ComposeResult:
        yield StatusLine(id="status")
        with TabbedContent(initial="debugger", id="tabs"):
            with TabPane("Debugger", id="debugger"):
                with Vertical(id="panels"):
                    with Horizontal(id="top"):
                        source = SourceView(id="source")
                        source.border_title = "source"
                        yield source
                        inspector = Inspector(id="inspector")
                        inspector.border_title = "inspector"
                        yield inspector
                    with Horizontal(id="bottom"):
                        with Vertical(id="scopes"):
                            stack = CallStack(id="call-stack")
                            stack.border_title = "call stack"
                            yield stack
                            tree = ScopeTree(id="scope-tree")
                            tree.border_title = "scopes"
                            yield tree
                        graph = GraphView(id="graph")
                        graph.border_title = "graph"
                        graph.border_subtitle = "click: inspect · ▸/→: expand · enter: centre"
                        yield graph
            with TabPane("Parameters", id="parameters"):
                yield ParametersView(id="parameters-view")
            with TabPane("Attention", id="attention"):
                yield AttentionView(id="attention-view")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.set_interval(0.25, self._tick, name="progress")
        if self._initial_session is not None:
            session, self._initial_session = self._initial_session, None
            self._install(session, self.workspace, self.choice, 0.0)
        else:
            self.load(self.choice)

    # -- loading a session -------------------------------------------------------------------

    def load(self, choice: Choice) -> None:
        """Build the session for `choice` in a worker; the screen stays live meanwhile."""
        self.loading = True
        self.refresh_bindings()
        self._load_started = time.monotonic()
        self.query_one("#tabs").loading = True
        self._status(self._loading_note(choice))
        self._build_session(choice)

    def _loading_note(self, choice: Choice) -> str:
        where = (
            "every position"
            if choice.whole_document
            else ("the last position" if choice.pos is None else f"position {choice.pos}")
        )
        text = f"tracing {choice.doc!r} at {where}"
        if choice.checkpoint:
            text += f" with {choice.checkpoint}"
        elapsed = time.monotonic() - self._load_started
        recorded = _recorded_nodes()
        if recorded:
            text += f"… {recorded:,} nodes recorded"
        elif elapsed > 0.5:
            text += "… indexing the graph"
        else:
            text += "…"
        return text + (f" ({elapsed:.0f} s)" if elapsed >= 1 else "")

    @work(thread=True, exclusive=True, group="load")
    def _build_session(self, choice: Choice) -> None:
        worker = get_current_worker()
        started = time.perf_counter()
        with self._build_lock:
            if worker.is_cancelled:
                return
            # what an earlier build froze (see below) may be collected again
            gc.unfreeze()
            try:
                workspace = self.workspace
                if choice.checkpoint:
                    workspace = open_workspace(checkpoint=choice.checkpoint)
                session = DebugSession(
                    workspace.model,
                    workspace.tokenizer,
                    choice.doc,
                    choice.pos,
                    whole_document=choice.whole_document,
                )
                # the lazy indexes, built here rather than on the UI thread's first look
                _ = session.consumers, session.scopes
                # The graph is acyclic (refcounting frees it): keep Python's cycle
                # collector from re-scanning millions of nodes in the middle of a
                # step. (Until the next build, it leaves alone all that exists now.)
                gc.freeze()
            except InputError as error:
                self.post_message(LoadFailed(str(error)))
                return
        if not worker.is_cancelled:
            self.post_message(
                SessionLoaded(session, workspace, choice, time.perf_counter() - started)
            )

    def on_session_loaded(self, message: SessionLoaded) -> None:
        self.previous_sessions.clear()  # another trace: the old roots go with the old one
        self._install(message.session, message.workspace, message.choice, message.seconds)

    def on_load_failed(self, message: LoadFailed) -> None:
        self.loading = False
        self.query_one("#tabs").loading = False
        self.refresh_bindings()
        self.notify(message.error, title="Cannot open that", severity="error", timeout=8)
        self._status("" if self.session is not None else f"nothing to debug: {message.error}")

    def _install(
        self,
        session: DebugSession,
        workspace: Workspace | None,
        choice: Choice,
        seconds: float,
        *,
        announce: bool = True,
    ) -> None:
        reloaded = self.session is not None and announce
        self.session = session
        self.workspace = workspace
        if workspace is not None:
            self.source = workspace.source
        self.choice = choice
        self.load_seconds = seconds
        self.loading = False
        self._pending = deque()  # a mover still busy with the old session keeps its own queue
        self.inspected = None
        self.selected_scope = None
        self._parameter_ids = None
        self.query_one("#tabs").loading = False
        self.query_one(GraphView).show(session)
        self.query_one(ScopeTree).show(session)
        self.query_one(ParametersView).show(session)
        self.query_one(AttentionView).show(session)  # (it says so when it has nothing to show)
        self.note = self._opening_note(session)
        self.refresh_bindings()  # the footer's keys were disabled while loading
        self.refresh_views(recentre=True)
        if reloaded:
            self.notify(
                f"Now debugging {session.doc!r} ({len(session.nodes):,} nodes).",
                title="Rebuilt the trace",
            )

    @property
    def busy(self) -> bool:
        """A session is being built or a move is running (tests and benchmarks wait on it)."""
        return self.loading or self._moving

    @staticmethod
    def _opening_note(session: DebugSession) -> str:
        if session.phase != FORWARD or session.walk.position:
            return ""
        params = session.find_scope("params")
        if params is None or not params.total:
            return "s steps one node · b for backprop"
        return f"the {params.total:,} parameters come first: o steps out of them · b for backprop"

    # -- moves -----------------------------------------------------------------------------

    def action_move(self, move: str) -> None:
        if move in MOVES:
            self._queue("move", move)

    def action_phase(self, phase: str) -> None:
        if phase in (FORWARD, BACKWARD):
            self._queue("phase", phase)

    def _queue(self, kind: str, name: str) -> None:
        if self.session is None or self.loading:
            return
        self._pending.append((kind, name))
        if not self._moving:
            self._start_mover()

    def _start_mover(self) -> None:
        assert self.session is not None
        self._moving = True
        self._run_moves(self.session, self._pending)

    @work(thread=True, group="moves")
    def _run_moves(self, session: DebugSession, pending: deque[tuple[str, str]]) -> None:
        """Apply queued moves in order, then report once the queue is empty."""
        results: list[tuple[str, str, int]] = []
        while pending:
            try:
                kind, name = pending.popleft()
            except IndexError:
                break
            if kind == "phase":
                changed = session.phase != name
                session.set_phase(name)
                results.append((kind, name, int(changed)))
            elif name == "back":
                results.append((kind, name, int(session.walk.back())))
            else:
                results.append((kind, name, getattr(session.walk, name)()))
        self.post_message(MovesDone(session, results))

    def on_moves_done(self, message: MovesDone) -> None:
        self._moving = False
        if self._pending and self.session is not None:
            self._start_mover()  # queued after the mover had looked: run them first
            if message.session is self.session:
                self._apply_results(message.results, refresh=False)
            return
        if message.session is self.session:
            self._apply_results(message.results)

    def _apply_results(self, results: list[tuple[str, str, int]], refresh: bool = True) -> None:
        session = self.session
        assert session is not None
        moved = any(count for _, _, count in results)
        if results:
            kind, name, count = results[-1]
            if kind == "phase":
                self.note = (
                    "backward: each step passes one node's grad to its inputs"
                    if name == BACKWARD
                    else "forward: each step reveals the next node's value"
                )
            elif name == "back":
                self.note = "undid the last move" if count else "nothing to undo"
            elif count == 0:
                self.note = f"at the end of the {session.phase} phase" + (
                    ": press b for the backward phase"
                    if session.phase == FORWARD
                    else ": every grad is final"
                )
            else:
                self.note = f"{MOVE_NAMES[name]}: {count:,} node{'s' * (count != 1)} processed"
        if moved:
            self.inspected = None
            self.selected_scope = None
        if refresh:
            self.refresh_views(recentre=True)

    def _tick(self) -> None:
        """Progress while loading; "running…" while a long move runs."""
        if self.loading:
            self._status(self._loading_note(self.choice))
        elif self._moving:
            self._status("running…")

    # -- selection, focus, breakpoints ------------------------------------------------------

    def inspect_node(self, node_id: int, *, recentre: bool = True) -> None:
        """Inspect a node without moving the cursor (`g`, find, a parameter)."""
        if self.session is None or not 0 <= node_id < len(self.session.nodes):
            return
        self.inspected = node_id
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
        scope = self.session.find_scope(path)
        if scope is None:
            self.notify(f"no scope {path!r} in this graph", severity="error")
            return
        self.selected_scope = path
        self.query_one(ScopeTree).reveal(path)
        self.inspect_node(scope.first_id)
        self.note = f"selected {path}: F focuses it, B sets a breakpoint"
        self._refresh_status()

    def set_focus_scope(self, path: str | None) -> None:
        if self.session is None:
            return
        try:
            self.session.set_focus(path)
        except InputError as error:
            self.notify(str(error), severity="error")
            return
        if path:
            self.note = f"focus ◎ {path}: moves stop only inside it (F clears)"
        else:
            self.note = "focus cleared: moves stop everywhere"
        self.selected_scope = None
        self.refresh_views(recentre=False)

    def clear_breakpoints(self) -> None:
        if self.session is None:
            return
        for scope in list(self.session.breakpoints):
            self.session.toggle_breakpoint(scope)
        self.note = "breakpoints cleared"
        self.refresh_views(recentre=False)

    def _target_scope(self) -> str | None:
        """The selected scope, else the scope the walk is in."""
        if self.selected_scope is not None:
            return self.selected_scope
        return self._walk_scope() or None

    def _walk_scope(self) -> str:
        """Where the walk is: the last processed node's scope, parameters not counting.

        (In the backward order a parameter sits between almost any two nodes; stepping
        onto one does not leave the scope, as a debugger reading a global stays in its
        function.) Before the first step, the next node's scope.
        """
        session = self.session
        if session is None:
            return ""
        scope = session.walk.where()
        if scope is None:
            node = cursor_node(session)
            scope = node.scope if node is not None else ""
        return scope

    def action_focus_scope(self) -> None:
        session = self.session
        if session is None:
            return
        if session.focus and self.selected_scope in (None, session.focus):
            self.set_focus_scope(None)
        else:
            self.set_focus_scope(self._target_scope())

    def action_breakpoint(self) -> None:
        session = self.session
        scope = self._target_scope()
        if session is None or not scope:
            return
        now_set = session.toggle_breakpoint(scope)
        self.note = (
            f"breakpoint ● {scope}: c stops on entering it"
            if now_set
            else f"breakpoint on {scope} cleared"
        )
        self.refresh_views(recentre=False)

    def action_follow(self) -> None:
        """Back to the cursor: the panels follow the current node again."""
        self.inspected = None
        self.selected_scope = None
        self.note = ""
        self.refresh_views(recentre=True)

    # -- backprop from here ------------------------------------------------------------------

    def root_here(self, node: Value | None = None) -> DebugSession | None:
        """Backprop from `node` (default: the inspected one): a session rooted there.

        The new session holds `node` and what it depends on (copies: the current
        session is kept as it stands, `R` comes back to it), starts in the backward
        phase, and its full backward pass equals `node.backward()`'s in the script.
        """
        session = self.session
        if session is None:
            return None
        if self._moving:
            self.notify("A move is still running: root here once it is done.", severity="warning")
            return None
        node = node if node is not None else self._inspected_node()
        if node is None:
            return None
        if node is session.root:
            self.notify(f"{node_name(node)} is already the root.", title="Root here")
            return None
        new = session.rerooted(node)
        new.set_phase(BACKWARD)
        self.previous_sessions.append(session)
        self._install(new, self.workspace, self.choice, 0.0, announce=False)
        where = f" at pos {new.pos}" if new.pos is not None else ""
        what = node.label or node.scope or node.op
        self.note = f"backprop from #{node.id} ({what}{where}): R goes back"
        self._refresh_status()
        self.notify(
            f"backprop from #{node.id} ({what}{where}): {len(new.nodes):,} nodes "
            f"(of {len(session.nodes):,}); R goes back",
            title="Root here",
        )
        return new

    def root_back(self) -> DebugSession | None:
        """Back to the session the last Root here replaced, as it was left."""
        if not self.previous_sessions:
            self.notify("No previous root: r roots the backward pass at a node.")
            return None
        if self._moving:
            self.notify("A move is still running: go back once it is done.", severity="warning")
            return None
        session = self.previous_sessions.pop()
        self._install(session, self.workspace, self.choice, 0.0, announce=False)
        self.notify(
            f"back to the root {node_name(session.root)} ({len(session.nodes):,} nodes)",
            title="Previous root",
        )
        return session

    def action_root_here(self) -> None:
        self.root_here()

    def action_root_back(self) -> None:
        self.root_back()

    def on_node_selected(self, message: NodeSelected) -> None:
        """A node picked in the graph, the parameters or the attention: inspect it."""
        message.stop()
        tabs = self.query_one("#tabs", TabbedContent)
        if tabs.active != "debugger":
            tabs.active = "debugger"  # where the inspector is
        self.inspect_node(message.node_id, recentre=False)

    def on_scope_selected(self, message: ScopeSelected) -> None:
        message.stop()
        self.select_scope(message.path)

    def parameter_id(self, label: str) -> int | None:
        """The node id of a parameter by label (`wte[4][0]`), if this graph uses it."""
        if self.session is None:
            return None
        if self._parameter_ids is None:
            ids = {}
            for node in self.session.nodes:  # parameters come first in a trace
                if node.op != "param":
                    break
                ids[node.label] = node.id
            self._parameter_ids = ids
        return self._parameter_ids.get(label)

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

    # -- screens ---------------------------------------------------------------------------

    def action_goto(self) -> None:
        if self.session is not None:
            self.push_screen(
                GoToScreen(len(self.session.nodes), cursor_blink=self.cursor_blink),
                lambda node_id: node_id is not None and self.inspect_node(node_id),
            )

    def action_find(self) -> None:
        if self.session is not None:
            self.push_screen(FindScreen(self.session, cursor_blink=self.cursor_blink), self._found)

    def action_pick_focus(self) -> None:
        """Focus scope…: pick a scope from a searchable list, then focus it."""
        if self.session is not None:
            self.push_screen(
                FindScreen(
                    self.session,
                    scopes_only=True,
                    title="Focus scope",
                    cursor_blink=self.cursor_blink,
                ),
                lambda found: found is not None and self.set_focus_scope(found[1]),
            )

    def _found(self, found: tuple[str, str] | None) -> None:
        if found is None:
            return
        kind, value = found
        if kind == "scope":
            self.select_scope(value)
        else:
            self.inspect_node(int(value))

    def action_choose(self, field: str = "doc") -> None:
        if self.captured:
            self.notify(
                "This graph was captured from a script: there is no model here to trace "
                "another document, position or checkpoint with. r roots the backward pass "
                "at the inspected node instead.",
                title="Cannot choose",
                severity="warning",
            )
            return
        self.push_screen(
            ChooseScreen(
                self.choice.doc,
                self.choice.pos,
                whole_document=self.choice.whole_document,
                focus_field=field,
                cursor_blink=self.cursor_blink,
            ),
            lambda choice: choice is not None and self.load(choice),
        )

    def action_export(self) -> None:
        session = self.session
        if session is None:
            return
        try:
            from microgpt_tui.screens.export import ExportScreen
        except ImportError:
            self.notify("export not available", severity="warning")
            return
        node = self._inspected_node()
        scope = self.selected_scope or (node.scope if node is not None else "")
        # (ExportScreen closes once however fast the keys and clicks come: DismissOnce)
        self.push_screen(ExportScreen(session, node.id if node is not None else None, scope))

    def action_command_palette(self) -> None:
        """Textual's command palette, closed once however fast the clicks come."""
        if self.use_command_palette and not CommandPalette.is_open(self):
            self.push_screen(_CommandPalette(id="--command-palette"))

    def action_help(self) -> None:
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())

    def action_tab(self, tab: str) -> None:
        self.query_one("#tabs", TabbedContent).active = tab

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in self.SESSION_ACTIONS:
            if len(self.screen_stack) > 1:
                return False  # a modal screen is up: its keys, not the debugger's
            if action != "choose" and (self.session is None or self.loading):
                return None  # shown, but disabled
        if action in ("help", "tab") and len(self.screen_stack) > 1:
            return False
        return True

    # -- painting ------------------------------------------------------------------------------

    def _inspected_node(self):
        session = self.session
        if session is None:
            return None
        if self.inspected is not None:
            return session.nodes[self.inspected]
        return cursor_node(session)

    def _status(self, note: str) -> None:
        status = self.query_one(StatusLine)
        status.show(self.session, self.source, self.inspected, note)

    def _refresh_status(self) -> None:
        self._status(self.note)

    def refresh_views(self, *, recentre: bool) -> None:
        """Repaint every panel from the session (after a move, a selection, a new session)."""
        session = self.session
        if session is None:
            return
        cursor = cursor_node(session)
        node = self._inspected_node()
        self._refresh_status()
        just_processed = (
            session.phase == BACKWARD and node is not None and node is session.walk.current
        )
        self.query_one(Inspector).show(session, node, just_processed=just_processed)
        inspector = self.query_one(Inspector)
        inspector.border_title = (
            f"inspector · {node_name(node)}" if node is not None else "inspector"
        )
        source = self.query_one(SourceView)
        if node is not None:
            site = session.trace.site_of(node)
            note = ""
            if node.op == "param":
                note = (
                    "a parameter: no line computes it"
                    if self.captured
                    else "a parameter: made by GPT.init, no line computes it"
                )
            source.show_site(site, note, fallback=self.source_file or model_source.__file__)
        scope = self._walk_scope()
        self.query_one(CallStack).show_scope(session, scope, self.selected_scope)
        self.query_one(ScopeTree).refresh_marks()
        graph = self.query_one(GraphView)
        if cursor is not None:
            graph.set_current(cursor.id if session.walk.current is not None else -1)
            if recentre and self.inspected is None:
                graph.centre_on(cursor.id)
        graph.refresh_state()
        self._refresh_tab_views()

    def _refresh_tab_views(self) -> None:
        """The parameters and attention views follow the session while they are shown.

        A hidden one is brought up to date when its tab is opened: refreshing it at
        every step would cost a layout of the screen each time for nothing visible.
        """
        session = self.session
        if session is None:
            return
        active = self.query_one("#tabs", TabbedContent).active
        if active == "parameters":
            self.query_one(ParametersView).refresh_state()
        elif active == "attention":
            view = self.query_one(AttentionView)
            cursor = cursor_node(session)
            position = session.position_of(cursor) if cursor is not None else None
            view.set_position(position)
            view.refresh_state()

    def on_tabbed_content_tab_activated(self, event: TabbedContent.TabActivated) -> None:
        self._refresh_tab_views()


def session_app(
    session: DebugSession, source_path: str | os.PathLike[str], *, cursor_blink: bool = True
) -> DebuggerApp:
    """The debugger on a session that has no workspace (a graph captured from a script).

    The status line names `source_path` as the model, and the source panel shows it
    for the nodes no line of it made (parameters).
    """
    path = os.fspath(source_path)
    shown = os.path.relpath(path) if os.path.isabs(path) else path
    if shown.startswith(".."):
        shown = path
    return DebuggerApp(
        None,
        session,
        doc=session.doc,
        pos=session.pos,
        cursor_blink=cursor_blink,
        source=f"script {shown}",
        source_file=path,
    )
