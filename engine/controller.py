"""The debugger's state between two keypresses, without a screen.

A `Controller` holds the session being debugged and what the user has picked in
it: the node *inspected* away from the cursor (None: the panels follow the
cursor), the *selected* scope (what focus and breakpoints act on; None: the
scope the walk is in), and the sessions a Root here replaced, so that
`root_back` returns to each as it was left, its moves still undoable.

Moves are queued and applied in order by one runner in the background (a `c`
to the end of a million-node backward pass takes a while), so a screen stays
live and never shows a half-done move. The owner says how to start a job in the
background (`start`, a plain thread by default) and hears from the runner,
on the runner's thread, that the queue ran dry (`on_idle`); it hands that
report back to `finished` on its own thread, where the queue's bookkeeping
lives (so it needs no lock: the runner only pops what the owner pushed).
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from engine.bookmarks import Step
from engine.errors import InputError
from engine.graph import ScopeNode
from engine.session import BACKWARD, MOVES, PHASES, DebugSession, MoveResult
from engine.value import Value
from engine.vector.graph import VectorOp
from engine.vector.level import SWITCHES, TOGGLE_LEVEL, VECTOR

Job = Callable[[], None]


@dataclass(frozen=True)
class MovesDone:
    """The runner emptied the queue: what each queued move did, on which session."""

    session: DebugSession
    results: list[MoveResult]


def start_thread(job: Job) -> None:
    """Run `job` in a new daemon thread (the default way to run the queue)."""
    threading.Thread(target=job, name="moves", daemon=True).start()


class Controller:
    """One debugger's session, selection, focus, breakpoints, move queue and root stack."""

    def __init__(
        self, on_idle: Callable[[MovesDone], None], *, start: Callable[[Job], object] = start_thread
    ) -> None:
        """`on_idle(done)` is called on the runner's thread; pass `done` to `finished`."""
        self.session: DebugSession | None = None
        self.inspected: int | None = None  # a node inspected away from the cursor
        self.selected_scope: str | None = None  # what focus and breakpoints act on
        self.inspected_op: VectorOp | None = None  # at vector level: an op picked in the panel
        self.previous_sessions: list[DebugSession] = []  # what Root here replaced, latest last
        self._on_idle = on_idle
        self._start = start
        self._pending: deque[tuple[str, Step | None]] = deque()  # queued moves, for the runner
        self._moving = False  # a runner is on it (set and cleared on the owner's thread)

    @property
    def moving(self) -> bool:
        """Is a runner applying queued moves (or has it yet to report)?"""
        return self._moving

    def _current(self) -> DebugSession:
        if self.session is None:
            raise RuntimeError("no session to debug yet")
        return self.session

    # -- sessions --------------------------------------------------------------------

    def install(
        self,
        session: DebugSession,
        previous: list[DebugSession] | None = None,
        *,
        keep_level: bool = True,
    ) -> None:
        """Debug another trace: the roots of the old one go with it. `previous`: the sessions
        `session` was rooted from, if it was (a walk-through opened after a Root here).
        The new session opens at the level the old one was at, unless not `keep_level`
        (a walk-through opens at its own)."""
        self.previous_sessions[:] = previous or []
        self._switch(session, keep_level=keep_level)

    def _switch(self, session: DebugSession, *, keep_level: bool = True) -> None:
        old = self.session
        level = old.level if old is not None and keep_level else session.level
        self.session = session
        self._pending = deque()  # a runner busy with the old session keeps its own queue
        self.follow()
        if level != session.level:  # the new session opens at the level the old one was at
            self.queue(level)

    # -- moves -----------------------------------------------------------------------

    def queue(self, name: str, to: Step | None = None) -> None:
        """Queue a move (one of MOVES; "goto" goes `to` a step), a phase switch or a level
        switch (one of SWITCHES); the runner starts if it is idle."""
        if name not in MOVES and name not in PHASES and name not in SWITCHES:
            names = ", ".join(MOVES + PHASES + SWITCHES)
            raise ValueError(f"unknown move {name!r}: one of {names}")
        if (name == "goto") != (to is not None):
            raise ValueError("goto, and only goto, takes a step to go to")
        self._current()
        self._pending.append((name, to))
        if not self._moving:
            self._run()

    def _run(self) -> None:
        self._moving = True
        session, pending = self._current(), self._pending
        self._start(lambda: self._apply(session, pending))

    def _apply(self, session: DebugSession, pending: deque[tuple[str, Step | None]]) -> None:
        """On the runner's thread: apply queued moves in order, then report once."""
        results: list[MoveResult] = []
        try:
            while pending:
                try:
                    name, to = pending.popleft()
                except IndexError:  # (the deque emptied between the test and the pop)
                    break
                results.append(session.move(name) if to is None else session.move(name, to))
        finally:  # even if a move fails: the owner must hear that the runner stopped
            self._on_idle(MovesDone(session, results))

    def finished(self, done: MovesDone) -> list[MoveResult] | None:
        """The runner's report, back on the owner's thread.

        Starts the runner again if moves were queued after it had looked. Returns
        what the moves did if they were this session's (None for a session since
        replaced); if any moved, the panels follow the cursor again (nothing is
        inspected or selected).
        """
        self._moving = False
        if self._pending and self.session is not None:
            self._run()
        if done.session is not self.session:
            return None
        if any(result.moved for result in done.results):
            self.follow()
        return done.results

    # -- the level -------------------------------------------------------------------

    @property
    def level(self) -> str:
        """The level moves are made at now (SCALAR or VECTOR): `DebugSession.level`."""
        return self._current().level

    def toggle_level(self) -> None:
        """Queue a switch to the other level (after the moves queued before it)."""
        self.queue(TOGGLE_LEVEL)

    def set_level(self, level: str) -> None:
        """Queue a switch to `level` (the runner builds the vector level the first time)."""
        self.queue(level)

    def shown_op(self) -> VectorOp | None:
        """At vector level, the op the panels show: the inspected one, else the op of the
        inspected node (`g`, a scope selected), else the walk's."""
        session = self.session
        if session is None or session.level != VECTOR:
            return None
        if self.inspected_op is not None:
            return self.inspected_op
        if self.inspected is not None:
            found = session.vectors.graph.op_of(session.node(self.inspected))
            if found is not None:
                return found
        return session.vectors.shown_op()

    def inspect_op(self, op: VectorOp | None) -> None:
        """At vector level, inspect `op` without moving (None: back to the walk's op)."""
        self.inspected_op = op

    # -- selection -------------------------------------------------------------------

    def inspect(self, node_id: int) -> bool:
        """Inspect a node without moving the cursor; False if there is no such node."""
        if self.session is None or not self.session.has_node(node_id):
            return False
        self.inspected = node_id
        return True

    def follow(self) -> None:
        """Back to the cursor: nothing inspected or selected, the panels follow the walk."""
        self.inspected = None
        self.selected_scope = None
        self.inspected_op = None

    def select_scope(self, path: str) -> ScopeNode:
        """Select a scope (focus and breakpoints act on it) and inspect its first node."""
        scope = self._current().find_scope(path)
        if scope is None:
            raise InputError(f"no scope {path!r} in this graph")
        self.selected_scope = path
        self.inspected = scope.first_id
        return scope

    def inspected_node(self) -> Value | None:
        """The node the panels show: the inspected one, else the cursor's."""
        session = self.session
        if session is None:
            return None
        if self.inspected is not None:
            return session.node(self.inspected)
        return session.cursor_node()

    def target_scope(self) -> str | None:
        """What focus and breakpoints act on: the selected scope, else where the walk is."""
        if self.selected_scope is not None:
            return self.selected_scope
        return self._current().where() or None

    # -- focus and breakpoints -------------------------------------------------------

    def set_focus(self, path: str | None) -> None:
        """Stop only inside `path` (None: everywhere); InputError for a scope not in the graph."""
        self._current().set_focus(path)
        self.selected_scope = None

    def toggle_focus(self) -> str | None:
        """Clear the focus if it is set and no other scope is selected; else focus the target.

        Returns the focus now (None: cleared).
        """
        session = self._current()
        if session.focus and self.selected_scope in (None, session.focus):
            self.set_focus(None)
        else:
            self.set_focus(self.target_scope())
        return session.focus

    def toggle_breakpoint(self) -> tuple[str, bool] | None:
        """Set or clear a breakpoint on the target scope: (the scope, now set?); None if none."""
        scope = self.target_scope()
        if not scope:
            return None
        return scope, self._current().toggle_breakpoint(scope)

    def clear_breakpoints(self) -> None:
        session = self._current()
        for scope in list(session.breakpoints):
            session.toggle_breakpoint(scope)

    # -- bookmarks -------------------------------------------------------------------

    def toggle_bookmark(self) -> tuple[Step, bool]:
        """Mark the current step, or unmark it: (the step, now marked?)."""
        session = self._current()
        step = session.step_now
        return step, session.bookmarks.toggle(step)

    def jump_to_next_bookmark(self) -> Step | None:
        """Queue a jump to the bookmark after the current step (wrapping); None if there is none."""
        session = self._current()
        step = session.bookmarks.after(session.step_now)
        if step is not None and step != session.step_now:
            self.queue("goto", to=step)
        return step

    # -- backprop from here ----------------------------------------------------------

    def root_here(self, node: Value | None = None) -> DebugSession:
        """Backprop from `node` (default: the inspected one): a session rooted there.

        The new session holds copies of `node` and what it depends on, starts in
        the backward phase, and its full backward pass equals `node.backward()`'s;
        the current one is kept as it stands for `root_back`. Not while a move
        runs (RuntimeError), nor from the root itself (ValueError).
        """
        session = self._current()
        if self._moving:
            raise RuntimeError("a move is still running")
        node = node if node is not None else self.inspected_node()
        if node is None or node is session.root:
            raise ValueError("that node is already the root")
        new = session.rerooted(node)
        new.set_phase(BACKWARD)
        self.previous_sessions.append(session)
        self._switch(new)
        return new

    def root_back(self) -> DebugSession | None:
        """Back to the session the last Root here replaced, as it was left (None: there is none).

        Not while a move runs (RuntimeError).
        """
        if not self.previous_sessions:
            return None
        if self._moving:
            raise RuntimeError("a move is still running")
        session = self.previous_sessions.pop()
        self._switch(session)
        return session
