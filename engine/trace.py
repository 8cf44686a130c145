"""Trace: records every node created while it is active, with its scope, label and source site.

Nodes get ids in creation order. A trace kept from another (`capture.reroot`, backprop
from one node) keeps the nodes' original ids, so its ids have gaps: address nodes by
id with `get`/`index_of`, and size arrays indexed by id with `id_bound`.

Scopes nest like function calls (`pos3` > `layer0.attn` > `head1`, giving the path
`pos3.layer0.attn.head1`); the current path is one interned string that every new
node shares, so a node stays small.
"""

from __future__ import annotations

import sys
from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass

from engine import value as _value
from engine.value import Value


@dataclass(frozen=True)
class SourceSite:
    """The line of code that created a node."""

    filename: str
    lineno: int
    function: str


class Trace:
    """The nodes of one computation, in creation order, with their provenance."""

    def __init__(self) -> None:
        self.nodes: list[Value] = []  # in creation order (by id); node.id is its index unless
        # the trace was kept from another one (then ids have gaps: see `get`)
        self._sparse: dict[int, int] | None = None  # id -> index, when ids are not indexes
        self._sparse_for = -1  # len(nodes) when `_sparse` was built
        self.scope: str = ""  # the current scope path; new nodes take it
        self._scope_stack: list[str] = []
        self.vectors: dict[tuple[str, str], list[Value]] = {}  # labelled vectors

    # -- recording -------------------------------------------------------------

    @contextmanager
    def recording(self, *, number: bool = True) -> Iterator[Trace]:
        """Record every Value created inside the block (traces do not nest).

        At the end the nodes are numbered in creation order, unless `number` is
        False because the caller will `keep_only` some of them (which numbers them).
        """
        _value.start_recording(self)
        try:
            yield self
        finally:
            _value.stop_recording()
            if number:
                self._number()

    def _number(self) -> None:
        for i, node in enumerate(self.nodes):
            node.id = i

    @contextmanager
    def scoped(self, name: str) -> Iterator[None]:
        """Nodes created inside the block get `name` appended to the scope path."""
        self._scope_stack.append(self.scope)
        self.scope = sys.intern(f"{self.scope}.{name}" if self.scope else name)
        try:
            yield
        finally:
            self.scope = self._scope_stack.pop()

    def add_leaf(self, node: Value, op: str, scope: str, label: str | None) -> None:
        """Adopt a node created outside the trace (a parameter) as a leaf of it."""
        node.op = op
        node.id = len(self.nodes)
        node.scope = sys.intern(scope)
        node.label = label
        node.code = None
        node.line = 0
        self.nodes.append(node)

    def keep_only(self, kept: Collection[Value]) -> None:
        """Drop every node not in `kept` and number the rest in creation order.

        `kept` must be recorded nodes (a root's ancestors), so equal sizes mean
        nothing is dropped. Used to keep just the nodes a loss depends on: what
        the model computed but the loss never used (the probabilities of other
        characters, the last layer's MLP at earlier positions, ...) would only
        clutter the graph.
        """
        if len(kept) != len(self.nodes):
            keep = kept if isinstance(kept, (set, frozenset)) else set(kept)
            self.nodes = [node for node in self.nodes if node in keep]
            self.vectors = {
                key: vec for key, vec in self.vectors.items() if all(n in keep for n in vec)
            }
        self._number()

    # -- labels -----------------------------------------------------------------

    def label(self, nodes: Sequence[Value] | Value, name: str) -> None:
        """Label a vector's nodes `name[i]` (or one node `name`), so they can be found.

        The vector is also indexed by (current scope, name): `vector("pos3.layer0.attn.head1",
        "attn_weights")` gives it back.
        """
        if isinstance(nodes, Value):
            nodes.label = name
            nodes = [nodes]
        else:
            for i, node in enumerate(nodes):
                node.label = f"{name}[{i}]"
        self.vectors[(self.scope, name)] = list(nodes)

    def vector(self, scope: str, name: str) -> list[Value] | None:
        """A labelled vector by the scope it was labelled in and its name."""
        return self.vectors.get((scope, name))

    # -- reading ------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self.nodes)

    def __getitem__(self, node_id: int) -> Value:
        """The node with this id (IndexError if there is none)."""
        node = self.get(node_id)
        if node is None:
            raise IndexError(f"no node #{node_id}")
        return node

    @property
    def id_bound(self) -> int:
        """One more than the largest id: the length of an array indexed by id."""
        return self.nodes[-1].id + 1 if self.nodes else 0

    @property
    def dense(self) -> bool:
        """Are the ids 0..len-1, each node's its index (not a trace kept from another)?"""
        return not self.nodes or self.nodes[-1].id == len(self.nodes) - 1

    def index_of(self, node_id: int) -> int | None:
        """Where the node with this id is in `nodes` (None: no such node)."""
        nodes = self.nodes
        if self.dense:
            return node_id if 0 <= node_id < len(nodes) else None
        if self._sparse_for != len(nodes):
            self._sparse = {node.id: i for i, node in enumerate(nodes)}
            self._sparse_for = len(nodes)
        assert self._sparse is not None
        return self._sparse.get(node_id)

    def get(self, node_id: int) -> Value | None:
        """The node with this id, or None."""
        i = self.index_of(node_id)
        return None if i is None else self.nodes[i]

    @staticmethod
    def site_of(node: Value) -> SourceSite | None:
        """The file, line and function that created `node` (None for parameters)."""
        if node.code is None:
            return None
        return SourceSite(node.code.co_filename, node.line, node.code.co_name)

    def __iter__(self) -> Iterator[Value]:
        return iter(self.nodes)


# -- what the model calls: no-ops unless a Trace is recording ----------------------

_NULL_CONTEXT = nullcontext()


def recording_trace() -> Trace | None:
    """The Trace recording now, if any (a progress figure for a UI: `len(trace.nodes)`)."""
    return _value._recording


def scope(name: str):
    """`with scope('layer0.attn'):` — a scope of the recording Trace, or nothing."""
    trace = _value._recording
    return _NULL_CONTEXT if trace is None else trace.scoped(name)


def label(nodes: Sequence[Value] | Value, name: str) -> None:
    """Label a vector `name[i]` in the recording Trace; nothing when not recording."""
    trace = _value._recording
    if trace is not None:
        trace.label(nodes, name)
