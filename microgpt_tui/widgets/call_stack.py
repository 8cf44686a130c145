"""The call stack: the current node's scope path as stacked frames, innermost on top.

Scopes play the part of function calls (`pos4` > `layer0` > `attn` > `head1` >
`softmax`). Clicking a frame (or enter on it) selects that scope: `F` then
focuses it, `B` sets a breakpoint on it.

A Line-API widget of fixed height: the stack changes at almost every step, and
repainting a few lines costs far less than re-laying out a list widget.
"""

from __future__ import annotations

from rich.segment import Segment
from textual import events
from textual.binding import Binding
from textual.geometry import Size
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from engine.session import DebugSession
from microgpt_tui.display import scope_frames
from microgpt_tui.messages import ScopeSelected


class CallStack(ScrollView, can_focus=True):
    """Frames of the current node's scope; selecting one posts ScopeSelected."""

    BINDINGS = [
        Binding("up", "cursor(-1)", "Up", show=False),
        Binding("down", "cursor(1)", "Down", show=False),
        Binding(
            "enter", "select", "Select scope", show=False, tooltip="Select this scope (F: focus)"
        ),  # (not in the footer: it stays the same whichever panel has the focus, see KeyFooter)
    ]

    COMPONENT_CLASSES = {
        "call-stack--cursor",
        "call-stack--top",
        "call-stack--muted",
        "call-stack--mark",
    }

    DEFAULT_CSS = """
    CallStack {
        background: $surface;
        overflow: hidden hidden;
        & > .call-stack--cursor { background: $block-cursor-blurred-background; }
        &:focus > .call-stack--cursor { background: $block-cursor-background; }
        & > .call-stack--top { text-style: bold; }
        & > .call-stack--muted { color: $text-muted; }
        & > .call-stack--mark { color: $text-warning; text-style: bold; }
    }
    """

    cursor: reactive[int] = reactive(-1, init=False)
    """The highlighted frame (-1: none): the selected scope, or where the keyboard is."""

    def __init__(self, *, name: str | None = None, id: str | None = None) -> None:
        super().__init__(name=name, id=id)
        self.frames: list[str] = []  # scope paths, innermost first
        self.counts: list[int] = []
        self.focus_scope: str | None = None
        self.breakpoints: frozenset[str] = frozenset()

    def show_scope(self, session: DebugSession, scope: str, selected: str | None) -> None:
        """Show `scope`'s frames, marking focus ◎, breakpoints ● and the selected frame."""
        shown = (self.frames, self.counts, self.focus_scope, self.breakpoints, self.cursor)
        self.frames = scope_frames(scope)
        self.counts = []
        for path in self.frames:
            found = session.find_scope(path)
            self.counts.append(found.total if found is not None else 0)
        self.focus_scope = session.focus
        self.breakpoints = frozenset(session.breakpoints)
        self.set_reactive(
            CallStack.cursor, self.frames.index(selected) if selected in self.frames else -1
        )
        size = Size(self.scrollable_content_region.width, len(self.frames))
        if size != self.virtual_size and size.height > self.scrollable_content_region.height:
            self.virtual_size = size
        if shown != (self.frames, self.counts, self.focus_scope, self.breakpoints, self.cursor):
            self.refresh()  # (a step within one scope changes nothing here: no repaint)

    def watch_cursor(self) -> None:
        self.refresh()

    def action_cursor(self, delta: int) -> None:
        if self.frames:
            self.cursor = max(0, min(len(self.frames) - 1, self.cursor + delta))

    def action_select(self) -> None:
        if 0 <= self.cursor < len(self.frames):
            self.post_message(ScopeSelected(self.frames[self.cursor]))

    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is None:
            return
        index = offset.y + self.scroll_offset.y
        if 0 <= index < len(self.frames):
            self.cursor = index
            self.action_select()

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        base = self.visual_style.rich_style
        index = self.scroll_offset.y + y
        if not 0 <= index < len(self.frames):
            return Strip.blank(width, base)
        path = self.frames[index]
        style = self.get_component_rich_style
        mark = style("call-stack--mark")
        name = path.rsplit(".", 1)[-1]
        segments = [
            Segment("◎" if path == self.focus_scope else " ", base + mark),
            Segment("●" if path in self.breakpoints else " ", base + mark),
            Segment("▶ " if index == 0 else "  ", base + mark),
            Segment(f"{name:<12}", base + style("call-stack--top") if index == 0 else base),
            Segment(f"{self.counts[index]:>9,}", base + style("call-stack--muted")),
        ]
        if index == self.cursor:
            cursor = style("call-stack--cursor")
            segments = [Segment(text, s + cursor) for text, s, _ in segments]
            return Strip(segments).extend_cell_length(width, base + cursor).crop(0, width)
        return Strip(segments).extend_cell_length(width, base).crop(0, width)
