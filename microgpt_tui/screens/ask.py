"""A dialog with one field, which checks the answer before closing: go to a node, a file.

`act(text)` does the work and returns what the dialog answers with; an `InputError`
from it is shown in the dialog, which stays open to correct the answer (as the
export dialog does). Escape answers None.
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


class AskScreen(Modal[Any]):
    """One field; enter runs `act(text)` and closes with its result, escape with None.

    Its widgets' ids start with `name`: `#{name}-label`, `#{name}-input`, `#{name}-error`.
    """

    BINDINGS = [Binding("escape", "dismiss", "Cancel")]

    DEFAULT_CSS = """
    AskScreen {
        align: center middle;
        & > Vertical {
            width: 76;
            max-width: 100%;
            height: auto;
            border: thick $primary;
            background: $surface;
            padding: 0 1;
        }
        .ask-error { color: $text-error; height: auto; }
    }
    """

    def __init__(
        self,
        name: str,
        title: str,
        label: str,
        act: Callable[[str], Any],
        *,
        initial: str = "",
        placeholder: str = "",
        integer: bool = False,
        cursor_blink: bool = True,
    ) -> None:
        super().__init__()
        self.field_name = name
        self.title_text = title
        self.label = label
        self.act = act
        self.initial = initial
        self.placeholder = placeholder
        self.integer = integer
        self.cursor_blink = cursor_blink

    def compose(self) -> ComposeResult:
        name = self.field_name
        with Vertical() as box:
            box.border_title = self.title_text
            yield Label(self.label, id=f"{name}-label")
            field = Field(
                self.initial,
                placeholder=self.placeholder,
                type="integer" if self.integer else "text",
                id=f"{name}-input",
            )
            field.cursor_blink = self.cursor_blink
            yield field
            yield Label("", id=f"{name}-error", classes="ask-error")

    def on_input_submitted(self, event: Field.Submitted) -> None:
        event.stop()
        try:
            result = self.act(event.value.strip())
        except InputError as error:
            self.query_one(f"#{self.field_name}-error", Label).update(str(error))
            return
        self.dismiss(result)
