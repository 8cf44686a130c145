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
`input.grad += local_grad × grad`. Values and grads are microgpt's own floats.

## Stepping (scopes play the part of functions)

| key | does |
|-----|------|
| `s` | **step**: exactly one node |
| `n` | **next**: step over inner scopes (an inner scope counts as one step) |
| `o` | **out**: run to the end of the current scope |
| `c` | **continue**: run to the next breakpoint, or the end of the phase |
| `p` | **back**: undo the last move, whatever its size, exactly |
| `f` / `b` | the **forward** / **backward** phase |
| `F` | **focus**: stop only inside the selected scope (or the current one); `F` again clears it |
| `B` | **breakpoint** on the selected scope (or the current one) |

## Looking around

| key | does |
|-----|------|
| `g` | go to a node by id (inspects it; the cursor stays) |
| `/` | find a node by label (`probs`, `wte[4]`) or a scope (`head1`) |
| `d` | debug another document, position or checkpoint |
| `e` | export the selected scope or node (Graphviz) |
| `esc` | inspect the cursor's node again |
| `1` `2` `3` | the debugger, parameters and attention tabs |
| `ctrl+p` | the command palette: every scope, phase, document, theme… |
| `?` | this help; `q` quits |

Mouse: click a row of the graph to inspect it (double-click to centre the graph
on it, click ▸ to expand), a frame of the call stack or a scope of the tree to
select it.

## Single-step backprop through one attention head

The backward order interleaves nodes from many scopes, so **focus** the head:

1. press `b` for the backward phase;
2. select the head: click `pos4 ▸ layer0 ▸ attn ▸ head1` in the scope tree, or
   press `/` and type `head1`, or `ctrl+p` and type *focus head1*;
3. press `F`: the status line shows `◎ pos4.layer0.attn.head1`;
4. press `s` again and again: each step stops at the next node **inside the
   head**. The nodes in between are still processed, so every grad shown is
   exact, and the inspector shows the chain-rule terms each grad received:
   `grad += 0.31 × -0.42 = -0.1302 (from #5120 *)`;
5. `p` undoes a step; `F` clears the focus; `c` runs to the end, where every
   grad equals `loss.backward()`'s.

## The panels

* **status**: document, position (input → target character), loss, phase,
  step `k / N`, the node at the cursor, focus ◎ and breakpoints ●;
* **call stack**: the current node's scopes, innermost on top;
* **scopes**: the whole trace, with node counts;
* **source**: the model line that created the inspected node;
* **graph**: who uses the node (above) and what it was computed from (below),
  with each edge's local gradient `∂`;
* **inspector**: op, value, grad, inputs, and the chain rule.

Values the forward replay has not reached yet show as `·`; grads show in the
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
