"""Find in a graph: scopes by path, nodes by label (what `/` and the palette search).

Scopes come from the scope tree (small); labels are searched over every node,
which on a million-node graph takes a while, so the search can be cancelled.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from engine.graph import ScopeNode
from engine.value import Value

FIND_LIMIT = 200
"""How many scopes, or nodes, one find returns at most."""


def all_scopes(tree: ScopeNode) -> list[ScopeNode]:
    """Every scope below the tree's root, depth first in the order the computation enters them."""
    out: list[ScopeNode] = []
    stack = list(reversed(tree.children.values()))
    while stack:
        scope = stack.pop()
        out.append(scope)
        stack.extend(reversed(scope.children.values()))
    return out


def find_scopes(tree: ScopeNode, text: str, limit: int = FIND_LIMIT) -> list[ScopeNode]:
    """Scopes whose path contains `text` (case-insensitive), in creation order."""
    needle = text.lower()
    return [s for s in all_scopes(tree) if needle in s.path.lower()][:limit]


def find_labels(
    nodes: Sequence[Value],
    text: str,
    limit: int = FIND_LIMIT,
    cancelled: Callable[[], bool] = lambda: False,
    has_node: Callable[[int], bool] | None = None,
) -> list[int]:
    """Ids of nodes whose label contains `text`, in creation order (`#12` finds node 12).

    `cancelled` is asked every 65,536 nodes; once it says yes, the search stops.
    `has_node` says whether an id is in the graph (default: ids are 0..len-1).
    """
    text = text.strip()
    if text.startswith("#") and text[1:].isdigit():
        node_id = int(text[1:])
        exists = has_node(node_id) if has_node is not None else node_id < len(nodes)
        return [node_id] if exists else []
    found = []
    for i, node in enumerate(nodes):
        label = node.label
        if label is not None and text in label:
            found.append(node.id)
            if len(found) >= limit:
                break
        if i % 65536 == 0 and cancelled():
            break
    return found
