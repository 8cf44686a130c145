"""Choose what to debug: another document, position or checkpoint.

Returns a `Choice`; the app rebuilds the session in a worker and reports bad
input (an unknown character, a position past the end, a broken checkpoint) as an
error notification, keeping the current session.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Label

from microgpt_tui.screens.modal import FOCUS_KEYS, Modal
from microgpt_tui.widgets.field import Field as Input

if TYPE_CHECKING:
    from engine.walkthrough import WalkThrough

ALL_POSITIONS = "all"


@dataclass(frozen=True)
class Choice:
    """What to debug next. `pos` None is the last position; `whole_document` the mean loss."""

    doc: str
    pos: int | None = None
    whole_document: bool = False
    checkpoint: str | None = None  # None keeps the current model
    walk: WalkThrough | None = None  # replay this walk-through on the new session


def parse_position(text: str) -> tuple[int | None, bool]:
    """`""` → the last position, `"all"` → the whole document, `"3"` → 3; ValueError otherwise."""
    text = text.strip().lower()
    if not text or text == "last":
        return None, False
    if text == ALL_POSITIONS:
        return None, True
    pos = int(text)
    if pos < 0:
        raise ValueError("negative")
    return pos, False


class ChooseScreen(Modal[Choice | None]):
    """Three fields: document, position, checkpoint; enter or Open returns the choice."""

    BINDINGS = [Binding("escape", "dismiss", "Cancel"), *FOCUS_KEYS]

    DEFAULT_CSS = """
    ChooseScreen {
        align: center middle;
        & > Vertical {
            width: 76;
            height: auto;
            border: thick $primary;
            background: $surface;
            padding: 0 1;
        }
        Label { margin-top: 1; }
        #choose-error { color: $text-error; margin-top: 0; }
        Horizontal { height: auto; align-horizontal: right; margin-top: 1; }
        Button { margin-left: 1; }
    }
    """

    def __init__(
        self,
        doc: str,
        pos: int | None,
        *,
        whole_document: bool = False,
        focus_field: str = "doc",
        cursor_blink: bool = True,
    ) -> None:
        super().__init__()
        self.doc = doc
        self.pos = pos
        self.whole_document = whole_document
        self.focus_field = focus_field
        self.cursor_blink = cursor_blink

    def compose(self) -> ComposeResult:
        position = (
            ALL_POSITIONS if self.whole_document else ("" if self.pos is None else str(self.pos))
        )
        with Vertical() as box:
            box.border_title = "Debug another document, position or checkpoint"
            yield Label("Document (characters of the model's vocabulary)")
            yield Input(self.doc, id="doc")
            yield Label("Position: a number, empty for the last, or 'all' for the mean loss")
            yield Input(position, placeholder="last", id="pos")
            yield Label("Checkpoint file (empty: keep the current model)")
            yield Input("", placeholder="path/to/checkpoint.json", id="checkpoint")
            yield Label("", id="choose-error")
            with Horizontal():
                yield Button("Open", variant="primary", id="open")
                yield Button("Cancel", id="cancel")

    def on_mount(self) -> None:
        for field in self.query(Input):
            field.cursor_blink = self.cursor_blink
        self.query_one(f"#{self.focus_field}", Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self._submit()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "open":
            self._submit()
        else:
            self.dismiss(None)

    def _submit(self) -> None:
        doc = self.query_one("#doc", Input).value.strip()
        if not doc:
            self._error("give a document, e.g. emma")
            return
        try:
            pos, whole = parse_position(self.query_one("#pos", Input).value)
        except ValueError:
            self._error("the position is a number 0, 1, …, empty for the last, or 'all'")
            return
        checkpoint = self.query_one("#checkpoint", Input).value.strip() or None
        self.dismiss(Choice(doc, pos, whole, checkpoint))

    def _error(self, message: str) -> None:
        self.query_one("#choose-error", Label).update(message)
