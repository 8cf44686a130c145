"""The scalar-level picture: a selection as a `graphviz.Digraph`, a cluster per scope.

Pure Python: `build_digraph` needs no Graphviz binary (`render` runs `dot`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import graphviz

from engine.export.clusters import cluster_tree, draw_clusters
from engine.export.overview import Overview
from engine.export.selection import Selection, Subgraph, select
from engine.export.style import FONT, Styler, Theme, box_id, esc, html_label, theme_style
from engine.export.vector_digraph import build_vector_digraph
from engine.export.vector_view import vector_view

if TYPE_CHECKING:
    from engine.session import DebugSession


def new_digraph(theme: Theme, title: str | None, name: str) -> graphviz.Digraph:
    g = graphviz.Digraph(name=name)
    g.attr(
        rankdir="LR",
        bgcolor=theme.background,
        fontname=FONT,
        fontcolor=theme.text,
        nodesep="0.12",
        ranksep="0.3",
        newrank="true",
        pad="0.2",
        outputorder="edgesfirst",
    )
    if title:
        g.attr(label=html_label(f'<font point-size="20">{esc(title)}</font>'), labelloc="t")
    g.attr("node", fontname=FONT, fontsize="11", fontcolor=theme.text, margin="0.08,0.03")
    g.attr("edge", color=theme.edge, arrowsize="0.5", penwidth="0.8")
    return g


def build_digraph(
    session: DebugSession,
    selection: Selection,
    highlight: int | None = None,
    theme: str = "light",
    title: str | None = None,
    *,
    selected: Subgraph | Overview | None = None,
) -> graphviz.Digraph:
    """The selection as a `graphviz.Digraph`, left to right, a cluster per scope.

    At vector level (a scope or the overview), the vectors and the ops between
    them instead (`engine.export.vector_digraph`, with estimated box sizes).
    At scalar level, nodes show their label (or op), value and grad to 4 significant digits;
    parameters are yellow boxes, operations blue rounded boxes, constants small
    grey ovals; inputs from outside the selection are dashed stubs. `highlight`
    (a node id) is drawn in red; in the overview, the box that holds it.
    """
    style = theme_style(theme)
    if selection.vector and selection.kind != "node":
        view = vector_view(session, selection)
        op = view.graph.op_of(session.node(highlight)) if highlight is not None else None
        current = view.op_node_of(op)
        return build_vector_digraph(view, style, title, selection.file_stem(), current=current)
    if selected is None:
        selected = select(session, selection)
    g = new_digraph(style, title, selection.file_stem())
    styler = Styler(style, highlight)
    if isinstance(selected, Overview):
        draw_overview(g, selected, styler)
    else:
        draw_subgraph(g, selected, styler)
    return g


def draw_subgraph(g: graphviz.Digraph, selected: Subgraph, styler: Styler) -> None:
    inside = {n.id for n in selected.nodes}
    # A stub sits in the cluster of its first consumer, next to it; its dashed
    # outline (not its place) says that it comes from outside the selection.
    stub_scope: dict[int, str] = {}
    for node in selected.nodes:
        for child in node._children:
            if child.id not in inside:
                stub_scope.setdefault(child.id, node.scope)
    items = [(n.scope, (styler.node, n)) for n in selected.nodes]
    items += [(stub_scope[n.id], (styler.stub, n)) for n in selected.stubs]
    draw_clusters(g, cluster_tree(items), lambda c, item: item[0](c, item[1]), styler.t)
    for node in selected.nodes:
        for child in node._children:
            if child.id in inside:
                g.edge(f"n{child.id}", f"n{node.id}")
            else:
                g.edge(f"s{child.id}", f"n{node.id}", style="dashed")


def draw_overview(g: graphviz.Digraph, selected: Overview, styler: Styler) -> None:
    lit = styler.highlight
    lit_box = selected.box_of[lit] if lit is not None and 0 <= lit < len(selected.box_of) else None
    tree = cluster_tree([(b.cluster, b) for b in selected.boxes.values()])
    draw = lambda c, b: styler.box(c, b, b.key == lit_box)
    draw_clusters(g, tree, draw, styler.t, latest_first=True)
    for (src, dst), count in selected.edges.items():
        g.edge(
            box_id(src),
            box_id(dst),
            label=f"{count:,}",
            fontsize="10",
            fontname=FONT,
            fontcolor=styler.t.faint,
            penwidth=f"{min(0.8 + count / 100, 3.0):.2f}",  # thicker for more values
        )
