"""TextLines: a scrollable page of styled lines, painted line by line (the Line API).

A view hands it lines made of (text, style) pieces; only the visible lines are
painted, so a page of hundreds of lines (a path of 60 nodes, three times) costs
no layout work. The styles are names ("muted", "title", "positive", …), looked
up as the widget's component classes, so they follow the app's theme.
"""

from __future__ import annotations

from rich.segment import Segment
from textual.geometry import Size
from textual.strip import Strip

from microgpt_tui.widgets.line_view import LineView

Piece = tuple[str, str]  # (text, style: "" or one of STYLES)
Line = list[Piece]
STYLES = (
    "muted", "bold", "title", "accent", "positive", "negative", "plus", "minus", "warning", "path",
)  # fmt: skip


class TextLines(LineView, can_focus=True):
    """Shows `lines`; scrolls when they do not fit."""

    COMPONENT_CLASSES = {f"text-lines--{style}" for style in STYLES}

    DEFAULT_CSS = """
    TextLines {
        background: $surface;
        scrollbar-size-vertical: 1;
        scrollbar-size-horizontal: 1;
        & > .text-lines--muted { color: $text-muted; }
        & > .text-lines--bold { text-style: bold; }
        & > .text-lines--title { color: $text-primary; text-style: bold; }
        & > .text-lines--accent { color: $text-accent; }
        & > .text-lines--positive { color: $text-success; text-style: bold; }
        & > .text-lines--negative { color: $text-error; text-style: bold; }
        & > .text-lines--plus { background: $success-muted; }
        & > .text-lines--minus { background: $error-muted; }
        & > .text-lines--warning { color: $text-warning; text-style: bold; }
        & > .text-lines--path { color: $text-warning; }
    }
    """

    def __init__(self, *, name: str | None = None, id: str | None = None) -> None:
        super().__init__(name=name, id=id)
        self.lines: list[Line] = []

    def set_lines(self, lines: list[Line], *, to_top: bool = False) -> None:
        """Show `lines` (`to_top`: scroll back to the first)."""
        self.lines = lines
        if to_top:
            self.scroll_to(0, 0, animate=False)
        self._update_size()
        self.refresh()

    @property
    def text(self) -> str:
        """What the view shows, as plain text (for tests)."""
        return "\n".join("".join(text for text, _ in line) for line in self.lines)

    def _update_size(self) -> None:
        room = self.container_size
        width = max((sum(len(text) for text, _ in line) for line in self.lines), default=0)
        size = Size(max(width, room.width), max(len(self.lines), room.height))
        if width <= room.width and len(self.lines) <= room.height:
            size = room  # it fits: no scrollbars
        if size != self.virtual_size:
            self.virtual_size = size

    def on_resize(self) -> None:
        self._update_size()

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        width = self.scrollable_content_region.width
        base = self.base_style
        index = scroll_y + y
        if not 0 <= index < len(self.lines):
            return Strip.blank(width, base)
        segments = [
            Segment(text, base + self.get_component_rich_style(f"text-lines--{style}"))
            if style
            else Segment(text, base)
            for text, style in self.lines[index]
        ]
        return Strip(segments).crop_extend(scroll_x, scroll_x + width, base)
