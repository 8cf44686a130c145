"""Which session the debugger screen shows: a trace built in a worker, or a root here.

A mixin of `DebuggerScreen`: building a session for a `Choice` (another
document, position or checkpoint) in a worker with a progress note, `r` (root
here: backprop from the inspected node) and `R` (back to the previous root).
The controller switches sessions; the screen shows the new one.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from textual import work
from textual.message import Message
from textual.screen import Screen
from textual.worker import get_current_worker

from engine.controller import Controller
from engine.errors import InputError
from engine.loading import Loaded, load_session
from engine.session import DebugSession
from engine.trace import recording_trace
from engine.value import Value
from engine.walkthrough import replay
from engine.workspace import Workspace
from microgpt_tui import notes
from microgpt_tui.display import node_name
from microgpt_tui.screens.choose import Choice


@dataclass
class SessionLoaded(Message):
    """A worker finished building a session."""

    loaded: Loaded
    choice: Choice
    seconds: float
    shown: DebugSession | None = None  # what to show, if not `loaded.session` (a walk's root)


@dataclass
class LoadFailed(Message):
    """A worker could not build the session asked for (bad input): keep the current one."""

    error: str


def _recorded_nodes() -> int | None:
    """How many nodes the trace being recorded has so far (a progress figure), if any."""
    trace = recording_trace()
    return len(trace.nodes) if trace is not None else None


class Sessions(Screen):
    """Loading and switching sessions (mixed into `DebuggerScreen`, which paints them).

    The host screen has `controller`, `workspace`, `choice`, `note`, `building`,
    `load_seconds`, and paints with `show_session(session)` and `show_status(note)`.
    """

    controller: Controller
    workspace: Workspace | None
    choice: Choice
    note: str
    building: bool  # a session is being built (not `loading`: every widget has that)
    load_seconds: float | None
    _load_started: float = 0.0

    if TYPE_CHECKING:  # what DebuggerScreen paints with

        def show_session(self, session: DebugSession) -> None: ...
        def show_status(self, note: str) -> None: ...

    def load(self, choice: Choice) -> None:
        """Build the session for `choice` in a worker; the screen stays live meanwhile."""
        self.building = True
        self.refresh_bindings()
        self._load_started = time.monotonic()
        self.query_one("#tabs").loading = True
        self.show_status(self._loading_note(choice))
        self._build_session(choice)

    def _loading_note(self, choice: Choice) -> str:
        return notes.loading_note(choice, time.monotonic() - self._load_started, _recorded_nodes())

    @work(thread=True, exclusive=True, group="load")
    def _build_session(self, choice: Choice) -> None:
        worker = get_current_worker()
        started = time.perf_counter()
        assert self.workspace is not None  # (no choosing without a model: `can_choose`)
        try:
            loaded = load_session(
                self.workspace,
                choice.doc,
                choice.pos,
                whole_document=choice.whole_document,
                checkpoint=choice.checkpoint,
                cancelled=lambda: worker.is_cancelled,
            )
            shown = replay(choice.walk, loaded.session) if loaded and choice.walk else None
        except InputError as error:
            self.post_message(LoadFailed(str(error)))
            return
        if loaded is not None and not worker.is_cancelled:
            seconds = time.perf_counter() - started
            self.post_message(SessionLoaded(loaded, choice, seconds, shown))

    def on_session_loaded(self, message: SessionLoaded) -> None:
        reloaded = self.controller.session is not None
        self.choice = message.choice
        self.load_seconds = message.seconds
        self.workspace = message.loaded.workspace
        base = message.loaded.session
        shown = message.shown or base
        # (the old roots go with the old trace; a walk-through's root keeps its base to go back,
        # and it opens at its own level)
        walk = message.choice.walk is not None
        previous = [base] if shown is not base else []
        self.controller.install(shown, previous=previous, keep_level=not walk)
        self.show_session(shown)
        if message.choice.walk is not None:
            self.note = notes.walk_opened_note(shown)
            self.show_status(self.note)
        elif reloaded:
            session = message.loaded.session
            self.notify(
                f"Now debugging {session.doc!r} ({len(session.nodes):,} nodes).",
                title="Rebuilt the trace",
            )

    def on_load_failed(self, message: LoadFailed) -> None:
        self.building = False
        self.query_one("#tabs").loading = False
        self.refresh_bindings()
        self.notify(message.error, title="Cannot open that", severity="error", timeout=8)
        failed = f"nothing to debug: {message.error}"
        self.show_status("" if self.controller.session is not None else failed)

    def tick(self) -> None:
        """Progress while loading; "running…" while a long move runs."""
        if self.building:
            self.show_status(self._loading_note(self.choice))
        elif self.controller.moving:
            self.show_status("running…")

    # -- backprop from here ------------------------------------------------------------------

    def root_here(self, node: Value | None = None) -> DebugSession | None:
        """Backprop from `node` (default: the inspected one): a session rooted there.

        The new session holds `node` and what it depends on (copies: the current
        session is kept as it stands, `R` comes back to it), starts in the backward
        phase, and its full backward pass equals `node.backward()`'s in the script.
        """
        controller = self.controller
        session = controller.session
        if session is None:
            return None
        if controller.moving:
            self.notify("A move is still running: root here once it is done.", severity="warning")
            return None
        node = node if node is not None else controller.inspected_node()
        if node is None:
            return None
        if node is session.root:
            self.notify(f"{node_name(node)} is already the root.", title="Root here")
            return None
        new = controller.root_here(node)
        self.show_session(new)
        where = f" at pos {new.pos}" if new.pos is not None else ""
        what = node.label or node.scope or node.op
        self.note = f"backprop from #{node.id} ({what}{where}): R goes back"
        self.show_status(self.note)
        count = len(new.nodes)
        self.notify(
            f"backprop from #{node.id} ({what}{where}): {count:,} node{'s' * (count != 1)} "
            f"(of {len(session.nodes):,}), with the ids they have here; R goes back",
            title="Root here",
        )
        return new

    def root_back(self) -> DebugSession | None:
        """Back to the session the last Root here replaced, as it was left."""
        controller = self.controller
        if not controller.previous_sessions:
            self.notify("No previous root: r roots the backward pass at a node.")
            return None
        if controller.moving:
            self.notify("A move is still running: go back once it is done.", severity="warning")
            return None
        session = controller.root_back()
        assert session is not None
        self.show_session(session)
        count = len(session.nodes)
        self.notify(
            f"back to the root {node_name(session.root)} ({count:,} node{'s' * (count != 1)})",
            title="Previous root",
        )
        return session

    def action_root_here(self) -> None:
        self.root_here()

    def action_root_back(self) -> None:
        self.root_back()
