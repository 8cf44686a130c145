"""How a vector-level picture looks: boxes of coloured cells, one colour scale per quantity.

A vector is a row of cells: its values, and under them its grads. Short vectors
(a head's) show the numbers in the cells; longer ones (the MLP's 64) are colour
strips, matrices small heatmaps, values and grads side by side. Colours are
diverging (blue below 0, red above), on the square root of |x| / the largest
|x| in the picture, so small entries still show; the legend gives the numbers.
A grad no consumer has passed on yet (a frame of the backward pass) is grey.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from engine.export.style import Theme, esc
from engine.export.vector_view import VectorBox
from engine.value import Value

NUMBERS_UP_TO = 8  # a vector this short shows its numbers
LEGEND_CELL = 120  # points: a legend cell holds `≤−0.123`
TITLE_SIZE, TEXT_SIZE, CELL_SIZE = 26, 22, 22  # points; no text is smaller than 22 pt
NEGATIVE, POSITIVE = (33, 102, 172), (178, 24, 43)  # ColorBrewer RdBu's ends
ZERO = {"light": (247, 247, 247), "dark": (55, 61, 69)}


@dataclass(frozen=True)
class Scale:
    """A diverging colour scale from -`limit` to +`limit` (0 is the theme's neutral).

    `limit` is the 95th percentile of |x| over the picture, so one outlier (the
    loss's grad of 1 beside grads of 0.01) does not wash out the rest; beyond
    it the colour saturates (`clipped`), and the legend says so.
    """

    limit: float
    zero: tuple[int, int, int]
    clipped: bool = False

    @classmethod
    def over(cls, numbers: Iterable[float], theme: Theme) -> Scale:
        sizes = sorted(abs(x) for x in numbers if math.isfinite(x) and x != 0)
        zero = ZERO["dark" if theme.background != "white" else "light"]
        if not sizes:
            return cls(1.0, zero)
        limit = sizes[min(len(sizes) - 1, int(0.95 * len(sizes)))]
        return cls(limit, zero, clipped=sizes[-1] > limit)

    def strength(self, x: float) -> float:
        """Signed, in [-1, 1]: the square root of |x| / limit, so small entries still show."""
        if not math.isfinite(x):
            return 1.0 if x > 0 else -1.0
        return math.copysign(min(1.0, math.sqrt(abs(x) / self.limit)), x)

    def colour(self, x: float) -> str:
        t = self.strength(x)
        end = POSITIVE if t > 0 else NEGATIVE
        rgb = (round(z + (e - z) * abs(t)) for z, e in zip(self.zero, end, strict=True))
        return "#{:02x}{:02x}{:02x}".format(*rgb)

    def ink(self, x: float, theme: Theme) -> str:
        """Text colour on the cell of `x`: white on a strong colour, the theme's text otherwise."""
        return "white" if abs(self.strength(x)) > 0.55 else theme.text


def cell_number(x: float) -> str:
    """At most 7 characters, with a real minus sign: `−0.123`, `0.0138`, `−5.5e−4`."""
    if x != 0 and abs(x) < 0.01:
        mantissa, exponent = format(x, ".1e").split("e")
        return f"{mantissa}e{int(exponent)}".replace("-", "−")
    return format(x, ".3g").replace("-", "−")


class BoxPainter:
    """Draws boxes and the legend with one pair of scales (values, grads) in one theme."""

    def __init__(
        self,
        theme: Theme,
        values: Scale,
        grads: Scale,
        pending: Callable[[Value], bool] = lambda node: False,
    ) -> None:
        self.t = theme
        self.values = values
        self.grads = grads
        self.pending = pending  # True for a node whose grad has not started to arrive

    def label(self, box: VectorBox) -> str:
        """The HTML-like label of a box: a title line, then its cells."""
        n = sum(len(row) for row in box.rows)
        shape = f"{len(box.rows)}×{box.width}" if len(box.rows) > 1 else f"{n}"
        head = (
            f'<TR><TD ALIGN="LEFT" COLSPAN="2"><FONT POINT-SIZE="{TITLE_SIZE}"><B>'
            f"{esc(box.title)}</B></FONT>"
            f'<FONT POINT-SIZE="{TEXT_SIZE}" COLOR="{self.t.faint}">  '
            f"{esc(' · '.join(filter(None, [shape, box.note])))}</FONT></TD></TR>"
        )
        if len(box.rows) == 1:
            body = self._vector(box.rows[0])
        else:
            body = f"<TR><TD>{self._grid(box, 'value')}</TD><TD>{self._grid(box, '∇')}</TD></TR>"
        return f'<<TABLE BORDER="0" CELLBORDER="0" CELLSPACING="2">{head}{body}</TABLE>>'

    def _vector(self, row: list[Value]) -> str:
        cells = [self._cells(row, "value"), self._cells(row, "∇")]
        spacing = 1 if len(row) <= 16 else 0  # a long strip's cells touch
        lines = "".join(
            f'<TR><TD ALIGN="RIGHT"><FONT POINT-SIZE="{TEXT_SIZE}" COLOR="{self.t.faint}">'
            f'{name}</FONT></TD><TD><TABLE BORDER="0" CELLSPACING="{spacing}" CELLPADDING="0">'
            f"<TR>{c}</TR></TABLE></TD></TR>"
            for name, c in zip(("value", "∇"), cells, strict=True)
        )
        return f'<TR><TD COLSPAN="2"><TABLE BORDER="0" CELLSPACING="0">{lines}</TABLE></TD></TR>'

    def _grid(self, box: VectorBox, what: str) -> str:
        """A matrix or a stack, values or grads: a caption, then a row of cells per row."""
        caption = f'<FONT POINT-SIZE="{TEXT_SIZE}" COLOR="{self.t.faint}">{what}</FONT>'
        width = box.width + (1 if box.row_names else 0)
        rows = [f'<TR><TD COLSPAN="{width}">{caption}</TD></TR>']
        for i, row in enumerate(box.rows):
            name = ""
            if box.row_names:
                name = (
                    f'<TD ALIGN="RIGHT"><FONT POINT-SIZE="{TEXT_SIZE}" COLOR="{self.t.faint}">'
                    f"{esc(box.row_names[i])}</FONT></TD>"
                )
            rows.append(f"<TR>{name}{self._cells(row, what, box)}</TR>")
        spacing = 0 if box.param else 1  # a heatmap's cells touch
        return (
            f'<TABLE BORDER="0" CELLBORDER="0" CELLSPACING="{spacing}" CELLPADDING="0">'
            f"{''.join(rows)}</TABLE>"
        )

    def _cells(self, row: list[Value], what: str, box: VectorBox | None = None) -> str:
        scale = self.values if what == "value" else self.grads
        numbers = len(row) <= NUMBERS_UP_TO and (box is None or not box.param)
        width, height = cell_size(len(row), len(box.rows) if box else 1, numbers)
        cells = []
        for node in row:
            x = node.data if what == "value" else node.grad
            waiting = what == "∇" and self.pending(node)
            fill = self.t.const_fill if waiting else scale.colour(x)
            text = ""
            if numbers:
                shown = "·" if waiting else cell_number(x)
                ink = self.t.faint if waiting else scale.ink(x, self.t)
                text = f'<FONT POINT-SIZE="{CELL_SIZE}" COLOR="{ink}">{shown}</FONT>'
            cells.append(f'<TD BGCOLOR="{fill}" WIDTH="{width}" HEIGHT="{height}">{text}</TD>')
        return "".join(cells)

    def legend(self, outside: bool) -> str:
        """The two colour scales with their numbers, and what a dashed box means.

        (Cells take WIDTH and HEIGHT as their least size, never FIXEDSIZE: a
        fixed cell in a table stretched by a long title leaves gaps around it.)
        """
        rows = []
        for name, scale in (("value", self.values), ("∇ (grad)", self.grads)):
            ticks = (-scale.limit, -scale.limit / 4, 0.0, scale.limit / 4, scale.limit)
            cells = "".join(
                f'<TD BGCOLOR="{scale.colour(x)}" WIDTH="{LEGEND_CELL}" HEIGHT="30">'
                f'<FONT POINT-SIZE="{TEXT_SIZE}" COLOR="{scale.ink(x, self.t)}">'
                f"{_tick(x, scale, i)}</FONT></TD>"
                for i, x in enumerate(ticks)
            )
            rows.append(
                f'<TR><TD ALIGN="RIGHT"><FONT POINT-SIZE="{TEXT_SIZE}">{esc(name)}</FONT></TD>'
                f"{cells}</TR>"
            )
        note = "colour ∝ √|x|; dashed: read from outside" if outside else "colour ∝ √|x|"
        rows.append(
            f'<TR><TD COLSPAN="6" ALIGN="LEFT"><FONT POINT-SIZE="{TEXT_SIZE}" '
            f'COLOR="{self.t.faint}">{esc(note)}</FONT></TD></TR>'
        )
        return f'<<TABLE BORDER="0" CELLSPACING="2">{"".join(rows)}</TABLE>>'


def _tick(x: float, scale: Scale, i: int) -> str:
    """A legend tick: the number, `≤`/`≥` at the ends when colours saturate beyond them."""
    if scale.clipped and i in (0, 4):
        return ("≤" if i == 0 else "≥") + cell_number(x)
    return cell_number(x)


def cell_size(count: int, rows: int, numbers: bool) -> tuple[int, int]:
    """Width and height of one cell, in points, for a row of `count` cells in `rows` rows."""
    if numbers:
        return 100, 34
    if rows > 1:  # a heatmap: the whole matrix about 200 points square
        return max(3, min(16, 200 // count)), max(3, min(16, 200 // rows))
    return max(5, min(16, 256 // count)), 28
