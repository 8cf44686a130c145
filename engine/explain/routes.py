"""The routes that carry most of a node's gradient, as a small graph to draw on a slide.

`routes(grads, target, k)` takes the top-k paths from the loss to `target`
(`engine.explain.paths`) and merges them: the nodes on any of them, each once, and
the edges they use, each once, with the local gradient on the edge and the ranks
of the paths that run along it. That is what `export --paths-to NODE --top K`
draws: a few routes, not the whole graph around them.

`target_node(session, text)` reads the NODE a user typed: a node id (`1234` or
`#1234`) or a parameter's name (`wte[4][0]`).
"""

from __future__ import annotations

from dataclasses import dataclass

from engine.errors import InputError
from engine.explain.final_grads import FinalGrads
from engine.explain.paths import GradPath, count_paths, top_paths
from engine.session import DebugSession
from engine.value import Value


@dataclass(frozen=True)
class RouteEdge:
    """One input edge of a consumer, used by at least one of the routes."""

    consumer: Value  # the node nearer the loss
    slot: int  # which of its inputs
    node: Value  # the input, nearer the target
    local_grad: float  # d consumer / d node: the consumer's own float
    ranks: tuple[int, ...]  # the routes (1 = the largest) that run along it


@dataclass(frozen=True)
class Routes:
    """The top routes from the loss to `target`, merged into nodes and edges."""

    target: Value
    grad: float  # the target's final grad
    paths: list[GradPath]  # largest |product| first
    count: int  # how many paths there are in all
    nodes: list[Value]  # every node on a route, each once, in creation order
    edges: list[RouteEdge]  # every edge on a route, each once, loss side first

    def ranks_of(self, node: Value) -> tuple[int, ...]:
        """The routes through `node` (1 = the largest)."""
        return tuple(r for r, path in enumerate(self.paths, 1) if node in path.nodes)


def routes(grads: FinalGrads, target: Value, k: int = 3) -> Routes:
    """The top-k paths from the loss to `target` as one small graph (see the module doc)."""
    paths = top_paths(grads, target, k)
    on_routes: dict[int, Value] = {}
    edges: dict[tuple[int, int], tuple[Value, int, Value, float, list[int]]] = {}
    for rank, path in enumerate(paths, 1):
        steps = path.steps
        for step in steps:
            on_routes[step.node.id] = step.node
        for above, below in zip(steps, steps[1:]):
            key = (above.node.id, below.slot)
            if key not in edges:
                local = below.local_grad
                assert local is not None  # (only the start has none)
                edges[key] = (above.node, below.slot, below.node, local, [])
            edges[key][4].append(rank)
    found = [RouteEdge(c, s, n, g, tuple(r)) for c, s, n, g, r in edges.values()]
    return Routes(
        target=target,
        grad=grads[target],
        paths=paths,
        count=count_paths(grads, target),
        nodes=[on_routes[i] for i in sorted(on_routes)],
        edges=found,
    )


@dataclass(frozen=True)
class DrawnEdge:
    """An edge of the condensed routes: from `node` up to `consumer`, maybe through sums."""

    node: Value  # nearer the target
    consumer: Value  # nearer the loss
    local_grad: float  # the product of the local gradients along it (sums pass 1 on)
    sums: int  # `+` nodes passed through without being drawn
    ranks: tuple[int, ...]


def condensed(found: Routes) -> tuple[list[Value], list[DrawnEdge]]:
    """The routes with their runs of sums taken out, for a slide.

    A `+` node passes its gradient on unchanged (local gradient 1): where a route
    runs straight through one (one edge in, one out, the same routes on both),
    it is left out and the edge says how many sums it went through, so a
    60-node route through `sum()`'s additions reads as a dozen steps. The products
    are unchanged: a sum's local gradient is exactly 1. The start, the target and
    every node where routes meet or part are kept.
    """
    downs: dict[int, list[DrawnEdge]] = {}  # by node id: the edges from its inputs up into it
    ups: dict[int, list[DrawnEdge]] = {}  # by node id: the edges from it up to its consumers
    for e in found.edges:
        edge = DrawnEdge(e.node, e.consumer, e.local_grad, 0, e.ranks)
        downs.setdefault(e.consumer.id, []).append(edge)
        ups.setdefault(e.node.id, []).append(edge)
    ends = {found.target.id} | ({found.paths[0].steps[0].node.id} if found.paths else set())
    kept: list[Value] = []
    for v in found.nodes:  # in creation order: a node's inputs are settled before it
        if v.id in ends or v.op != "+" or len(ups.get(v.id, ())) != 1:
            kept.append(v)
            continue
        if len(downs.get(v.id, ())) != 1:
            kept.append(v)
            continue
        (up,), (down,) = ups[v.id], downs[v.id]
        if up.ranks != down.ranks or down.local_grad != 1:
            kept.append(v)
            continue
        local = up.local_grad * down.local_grad  # (× 1: exactly up's)
        merged = DrawnEdge(down.node, up.consumer, local, up.sums + down.sums + 1, up.ranks)
        downs[up.consumer.id] = [merged if e is up else e for e in downs[up.consumer.id]]
        ups[down.node.id] = [merged if e is down else e for e in ups[down.node.id]]
    edges = [e for v in kept for e in downs.get(v.id, [])]
    return kept, edges


def target_node(session: DebugSession, text: str) -> Value:
    """The node `text` names in `session`: an id (`1234`, `#1234`) or a parameter's name."""
    shown = text.strip()
    digits = shown.removeprefix("#")
    if digits.isdigit():
        return session.node(int(digits))  # (InputError if there is none)
    node = session.parameter(shown)
    if node is None:
        raise InputError(
            f"no node {shown!r}: give a node id or a parameter this loss uses, e.g. wte[4][0]"
        )
    return node
