"""Queries over a captured graph: consumers, subgraphs, the scope tree and its counts.

Nodes are addressed by id (creation order; a rerooted graph keeps its original ids,
so ids may have gaps and arrays indexed by id have `id_bound(nodes)` slots). Edges
point from a node to its children (the inputs it was computed from); consumers are
the reverse edges, built once into flat arrays so a million-node graph stays small.
"""

from __future__ import annotations

from array import array
from collections import Counter, deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from engine.value import Value


def in_scope(scope: str, prefix: str) -> bool:
    """True if `scope` is `prefix` or nested inside it (`pos3.layer0` is in `pos3`)."""
    return scope == prefix or scope.startswith(prefix + ".") or prefix == ""


def scope_position(scope: str) -> int | None:
    """The position a scope path belongs to (`pos3.layer0.attn` -> 3), if any."""
    head = scope.split(".", 1)[0]
    if head.startswith("pos") and head[3:].isdigit():
        return int(head[3:])
    return None


def positions(nodes: Sequence[Value]) -> Callable[[Value], int]:
    """A node's place in `nodes` (creation order; -1 if it is not there, for a graph with
    gaps in its ids): its id, unless the ids have gaps (a rerooted graph keeps the
    original ids), when it is looked up."""
    if not nodes or nodes[-1].id == len(nodes) - 1:
        return _id_of
    where = {id(node): i for i, node in enumerate(nodes)}
    return lambda node: where.get(id(node), -1)


def _id_of(node: Value) -> int:
    return node.id


def id_bound(nodes: Sequence[Value]) -> int:
    """One more than the largest id of `nodes` (in creation order): an id-indexed array's length."""
    return nodes[-1].id + 1 if nodes else 0


class Consumers:
    """Reverse edges: for each node id, the ids of the nodes computed from it.

    Stored as compressed rows (one offsets array, one targets array) in creation
    order, and with duplicates when a node uses the same input twice (`x * x`).
    """

    def __init__(self, nodes: Sequence[Value]) -> None:
        counts = array("l", [0]) * (id_bound(nodes) + 1)
        for node in nodes:
            for child in node._children:
                counts[child.id + 1] += 1
        for i in range(1, len(counts)):
            counts[i] += counts[i - 1]
        self._offsets = counts
        self._targets = array("l", [0]) * counts[-1]
        fill = array("l", counts)
        for node in nodes:
            for child in node._children:
                self._targets[fill[child.id]] = node.id
                fill[child.id] += 1

    def of(self, node_id: int) -> list[int]:
        """Ids of the nodes that take `node_id` as an input, in creation order (one per use)."""
        return list(self._targets[self._offsets[node_id] : self._offsets[node_id + 1]])

    def count(self, node_id: int) -> int:
        """How many times nodes use `node_id` as an input (`x * x` uses it twice)."""
        return self._offsets[node_id + 1] - self._offsets[node_id]

    def distinct(self, node_id: int) -> int:
        """How many different nodes use `node_id` as an input."""
        return len(set(self.of(node_id)))


def nodes_in_scope(nodes: Iterable[Value], prefix: str) -> list[Value]:
    """The nodes whose scope is `prefix` or inside it, in creation order ("" is every node)."""
    if not prefix:
        return list(nodes)
    return [n for n in nodes if in_scope(n.scope, prefix)]


def neighbourhood(
    root: Value,
    depth: int,
    consumers: Consumers | None = None,
    nodes: Sequence[Value] | Callable[[int], Value] = (),
) -> list[Value]:
    """`root` and its inputs up to `depth` levels down (or its consumers, given them and
    `nodes`: the node list, or the node of an id, as a graph with gaps in its ids needs).

    Breadth first; the result is sorted by id, i.e. in creation order.
    """
    node_of = nodes if callable(nodes) else nodes.__getitem__
    seen = {root.id: root}
    frontier = deque([(root, 0)])
    while frontier:
        node, d = frontier.popleft()
        if d == depth:
            continue
        if consumers is None:
            nexts: Iterable[Value] = node._children
        else:
            nexts = (node_of(i) for i in consumers.of(node.id))
        for nxt in nexts:
            if nxt.id not in seen:
                seen[nxt.id] = nxt
                frontier.append((nxt, d + 1))
    return [seen[i] for i in sorted(seen)]


@dataclass
class ScopeNode:
    """One scope in the tree: its full path, its own nodes and all nodes inside it."""

    path: str
    name: str
    own: int = 0  # nodes whose scope is exactly this one
    total: int = 0  # nodes in this scope or any scope inside it
    first_id: int = -1  # the first node (in creation order) inside this scope
    children: dict[str, ScopeNode] = field(default_factory=dict)


def scope_tree(nodes: Sequence[Value]) -> ScopeNode:
    """Every scope path in the graph as a tree, with node counts (the root is "")."""
    own = Counter(n.scope for n in nodes)
    first: dict[str, int] = {}
    for n in nodes:
        if n.scope not in first:
            first[n.scope] = n.id
    root = ScopeNode("", "")
    for path in sorted(own):
        node = root
        parts = path.split(".")
        for depth, part in enumerate(parts):
            sub = ".".join(parts[: depth + 1])
            if part not in node.children:
                node.children[part] = ScopeNode(sub, part)
            node = node.children[part]
            node.total += own[path]
            if node.first_id < 0 or first[path] < node.first_id:
                node.first_id = first[path]
        node.own = own[path]
    root.total = len(nodes)
    root.first_id = nodes[0].id if nodes else -1
    _order_children(root)
    return root


def _order_children(node: ScopeNode) -> None:
    """Children in the order the computation enters them (pos2 before pos10)."""
    node.children = dict(sorted(node.children.items(), key=lambda kv: kv[1].first_id))
    for child in node.children.values():
        _order_children(child)


def find_scope(tree: ScopeNode, path: str) -> ScopeNode | None:
    """The tree node for `path`, or None if the graph has no such scope."""
    node = tree
    if not path:
        return tree
    for part in path.split("."):
        node = node.children.get(part)
        if node is None:
            return None
    return node
