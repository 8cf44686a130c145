"""The help screen: the keys, what a step means in each phase, and the main journeys.

The key lists are rendered from the keys' one definition (`microgpt_tui.keys`). The
text is Rich's Markdown, rendered once per width into lines that one Line-API widget
paints (Textual's Markdown widget builds a widget per paragraph and list item:
opening help took most of a second).
"""

from __future__ import annotations

from functools import lru_cache

from rich.console import Console
from rich.markdown import Markdown
from textual.app import ComposeResult
from textual.binding import Binding
from textual.geometry import Size
from textual.scroll_view import ScrollView
from textual.strip import Strip

from microgpt_tui.keys import SECTIONS, Key, keys_in
from microgpt_tui.screens.modal import Modal

_TEXT = """\
# microgpt-tui: a debugger for one token of microgpt

Every scalar microgpt computes is a **node**. The **forward** phase replays them
in creation order; the **backward** phase runs `loss.backward()` one node at a
time: each step passes one node's grad to its inputs,
`input.grad += local_grad × grad`. Every value and grad shown is microgpt's own.

## Single-step backprop through one attention head

The backward order interleaves many scopes, so **focus** the head:

1. `b`: the backward phase, from its start (every grad 0, the loss's 1); `v`:
   the **vector level** (the status line says `VECTORS`): a step completes one
   vector operation, such as `softmax`;
2. select the head: click `pos4 ▸ layer0 ▸ attn ▸ head1` in the scope tree, or
   `/ head1` enter, or `ctrl+p` *focus scope pos4.layer0.attn.head1*;
3. `F`: the status line shows `◎ pos4.layer0.attn.head1`;
4. `s`, `s`, `s`: `Σ w·v`, `softmax`, `q·k/√d`, the head's three operations.
   The graph panel shows the head as vectors (bars: |x| against the largest,
   green ≥ 0, red < 0; `→` shows the numbers, enter the scalars, esc comes
   back); the inspector shows the operation's gradient in vector form,
   `∂L/∂attn_logits = w ⊙ (g − Σ w·g)`, evaluated on the real numbers beside
   the sum of the scalar chain-rule terms, and their largest difference;
5. `p` `p` `p` undo them exactly (at either level); `v`: back to **scalars**,
   where a step stops at the next node inside the head (the nodes in between
   are still processed, so every grad is exact) and the inspector shows each
   term a grad received, `grad += 0.31 × -0.42 = -0.1302 (from #5120 *)`, and
   what the step passed on;
6. `<` `>` jump to the head's first and last step, `F` clears the focus, `c`
   runs to the end: every grad then equals `loss.backward()`'s.

Below 120 columns the panels take turns: `.` shows the next one, `,` the previous
(the bar under the status line names them; click one to go there). At vector
level the vectors take the graph's turn.

{keys}
- `ctrl+p` the command palette: every key by name, every scope, phase, document, theme…

Mouse: click a graph row to inspect it (▸ to expand, double-click to centre
on it); click a call-stack frame or a scope to select it.

## The panels

- **status**: document, position (input → target), loss, phase, step `k / N`,
  the node at the cursor, focus ◎ and breakpoints ●
- **source**: the model line that created the inspected node
- **inspector**: op, value, grad, inputs with their local gradients, and in the
  backward phase the chain-rule terms received and passed on
- **call stack**: where the walk is, innermost scope on top
- **scopes**: every scope of the trace with its node count
- **graph**: who uses the node (above), what it was computed from (below),
  each edge's local gradient `∂`; at vector level, the scope's vectors and the
  operations between them, the current one marked ▶

Values the forward replay has not reached show as `·`; grads show in the
backward phase, dimmed with `…` until every consumer has passed its share.
"""


def key_line(key: Key) -> str:
    """`- `s` **Step** — process exactly one node`."""
    tooltip = key.tooltip[:1].lower() + key.tooltip[1:]
    return f"- `{key.shown_key}` **{key.description}** — {tooltip}"


def keys_markdown() -> str:
    """Each help section's keys, as markdown lists."""
    return "\n\n".join(
        f"## {section}\n\n" + "\n".join(key_line(key) for key in keys_in(section))
        for section in SECTIONS
    )


HELP = _TEXT.replace("{keys}", keys_markdown())


@lru_cache(maxsize=4)
def rendered(source: str, width: int) -> tuple[Strip, ...]:
    """`source` (Markdown) as lines `width` cells wide, rendered by Rich once per width."""
    console = Console(width=width, color_system="truecolor", force_terminal=True)
    lines = console.render_lines(Markdown(source, hyperlinks=False), console.options)
    return tuple(Strip(line).extend_cell_length(width) for line in lines)


class HelpText(ScrollView, can_focus=True):
    """The help's Markdown, drawn by Rich, scrolled as lines."""

    BINDINGS = [
        Binding("up", "scroll_up", "Up", show=False),
        Binding("down", "scroll_down", "Down", show=False),
        Binding("pageup", "page_up", "Page up", show=False),
        Binding("pagedown", "page_down", "Page down", show=False),
        Binding("home", "scroll_home", "Top", show=False),
        Binding("end", "scroll_end", "End", show=False),
    ]

    def __init__(self, source: str) -> None:
        super().__init__()
        self.source = source
        self.lines: tuple[Strip, ...] = ()

    def on_resize(self) -> None:
        # (the width less a vertical scrollbar's column, whether or not one shows)
        room = self.container_size.width - self.styles.scrollbar_size_vertical
        width = max(20, room)
        self.lines = rendered(self.source, width)
        self.virtual_size = Size(width, len(self.lines))

    def render_line(self, y: int) -> Strip:
        index = self.scroll_offset.y + y
        width = self.scrollable_content_region.width
        if not 0 <= index < len(self.lines):
            return Strip.blank(width, self.visual_style.rich_style)
        return self.lines[index].crop_extend(0, width, self.visual_style.rich_style)


class HelpScreen(Modal[None]):
    """Keys and journeys; any of escape, `?` or `q` closes it."""

    BINDINGS = [
        Binding("escape", "dismiss", "Close"),
        Binding("question_mark", "dismiss", "Close", show=False),
        Binding("q", "dismiss", "Close", show=False),
    ]

    DEFAULT_CSS = """
    HelpScreen {
        align: center middle;
        & > HelpText {
            width: 90%;
            max-width: 100;
            height: 90%;
            border: thick $primary;
            background: $surface;
            padding: 0 1;
            overflow-x: hidden;
            overflow-y: scroll;
            scrollbar-size-vertical: 1;
        }
    }
    """

    def compose(self) -> ComposeResult:
        text = HelpText(HELP)
        text.border_title = "Help · esc to close"
        yield text
