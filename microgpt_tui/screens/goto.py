"""Go to a node by its id: a small modal that returns the id (or None)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import Input, Label

from microgpt_tui.screens.modal import Modal


class GoToScreen(Modal[int | None]):
    """Asks for a node id in 0..count-1; enter returns it, escape returns None."""

    BINDINGS = [Binding("escape", "dismiss", "Cancel")]

    DEFAULT_CSS = """
    GoToScreen {
        align: center middle;
        & > Vertical {
            width: 60;
            height: auto;
            border: thick $primary;
            background: $surface;
            padding: 0 1;
        }
        #goto-error { color: $text-error; height: auto; }
    }
    """

    def __init__(self, count: int, *, cursor_blink: bool = True) -> None:
        super().__init__()
        self.count = count
        self.cursor_blink = cursor_blink

    def compose(self) -> ComposeResult:
        with Vertical() as box:
            box.border_title = "Go to node"
            yield Label(f"Node id, 0 … {self.count - 1:,} (inspects it; the cursor stays)")
            field = Input(placeholder="e.g. 5120", type="integer", id="goto-input")
            field.cursor_blink = self.cursor_blink
            yield field
            yield Label("", id="goto-error")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        text = event.value.strip().lstrip("#")
        try:
            node_id = int(text)
        except ValueError:
            self._error(f"{text!r} is not a node id: type a number")
            return
        if not 0 <= node_id < self.count:
            self._error(f"#{node_id} does not exist: ids are 0 … {self.count - 1:,}")
            return
        self.dismiss(node_id)

    def _error(self, message: str) -> None:
        self.query_one("#goto-error", Label).update(message)
