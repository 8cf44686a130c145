"""The parameters list: every parameter of the model, one line each, virtual.

`ParameterIndex` flattens the state_dict once and gives views over it (row
numbers, filtered to one matrix and sorted); `ParameterList` draws a view with
the Line API, so 200k parameters cost what the lines on screen cost (Textual's
DataTable took ~11 s to paint 100k rows). Grads show only in the backward phase:
a grad still receiving terms is drawn dim and italic, a final one plain.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.strip import Strip

from microgpt_tui.messages import NodeSelected
from microgpt_tui.widgets.heatmap import NEGATIVE, POSITIVE
from microgpt_tui.widgets.line_view import LineView

if TYPE_CHECKING:
    from engine.session import DebugSession
    from engine.value import Value

SORTS = ("model", "name", "grad")
"""The orders of the list: the state_dict's, by name (A-Z, indices numerically), by |grad| ↓."""
BAR_WIDTH = 10
BAR_EIGHTHS = " ▏▎▍▌▋▊▉"


class ParameterIndex:
    """Every parameter of a model, flattened in state_dict order, and the views over it.

    Row `k` is parameter `params[k]`; a view is a sequence of such row numbers,
    filtered to one matrix and sorted.
    """

    def __init__(self, session: DebugSession) -> None:
        state_dict = session.model.state_dict
        self.matrices: list[str] = list(state_dict)
        self.shapes: list[tuple[int, int]] = [
            (len(mat), len(mat[0]) if mat else 0) for mat in state_dict.values()
        ]
        self.starts: list[int] = []
        start = 0
        for rows, cols in self.shapes:
            self.starts.append(start)
            start += rows * cols
        self.params: list[Value] = [p for mat in state_dict.values() for row in mat for p in row]
        self.used: list[bool] = [session.contains(p) for p in self.params]
        self.name_width = max(
            (
                len(f"{m}[{r - 1}][{c - 1}]")
                for m, (r, c) in zip(self.matrices, self.shapes, strict=True)
            ),
            default=4,
        )

    def __len__(self) -> int:
        return len(self.params)

    def locate(self, k: int) -> tuple[str, int, int]:
        """The matrix, row and column of parameter `k`."""
        m = bisect_right(self.starts, k) - 1
        i, j = divmod(k - self.starts[m], self.shapes[m][1])
        return self.matrices[m], i, j

    def name(self, k: int) -> str:
        matrix, i, j = self.locate(k)
        return f"{matrix}[{i}][{j}]"

    def row_of_param(self, param: Value) -> int | None:
        """The row of this parameter node, if it is one of the model's."""
        for k, p in enumerate(self.params):
            if p is param:
                return k
        return None

    def row_of(self, matrix: str, i: int, j: int) -> int:
        m = self.matrices.index(matrix)
        return self.starts[m] + i * self.shapes[m][1] + j

    def span(self, matrix: str) -> range:
        m = self.matrices.index(matrix)
        rows, cols = self.shapes[m]
        return range(self.starts[m], self.starts[m] + rows * cols)

    def view(self, matrix: str | None, sort: str, by_grad: bool = True) -> Sequence[int]:
        """The rows of `matrix` (None: all) in `sort` order.

        `by_grad` False (the forward phase, with no grads to show) makes the
        |grad| order fall back to model order.
        """
        if matrix is not None:
            base: Sequence[int] = self.span(matrix)
        elif sort == "name":
            return [k for name in sorted(self.matrices) for k in self.span(name)]
        else:
            base = range(len(self.params))
        if sort == "grad" and by_grad:
            params = self.params
            magnitude = [abs(params[k].grad) for k in base]
            order = sorted(range(len(base)), key=magnitude.__getitem__, reverse=True)
            return [base[i] for i in order]
        return base

    def max_abs_grad(self, rows: Sequence[int]) -> float:
        params = self.params
        return max((abs(params[k].grad) for k in rows), default=0.0)


