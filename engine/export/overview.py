"""The overview: each scope collapsed into one box, the edges counting the values that flow.

Helper scopes (`softmax`, `rmsnorm`) are folded into their caller, each parameter
matrix is a box of its own, and a scope that holds other boxes is split around
them so the picture flows one way.
"""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass

from engine.graph import ScopeNode, id_bound, scope_tree
from engine.value import Value


@dataclass
class Box:
    """One box of the overview: the nodes of a scope (or of one parameter matrix)."""

    key: str  # a unique name: the scope path, or `params.<matrix>` for a parameter matrix
    cluster: str  # the scope path of the cluster the box is drawn in ("" for the top level)
    title: str  # the text in bold: the scope's last name, or the matrix name
    count: int = 0  # how many nodes it stands for
    kind: str = "ops"  # "ops" or "params"


@dataclass
class Overview:
    """The graph with each scope collapsed into one box; edges count the values that flow."""

    boxes: dict[str, Box]  # by key, in the order the computation first enters them
    edges: dict[tuple[str, str], int]  # (from box, to box) -> distinct values passed
    total: int  # nodes summarised
    box_of: list[str]  # the box of each node, by id

    @property
    def drawn(self) -> int:
        return len(self.boxes)


def box_paths(nodes: list[Value], depth: int | None = None) -> dict[str, str]:
    """The overview box of each scope path: the scope itself, or the scope it is folded into.

    With `depth`, scopes are cut to that many levels (`pos3.layer0` at depth 2).
    Without, helper scopes are folded into their caller: a scope with no scopes
    inside it, in a scope that computes nodes itself (`softmax` inside `head1`,
    `rmsnorm` inside `attn`), is a function call, not a part of the model.
    """
    tree = scope_tree(nodes)
    folded: dict[str, str] = {}

    def walk(node: ScopeNode, parent: ScopeNode | None) -> None:
        for child in node.children.values():
            walk(child, node)
        path = node.path
        if depth is not None:
            folded[path] = ".".join(path.split(".")[: max(depth, 1)])
        elif parent is not None and parent.path and not node.children and parent.own > 0:
            folded[path] = parent.path
        else:
            folded[path] = path

    walk(tree, None)
    return folded


def overview(nodes: list[Value], depth: int | None = None) -> Overview:
    """One box per scope (helpers folded in, or cut to `depth` levels), one per parameter matrix.

    An edge A -> B counts the distinct values computed in A that B uses. A scope
    that holds other boxes (`attn` holds `head0`...) is a cluster; its own nodes
    are split by creation order into the box before its inner scopes (`q`, `k`,
    `v`) and the box after them (`attn_wo`, the residual), so the picture flows
    left to right. A cluster that would hold just one box is left out, the box
    named by the path instead (`layer0.attn`).
    """
    folded = box_paths(nodes, depth)
    paths = {folded[n.scope] for n in nodes if n.scope != "params"}
    holders = {p for q in paths for p in _prefixes(q) if p in paths}
    first_inner: dict[str, int] = {}  # holder -> the first node of a scope inside it
    for node in nodes:
        if node.scope != "params":
            for p in _prefixes(folded[node.scope]):
                first_inner.setdefault(p, node.id)

    box_of: list[str] = [""] * id_bound(nodes)  # by id (ids may have gaps: a rerooted graph)
    boxes: dict[str, Box] = {}
    for node in nodes:
        if node.scope == "params":
            matrix = (node.label or "?").split("[", 1)[0]
            key, cluster, title, kind = f"params.{matrix}", "params", matrix, "params"
        else:
            key = path = folded[node.scope]
            parent, _, title = path.rpartition(".")
            cluster, kind = parent, "ops"
            if path in holders:
                cluster = path
                if node.id > first_inner.get(path, node.id):
                    key = path + AFTER
        box = boxes.get(key)
        if box is None:
            box = boxes[key] = Box(key, cluster, title or "(top)", kind=kind)
        box.count += 1
        box_of[node.id] = key
    _name_split_boxes(boxes)
    _drop_lone_clusters(boxes)

    flows: set[tuple[int, str]] = set()  # (value id, box using it), so each value counts once
    edges: Counter[tuple[str, str]] = Counter()
    for node in nodes:
        to = box_of[node.id]
        for child in node._children:
            src = box_of[child.id]
            if src != to and (child.id, to) not in flows:
                flows.add((child.id, to))
                edges[(src, to)] += 1
    return Overview(boxes, dict(edges), len(nodes), box_of)


AFTER = "#after"  # key suffix of the part of a scope's own nodes computed after its inner scopes


def _prefixes(path: str) -> list[str]:
    """The proper prefixes of a dotted path: `a.b.c` -> `a`, `a.b`."""
    parts = path.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts))]


def _name_split_boxes(boxes: dict[str, Box]) -> None:
    """Title a scope's two parts after what they surround: `attn · before heads`, `... after`."""
    for key in [k for k in boxes if k.endswith(AFTER)]:
        path = key[: -len(AFTER)]
        inner = [b.title for b in boxes.values() if b.cluster == path and b.key not in (path, key)]
        stem = os.path.commonprefix(inner).rstrip("0123456789_") if inner else ""
        what = f"{stem}s" if stem and len(inner) > 1 else (stem or "inner scopes")
        name = boxes[key].title
        boxes[key].title = f"{name} · after {what}"
        if path in boxes:
            boxes[path].title = f"{name} · before {what}"


def _drop_lone_clusters(boxes: dict[str, Box]) -> None:
    """A cluster with one box and nothing else in it adds a frame and no information:
    draw the box in the enclosing cluster, its title prefixed (`attn` -> `layer0.attn`)."""
    changed = True
    while changed:
        changed = False
        in_cluster = Counter(b.cluster for b in boxes.values())
        nested = {p for b in boxes.values() for p in _prefixes(b.cluster)} if boxes else set()
        for box in boxes.values():
            c = box.cluster
            if c and c != "params" and in_cluster[c] == 1 and c not in nested:
                parent, _, last = c.rpartition(".")
                box.cluster, box.title = parent, f"{last}.{box.title}"
                changed = True
                break
