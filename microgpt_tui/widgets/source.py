"""The model's source code with the line that created the current node highlighted.

A Line-API widget: the file is highlighted once, then only visible lines are
painted; moving the highlight repaints its rows and scrolls it into view.

Every line is shown whole, from its start. The model's innermost lines are indented
28 columns deep, so in a narrow panel the indentation is drawn narrower (each level
of four spaces as two, or one: the same for every line, so the nesting still
reads), and a line that still does not fit wraps, its continuation indented.
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
CONTINUED = 4  # a wrapped line's continuation: this much deeper than the line


def _indent(text: str) -> int:
    return len(text) - len(text.lstrip(" "))


def indent_unit(plain_lines: list[str], code_width: int) -> int:
    """Columns drawn per level of indentation: 4, or 2 or 1 when the deepest line's
    indentation would take more than a third of the width."""
    deepest = max((_indent(t) // INDENT for t in plain_lines if t.strip()), default=0)
    for unit in (INDENT, 2):
        if deepest * unit * 3 <= code_width:
            return unit
    return 1


def wrap_points(text: str, width: int, continued: int) -> list[int]:
    """Where each row of `text` starts: rows of `width`, continuations `continued` narrower
    (their indentation), broken after a space if there is one in the row's last two fifths."""
    starts, start, room = [0], 0, width
    while len(text) - start > room:
        end = start + room
        space = text.rfind(" ", start + room * 3 // 5, end)
        start = space + 1 if space >= 0 else end
        starts.append(start)
        room = max(1, width - continued)
    return starts


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
        # the rows drawn: (line index, where in the line the row starts and ends)
        self._rows: list[tuple[int, int, int]] = []
        self._first_row: list[int] = []  # by line index: its first row
        self._laid_for: tuple[int, str | None] = (-1, None)  # (width, file) it is wrapped for
        self._unit = INDENT

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
                self._lay_out()
            self.note = note if not self.lines else ""
            self.refresh()
            return
        shown = (self.filename, self.lineno, self.note)
        self.note = ""
        if site.filename != self.filename:
            self._load(site.filename)
        self.lineno = site.lineno
        subtitle = f"line {site.lineno}, in {site.function}()"
        if self.border_subtitle != subtitle:  # (setting it repaints the whole panel)
            self.border_subtitle = subtitle
        if self._lay_out():  # a new file or width: scroll once it is laid out
            self.refresh()
            self.call_after_refresh(self._scroll_to_line)
        else:
            if shown != (self.filename, self.lineno, self.note):  # (else: nothing to repaint)
                self.refresh()
            self._scroll_to_line()

    def _load(self, filename: str) -> None:
        self.filename = filename
        self.lines = _source_lines(filename)
        self._cache.clear()
        self.border_title = short_path(filename)

    def _lay_out(self) -> bool:
        """Wrap the file to the width (once per file and width); True if that changed anything."""
        width = self.scrollable_content_region.width
        if self._laid_for == (width, self.filename):
            return False  # (the indent unit follows from the file and the width)
        code_width = max(1, width - GUTTER)
        plain = [line.plain.rstrip() for line in self.lines]
        unit = indent_unit(plain, code_width)
        self._laid_for, self._unit = (width, self.filename), unit
        self._rows, self._first_row = [], []
        for index, text in enumerate(plain):
            self._first_row.append(len(self._rows))
            drawn = self._drawn_text(text, unit)
            starts = wrap_points(drawn, code_width, _continued(drawn, code_width))
            ends = [*starts[1:], len(drawn)]
            self._rows += [(index, start, end) for start, end in zip(starts, ends, strict=True)]
        size = Size(width, len(self._rows))
        if size != self.virtual_size:
            self.virtual_size = size
        return True

    @staticmethod
    def _drawn_text(text: str, unit: int) -> str:
        indent = _indent(text)
        return " " * _narrower(indent, unit) + text[indent:]

    def _scroll_to_line(self) -> None:
        if self.lineno is None or not 0 < self.lineno <= len(self._first_row):
            return
        height = self.scrollable_content_region.height
        top, row = self.scroll_offset.y, self._first_row[self.lineno - 1]
        if not top + 2 <= row < top + height - 2:
            self.scroll_to(y=max(0, row - height // 2), animate=False)

    def on_resize(self) -> None:
        self._lay_out()
        self._scroll_to_line()

    def _code_strip(self, index: int, unit: int) -> Strip:
        """A whole line of highlighted code, its indentation drawn `unit` columns a level."""
        key = (index, unit, self.app.theme)
        cached = self._cache.get(key)
        if cached is None:
            line = self.lines[index]
            strips = Visual.to_strips(self, line, max(1, line.cell_length), 1, self.visual_style)
            strip = strips[0] if strips else Strip([])
            indent = _indent(line.plain)
            narrower = _narrower(indent, unit)
            if narrower < indent:
                blank = Segment(" " * narrower, self.visual_style.rich_style)
                strip = Strip([blank, *strip.crop(indent, strip.cell_length)])
            cached = self._cache[key] = strip
        return cached

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        base = self.visual_style.rich_style
        if self.note:
            text = self.note if y == 1 else ""
            return (
                Strip([Segment("  " + text, base)]).extend_cell_length(width, base).crop(0, width)
            )
        row = self.scroll_offset.y + y
        if not 0 <= row < len(self._rows):
            return Strip.blank(width, base)
        index, start, end = self._rows[row]
        current = self.lineno == index + 1
        gutter_style = base + self.get_component_rich_style("source-view--gutter")
        line_style = self.get_component_rich_style("source-view--line") if current else None
        marker = "▶" if current and start == 0 else " "
        number = f"{index + 1:>4} " if start == 0 else " " * (GUTTER - 1)
        gutter = [
            Segment(marker, base + self.get_component_rich_style("source-view--marker")),
            Segment(number, gutter_style),
        ]
        code_width = max(1, width - GUTTER)
        strip = self._code_strip(index, self._unit)
        if start == 0:
            code = list(strip.crop(0, min(end, code_width) if end else code_width))
        else:  # a continuation: deeper than the line's own indentation
            drawn = self._drawn_text(self.lines[index].plain, self._unit)
            deeper = _continued(drawn, code_width)
            code = [Segment(" " * deeper, base), *strip.crop(start, end)]
        segments = gutter + code
        if line_style is not None:  # the highlight goes over the syntax colours
            segments = [Segment(text, (style or base) + line_style) for text, style, _ in segments]
            return Strip(segments).extend_cell_length(width, base + line_style).crop(0, width)
        return Strip(segments).extend_cell_length(width, base).crop(0, width)


def _continued(drawn: str, code_width: int) -> int:
    """The indentation of a wrapped line's continuation rows."""
    return min(_indent(drawn) + CONTINUED, code_width // 2)


def _narrower(indent: int, unit: int) -> int:
    """`indent` columns of indentation drawn `unit` columns a level."""
    return indent // INDENT * unit + indent % INDENT
