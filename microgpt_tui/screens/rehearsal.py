"""Rehearsing a lecture on the debugger screen: bookmarks, and jumping back to them.

A mixin of `DebuggerScreen`. The engine keeps the bookmarks (the session's) and
makes the jumps (moves the runner applies, each undone by `p`); this says so in
the status line.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.screen import Screen

from microgpt_tui import notes

if TYPE_CHECKING:
    from engine.controller import Controller
    from engine.session import DebugSession


class Rehearsal(Screen):
    """Bookmarks (mixed into `DebuggerScreen`, which has the rest)."""

    controller: Controller
    note: str

    if TYPE_CHECKING:  # what DebuggerScreen provides

        @property
        def session(self) -> DebugSession | None: ...
        @property
        def busy(self) -> bool: ...
        def refresh_views(self, *, recentre: bool) -> None: ...
        def show_status(self, note: str) -> None: ...

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
