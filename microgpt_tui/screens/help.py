"""The help screen: the keys, what a step means in each phase, and the main journeys."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import Markdown

from microgpt_tui.screens.modal import Modal

HELP = """\
# microgpt-tui: a debugger for one token of microgpt

Every scalar microgpt computes is a **node**. The **forward** phase replays them
in creation order; the **backward** phase runs `loss.backward()` one node at a
time: each step passes one node's grad to its inputs,
`input.grad += local_grad × grad`. Every value and grad shown is microgpt's own.

## Single-step backprop through one attention head

The backward order interleaves many scopes, so **focus** the head:

1. `b`: the backward phase;
2. select the head: click `pos4 ▸ layer0 ▸ attn ▸ head1` in the scope tree, or
   `/ head1` enter, or `ctrl+p` *focus scope pos4.layer0.attn.head1*;
3. `F`: the status line shows `◎ pos4.layer0.attn.head1`;
4. `s`, `s`, `s`…: each step stops at the next node **inside the head**; the
   nodes in between are still processed, so every grad is exact, and the
   inspector shows the terms each grad received,
   `grad += 0.31 × -0.42 = -0.1302 (from #5120 *)`, and what the step passed on;
5. `p` undoes a step, `F` clears the focus, `c` runs to the end: every grad
   then equals `loss.backward()`'s.

## Stepping (scopes play the part of functions)

- `s` **step**: exactly one node
- `n` **next**: step over inner scopes (an inner scope counts as one step)
- `o` **out**: run to the end of the current scope
- `c` **continue**: run to the next breakpoint, or the end of the phase
- `p` **back**: undo the last move, whatever its size, exactly
- `f` / `b` the **forward** / **backward** phase
- `F` **focus**: stop only inside the selected scope (else the current one); again to clear
- `B` **breakpoint** on the selected scope (else the current one)

## Looking around

- `g` go to a node by id: inspect it, the cursor stays (`esc` comes back)
- `/` find a scope (`head1`, `mlp`) or a label (`probs`, `wte[4]`) or `#id`
- `d` debug another document, position (or `all`) or checkpoint
- `r` **root here**: backprop from the inspected node (e.g. one position's
  loss) in a new session; `R` goes back to the previous root
- `e` export the selected scope or node with Graphviz
- `1` `2` `3` the debugger, parameters and attention tabs
- `ctrl+p` the command palette: every scope, phase, document, theme…
- `?` this help, `q` quit

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
  each edge's local gradient `∂`

Values the forward replay has not reached show as `·`; grads show in the
backward phase, dimmed with `…` until every consumer has passed its share.
"""


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
        & > VerticalScroll {
            width: 90%;
            max-width: 100;
            height: 90%;
            border: thick $primary;
            background: $surface;
            padding: 0 1;
        }
    }
    """

    def compose(self) -> ComposeResult:
        with VerticalScroll() as scroll:
            scroll.border_title = "Help · esc to close"
            yield Markdown(HELP)
