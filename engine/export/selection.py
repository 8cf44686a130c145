"""What to export: a scope, a node and its surroundings, or the overview of scopes.

A scope or node selection is a `Subgraph`: its nodes, and the inputs from outside
it, which are drawn as small dashed stubs, never dropped. The overview is built
by `engine.export.overview`.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from engine.errors import InputError
from engine.export.overview import Overview, overview
from engine.graph import neighbourhood, nodes_in_scope
from engine.value import Value

if TYPE_CHECKING:
    from engine.session import DebugSession

LEVELS = ("vector", "scalar")


@dataclass(frozen=True)
class Selection:
    """What to export: a scope, a node and its surroundings, or the overview of scopes.

    `level` is "scalar" (every scalar node) or "vector" (each vector the model
    computes as one box, the operations between them); a node selection is
    always scalar.
    """

    kind: Literal["scope", "node", "overview"]
    scope: str = ""  # kind "scope": this scope and every scope inside it ("" is everything)
    node_id: int | None = None  # kind "node": the node in the middle
    depth: int = 2  # kind "node": how many levels of inputs (or consumers)
    consumers: bool = False  # kind "node": follow consumers instead of inputs
    overview_depth: int | None = None  # kind "overview": collapse scopes below this level
    level: str = "scalar"  # "scalar" or "vector"

    @classmethod
    def of_scope(cls, path: str, *, level: str = "scalar") -> Selection:
        return cls("scope", scope=path, level=level)

    @classmethod
    def of_node(cls, node_id: int, depth: int = 2, *, consumers: bool = False) -> Selection:
        return cls("node", node_id=node_id, depth=depth, consumers=consumers)

    @classmethod
    def overview(cls, depth: int | None = None, *, level: str = "scalar") -> Selection:
        return cls("overview", overview_depth=depth, level=level)

    @property
    def vector(self) -> bool:
        return self.level == "vector"

    def describe(self) -> str:
        """A phrase for messages: `scope pos3.layer0.attn`, `node #12 and 2 levels of inputs`."""
        if self.kind == "scope":
            return f"scope {self.scope}" if self.scope else "the whole graph"
        if self.kind == "node":
            way = "consumers" if self.consumers else "inputs"
            return f"node #{self.node_id} and {self.depth} levels of {way}"
        return "the overview"

    def file_stem(self) -> str:
        """A file name for this selection, without extension: `pos3.layer0.attn.head1`, `node12`."""
        if self.kind == "scope":
            return self.scope or "graph"
        if self.kind == "node":
            return f"node{self.node_id}" + ("-consumers" if self.consumers else "")
        return "overview"


@dataclass
class Subgraph:
    """The nodes of a scope or node selection, and the outside inputs drawn as stubs."""

    nodes: list[Value]  # in creation order
    stubs: list[Value]  # inputs of `nodes` from outside the selection, in creation order

    @property
    def drawn(self) -> int:
        return len(self.nodes) + len(self.stubs)


def scope_paths(session: DebugSession) -> list[str]:
    """Every scope path in the session's graph (parents included), in creation order."""
    paths: list[str] = []

    def walk(node) -> None:
        for child in node.children.values():
            paths.append(child.path)
            walk(child)

    walk(session.scopes)
    return paths


def unknown_scope_message(session: DebugSession, path: str) -> str:
    """`no scope 'x' in this graph`, with the closest scope names to try instead."""
    paths = scope_paths(session)
    close = difflib.get_close_matches(path, paths, n=3, cutoff=0.6)
    if close:
        hint = "did you mean " + " or ".join(filter(None, [", ".join(close[:-1]), close[-1]])) + "?"
    else:
        tops = [c.path for c in session.scopes.children.values()]
        shown = ", ".join(tops[:8]) + (", ..." if len(tops) > 8 else "")
        hint = f"scopes start with {shown}"
    return f"no scope {path!r} in this graph; {hint}"


def check_scope(session: DebugSession, path: str) -> None:
    """InputError naming close scopes if the session's graph has no scope `path`."""
    if session.find_scope(path) is None:
        raise InputError(unknown_scope_message(session, path))


def select(session: DebugSession, selection: Selection) -> Subgraph | Overview:
    """The nodes a selection stands for (an `Overview` for the overview)."""
    if selection.kind == "overview":
        return overview(session.nodes, selection.overview_depth)
    if selection.kind == "scope":
        check_scope(session, selection.scope)
        nodes = nodes_in_scope(session.nodes, selection.scope)
    elif selection.kind == "node":
        if selection.node_id is None:
            raise InputError("a node selection needs a node id")
        if selection.depth < 0:
            raise InputError(f"depth must be 0 or more, got {selection.depth}")
        root = session.node(selection.node_id)
        if selection.consumers:
            nodes = neighbourhood(root, selection.depth, session.consumers, session.node)
        else:
            nodes = neighbourhood(root, selection.depth)
    else:
        raise InputError(f"unknown selection kind {selection.kind!r}")
    return Subgraph(nodes, outside_inputs(nodes))


def outside_inputs(nodes: list[Value]) -> list[Value]:
    """The inputs of `nodes` that are not among them, each once, in creation order."""
    inside = {n.id for n in nodes}
    outside: dict[int, Value] = {}
    for node in nodes:
        for child in node._children:
            if child.id not in inside:
                outside[child.id] = child
    return [outside[i] for i in sorted(outside)]


def narrower_scope(session: DebugSession, path: str, limit: int) -> str | None:
    """The first of the largest scopes directly inside `path` that has at most `limit` nodes."""
    tree = session.find_scope(path)
    fits = [c for c in tree.children.values() if c.total <= limit] if tree else []
    return max(fits, key=lambda c: c.total).path if fits else None
