"""Go to a node by its id: a small modal that returns the id (or None).

Ids belong to one graph (`emma@pos4`; a Root here keeps them, so a rerooted graph's
ids have gaps): the dialog names it, and refuses an id it does not have.
"""

from __future__ import annotations

from collections.abc import Callable

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import Label

from microgpt_tui.screens.modal import Modal
from microgpt_tui.widgets.field import Field as Input


class GoToScreen(Modal[int | None]):
    """Asks for an id of graph `graph_name`; enter returns it, escape returns None."""

    BINDINGS = [Binding("escape", "dismiss", "Cancel")]

    DEFAULT_CSS = """
    GoToScreen {
        align: center middle;
        & > Vertical {
            width: 76;
            max-width: 100%;
            height: auto;
            border: thick $primary;
            background: $surface;
            padding: 0 1;
        }
        #goto-error { color: $text-error; height: auto; }
    }
    """

    def __init__(
        self,
        graph_name: str,
        id_range: str,
        has_node: Callable[[int], bool],
        *,
        cursor_blink: bool = True,
    ) -> None:
        """`id_range` as the user reads it (`0..16454`); `has_node(id)` says if it is there."""
        super().__init__()
        self.graph_name = graph_name
        self.id_range = id_range
        self.has_node = has_node
        self.cursor_blink = cursor_blink

    def compose(self) -> ComposeResult:
        with Vertical() as box:
            box.border_title = "Go to node"
            yield Label(
                f"A node id of graph {self.graph_name}: {self.id_range} "
                "(inspects it; the cursor stays)",
                id="goto-label",
            )
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
        if not self.has_node(node_id):
            self._error(
                f"#{node_id} is not in graph {self.graph_name}: its ids are {self.id_range}"
            )
            return
        self.dismiss(node_id)

    def _error(self, message: str) -> None:
        self.query_one("#goto-error", Label).update(message)
