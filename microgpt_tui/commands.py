"""The command palette (ctrl+p): the debugger's keys by name, and every scope and parameter.

The keys come from their one definition (`microgpt_tui.keys`): each with a
palette name is offered, with its key and tooltip as help. Typing `focus head1`
offers "Focus scope pos4.layer0.attn.head1" and its siblings, the quickest way
to single-step backprop through one head; typing a parameter's name, e.g.
`wte[4][0]`, or a part of it, `attn_wq[3][7]`, goes to it.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Protocol, cast

from textual.command import DiscoveryHit, Hit, Hits, Provider

from engine.controller import Controller
from microgpt_tui.keys import APP_KEYS, DEBUGGER_KEYS, Key

PARAMETER = re.compile(r"([\w.]+)\[(\d+)\]\[(\d+)\]")
"""A parameter as typed: a matrix name (or part of one), a row and a column."""

Command = tuple[str, Callable[[], object], str]  # (name, what it does, help)


class PaletteHost(Protocol):
    """What the palette needs of the screen it is opened from (the debugger screen)."""

    controller: Controller

    @property
    def can_choose(self) -> bool: ...
    def run_action(self, action: str) -> Awaitable[object]: ...
    def inspect_node(self, node_id: int, *, recentre: bool = True) -> None: ...
    def select_scope(self, path: str) -> None: ...
    def set_focus_scope(self, path: str | None) -> None: ...
    def clear_breakpoints(self) -> None: ...
    def show_parameters(self, matrix: str) -> None: ...


def parameter_labels(query: str, matrices: list[str]) -> list[str]:
    """The parameter labels a query like `attn_wq[3][7]` may mean: each matrix whose name is
    the typed one, ends with it (`layer0.attn_wq`) or contains it, best first."""
    wanted = PARAMETER.search(query)
    if wanted is None:
        return []
    name, i, j = wanted.groups()
    exact = [m for m in matrices if m == name]
    ending = [m for m in matrices if m.endswith("." + name) and m not in exact]
    within = [m for m in matrices if name in m and m not in exact + ending]
    return [f"{m}[{i}][{j}]" for m in exact + ending + within]


def _help(key: Key) -> str:
    return f"{key.tooltip} ({key.shown_key})"


class DebuggerCommands(Provider):
    """Keys by name, a few commands without a key, scopes (go to / focus) and parameters."""

    @property
    def host(self) -> PaletteHost:
        return cast(PaletteHost, self.screen)

    def _key_commands(self) -> list[Command]:
        """The keys that have a palette name, that make sense now, in the keys' order."""
        host = self.host
        offered = {
            "debugger.root_back": bool(host.controller.previous_sessions),
            "debugger.choose": host.can_choose,  # a graph captured from a script is fixed
        }
        commands: list[Command] = []
        for key in DEBUGGER_KEYS:
            if key.command and offered.get(key.id or "", True):
                commands.append((key.command, partial(host.run_action, key.action), _help(key)))
        for key in APP_KEYS:
            if key.command:
                commands.append((key.command, partial(self.app.run_action, key.action), _help(key)))
        return commands

    def _actions(self) -> list[Command]:
        host = self.host
        session = host.controller.session
        actions: list[Command] = [
            (
                "Focus scope…",
                partial(host.run_action, "pick_focus"),
                "Stop only inside one scope, e.g. an attention head",
            ),
            (
                "Run to the end of the phase",
                partial(host.run_action, "move('run_to_end')"),
                "Ignores focus and breakpoints",
            ),
        ]
        if session is not None and session.focus:
            actions.append(
                (
                    "Clear focus",
                    partial(host.set_focus_scope, None),
                    f"Stop everywhere again (now {session.focus})",
                )
            )
        if session is not None and session.breakpoints:
            breakpoints = ", ".join(sorted(session.breakpoints))
            actions.append(("Clear all breakpoints", host.clear_breakpoints, breakpoints))
        if host.can_choose:
            actions += [
                (
                    "Choose position…",
                    partial(host.run_action, "choose('pos')"),
                    "Debug another position of this document",
                ),
                (
                    "Choose checkpoint…",
                    partial(host.run_action, "choose('checkpoint')"),
                    "Load another model",
                ),
            ]
        return actions + self._key_commands()

    async def discover(self) -> Hits:
        for name, callback, help_text in self._actions():
            yield DiscoveryHit(name, callback, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        host = self.host
        for name, callback, help_text in self._actions():
            if (score := matcher.match(name)) > 0:
                yield Hit(score, matcher.highlight(name), callback, help=help_text)
        session = host.controller.session
        if session is None:
            return
        for scope in session.all_scopes():
            for verb, callback, help_text in (
                ("Focus scope", partial(host.set_focus_scope, scope.path), "step only inside it"),
                ("Go to scope", partial(host.select_scope, scope.path), "inspect its first node"),
            ):
                text = f"{verb} {scope.path}"
                if (score := matcher.match(text)) > 0:
                    yield Hit(
                        score,
                        matcher.highlight(text),
                        callback,
                        help=f"{scope.total:,} nodes: {help_text}",
                    )
        for label in parameter_labels(query, list(session.model.state_dict)):
            node = session.parameter(label)
            if node is not None:
                yield Hit(
                    1.0,
                    f"Go to parameter {label}",
                    partial(host.inspect_node, node.id),
                    help="inspect it (its value and grad)",
                )
        for name in session.model.state_dict:
            text = f"Go to parameter matrix {name}"
            if (score := matcher.match(text)) > 0:
                yield Hit(
                    score,
                    matcher.highlight(text),
                    partial(host.show_parameters, name),
                    help="inspect its first parameter in this graph",
                )
