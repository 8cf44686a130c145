"""The dialogs the debugger screen opens: go to, find, the focus picker, choose, export.

A mixin of `DebuggerScreen`'s actions that push a modal screen and act on its
answer through the screen's own methods (`inspect_node`, `select_scope`, …).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.screen import Screen

from engine.graph import scope_position
from microgpt_tui.screens.choose import ChooseScreen
from microgpt_tui.screens.find import FindScreen, Found
from microgpt_tui.screens.goto import GoToScreen

if TYPE_CHECKING:
    from engine.controller import Controller
    from engine.session import DebugSession
    from microgpt_tui.screens.choose import Choice

CAPTURED = (
    "This graph was captured from a script: there is no model here to trace another "
    "document, position or checkpoint with. r roots the backward pass at the inspected "
    "node instead."
)


class Dialogs(Screen):
    """The debugger screen's dialogs (mixed into `DebuggerScreen`, which has the rest)."""

    controller: Controller
    choice: Choice
    cursor_blink: bool

    if TYPE_CHECKING:  # what DebuggerScreen provides

        @property
        def session(self) -> DebugSession | None: ...
        @property
        def can_choose(self) -> bool: ...
        def inspect_node(self, node_id: int, *, recentre: bool = True) -> None: ...
        def select_scope(self, path: str) -> None: ...
        def set_focus_scope(self, path: str | None) -> None: ...
        def load(self, choice: Choice) -> None: ...

    def action_goto(self) -> None:
        session = self.session
        if session is not None:
            self.app.push_screen(
                GoToScreen(
                    session.graph_name,
                    session.id_range,
                    session.has_node,
                    cursor_blink=self.cursor_blink,
                ),
                lambda node_id: node_id is not None and self.inspect_node(node_id),
            )

    def action_find(self) -> None:
        if self.session is not None:
            self.app.push_screen(
                FindScreen(self.session, here=self._here(), cursor_blink=self.cursor_blink),
                self._found,
            )

    def _here(self) -> int | None:
        """The position the debugger is at: the inspected node's, where the walk is, or the
        session's (None: none of them has one, e.g. before the first step of a document)."""
        session = self.session
        assert session is not None
        controller = self.controller
        inspected = controller.inspected_node() if controller.inspected is not None else None
        for scope in (inspected.scope if inspected is not None else "", session.where()):
            found = scope_position(scope)
            if found is not None:
                return found
        return session.pos

    def action_pick_focus(self) -> None:
        """Focus scope…: pick a scope from a searchable list, then focus it."""
        if self.session is not None:
            self.app.push_screen(
                FindScreen(
                    self.session,
                    scopes_only=True,
                    title="Focus scope",
                    here=self._here(),
                    cursor_blink=self.cursor_blink,
                ),
                lambda found: found is not None and self.set_focus_scope(found[1]),
            )

    def _found(self, found: Found | None) -> None:
        if found is None:
            return
        kind, value = found
        if kind == "scope":
            self.select_scope(value)
        else:
            self.inspect_node(int(value))

    def action_choose(self, field: str = "doc") -> None:
        if not self.can_choose:
            self.notify(CAPTURED, title="Cannot choose", severity="warning")
            return
        self.app.push_screen(
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
        node = self.controller.inspected_node()
        scope = self.controller.selected_scope or (node.scope if node is not None else "")
        # (ExportScreen closes once however fast the keys and clicks come: DismissOnce)
        self.app.push_screen(ExportScreen(session, node.id if node is not None else None, scope))
