"""The debugger's keys, defined once: the footer, the command palette and the help screen read them.

Each `Key` is a Textual `Binding` (key, action, the footer's short description,
the tooltip, an id for keymaps) with two more things the UI says about it: its
name in the command palette (`command`; "" keeps it out) and the help screen's
section it is listed in. The README's key table is checked against this list
(tests/test_app_keys.py).

The keys that open a screen (and quit) are priority bindings: the app runs them as
it reads them, so the keys typed right behind them go to the screen they opened
(and, behind `q`, nowhere), never to the panel that had the focus.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual.binding import Binding

STEPPING, LOOKING = "Stepping (scopes play the part of functions)", "Looking around"
REHEARSING = "Rehearsing a lecture"
SECTIONS = (STEPPING, LOOKING, REHEARSING)


@dataclass(frozen=True)
class Key(Binding):
    """A binding, its command-palette name and its help section."""

    command: str = ""
    """What the command palette calls it ("": not in the palette)."""
    section: str = ""
    """The help screen's section that lists it ("": not listed)."""
    narrow: bool = False
    """In the footer below 120 columns too, where it has room for the keys that matter most."""

    @property
    def shown_key(self) -> str:
        """The key as the help and the README write it: `?`, `/`, `esc`, `F`."""
        return self.key_display or {"escape": "esc"}.get(self.key, self.key)