class ParameterList(LineView, can_focus=True):
    """The rows of a view of the parameter index, one line each, with a cursor."""

    DEFAULT_CSS = """
    ParameterList {
        width: 1fr;
        height: 1fr;
        background: $surface;
        & > .parameter-list--header { text-style: bold; background: $panel; }
        & > .parameter-list--cursor {
            background: $block-cursor-blurred-background;
            color: $block-cursor-blurred-foreground;
        }
        &:focus > .parameter-list--cursor {
            background: $block-cursor-background;
            color: $block-cursor-foreground;
            text-style: $block-cursor-text-style;
        }
        & > .parameter-list--unused { color: $text-disabled; }
        & > .parameter-list--partial { color: $text-muted; text-style: italic; }
        & > .parameter-list--current { color: $accent; text-style: bold; }
    }
    """

    COMPONENT_CLASSES = {
        "parameter-list--header",
        "parameter-list--cursor",
        "parameter-list--unused",
        "parameter-list--partial",
        "parameter-list--current",
    }

    BINDINGS = [
        Binding(
            "enter",
            "select",
            "Inspect",
            show=False,  # (in the parameters' header instead: the footer stays the same)
            tooltip="Inspect the parameter under the cursor",
            id="parameters.inspect",
        ),
        Binding("up", "move(-1)", "Up", show=False),
        Binding("down", "move(1)", "Down", show=False),
        Binding("pageup", "page(-1)", "Page up", show=False),
        Binding("pagedown", "page(1)", "Page down", show=False),
        Binding("home", "jump(0)", "First", show=False),
        Binding("end", "jump(-1)", "Last", show=False),
    ]

    cursor: reactive[int] = reactive(0, repaint=False)
    """The row of the view under the cursor."""

    @dataclass
    class Highlighted(Message):
        """The cursor moved to parameter row `k` of the index."""

        parameter_list: ParameterList
        k: int

    def __init__(self, *, name: str | None = None, id: str | None = None) -> None:
        super().__init__(name=name, id=id)
        self.session: DebugSession | None = None
        self.index: ParameterIndex | None = None
        self.order: Sequence[int] = ()
        self.scale = 0.0  # the largest |grad| of the view, for the bars

    # -- data ---------------------------------------------------------------------------

    def set_view(
        self, session: DebugSession, index: ParameterIndex, order: Sequence[int], scale: float
    ) -> None:
        """Show `order` (rows of `index`); the cursor keeps its row number, clamped."""
        self.session, self.index, self.order, self.scale = session, index, order, scale
        self.virtual_size = Size(self._row_width(), len(order) + 1)
        self.cursor = self.validate_cursor(self.cursor)
        self.refresh()

    def _row_width(self) -> int:
        name_width = self.index.name_width if self.index is not None else 4
        return 2 + name_width + 2 + 10 + 2 + 10 + 2 + BAR_WIDTH + 2 + 8

    @property
    def current_row(self) -> int | None:
        """The index row (`k`) under the cursor, or None for an empty view."""
        return self.order[self.cursor] if self.order else None

    def validate_cursor(self, cursor: int) -> int:
        return max(0, min(cursor, len(self.order) - 1))

    def watch_cursor(self, old: int, new: int) -> None:
        self.refresh_line(old + 1)
        self.refresh_line(new + 1)
        self.scroll_to_cursor()
        if self.order:
            self.post_message(self.Highlighted(self, self.order[new]))

    def scroll_to_cursor(self) -> None:
        """Scroll just enough to show the cursor below the fixed header line."""
        rows_visible = max(self.scrollable_content_region.height - 1, 1)
        top = round(self.scroll_y)
        if self.cursor < top:
            self.scroll_to(y=self.cursor, animate=False, immediate=True)
        elif self.cursor >= top + rows_visible:
            self.scroll_to(y=self.cursor - rows_visible + 1, animate=False, immediate=True)

    # -- keys and mouse -------------------------------------------------------------------

    def action_move(self, delta: int) -> None:
        self.cursor += delta

    def action_page(self, direction: int) -> None:
        self.cursor += direction * max(self.scrollable_content_region.height - 2, 1)

    def action_jump(self, row: int) -> None:
        self.cursor = row if row >= 0 else len(self.order) - 1

    def action_select(self) -> None:
        """Inspect the parameter under the cursor: NodeSelected, if the loss uses it."""
        k = self.current_row
        if k is None or self.index is None:
            return
        if self.index.used[k]:
            self.post_message(NodeSelected(self.index.params[k].id))
        else:
            self.notify(
                f"{self.index.name(k)} is not used by this loss, so it has no node to inspect",
                severity="warning",
            )

    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is None or offset.y == 0:
            return
        row = round(self.scroll_y) + offset.y - 1
        if 0 <= row < len(self.order):
            self.cursor = row
            self.action_select()

    # -- drawing ------------------------------------------------------------------------

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        scroll_x = round(self.scroll_x)
        if y == 0:
            strip = self._header()
        else:
            row = round(self.scroll_y) + y - 1
            if self.index is None or row >= len(self.order):
                return Strip.blank(width, self.base_style)
            strip = self._row(row)
        return strip.crop_extend(scroll_x, scroll_x + width, self.base_style)

    def _header(self) -> Strip:
        style = self.base_style + self.get_component_rich_style("parameter-list--header")
        name_width = self.index.name_width if self.index is not None else 4
        text = (
            f"  {'name':<{name_width}}  {'value':>10}  {'grad':>10}  {'|grad|':<{BAR_WIDTH}}  node"
        )
        return Strip([Segment(text.ljust(self._row_width()), style)])

    def _row(self, row: int) -> Strip:
        index, session = self.index, self.session
        assert index is not None and session is not None
        k = self.order[row]
        param = index.params[k]
        used = index.used[k]
        base = self.base_style
        if row == self.cursor:
            base += self.get_component_rich_style("parameter-list--cursor")
        dim = base + self.get_component_rich_style("parameter-list--unused")
        is_current = used and session.walk.current is param
        mark = (
            Segment("▸ ", base + self.get_component_rich_style("parameter-list--current"))
            if is_current
            else Segment("  ", base)
        )
        name = Segment(f"{index.name(k):<{index.name_width}}  ", base if used else dim)
        value = Segment(f"{param.data:>+10.5f}  ", base)
        segments = [mark, name, value]
        if session.phase != "backward":
            segments.append(Segment(f"{'·':>10}  {'':<{BAR_WIDTH}}  ", dim))
        else:
            grad = param.grad
            final = not used or session.has_final_grad(param)
            grad_style = (
                base if final else base + self.get_component_rich_style("parameter-list--partial")
            )
            text = f"{grad:>+10.3e}" if grad else f"{'0':>10}"
            segments.append(Segment(f"{text}  ", grad_style if used else dim))
            segments.append(Segment(_bar(grad, self.scale), base + _bar_style(grad)))
            segments.append(Segment("  ", base))
        node = f"#{param.id}" if used else "unused"
        segments.append(Segment(f"{node:<8}", base if used else dim))
        return Strip(segments)


def _bar(grad: float, scale: float) -> str:
    """|grad| / scale as a bar of BAR_WIDTH cells, in eighths."""
    if scale <= 0 or grad == 0:
        return " " * BAR_WIDTH
    eighths = max(1, round(8 * BAR_WIDTH * abs(grad) / scale))
    full, part = divmod(eighths, 8)
    return ("█" * full + (BAR_EIGHTHS[part] if part else "")).ljust(BAR_WIDTH)[:BAR_WIDTH]


def _bar_style(grad: float) -> Style:
    return Style(color=(POSITIVE if grad > 0 else NEGATIVE).rich_color)
