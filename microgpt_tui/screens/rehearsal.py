"""Rehearsing a lecture on the debugger screen: bookmarks, walk-throughs, the clipboard.

A mixin of `DebuggerScreen`. The engine keeps the bookmarks (the session's), makes
the jumps (moves the runner applies, each undone by `p`) and saves and replays
walk-throughs (`engine.walkthrough`); this asks for the file and says what happened.
At vector level `Y` copies what the inspector shows there: the op's gradient, two ways.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.screen import Screen

from engine.errors import InputError
from engine.session import BACKWARD
from engine.walkthrough import WalkThrough, load_walk, save_walk, walk_of
from microgpt_tui import notes
from microgpt_tui.display import node_name
from microgpt_tui.screens.ask import AskScreen
from microgpt_tui.screens.choose import Choice
from microgpt_tui.screens.vector_level import VECTORS
from microgpt_tui.widgets import Inspector
from microgpt_tui.widgets.vector_inspector import VectorInspector

if TYPE_CHECKING:
    from engine.controller import Controller
    from engine.session import DebugSession
    from engine.workspace import Workspace

DEFAULT_WALK = "walk.json"
CHAIN_SECTIONS = ("received", "passed on")  # the inspector's chain-rule sections


class Rehearsal(Screen):
    """Bookmarks, walk-throughs and copying (mixed into `DebuggerScreen`, which has the rest)."""

    controller: Controller
    workspace: Workspace | None
    note: str
    source: str
    cursor_blink: bool
    walk_path: str | None = None  # the walk-through last saved or opened

    if TYPE_CHECKING:  # what DebuggerScreen provides

        @property
        def session(self) -> DebugSession | None: ...
        @property
        def busy(self) -> bool: ...
        def show_status(self, note: str) -> None: ...
        def load(self, choice: Choice) -> None: ...
        def shown_level(self) -> str: ...

    # -- bookmarks ---------------------------------------------------------------------------

    def action_bookmark(self) -> None:
        """Bookmark the current step, or remove its bookmark."""
        if self.session is None or self.busy:
            return
        step, marked = self.controller.toggle_bookmark()
        self.note = notes.bookmark_note(step, marked)
        self.show_status(self.note)

    def action_next_bookmark(self) -> None:
        """Jump to the bookmark after the current step (wrapping), exactly as it was."""
        if self.session is None:
            return
        if self.controller.jump_to_next_bookmark() is None:
            self.note = "no bookmarks yet: m bookmarks the current step"
            self.show_status(self.note)

    # -- walk-throughs -------------------------------------------------------------------------

    def _base_session(self) -> DebugSession | None:
        """The graph a walk-through is of: the session before any Root here."""
        previous = self.controller.previous_sessions
        return previous[0] if previous else self.session

    def action_save_walk(self) -> None:
        """Save where the lecture is (document, position, focus, breakpoints, bookmarks, step)."""
        session, base = self.session, self._base_session()
        if session is None or base is None or self.busy:
            return
        try:
            walk = walk_of(session, base, self.source)
        except InputError as error:
            self.notify(str(error), title="Cannot save a walk-through", severity="warning")
            return

        def save(path: str) -> str:
            if not path:
                raise InputError(f"give a file name, e.g. {DEFAULT_WALK}")
            save_walk(path, walk)
            return path

        self.app.push_screen(
            AskScreen(
                "path",
                "Save the walk-through",
                f"File to save {walk.graph} at {session.step_now} to (JSON; replaced whole)",
                save,
                initial=self.walk_path or DEFAULT_WALK,
                placeholder=DEFAULT_WALK,
                cursor_blink=self.cursor_blink,
            ),
            self._saved,
        )

    def _saved(self, path: str | None) -> None:
        if path is None:
            return
        self.walk_path = path
        self.note = f"saved the walk-through to {path} (W or --walk {path} opens it)"
        self.show_status(self.note)

    def action_open_walk(self) -> None:
        """Open a saved walk-through: its graph, at the step it was saved at."""
        if self.workspace is None:
            self.notify("a script's graph has no walk-throughs", severity="warning")
            return
        self.app.push_screen(
            AskScreen(
                "path",
                "Open a walk-through",
                "Walk-through file (saved with w): opens its graph at its step",
                load_walk,
                initial=self.walk_path or DEFAULT_WALK,
                placeholder=DEFAULT_WALK,
                cursor_blink=self.cursor_blink,
            ),
            self.open_walk,
        )

    def open_walk(self, walk: WalkThrough | None) -> None:
        """Rebuild the walk-through's graph in a worker and replay it (`Sessions.load`)."""
        if walk is not None:
            self.load(Choice(walk.doc, walk.pos, walk.pos is None, walk=walk))

    # -- the clipboard ---------------------------------------------------------------------------

    def action_copy(self, what: str) -> None:
        """Copy the inspected node's value (all digits) or its chain-rule lines (at vector
        level: the op's lines, its gradient two ways)."""
        session, node = self.session, self.controller.inspected_node()
        if session is None or node is None:
            return
        if what == "value":
            text = f"{node_name(node)} = {float(node.data)!r}"
            if session.phase == BACKWARD:
                text += f", grad = {float(node.grad)!r}"
            said = "the value" + (" and grad" if session.phase == BACKWARD else "")
        elif self.shown_level() == VECTORS:  # (the inspector shows the op, not a node)
            inspector = self.query_one(VectorInspector)
            if inspector.op is None:
                return
            self._copy(inspector.text, f"the inspector's lines on op {inspector.op.name}")
            return
        else:
            text = chain_text(self.query_one("#inspector", Inspector).lines)
            said = "the chain-rule lines"
            if not text:
                self.notify("no chain-rule lines here: b for the backward phase", timeout=4)
                return
        self._copy(text, f"{said} of #{node.id}")

    def _copy(self, text: str, said: str) -> None:
        self.app.copy_to_clipboard(text)
        self.note = f"copied {said}"
        self.show_status(self.note)


def chain_text(lines: list[list[tuple[str, str]]]) -> str:
    """The inspector's chain-rule sections (received, passed on) as plain text, "" if none."""
    out: list[str] = []
    taking = False
    for line in lines:
        first = line[0] if line else ("", "")
        if first[1] == "title":
            taking = first[0] in CHAIN_SECTIONS
        if taking:
            out.append("".join(text for text, _ in line).rstrip())
    return "\n".join(out)