DEBUGGER_KEYS: list[Key] = [
    Key("s", "move('step')", "Step", tooltip="Process exactly one node",
        id="debugger.step", section=STEPPING, narrow=True),
    Key("n", "move('step_over')", "Next",
        tooltip="Step over inner scopes (an inner scope counts as one step)",
        id="debugger.next", section=STEPPING, narrow=True),
    Key("o", "move('step_out')", "Out", tooltip="Run to the end of the current scope",
        id="debugger.out", section=STEPPING),
    Key("c", "move('cont')", "Cont", tooltip="Run to the next breakpoint or the end of the phase",
        id="debugger.continue", section=STEPPING, narrow=True),
    Key("p", "move('back')", "Back", tooltip="Undo the last move exactly, whatever its size",
        id="debugger.back", section=STEPPING, narrow=True),
    Key("v", "toggle_level", "Level",
        tooltip="Switch level: vectors (a step is one vector operation, e.g. softmax) or scalars "
        "(one node); values and grads stay as they are",
        id="debugger.level", command="Switch level (vectors / scalars)", section=STEPPING,
        narrow=True),
    Key("0", "move('restart')", "Restart", show=False,
        tooltip="Restart the current phase (backward: every grad 0, the root's 1); p undoes it",
        id="debugger.restart", command="Restart the phase", section=REHEARSING),
    Key("less_than_sign", "move('first')", "First", key_display="<", show=False,
        tooltip="Jump to the phase's first step (with a focus: its first node inside it)",
        id="debugger.first", command="Jump to the first step", section=REHEARSING),
    Key("greater_than_sign", "move('last')", "Last", key_display=">", show=False,
        tooltip="Jump to the phase's last step (with a focus: its last node inside it)",
        id="debugger.last", command="Jump to the last step", section=REHEARSING),
    Key("m", "bookmark", "Mark", show=False,
        tooltip="Bookmark the current step (again to remove the bookmark)",
        id="debugger.bookmark", command="Bookmark this step", section=REHEARSING),
    Key("apostrophe", "next_bookmark", "Bookmark", key_display="'", show=False,
        tooltip="Jump to the next bookmarked step, exactly as it was (p comes back)",
        id="debugger.next_bookmark", command="Jump to the next bookmark", section=REHEARSING),
    Key("w", "save_walk", "Save walk", show=False,
        tooltip="Save the walk-through: document, position, level, focus, breakpoints, bookmarks, "
        "step",
        id="debugger.save_walk", command="Save the walk-through…", section=REHEARSING,
        priority=True),
    Key("W", "open_walk", "Open walk", show=False,
        tooltip="Open a saved walk-through, at the step it was saved at",
        id="debugger.open_walk", command="Open a walk-through…", section=REHEARSING,
        priority=True),
    Key("y", "copy('value')", "Copy value", show=False,
        tooltip="Copy the inspected node's value and grad, all digits, to the clipboard",
        id="debugger.copy_value", command="Copy the inspected value", section=REHEARSING),
    Key("Y", "copy('chain')", "Copy chain rule", show=False,
        tooltip="Copy the inspected node's chain-rule lines (received, passed on; at vector level "
        "the op's gradient two ways) to the clipboard",
        id="debugger.copy_chain", command="Copy the chain-rule lines", section=REHEARSING),
    Key("F", "focus_scope", "Focus",
        tooltip="Stop only inside the selected scope (else the current one); again to clear",
        id="debugger.focus", section=STEPPING, narrow=True),
    Key("B", "breakpoint", "Break",
        tooltip="Toggle a breakpoint on the selected scope (else the current one)",
        id="debugger.breakpoint", section=STEPPING),
    Key("f", "phase('forward')", "Fwd",
        tooltip="The forward phase: each step reveals the next node's value",
        id="debugger.forward", command="Switch to the forward phase", section=STEPPING),
    Key("b", "phase('backward')", "Bwd",
        tooltip="The backward phase from its start: every grad 0, the root's 1",
        id="debugger.backward", command="Switch to the backward phase", section=STEPPING,
        narrow=True),
    Key("full_stop", "next_panel", "Panel", key_display=".", show=False,
        tooltip="Below 120 columns the panels take turns: show the next one",
        id="debugger.panel", command="Show the next panel", section=LOOKING, narrow=True),
    Key("comma", "previous_panel", "Previous panel", key_display=",", show=False,
        tooltip="Below 120 columns the panels take turns: show the previous one",
        id="debugger.previous_panel", command="Show the previous panel", section=LOOKING),
    Key("g", "goto", "Go to", tooltip="Inspect a node by id; the cursor stays (esc comes back)",
        id="debugger.goto", command="Go to node…", section=LOOKING, priority=True),
    Key("slash", "find", "Find", key_display="/", priority=True,
        tooltip="Find a scope (head1, mlp), a label (probs, wte[4]) or #id",
        id="debugger.find", command="Find…", section=LOOKING),
    Key("d", "choose('doc')", "Doc",
        tooltip="Debug another document, position (or all) or checkpoint",
        id="debugger.choose", command="Choose document…", section=LOOKING, priority=True),
    Key("e", "export", "Export", tooltip="Export the selected scope or node with Graphviz",
        id="debugger.export", command="Export…", section=LOOKING, priority=True),
    Key("r", "root_here", "Root here", show=False,
        tooltip="Backprop from the inspected node (e.g. one position's loss): "
        "a new session rooted there",
        id="debugger.root_here", command="Root here: backprop from the inspected node",
        section=LOOKING),
    Key("R", "root_back", "Previous root", show=False,
        tooltip="Back to the session before the last Root here",
        id="debugger.root_back", command="Back to the previous root", section=LOOKING),
    Key("escape", "follow", "Follow cursor", show=False,
        tooltip="Back to the cursor: the panels follow the current node again",
        id="debugger.follow", section=LOOKING),
    Key("1", "tab('debugger')", "Debugger", show=False, tooltip="The debugger tab",
        id="debugger.tab.debugger", section=LOOKING),
    Key("2", "tab('parameters')", "Parameters", show=False,
        tooltip="The parameters tab: every parameter's value and grad, a heatmap",
        id="debugger.tab.parameters", section=LOOKING),
    Key("3", "tab('attention')", "Attention", show=False,
        tooltip="The attention tab: each head's weights over the positions",
        id="debugger.tab.attention", section=LOOKING),
    Key("4", "tab('gradient')", "Gradient", show=False,
        tooltip="The gradient tab: where the inspected node's grad came from (by position, "
        "by scope), its top paths from the loss, why its local gradient",
        id="debugger.tab.gradient", section=LOOKING),
    Key("5", "tab('training')", "Training", show=False,
        tooltip="The training tab: the loss curve, and how a parameter's value moved",
        id="debugger.tab.training", section=LOOKING),
    Key("x", "check_gradient", "Check", show=False,
        tooltip="Check the inspected node's gradient by nudging it ±h (central differences, "
        "in the background)",
        id="debugger.check", command="Check the gradient by nudging", section=LOOKING),
]  # fmt: skip
"""The debugger screen's keys, in the footer's order."""

APP_KEYS: list[Key] = [
    Key("question_mark", "help", "Help", key_display="?", tooltip="Keys, panels and journeys",
        id="debugger.help", command="Help", section=LOOKING, priority=True, narrow=True),
    Key("q", "quit", "Quit", tooltip="Leave microgpt-tui", id="debugger.quit", section=LOOKING,
        priority=True, narrow=True),
]  # fmt: skip
"""The app's own keys, whatever screen is up (help and quit)."""


def keys_in(section: str) -> list[Key]:
    """The keys the help screen lists under `section`, in the footer's order."""
    return [key for key in DEBUGGER_KEYS + APP_KEYS if key.section == section]
