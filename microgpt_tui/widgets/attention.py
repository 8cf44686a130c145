"""Attention at one position: each head's weights over the cached positions, as bars.

One block per layer; in it a row per cached position t = 0..pos, labelled with
the input character at t, and a column per head with a horizontal bar of the
weight and its value, so a column is one head's softmax (it sums to 1) and a
row compares the heads. In the forward phase a weight the replay has not yet
revealed is drawn as pending. Clicking a weight inspects its node.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.geometry import Size
from textual.reactive import reactive
from textual.strip import Strip

from microgpt_tui.messages import NodeSelected
from microgpt_tui.widgets.line_view import LineView

if TYPE_CHECKING:
    from engine.session import DebugSession
    from engine.value import Value

EIGHTHS = " ▏▎▍▌▋▊▉"
LABEL_WIDTH = 11
"""`▸ 12 <BOS> `: the query marker, the position and its input character."""
WEIGHT_WIDTH = 6
"""`0.412 `: the weight, before its bar."""
GAP = 2
MIN_BAR, MAX_BAR = 4, 24


def weight_bar(weight: float, width: int) -> str:
    """A weight in [0, 1] as a bar of `width` cells, in eighths of a cell."""
    eighths = round(8 * width * min(max(weight, 0.0), 1.0))
    full, part = divmod(eighths, 8)
    return ("█" * full + (EIGHTHS[part] if part else "")).ljust(width)


@dataclass(frozen=True)
class _Line:
    """What one line of the view shows: a layer's heading, a position's row, or a gap."""

    layer: int
    position: int | None  # None: the layer's heading


class AttentionView(LineView, can_focus=True):
    """Each layer's and head's attention weights at one position, over positions 0..pos.

    The app calls `show(session)` for a new session, `refresh_state()` after every
    step and, optionally, `set_position(pos)` to follow the current node's position.
    """

    DEFAULT_CSS = """
    AttentionView {
        height: 1fr;
        background: $surface;
        & > .attention--title { text-style: bold; }
        & > .attention--heading { text-style: bold; background: $panel; }
        & > .attention--label { color: $text-muted; }
        & > .attention--query { color: $accent; text-style: bold; }
        & > .attention--bar { color: $primary; }
        & > .attention--pending { color: $text-disabled; }
        & > .attention--current { background: $accent 40%; text-style: bold; }
    }
    """

    COMPONENT_CLASSES = {
        "attention--title",
        "attention--heading",
        "attention--label",
        "attention--query",
        "attention--bar",
        "attention--pending",
        "attention--current",
    }

    position: reactive[int | None] = reactive(None, init=False)
    """The position shown; None follows the session (its position, or its last one)."""

    def __init__(self, *, name: str | None = None, id: str | None = None) -> None:
        super().__init__(name=name, id=id)
        self.session: DebugSession | None = None
        self.weights: list[list[list[Value]]] = []  # [layer][head][t]
        self._lines: list[_Line] = []

    # -- the contract with the app ------------------------------------------------------

    def show(self, session: DebugSession) -> None:
        """A new session: show its position (forgetting any `set_position`)."""
        self.session = session
        self.set_reactive(AttentionView.position, None)
        self._load()

    def set_position(self, pos: int | None) -> None:
        """Show the attention at `pos` (e.g. the current node's position); None: the session's."""
        self.position = pos

    def refresh_state(self) -> None:
        """A step revealed weights (forward) or moved the current node: redraw."""
        self.refresh()

    # -- state ------------------------------------------------------------------------

    @property
    def unavailable(self) -> str:
        """Why there is no attention to show for this session at all ("" if there is)."""
        session = self.session
        if session is None:
            return ""
        if session.model.config is None:
            what = "a captured script" if session.script is not None else "this graph"
            return (
                f"no attention view for {what} (it needs the built-in model's "
                "layout) · / head1 then F steps through one head"
            )
        if not session.has_document:
            return "no attention view: this graph has no document"
        return ""

    @property
    def shown_position(self) -> int | None:
        """The position whose attention is shown."""
        if self.session is None or self.unavailable:
            return None
        if self.position is not None:
            return self.position
        if self.session.pos is not None:
            return self.session.pos
        n = self.session.model.config.positions(self.session.tokens)
        return n - 1

    def watch_position(self) -> None:
        self._load()

    def _load(self) -> None:
        session, pos = self.session, self.shown_position
        if session is None or pos is None:
            self.weights, self._lines = [], []
        else:
            self.weights = session.attention(pos)
            self._lines = []
            for layer, heads in enumerate(self.weights):
                self._lines.append(_Line(layer, None))
                if all(heads):
                    self._lines.extend(_Line(layer, t) for t in range(pos + 1))
        self.virtual_size = Size(self._line_width(), 1 + len(self._lines))
        self.refresh()

    @property
    def available(self) -> bool:
        """Are any of the weights at this position part of the graph?

        A position's loss uses the earlier positions' keys and values, so of an
        earlier position's attention only the layers below the last feed it
        (through the keys and values of the layers above); the last layer's
        never does. Layers whose weights are not in the graph say so.
        """
        return any(all(heads) for heads in self.weights)

    def _bar_width(self) -> int:
        heads = max((len(layer) for layer in self.weights), default=1)
        room = (self.scrollable_content_region.width or 80) - LABEL_WIDTH
        return max(MIN_BAR, min(MAX_BAR, room // max(heads, 1) - WEIGHT_WIDTH - GAP))

    def _line_width(self) -> int:
        heads = max((len(layer) for layer in self.weights), default=1)
        return LABEL_WIDTH + heads * (self._bar_width() + WEIGHT_WIDTH + GAP)

    def on_resize(self, event: events.Resize) -> None:
        self.virtual_size = Size(self._line_width(), 1 + len(self._lines))

    # -- drawing ------------------------------------------------------------------------

    def _component(self, name: str) -> Style:
        return self.base_style + self.get_component_rich_style(name)

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        scroll_x, scroll_y = self.scroll_offset
        if y == 0:
            return self._title().crop_extend(0, width, self.base_style)
        index = scroll_y + y - 1
        if index >= len(self._lines):
            return Strip.blank(width, self.base_style)
        line = self._lines[index]
        strip = self._heading(line.layer) if line.position is None else self._row(line)
        return strip.crop_extend(scroll_x, scroll_x + width, self.base_style)

    def _title(self) -> Strip:
        session, pos = self.session, self.shown_position
        if session is not None and self.unavailable:
            return Strip([Segment(self.unavailable, self._component("attention--pending"))])
        if session is None or pos is None:
            return Strip([Segment("no session", self._component("attention--pending"))])
        here, target = session.token_text(pos)
        text = f"attention at position {pos}: {here} → {target}"
        segments = [Segment(text, self._component("attention--title"))]
        if not self.available:
            note = f"  not in this graph: position {session.pos}'s loss does not use it"
            segments.append(Segment(note, self._component("attention--pending")))
        elif session.phase == "forward":
            weights = [w for layer in self.weights for head in layer for w in head]
            done = sum(session.is_computed(w) for w in weights)
            note = f"  forward: {done}/{len(weights)} weights computed"
            segments.append(Segment(note, self._component("attention--label")))
        return Strip(segments)

    def _heading(self, layer: int) -> Strip:
        bar = self._bar_width()
        style = self._component("attention--heading")
        text = f"layer {layer}".ljust(LABEL_WIDTH)
        if not all(self.weights[layer]):
            note = "not in this graph: the loss uses no attention of this layer at this position"
            return Strip(
                [Segment(text, style), Segment(note, self._component("attention--pending"))]
            )
        for head in range(len(self.weights[layer])):
            text += f"head {head}".ljust(bar + WEIGHT_WIDTH + GAP)
        return Strip([Segment(text, style)])

    def _row(self, line: _Line) -> Strip:
        session = self.session
        assert session is not None and line.position is not None
        t, pos = line.position, self.shown_position
        char = session.tokenizer.token_text(session.tokens[t])
        query = t == pos
        label_style = self._component("attention--query" if query else "attention--label")
        segments = [Segment(f"{'▸' if query else ' '} {t:>2} {char:<5} ", label_style)]
        bar_width = self._bar_width()
        forward = session.phase == "forward"
        current = session.walk.current
        bar_style = self._component("attention--bar")
        pending_style = self._component("attention--pending")
        plain = self.base_style
        for head in self.weights[line.layer]:
            node = head[t] if t < len(head) else None
            if node is None or (forward and not session.is_computed(node)):
                segments.append(Segment(f"{'·':>{WEIGHT_WIDTH - 1}} ", pending_style))
                segments.append(Segment("┄" * bar_width, pending_style))
            else:
                extra = (
                    self.get_component_rich_style("attention--current")
                    if node is current
                    else Style()
                )
                segments.append(Segment(f"{node.data:>{WEIGHT_WIDTH - 1}.3f} ", plain + extra))
                segments.append(Segment(weight_bar(node.data, bar_width), bar_style + extra))
            segments.append(Segment(" " * GAP, plain))
        return Strip(segments)

    # -- mouse --------------------------------------------------------------------------

    def node_at(self, x: int, y: int) -> Value | None:
        """The attention weight drawn at content offset (x, y), if any."""
        if y < 1:
            return None
        scroll_x, scroll_y = self.scroll_offset
        index = scroll_y + y - 1
        if index >= len(self._lines):
            return None
        line = self._lines[index]
        column = scroll_x + x - LABEL_WIDTH
        if line.position is None or column < 0:
            return None
        head, _ = divmod(column, self._bar_width() + WEIGHT_WIDTH + GAP)
        heads = self.weights[line.layer]
        if head < len(heads) and line.position < len(heads[head]):
            return heads[head][line.position]
        return None

    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        node = None if offset is None else self.node_at(offset.x, offset.y)
        if node is not None:
            self.post_message(NodeSelected(node.id))
