"""Ask for a file: a small modal with one field, which checks the answer before closing.

Used to save and to open a walk-through. `act(path)` does the work and returns what
the dialog answers with; an `InputError` from it is shown in the dialog (which stays
open to correct the name), as the export dialog does.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import Label

from engine.errors import InputError
from microgpt_tui.screens.modal import Modal
from microgpt_tui.widgets.field import Field


class PathScreen(Modal[Any]):
    """One file name; enter runs `act(path)` and closes with its result, escape with None."""

    BINDINGS = [Binding("escape", "dismiss", "Cancel")]

    DEFAULT_CSS = """
    PathScreen {
        align: center middle;
        & > Vertical {
            width: 76;
            max-width: 100%;
            height: auto;
            border: thick $primary;
            background: $surface;
            padding: 0 1;
        }
        #path-error { color: $text-error; height: auto; }
    }
    """

    def __init__(
        self,
        title: str,
        label: str,
        initial: str,
        act: Callable[[str], Any],
        *,
        cursor_blink: bool = True,
    ) -> None:
        super().__init__()
        self.title_text = title
        self.label = label
        self.initial = initial
        self.act = act
        self.cursor_blink = cursor_blink

    def compose(self) -> ComposeResult:
        with Vertical() as box:
            box.border_title = self.title_text
            yield Label(self.label, id="path-label")
            field = Field(self.initial, placeholder="lecture.json", id="path-input")
            field.cursor_blink = self.cursor_blink
            yield field
            yield Label("", id="path-error")

    def on_input_submitted(self, event: Field.Submitted) -> None:
        event.stop()
        path = event.value.strip()
        if not path:
            self._error("give a file name, e.g. lecture.json")
            return
        try:
            result = self.act(path)
        except InputError as error:
            self._error(str(error))
            return
        self.dismiss(result)

    def _error(self, message: str) -> None:
        self.query_one("#path-error", Label).update(message)
