"""The model's source code with the line that created the current node highlighted.

A Line-API widget: the file is highlighted once, then only visible lines are
painted; moving the highlight repaints two lines and scrolls it into view.

Every line is shown from its start. The model's innermost lines are indented 28
columns deep, so when the highlighted line does not fit, the indentation is drawn
narrower (each level of four spaces as two, or one) for every line alike, which
keeps the nesting readable; what still does not fit is cut at the right, marked `…`.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from rich.segment import Segment
from textual.content import Content
from textual.geometry import Size
from textual.highlight import highlight
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.visual import Visual

from engine.trace import SourceSite


@lru_cache(maxsize=8)
def _source_lines(filename: str) -> tuple[Content, ...]:
    """A source file, syntax-highlighted, one Content per line (empty if unreadable)."""
    try:
        code = Path(filename).read_text(encoding="utf-8")
    except OSError:
        return ()
    return tuple(highlight(code, language="python").split("\n"))


def short_path(filename: str) -> str:
    """`/…/engine/model.py` as `engine/model.py` (the last two parts)."""
    parts = Path(filename).parts
    return "/".join(parts[-2:])


GUTTER = 6  # "▶ 113 "
INDENT = 4  # the model's columns per level of indentation


def _indent(text: str) -> int:
    return len(text) - len(text.lstrip(" "))


class SourceView(ScrollView):
    """A read-only source file with one highlighted line (the current node's)."""

    COMPONENT_CLASSES = {"source-view--gutter", "source-view--line", "source-view--marker"}

    DEFAULT_CSS = """
    SourceView {
        background: $surface;
        overflow-x: hidden;
        scrollbar-size-vertical: 1;
        & > .source-view--gutter { color: $text-disabled; }
        & > .source-view--line { background: $warning 25%; }
        & > .source-view--marker { color: $text-warning; text-style: bold; }
    }
    """

    def __init__(self, *, name: str | None = None, id: str | None = None) -> None:
        super().__init__(name=name, id=id)
        self.filename: str | None = None
        self.lines: tuple[Content, ...] = ()
        self.lineno: int | None = None  # 1-based, the highlighted line
        self.note: str = ""  # shown instead of code when a node has no source line
        self._cache: dict[tuple, Strip] = {}

    def show_site(
        self, site: SourceSite | None, note: str = "", *, fallback: str | None = None
    ) -> None:
        """Highlight `site`'s line (scrolling it to the middle).

        Without a site (a parameter, say), no line is highlighted and `note` says why;
        the file shown stays (or is `fallback` if none is shown yet).
        """
        if site is None:
            self.lineno = None
            self.border_subtitle = note
            if self.filename is None and fallback is not None:
                self._load(fallback)
                self._set_size()
            self.note = note if not self.lines else ""
            self.refresh()
            return
        self.note = ""
        if site.filename != self.filename:
            self._load(site.filename)
        self.lineno = site.lineno
        self.border_subtitle = f"line {site.lineno}, in {site.function}()"
        self.refresh()
        if self._set_size():  # a new file: scroll once it is laid out
            self.call_after_refresh(self._scroll_to_line)
        else:
            self._scroll_to_line()

    def _load(self, filename: str) -> None:
        self.filename = filename
        self.lines = _source_lines(filename)
        self._cache.clear()
        self.border_title = short_path(filename)

    def _set_size(self) -> bool:
        """Size the view to the file; True if that changed anything."""
        size = Size(self.scrollable_content_region.width, len(self.lines))
        if size == self.virtual_size:
            return False
        self.virtual_size = size
        return True

    def _scroll_to_line(self) -> None:
        if self.lineno is None:
            return
        height = self.scrollable_content_region.height
        top, line = self.scroll_offset.y, self.lineno - 1
        if not top + 2 <= line < top + height - 2:
            self.scroll_to(y=max(0, line - height // 2), animate=False)

    def on_resize(self) -> None:
        self.virtual_size = Size(self.scrollable_content_region.width, len(self.lines))
        self._scroll_to_line()

    def _code_strip(self, index: int, unit: int) -> Strip:
        """A whole line of highlighted code, its indentation `unit` columns a level (cached)."""
        key = (index, unit, self.app.theme)
        cached = self._cache.get(key)
        if cached is None:
            line = self.lines[index]
            strips = Visual.to_strips(self, line, max(1, line.cell_length), 1, self.visual_style)
            strip = strips[0] if strips else Strip([])
            indent = _indent(line.plain)
            narrower = indent // INDENT * unit + indent % INDENT
            if narrower < indent:
                blank = Segment(" " * narrower, self.visual_style.rich_style)
                strip = Strip([blank, *strip.crop(indent, strip.cell_length)])
            cached = self._cache[key] = strip
        return cached

    def _indent_unit(self, code_width: int) -> int:
        """Columns per level of indentation: 4, or fewer if the highlighted line needs it."""
        if self.lineno is None or not 0 < self.lineno <= len(self.lines):
            return INDENT
        text = self.lines[self.lineno - 1].plain.rstrip()
        indent = _indent(text)
        for unit in (INDENT, 2, 1):
            if indent // INDENT * unit + indent % INDENT + len(text) - indent <= code_width:
                return unit
        return 1

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        base = self.visual_style.rich_style
        if self.note:
            text = self.note if y == 1 else ""
            return (
                Strip([Segment("  " + text, base)]).extend_cell_length(width, base).crop(0, width)
            )
        index = self.scroll_offset.y + y
        if not 0 <= index < len(self.lines):
            return Strip.blank(width, base)
        current = self.lineno == index + 1
        gutter_style = base + self.get_component_rich_style("source-view--gutter")
        line_style = self.get_component_rich_style("source-view--line") if current else None
        marker = "▶" if current else " "
        gutter = [
            Segment(marker, base + self.get_component_rich_style("source-view--marker")),
            Segment(f"{index + 1:>4} ", gutter_style),
        ]
        code_width = max(1, width - GUTTER)
        strip = self._code_strip(index, self._indent_unit(code_width))
        code = list(strip.crop(0, code_width))
        if strip.cell_length > code_width and code_width > 1:  # cut at the right: say so
            code = list(strip.crop(0, code_width - 1)) + [Segment("…", gutter_style)]
        segments = gutter + code
        if line_style is not None:  # the highlight goes over the syntax colours
            segments = [Segment(text, (style or base) + line_style) for text, style, _ in segments]
            return Strip(segments).extend_cell_length(width, base + line_style).crop(0, width)
        return Strip(segments).extend_cell_length(width, base).crop(0, width)
