"""The vector ops of the built-in model's graph, from the labels `gpt()` puts on every vector.

Each statement of the model makes one labelled vector (`label(q, "q")`), and
its scalar nodes are created in one run that ends with the vector's last
member. So the ops are the runs of creation order between consecutive
vectors' last members: no node is looked at except the labelled ones. The op's
name is what the label's statement computes (`q` is `linear W_q`).
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import compress
from operator import attrgetter

from engine.graph import positions
from engine.value import Value
from engine.vector.graph import Vector, VectorOp
from engine.vector.naming import op_name_for_label

_label = attrgetter("label")


def first_computed(nodes: Sequence[Value]) -> int:
    """The place in `nodes` of the first node that is not a parameter (parameters are added
    first)."""
    lo, hi = 0, len(nodes)
    while lo < hi:  # parameters come before everything else: bisect on "is a parameter"
        mid = (lo + hi) // 2
        if nodes[mid].op == "param":
            lo = mid + 1
        else:
            hi = mid
    return lo


def labelled_vectors(nodes: Sequence[Value], start: int) -> list[tuple[str, list[Value]]]:
    """(name, members) of each labelled vector from `start` on, in creation order.

    Members of one vector are consecutive among the labelled nodes (`q[0]` ...
    `q[15]`, then `k[0]` ...); a name without an index (`loss`) is a vector of
    one. Only the members the graph kept are there (`probs[target]` of `probs`).
    """
    tail = nodes[start:]
    found: list[tuple[str, list[Value]]] = []
    last_name, last_scope = None, None
    for node in compress(tail, map(_label, tail)):
        name = node.label.partition("[")[0]
        if name != last_name or node.scope != last_scope:
            found.append((name, [node]))
            last_name, last_scope = name, node.scope
        else:
            found[-1][1].append(node)
    return found


def ops_from_labels(nodes: Sequence[Value]) -> list[VectorOp]:
    """One op per labelled vector, covering the nodes since the previous vector's last member.

    Nodes after the last labelled vector (a graph rerooted at an unlabelled node)
    make one more op, whose output is the root.
    """
    start = first_computed(nodes)
    ops: list[VectorOp] = []
    begin = start
    at = positions(nodes)  # (a node's place: its id, unless a reroot left gaps in the ids)
    for name, members in labelled_vectors(nodes, start):
        end = max(at(m) for m in members) + 1
        if end <= begin:  # labelled twice (a vector re-labelled): already covered
            continue
        index = [_index(m.label) for m in members]
        scope = members[-1].scope
        indexed = "[" in members[0].label
        vector = Vector(name, scope, members, index=index, indexed=indexed)
        ops.append(VectorOp(op_name_for_label(name, scope), scope, begin, end, vector))
        begin = end
    if begin < len(nodes):
        root = nodes[-1]
        vector = Vector(root.label or f"#{root.id}", root.scope, [root])
        ops.append(VectorOp(root.op, root.scope, begin, len(nodes), vector))
    return ops


def _index(label: str) -> int:
    """`q[5]` -> 5; `loss` -> 0."""
    _, bracket, rest = label.partition("[")
    return int(rest.rstrip("]")) if bracket else 0
