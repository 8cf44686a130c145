"""The routes a gradient took: the top-k paths from the loss down to a node, by what they carry.

A path runs from a start node s (the root, the loss, by default) down through
inputs to the target x: s = v₀ → v₁ → … → vₘ = x, each vᵢ₊₁ one of vᵢ's inputs
(one use of it: `x * x` gives two edges). Its product is

    p₀ = upstream = the grad s passed on (its final grad; 1 at the loss, backward()'s
         seed; for a script's own backward(), the grad its record says s passed on)
    pᵢ = pᵢ₋₁ × local_gradᵢ        (local_gradᵢ = d vᵢ₋₁ / d vᵢ, the node's own float)

multiplied in that order, from the start down: the amount `backward()` would
deliver into x.grad along this path if it were the only one. By the chain rule,
x's grad is the sum of all paths' products (up to rounding). Paths are ranked by
|pₘ|, largest first.

The search is best-first (A*). First, for every node between the start and x, the
largest |product of local gradients| from it down to x (one pass, children first);
then partial paths grow from the start, the one whose |partial product| × that
bound is largest first. The bound is what the best completion delivers (up to a
relative 1e-9 of slack for rounding), so no unexplored path can beat one found
when the search stops: it stops once k paths have reached x and no partial path
could exceed the k-th of them. The k magnitudes returned are the true top k;
paths tied in magnitude may stand in for one another (among ties, the first found
ranks first).
"""

from __future__ import annotations

from dataclasses import dataclass
from heapq import heappop, heappush, heappushpop

from engine.errors import InputError
from engine.explain.final_grads import FinalGrads, is_node_of
from engine.value import Value


@dataclass(frozen=True)
class PathStep:
    """One node of a path, with the edge into it and the running product there."""

    node: Value
    slot: int  # which input of the previous node this is (-1 for the start)
    local_grad: float | None  # d previous / d node, the previous node's own float (None: start)
    product: float  # upstream × the local gradients so far


@dataclass(frozen=True)
class GradPath:
    """A path from the start down to the target, with its product."""

    steps: tuple[PathStep, ...]
    upstream: float  # the grad the start passed on (its final grad)

    @property
    def product(self) -> float:
        """upstream × each local gradient in turn, start to target."""
        return self.steps[-1].product

    @property
    def nodes(self) -> list[Value]:
        return [s.node for s in self.steps]

    @property
    def node_ids(self) -> list[int]:
        return [s.node.id for s in self.steps]

    @property
    def local_grads(self) -> list[float]:
        """The local gradient of each edge, start to target (one fewer than the nodes)."""
        return [s.local_grad for s in self.steps[1:]]


def dependents(grads: FinalGrads, target: Value) -> bytearray:
    """A mask by node id: `target` and every node computed from it (its consumers, theirs, …)."""
    return _reach(grads, target, grads.root)[0]


def _check(grads: FinalGrads, node: Value, what: str) -> None:
    if not is_node_of(grads.capture, node):
        raise InputError(f"the {what} is not a node of this graph")


def top_paths(
    grads: FinalGrads, target: Value, k: int = 3, *, start: Value | None = None
) -> list[GradPath]:
    """The `k` paths from `start` (default: the root) to `target` with the largest |product|.

    Largest first; fewer if there are fewer paths; [] if `target` does not feed `start`.
    A path from a node to itself is the one-node path, its product the upstream.
    """
    if k < 1:
        raise InputError(f"the number of paths must be at least 1, got {k}")
    start = grads.root if start is None else start
    _check(grads, target, "target")
    _check(grads, start, "start")
    mask, bound = _reach(grads, target, start)
    if not mask[start.id]:
        return []
    upstream = grads.upstream(start)
    # an entry is (|product|, product, previous entry, node, slot, local_grad); the heap
    # holds (−priority, −count, entry): the highest bound first, the newest among ties
    # (so that equal bounds, zeros above all, dive to the target instead of fanning out)
    first = (abs(upstream), upstream, None, start, -1, None)
    heap = [(-(abs(upstream) * bound[start.id] * _SLACK), 0, first)]
    found: list[tuple] = []
    kth: list[float] = []  # the k largest |products| found so far (a min-heap)
    count = 0
    while heap and not (len(kth) == k and -heap[0][0] <= kth[0]):
        entry = heappop(heap)[2]
        node, p = entry[3], entry[1]
        if node is target:
            found.append(entry)
            (heappush if len(kth) < k else heappushpop)(kth, entry[0])
            continue
        for slot, (child, local_grad) in enumerate(zip(node._children, node._local_grads)):
            if mask[child.id]:
                q = p * local_grad
                count -= 1
                priority = abs(q) * bound[child.id] * _SLACK
                heappush(heap, (-priority, count, (abs(q), q, entry, child, slot, local_grad)))
    found.sort(key=_magnitude, reverse=True)  # stable: among ties, the first found first
    return [_path(e, upstream) for e in found[:k]]


# A bound computed bottom-up rounds differently from a product computed top-down, by
# a relative 2·u per multiplication (u = 2⁻⁵³); this slack covers paths of up to
# millions of edges, so a bound is never below what its path really delivers.
_SLACK = 1 + 1e-9


def _reach(grads: FinalGrads, target: Value, start: Value) -> tuple[bytearray, list]:
    """By node id, for the nodes between `start` and `target` in the backward order:
    whether `target` feeds them (a mask), and the largest |product of local gradients|
    from them down to `target` (a bound, up to `_SLACK`, on what any path through the
    node can still multiply its partial product by).

    One pass, children first (the backward order read in reverse).
    """
    order, rank = grads.capture.order, grads.rank
    n = grads.capture.trace.id_bound  # (arrays by id: ids may have gaps)
    mask, bound = bytearray(n), [0.0] * n
    mask[target.id], bound[target.id] = 1, 1.0
    for i in range(rank[target.id] - 1, rank[start.id] - 1, -1):
        v = order[i]
        best, fed = 0.0, False
        for child, local_grad in zip(v._children, v._local_grads):
            if mask[child.id]:
                fed = True
                b = abs(local_grad) * bound[child.id]
                if b > best:
                    best = b
        if fed:
            mask[v.id], bound[v.id] = 1, best
    return mask, bound


def _magnitude(entry: tuple) -> float:
    return entry[0]


def _path(entry: tuple, upstream: float) -> GradPath:
    steps = []
    while entry is not None:
        _, product, previous, node, slot, local_grad = entry
        steps.append(PathStep(node, slot, local_grad, product))
        entry = previous
    steps.reverse()
    return GradPath(tuple(steps), upstream)


def count_paths(grads: FinalGrads, target: Value, *, start: Value | None = None) -> int:
    """How many paths lead from `start` (default: the root) to `target` (exact; can be huge)."""
    start = grads.root if start is None else start
    _check(grads, target, "target")
    _check(grads, start, "start")
    mask = _reach(grads, target, start)[0]
    if not mask[start.id]:
        return 0
    counts = {start.id: 1}
    for v in grads.capture.order[grads.rank[start.id] :]:
        n = counts.pop(v.id, 0)
        if not n:
            continue
        if v is target:
            return n
        for child in v._children:
            if mask[child.id]:
                counts[child.id] = counts.get(child.id, 0) + n
    return 0
