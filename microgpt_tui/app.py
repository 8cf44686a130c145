"""The debugger app: global keys, CSS and screen routing; the debugger itself is a screen.

`DebuggerApp` shows a `DebuggerScreen` (microgpt_tui/screens/debugger.py) as its
first screen, which composes the panels and drives an engine `Controller`
(the session, selection, focus, breakpoints, the move queue, root here). The
app keeps what holds whatever screen is up: help, quit, the command palette,
the loading indicator. For scripts, tests and benchmarks it also hands on
the main screen's state (`session`, `inspected`, …) and a few of its calls.
"""

from __future__ import annotations

import os

from textual import events
from textual.app import App
from textual.command import CommandPalette
from textual.widgets import LoadingIndicator

from engine.controller import Controller
from engine.session import DebugSession
from engine.value import Value
from engine.workspace import Workspace
from microgpt_tui.keys import APP_KEYS
from microgpt_tui.screens.choose import Choice
from microgpt_tui.screens.debugger import DebuggerScreen
from microgpt_tui.screens.help import HelpScreen
from microgpt_tui.screens.modal import DismissOnce, ReadyOnceFocused

ANIMATIONS_ENV = "TEXTUAL_ANIMATIONS"  # Textual's setting ("full": the slides are back)


class _LoadingIndicator(LoadingIndicator):
    """Textual's indicator, but not a place to start a text selection.

    (A mouse press on the overlay a `loading` widget shows would otherwise start a
    selection in a widget without a parent, and Textual 8 raises.)
    """

    ALLOW_SELECT = False


class _CommandPalette(ReadyOnceFocused, DismissOnce, CommandPalette):
    """Textual's palette; a click queued behind the one that closed it is ignored, and
    keys typed while it opens reach its search field."""

    def _action_command_list(self, action: str) -> None:
        # Textual's OptionList pages by its laid-out lines: a page key arriving after the
        # commands were added but before their first layout raises KeyError there (ctrl+p
        # then PageUp in one read). Nothing to page through yet: the key does nothing.
        try:
            super()._action_command_list(action)
        except KeyError:
            pass


class DebuggerApp(App[int]):
    """Step through one token's forward and backward pass, node by node."""

    CSS_PATH = "app.tcss"
    TITLE = "microgpt-tui"
    BINDINGS = APP_KEYS

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
        previous: list[DebugSession] | None = None,
        note: str = "",
        walk_path: str | None = None,
    ) -> None:
        """Debug `workspace`'s model, or only `session` when there is no workspace.

        Without a workspace (a graph captured from the user's own script) `session`
        is required and fixed: `d` cannot trace another document. `source` is what
        the status line calls the model (default: the workspace's); `source_file`
        the file the source panel shows for a node no line made (a parameter).
        `previous` are the sessions `session` was rooted from, `note` the status line's
        first note, `walk_path` the walk-through it was opened from (`--walk`).
        """
        super().__init__()
        if ANIMATIONS_ENV not in os.environ:  # a tab switch paints at once, not after a slide
            self.animation_level = "none"
        self.closing = False  # quit was asked: nothing opens any more
        self._held_keys: list[events.Key] = []  # typed while a dialog was opening
        if workspace is None and session is None:
            raise ValueError("DebuggerApp needs a workspace or a session")
        self.debugger = DebuggerScreen(
            workspace,
            session,
            Choice(doc, pos, whole_document),
            cursor_blink=cursor_blink,
            source=source if source is not None else (workspace.source if workspace else ""),
            source_file=source_file,
            previous=previous,
            note=note,
        )
        self.debugger.walk_path = walk_path

    def get_default_screen(self) -> DebuggerScreen:
        return self.debugger

    def exit(self, *args, **kwargs) -> None:  # type: ignore[override]
        """Quit: keys already typed behind `q` open nothing (they would find no screen)."""
        self.closing = True
        super().exit(*args, **kwargs)

    async def on_event(self, event: events.Event) -> None:
        """Hold the keys that arrive while a dialog opens (see `screens.modal`)."""
        if isinstance(event, events.Key) and not event.is_forwarded:
            if self._held_keys and getattr(self.screen, "ready", True):
                await self.release_held_keys()  # (the dialog went before it was ready)
            if self._held_keys or not getattr(self.screen, "ready", True):
                self._held_keys.append(event)
                return
            event.read_on = self.screen  # type: ignore[attr-defined]
        await super().on_event(event)

    async def release_held_keys(self) -> None:
        """A dialog is ready: hand it the keys typed meanwhile, in order."""
        while self._held_keys and getattr(self.screen, "ready", True):
            event = self._held_keys.pop(0)
            event.read_on = self.screen  # type: ignore[attr-defined]
            await super().on_event(event)

    async def _on_key(self, event: events.Key) -> None:
        """A key no widget used comes back here; drop it if it was read for a screen that is
        no longer on top (an `esc` typed just before `/` would close the find dialog)."""
        if getattr(event, "read_on", self.screen) is not self.screen:
            event.prevent_default()  # (App._on_key would look it up in the new screen's keys)

    def get_loading_widget(self) -> LoadingIndicator:
        return _LoadingIndicator()

    def action_command_palette(self) -> None:
        """Textual's command palette, closed once however fast the clicks come."""
        if self.use_command_palette and not CommandPalette.is_open(self):
            self.push_screen(_CommandPalette(id="--command-palette"))

    def action_help(self) -> None:
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if self.closing:
            return False
        if action in ("help", "quit") and len(self.screen_stack) > 1:
            return False  # a modal screen is up: its keys (help's q closes it; a field types q)
        return True

    # -- the main screen's state, for scripts, tests and benchmarks --------------------------

    @property
    def controller(self) -> Controller:
        return self.debugger.controller

    @property
    def session(self) -> DebugSession | None:
        return self.debugger.session

    @property
    def workspace(self) -> Workspace | None:
        return self.debugger.workspace

    @property
    def inspected(self) -> int | None:
        """The node inspected away from the cursor (None: the panels follow the cursor)."""
        return self.controller.inspected

    @property
    def selected_scope(self) -> str | None:
        """What F and B act on (None: the scope the walk is in)."""
        return self.controller.selected_scope

    @property
    def previous_sessions(self) -> list[DebugSession]:
        """The sessions a Root here replaced, the latest last."""
        return self.controller.previous_sessions

    @property
    def load_seconds(self) -> float | None:
        return self.debugger.load_seconds

    @property
    def busy(self) -> bool:
        """A session is being built or a move is running (tests and benchmarks wait on it)."""
        return self.debugger.busy

    def inspect_node(self, node_id: int, *, recentre: bool = True) -> None:
        self.debugger.inspect_node(node_id, recentre=recentre)

    def select_scope(self, path: str) -> None:
        self.debugger.select_scope(path)

    def show_parameters(self, matrix: str) -> None:
        self.debugger.show_parameters(matrix)

    def root_here(self, node: Value | None = None) -> DebugSession | None:
        return self.debugger.root_here(node)

    def root_back(self) -> DebugSession | None:
        return self.debugger.root_back()

    def action_pick_focus(self) -> None:
        self.debugger.action_pick_focus()


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
