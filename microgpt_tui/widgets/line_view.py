"""LineView: the base of the Line-API views (a ScrollView that renders line by line)."""

from __future__ import annotations

from rich.style import Style
from textual.scroll_view import ScrollView


class LineView(ScrollView):
    """A ScrollView whose own Rich style is looked up once per style change.

    `render_line` runs for every visible line on every refresh; `rich_style` walks
    the CSS each time it is read, so the views read `base_style` instead.
    """

    _base_style: Style | None = None

    @property
    def base_style(self) -> Style:
        """The widget's own Rich style, looked up once per style change, not once per line."""
        if self._base_style is None:
            self._base_style = self.rich_style
        return self._base_style

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._base_style = None
