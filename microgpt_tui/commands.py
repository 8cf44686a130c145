"""The command palette (ctrl+p): the debugger's actions, and every scope and parameter by name.

Typing `focus head1` offers "Focus scope pos4.layer0.attn.head1" and its
siblings, the quickest way to single-step backprop through one head; typing a
parameter's name, e.g. `wte[4][0]`, goes to it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING

from textual.command import DiscoveryHit, Hit, Hits, Provider

from microgpt_tui.screens.find import all_scopes

if TYPE_CHECKING:
    from microgpt_tui.app import DebuggerApp

PARAMETER = re.compile(r"([\w.]+)\[(\d+)\]\[(\d+)\]")


class DebuggerCommands(Provider):
    """Actions, scopes (go to / focus) and parameters."""

    @property
    def debugger(self) -> DebuggerApp:
        return self.app  # type: ignore[return-value]

    def _actions(self) -> list[tuple[str, Callable[[], object], str]]:
        app = self.debugger
        actions: list[tuple[str, Callable[[], object], str]] = [
            (
                "Focus scope…",
                app.action_pick_focus,
                "Stop only inside one scope, e.g. an attention head",
            ),
            ("Go to node…", app.action_goto, "Inspect a node by its id"),
            ("Find…", app.action_find, "Find a scope or a node by label"),
            (
                "Switch to the forward phase",
                partial(app.action_phase, "forward"),
                "Step through the forward pass (f)",
            ),
            (
                "Switch to the backward phase",
                partial(app.action_phase, "backward"),
                "Step through backprop (b)",
            ),
            (
                "Run to the end of the phase",
                partial(app.action_move, "run_to_end"),
                "Ignores focus and breakpoints",
            ),
            (
                "Root here: backprop from the inspected node",
                app.action_root_here,
                "A session rooted at it, e.g. one position's loss (r; R goes back)",
            ),
            ("Export…", app.action_export, "Export the selected scope or node with Graphviz (e)"),
            ("Help", app.action_help, "Keys, panels and journeys (?)"),
        ]
        if app.previous_sessions:
            actions.insert(
                len(actions) - 2,
                (
                    "Back to the previous root",
                    app.action_root_back,
                    f"Before the last Root here (R): {len(app.previous_sessions)} to go back",
                ),
            )
        if not app.captured:  # a graph captured from a script is fixed
            actions[-2:-2] = [
                ("Choose document…", partial(app.action_choose, "doc"), "Debug another document"),
                (
                    "Choose position…",
                    partial(app.action_choose, "pos"),
                    "Debug another position of this document",
                ),
                (
                    "Choose checkpoint…",
                    partial(app.action_choose, "checkpoint"),
                    "Load another model",
                ),
            ]
        session = app.session
        if session is not None and session.focus:
            actions.insert(
                1,
                (
                    "Clear focus",
                    partial(app.set_focus_scope, None),
                    f"Stop everywhere again (now {session.focus})",
                ),
            )
        if session is not None and session.breakpoints:
            actions.append(
                (
                    "Clear all breakpoints",
                    app.clear_breakpoints,
                    ", ".join(sorted(session.breakpoints)),
                )
            )
        return actions

    async def discover(self) -> Hits:
        for name, callback, help_text in self._actions():
            yield DiscoveryHit(name, callback, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        app = self.debugger
        for name, callback, help_text in self._actions():
            if (score := matcher.match(name)) > 0:
                yield Hit(score, matcher.highlight(name), callback, help=help_text)
        session = app.session
        if session is None:
            return
        for scope in all_scopes(session.scopes):
            for verb, callback, help_text in (
                ("Focus scope", partial(app.set_focus_scope, scope.path), "step only inside it"),
                ("Go to scope", partial(app.select_scope, scope.path), "inspect its first node"),
            ):
                text = f"{verb} {scope.path}"
                if (score := matcher.match(text)) > 0:
                    yield Hit(
                        score,
                        matcher.highlight(text),
                        callback,
                        help=f"{scope.total:,} nodes: {help_text}",
                    )
        model = session.model
        names = list(getattr(model, "state_dict", {}) or {})
        wanted = PARAMETER.search(query)
        if wanted is not None:
            label = f"{wanted.group(1)}[{wanted.group(2)}][{wanted.group(3)}]"
            node_id = app.parameter_id(label)
            text = f"Go to parameter {label}"
            if node_id is not None:
                yield Hit(
                    1.0,
                    text,
                    partial(app.inspect_node, node_id),
                    help="inspect it (its value and grad)",
                )
        for name in names:
            text = f"Go to parameter matrix {name}"
            if (score := matcher.match(text)) > 0:
                yield Hit(
                    score,
                    matcher.highlight(text),
                    partial(app.show_parameters, name),
                    help="inspect its first parameter in this graph",
                )
