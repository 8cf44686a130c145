"""A heatmap of one parameter matrix's gradient: red for positive, blue for negative.

A Line-API widget: each terminal line is drawn on demand, so a 256×64 matrix
costs only the lines on screen. Small matrices get one line per row and two
characters per cell; taller ones pack two rows into a line with the upper half
block `▀` (foreground = upper row, background = lower row), so a 64×64 matrix
fits in 32 lines. The colour's strength is |grad| over the matrix's largest
|grad|, shown in the legend; any non-zero grad gets at least a faint tint, so
"which parameters got a gradient at all" is visible too.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from rich.color import Color as RichColor
from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.color import Color
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.strip import Strip

from microgpt_tui.widgets.line_view import LineView

if TYPE_CHECKING:
    from engine.session import DebugSession
    from engine.value import Value

POSITIVE = Color(222, 62, 52)
"""The colour of the largest positive grad (red)."""
NEGATIVE = Color(52, 118, 232)
"""The colour of the largest negative grad (blue)."""
LEVELS = 16
"""How many steps of strength each sign has."""
HEADER_LINES = 3
"""The title, the colour scale and the column labels, which stay put while the grid scrolls."""
LEGEND_LEVELS = (-16, -12, -8, -4, 0, 4, 8, 12, 16)
LEGEND_WIDTH = 2 * 9 + 2 * 9
"""The colour scale's width: nine swatches and two numbers."""
UPPER_HALF = "▀"
MAX_WIDE_WIDTH = 48
"""Cells are two characters wide when the whole grid still fits in this many."""


def grad_level(grad: float, scale: float) -> int:
    """A grad's colour step: sign × ceil(LEVELS × |grad| / scale), 0 only for a zero grad."""
    if grad == 0 or scale <= 0:
        return 0
    level = min(LEVELS, math.ceil(LEVELS * abs(grad) / scale))
    return level if grad > 0 else -level


@dataclass(frozen=True)
class _Layout:
    """How the grid is packed into lines and characters."""

    rows_per_line: int  # 1: one row per line; 2: upper half block packs two
    cell_width: int  # characters per matrix column
    gutter: int  # width of the row labels on the left
    lines: int  # grid lines (after the header lines)


