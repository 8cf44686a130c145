"""Below 120 columns: one line naming the tabs and, in the debugger tab, its panels (which
take turns), the ones shown highlighted. It stands in for the tab strip (two lines).

` Debugger  Parameters  Attention … │ inspector  graph  code  scopes   .: next panel`
— click a name, or press 1, 2, 3… for a tab, `.` for the next panel (`,` the previous).
At vector level the graph's place is named `vectors` (`scalars` for a vector drilled
down). When that is too wide the tabs take short names (`Params`), then the hint goes.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual import events
from textual.content import Content
from textual.message import Message
from textual.widgets import Static

SEPARATOR = " │ "
TAB, PANEL = "tab", "panel"
SHORT = {"Debugger": "Debug", "Parameters": "Params", "Attention": "Attn", "Gradient": "Grad",
         "Training": "Train"}  # fmt: skip
HINT = "  .: next panel"


class PanelBar(Static):
    """The tabs, and the narrow layout's pages of panels, the current ones highlighted."""

    DEFAULT_CSS = """
    PanelBar {
        height: 1;
        background: $panel;
        color: $text-muted;
    }
    """

    @dataclass
    class Picked(Message):
        """A name was clicked: a tab (`kind` TAB, its id) or a page (`kind` PANEL, its index)."""

        kind: str
        value: str | int

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._spans: list[tuple[int, int, str, str | int]] = []  # (start, end, kind, value)

    def show_names(
        self, tabs: list[tuple[str, str]], tab: str, pages: tuple[str, ...], page: int
    ) -> None:
        """`tabs` as (id, title) with `tab` the active one; `pages` shown (if any) with `page`."""
        width = self.app.size.width
        hint = HINT if pages else ""
        needed = sum(len(t) + 2 for _, t in tabs) + sum(len(p) + 2 for p in pages) + 3 + len(hint)
        if needed > width:
            tabs = [(tab_id, SHORT.get(title, title)) for tab_id, title in tabs]
            needed = sum(len(t) + 2 for _, t in tabs) + sum(len(p) + 2 for p in pages) + 3
            hint = hint if needed + len(hint) <= width else ""
        parts: list = []
        spans: list[tuple[int, int, str, str | int]] = []
        at = 0

        def add(text: str, current: bool, kind: str, value: str | int) -> None:
            nonlocal at
            label = f" {text} "
            parts.append((label, "bold reverse $accent") if current else (label, ""))
            spans.append((at, at + len(label), kind, value))
            at += len(label)

        for tab_id, title in tabs:
            add(title, tab_id == tab, TAB, tab_id)
        if pages:
            parts.append(SEPARATOR)
            at += len(SEPARATOR)
            for i, name in enumerate(pages):
                add(name, i == page, PANEL, i)
            parts.append((hint, "$text-muted"))
        self._spans = spans
        self.update(Content.assemble(*parts), layout=False)

    def on_click(self, event: events.Click) -> None:
        for start, end, kind, value in self._spans:
            if start <= event.x < end:
                self.post_message(self.Picked(kind, value))
                return
