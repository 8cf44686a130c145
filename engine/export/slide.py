"""How an exported picture reads on a slide: its shape, and its smallest text at slide width.

A picture is shown scaled to the slide's width (1920 pixels); text that is 22
points in a 1,500-point-wide SVG is then 22 × 1920 / 1500 = 28 pixels (its em,
the font size). Capitals and digits are `CAP_HEIGHT` of that: the height of the
ink, what a reader at the back sees.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

SLIDE_WIDTH = 1920  # pixels
CAP_HEIGHT = 0.688  # of the em: Liberation Sans, Graphviz's Helvetica here (Helvetica: 0.718)


@dataclass(frozen=True)
class SlideMetrics:
    """An SVG's size in points and its smallest font size in points."""

    width: float
    height: float
    smallest_font: float

    @property
    def aspect(self) -> float:
        return self.width / self.height

    @property
    def text_px(self) -> float:
        """The smallest text's em in pixels when the picture is SLIDE_WIDTH pixels wide."""
        return self.smallest_font * SLIDE_WIDTH / self.width

    @property
    def cap_px(self) -> float:
        """The height of the smallest text's capitals and digits, in pixels, at slide width."""
        return self.text_px * CAP_HEIGHT


def svg_metrics(svg: str) -> SlideMetrics:
    """The size and smallest font of an SVG written by Graphviz (sizes in points)."""
    size = re.search(r'<svg width="([\d.]+)pt" height="([\d.]+)pt"', svg)
    if size is None:
        raise ValueError("not an SVG written by Graphviz (no width and height in pt)")
    fonts = [float(f) for f in re.findall(r'font-size="([\d.]+)"', svg)]
    return SlideMetrics(float(size[1]), float(size[2]), min(fonts, default=0.0))


def png_size(data: bytes) -> tuple[int, int]:
    """A PNG's width and height in pixels, from its header."""
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("not a PNG")
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
