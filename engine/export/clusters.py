"""Scopes drawn as nested Graphviz clusters, merged where a scope only wraps another."""

from __future__ import annotations

from dataclasses import dataclass, field

import graphviz

from engine.export.style import Theme, esc, html_label


@dataclass
class Cluster:
    """A scope drawn as a cluster: what is drawn directly in it, and the scopes inside it."""

    path: str
    items: list = field(default_factory=list)
    children: dict[str, Cluster] = field(default_factory=dict)


def cluster_tree(paths_items: list[tuple[str, object]]) -> Cluster:
    """A tree of clusters holding each item in the cluster of its scope path."""
    root = Cluster("")
    for path, item in paths_items:
        node = root
        if path:
            parts = path.split(".")
            for i in range(len(parts)):
                sub = ".".join(parts[: i + 1])
                node = node.children.setdefault(parts[i], Cluster(sub))
        node.items.append(item)
    return root


def draw_clusters(
    g: graphviz.Digraph,
    cluster: Cluster,
    draw_item,
    theme: Theme,
    label: str = "",
    depth: int = 0,
    *,
    latest_first: bool = False,
) -> None:
    """Draw a cluster tree; a scope with nothing of its own and one sub-scope is merged into it
    (`pos3` > `layer0` > `attn` becomes one cluster `pos3.layer0.attn`).

    `latest_first` emits the top-level clusters in reverse order. `dot` tends to
    stack clusters in the order it meets them, so the overview then shows the
    current position on top, the earlier ones below it in order, the parameters last.
    """
    children = list(cluster.children.items())
    if latest_first:
        children.reverse()
    for name, child in children:
        title = name
        while not child.items and len(child.children) == 1:
            ((sub_name, sub),) = child.children.items()
            title, child = f"{title}.{sub_name}", sub
        full = f"{label}.{title}" if label else title
        with g.subgraph(name=f"cluster_{child.path}") as c:
            c.attr(
                label=html_label(f"<b>{esc(full if depth == 0 else title)}</b>"),
                labeljust="l",
                style="rounded,filled",
                fillcolor=theme.cluster_fill if depth % 2 == 0 else theme.background,
                color=theme.cluster_line,
                fontcolor=theme.faint,
                fontsize="12",
                margin="10",
            )
            for item in child.items:
                draw_item(c, item)
            draw_clusters(c, child, draw_item, theme, full, depth + 1)
    if depth == 0:
        for item in cluster.items:
            draw_item(g, item)