class GradHeatmap(LineView, can_focus=False):
    """The gradient of one parameter matrix as coloured cells, with a legend and sparse labels."""

    DEFAULT_CSS = """
    GradHeatmap {
        width: auto;
        height: 1fr;
        scrollbar-size: 1 1;
        & > .heatmap--legend { text-style: bold; }
        & > .heatmap--label { color: $text-muted; }
        & > .heatmap--marker { color: $accent; text-style: bold; }
        & > .heatmap--note { color: $text-muted; text-style: italic; }
    }
    """

    COMPONENT_CLASSES = {
        "heatmap--legend",
        "heatmap--label",
        "heatmap--marker",
        "heatmap--note",
    }

    marker: reactive[tuple[int, int] | None] = reactive(None)
    """The (row, column) of the parameter under the list's cursor, marked on the labels."""

    @dataclass
    class CellClicked(Message):
        """The user clicked the cell of parameter `name[row][col]`."""

        heatmap: GradHeatmap
        name: str
        row: int
        col: int

    def __init__(self, *, name: str | None = None, id: str | None = None) -> None:
        super().__init__(name=name, id=id)
        self.session: DebugSession | None = None
        self.matrix_name: str | None = None
        self.matrix: list[list[Value]] = []
        self._used: list[list[bool]] = []
        self.scale = 0.0  # the largest |grad| in the matrix
        self._layout = _Layout(1, 2, 4, 0)
        self._styles: dict[tuple[int, int], Style] = {}

    # -- what the parameters view calls ------------------------------------------------

    def show_matrix(self, session: DebugSession, name: str) -> None:
        """Show the gradient of `session.model.state_dict[name]`."""
        self.session = session
        self.matrix_name = name
        self.matrix = session.model.state_dict[name]
        self._used = [[session.contains(p) for p in row] for row in self.matrix]
        self.marker = None
        self.refresh_state()
        self.scroll_to(0, 0, animate=False)

    def refresh_state(self) -> None:
        """Grads changed (a step, a phase switch): rescale and redraw."""
        self.scale = max((abs(p.grad) for row in self.matrix for p in row), default=0.0)
        self._relayout()
        self.refresh()

    @property
    def grads_shown(self) -> bool:
        """Grads exist only in the backward phase; the forward phase shows a blank grid."""
        return self.session is not None and self.session.phase == "backward"

    def cell_color(self, level: int) -> Color:
        """The colour of a colour step: from the neutral grey towards red (+) or blue (-)."""
        zero = self._zero_color()
        if level == 0:
            return zero
        return zero.blend(POSITIVE if level > 0 else NEGATIVE, abs(level) / LEVELS)

    # -- layout -----------------------------------------------------------------------

    def _relayout(self) -> None:
        rows = len(self.matrix)
        cols = len(self.matrix[0]) if rows else 0
        gutter = len(str(max(rows - 1, 0))) + 2
        wide = 2 if gutter + 2 * cols <= MAX_WIDE_WIDTH else 1
        room = self.size.height - HEADER_LINES if self.size.height else rows
        if rows <= max(room, 1) or rows <= 8:
            layout = _Layout(1, wide, gutter, rows)
        else:
            layout = _Layout(2, 1, gutter, (rows + 1) // 2)
        title_width = len(f"{self.matrix_name} grad {rows}×{cols}")
        width = max(gutter + cols * layout.cell_width, LEGEND_WIDTH, title_width)
        self._layout = layout
        self.virtual_size = Size(width, HEADER_LINES + layout.lines)

    def on_resize(self, event: events.Resize) -> None:
        self._relayout()

    # -- drawing ----------------------------------------------------------------------

    def _zero_color(self) -> Color:
        background = self.background_colors[1]
        if background.a == 0:
            background = Color(24, 24, 24)
        return background.blend(Color(128, 128, 128), 0.25)

    def _cell_style(self, upper: int, lower: int | None) -> Style:
        """The style of one cell (or of two rows packed into one half block)."""
        key = (upper, 999 if lower is None else lower)
        style = self._styles.get(key)
        if style is None:
            if lower is None:
                style = Style(bgcolor=self.cell_color(upper).rich_color)
            else:
                style = Style(
                    color=self.cell_color(upper).rich_color,
                    bgcolor=self.cell_color(lower).rich_color,
                )
            self._styles[key] = style
        return style

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._styles.clear()

    def _title(self) -> Strip:
        rows = len(self.matrix)
        cols = len(self.matrix[0]) if rows else 0
        style = self.base_style + self.get_component_rich_style("heatmap--legend")
        return Strip([Segment(f"{self.matrix_name} grad {rows}×{cols}", style)])

    def _legend(self) -> Strip:
        """The colour scale: -max … 0 … +max, or why there is none."""
        base = self.base_style
        note = base + self.get_component_rich_style("heatmap--note")
        if not self.grads_shown:
            return Strip([Segment("no grads in the forward phase", note)])
        if self.scale == 0:
            return Strip([Segment("all grads zero so far", note)])
        segments = [Segment(f"-{self.scale:.1e} ", base)]
        for level in LEGEND_LEVELS:
            segments.append(Segment("  ", self._cell_style(level, None)))
        segments.append(Segment(f" +{self.scale:.1e}", base))
        return Strip(segments)

    def _column_labels(self, scroll_x: int, width: int) -> Strip:
        layout = self._layout
        cols = len(self.matrix[0]) if self.matrix else 0
        step = 8 // layout.cell_width
        chars = [" "] * (cols * layout.cell_width)
        for col in range(0, cols, step):
            text = str(col)
            start = col * layout.cell_width
            chars[start : start + len(text)] = text
        label = self.base_style + self.get_component_rich_style("heatmap--label")
        grid = Strip([Segment("".join(chars), label)])
        if self.marker is not None and self.marker[1] < cols:
            at = self.marker[1] * layout.cell_width
            mark = self.base_style + self.get_component_rich_style("heatmap--marker")
            before, _, after = grid.divide([at, at + 1, grid.cell_length])
            grid = Strip.join([before, Strip([Segment("▼", mark)]), after])
        gutter = Strip.blank(layout.gutter, self.base_style)
        return Strip.join([gutter, self._crop(grid, scroll_x, width - layout.gutter)])

    def _crop(self, strip: Strip, scroll_x: int, width: int) -> Strip:
        return strip.crop_extend(scroll_x, scroll_x + max(width, 0), self.base_style)

    def _grid_line(self, line: int, scroll_x: int, width: int) -> Strip:
        layout = self._layout
        first = line * layout.rows_per_line
        rows = range(first, min(first + layout.rows_per_line, len(self.matrix)))
        marked = self.marker is not None and self.marker[0] in rows
        labelled = first % (8 if layout.rows_per_line == 2 else 4) == 0
        label_style = self.base_style + self.get_component_rich_style(
            "heatmap--marker" if marked else "heatmap--label"
        )
        label = f"{first:>{layout.gutter - 2}}" if labelled or marked else " " * (layout.gutter - 2)
        gutter = Segment(f"{label}{'▶' if marked else ' '} ", label_style)
        # Only the columns on screen are drawn: a wide matrix costs its visible part.
        cw = layout.cell_width
        room = max(width - layout.gutter, 0)
        first_col = scroll_x // cw
        last_col = min(len(self.matrix[0]), -(-(scroll_x + room) // cw))
        columns = range(first_col, last_col)
        levels = self._levels(first, columns)
        cells: list[Segment] = []
        if layout.rows_per_line == 2:
            lower = (
                self._levels(first + 1, columns)
                if first + 1 < len(self.matrix)
                else [0] * len(columns)
            )
            cell_style = self._cell_style
            cells = [
                Segment(UPPER_HALF, cell_style(up, down))
                for up, down in zip(levels, lower, strict=True)
            ]
        else:
            blank, unused = " " * cw, "·".ljust(cw)
            used = self._used[first]
            for col, level in zip(columns, levels, strict=True):
                style = self._cell_style(level, None)
                text = blank if used[col] else unused
                if self.marker == (first, col):
                    text = "◆".ljust(cw)
                    style += Style(color=_contrast(self.cell_color(level)))
                cells.append(Segment(text, style))
        skip = scroll_x - first_col * cw
        grid = Strip(cells).crop_extend(skip, skip + room, self.base_style)
        return Strip.join([Strip([gutter]), grid])

    def _levels(self, row: int, columns: range) -> list[int]:
        """The colour steps of `matrix[row]` over `columns` (all 0 in the forward phase)."""
        if not self.grads_shown:
            return [0] * len(columns)
        params, scale = self.matrix[row], self.scale
        return [grad_level(params[col].grad, scale) for col in columns]

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        if not self.matrix:
            return Strip.blank(width, self.base_style)
        scroll_x, scroll_y = self.scroll_offset
        if y == 0:
            strip = self._title()
        elif y == 1:
            strip = self._legend()
        elif y == 2:
            strip = self._column_labels(scroll_x, width)
        else:
            line = scroll_y + y - HEADER_LINES
            if line >= self._layout.lines:
                return Strip.blank(width, self.base_style)
            strip = self._grid_line(line, scroll_x, width)
        return strip.crop_extend(0, width, self.base_style)

    # -- mouse --------------------------------------------------------------------------

    def cell_at(self, x: int, y: int) -> tuple[int, int] | None:
        """The (row, col) of the cell at content offset (x, y), if there is one."""
        layout = self._layout
        if not self.matrix or y < HEADER_LINES or x < layout.gutter:
            return None
        scroll_x, scroll_y = self.scroll_offset
        row = (scroll_y + y - HEADER_LINES) * layout.rows_per_line
        col = (scroll_x + x - layout.gutter) // layout.cell_width
        if row < len(self.matrix) and col < len(self.matrix[0]):
            return row, col
        return None

    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        cell = None if offset is None else self.cell_at(offset.x, offset.y)
        if cell is not None and self.matrix_name is not None:
            self.post_message(self.CellClicked(self, self.matrix_name, *cell))


def _contrast(color: Color) -> RichColor:
    return (Color(0, 0, 0) if color.brightness > 0.5 else Color(255, 255, 255)).rich_color
