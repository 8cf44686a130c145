"""App-wide messages: what widgets tell the app (the app owns the session and the cursor)."""

from __future__ import annotations

from dataclasses import dataclass

from textual.message import Message


@dataclass
class NodeSelected(Message):
    """The user picked a node to inspect (a click in the graph, a parameter row, `g`)."""

    node_id: int


@dataclass
class ScopeSelected(Message):
    """The user picked a scope (in the scope tree, the call stack, `/`)."""

    path: str
