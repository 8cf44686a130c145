"""Below 120 columns the debugger's panels take turns: this line names them and the one shown.

` inspector │ graph │ code │ scopes      v: next panel` — click a name, or press `v`.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual import events
from textual.content import Content
from textual.message import Message
from textual.widgets import Static

SEPARATOR = " │ "


class PanelBar(Static):
    """The names of the narrow layout's pages, the current one highlighted."""

    DEFAULT_CSS = """
    PanelBar {
        height: 1;
        padding: 0 1;
        background: $panel;
        color: $text-muted;
    }
    """

    @dataclass
    class Picked(Message):
        """A page's name was clicked."""

        page: int

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.pages: tuple[str, ...] = ()
        self.current = 0

    def show_pages(self, pages: tuple[str, ...], current: int) -> None:
        self.pages, self.current = pages, current
        parts: list = []
        for i, name in enumerate(pages):
            if i:
                parts.append(SEPARATOR)
            parts.append((f" {name} ", "bold reverse $accent") if i == current else f" {name} ")
        parts.append(("    v: next panel", "$text-muted"))
        self.update(Content.assemble(*parts), layout=False)

    def on_click(self, event: events.Click) -> None:
        x = event.x - 1  # (the padding)
        for i, name in enumerate(self.pages):
            width = len(name) + 2
            if 0 <= x < width:
                self.post_message(self.Picked(i))
                return
            x -= width + len(SEPARATOR)
