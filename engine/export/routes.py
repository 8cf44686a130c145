"""A slide of the routes that carry most of a node's gradient: `export --paths-to NODE --top K`.

The top-k paths from the loss to the node (`engine.explain.routes`), runs of sums
condensed, drawn bottom to top from the node to the loss: each node with its
value and final grad, each edge with its local gradient (∂) and the routes that
take it (①②③, in the route's colour), the node itself highlighted, and above it
all a legend with each route's product and its share of the grad. The themes,
the number format, the labels and the rendering are the other exports' own.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import graphviz

from engine.explain.routes import DrawnEdge, Routes, condensed
from engine.export.exported import Exported
from engine.export.render import DEFAULT_TIMEOUT, dot_binary, render_source, resolve_format
from engine.export.style import FONT, OP_SYMBOLS, Theme, esc, fmt4, html_label, theme_style
from engine.fs import check_writable
from engine.value import Value

RANKS = "①②③④⑤⑥⑦⑧⑨"
ROUTE_COLOURS = ("#d1242f", "#bc4c00", "#0969da", "#8250df", "#1a7f37")


def rank_text(ranks: tuple[int, ...]) -> str:
    return "".join(RANKS[r - 1] if r <= len(RANKS) else f"({r})" for r in ranks)


def route_digraph(
    found: Routes, grads: list[float], theme: str = "light", title: str | None = None
) -> graphviz.Digraph:
    """The condensed routes as a `graphviz.Digraph` (`grads`: final grads by node id)."""
    t = theme_style(theme)
    nodes, edges = condensed(found)
    name = found.target.label or f"#{found.target.id}"
    g = graphviz.Digraph(name=f"paths-to-{name}")
    g.attr(rankdir="BT", bgcolor=t.background, fontname=FONT, fontcolor=t.text, pad="0.3")
    g.attr(nodesep="0.25", ranksep="0.45", labelloc="t", label=_legend(found, t, name, title))
    g.attr("node", fontname=FONT, fontsize="14", fontcolor=t.text, margin="0.1,0.05")
    g.attr("edge", fontname=FONT, fontsize="13", arrowsize="0.7")
    for node in nodes:
        _node(g, node, grads[node.id], t, lit=node is found.target)
    for edge in edges:
        _edge(g, edge, t)
    return g


def _legend(found: Routes, t: Theme, name: str, title: str | None) -> str:
    many = f"{found.count:,}" if found.count < 10**15 else f"{found.count:.3e}"
    head = title or f"The {len(found.paths)} routes carrying most of {name}'s gradient"
    rows = [
        f'<font point-size="22"><b>{esc(head)}</b></font>',
        f'<font point-size="15" color="{t.faint}">∇ {esc(fmt4(found.grad))}, the sum over '
        f"all {esc(many)} paths from the loss; each route carries the product of the "
        "local gradients ∂ along it</font>",
    ]
    for rank, path in enumerate(found.paths, 1):
        colour = ROUTE_COLOURS[(rank - 1) % len(ROUTE_COLOURS)]
        share = f" ({path.product / found.grad:.3g}× the grad)" if found.grad else ""
        rows.append(
            f'<font point-size="16" color="{colour}">{rank_text((rank,))} '
            f"{esc(fmt4(path.product))}{esc(share)}, {len(path.steps)} nodes</font>"
        )
    return html_label("<br/>".join(rows) + "<br/> ")


def _node(g: graphviz.Digraph, node: Value, grad: float, t: Theme, *, lit: bool) -> None:
    grad_line = f'<font point-size="12" color="{t.grad}">∇ {esc(fmt4(grad))}</font>'
    if node.op == "param":
        title = f"<b>{esc(node.label or '#' + str(node.id))}</b>"
        attrs = {
            "shape": "box",
            "style": "filled",
            "fillcolor": t.param_fill,
            "color": t.param_line,
        }
    else:
        symbol = OP_SYMBOLS.get(node.op, node.op)
        title = f"<b>{esc(node.label)}</b> {esc(symbol)}" if node.label else f"<b>{symbol}</b>"
        attrs = {"shape": "box", "style": "rounded,filled", "fillcolor": t.op_fill}
        attrs["color"] = t.op_line
    if lit:
        attrs.update(fillcolor=t.highlight_fill, color=t.highlight_line, penwidth="3")
    place = f'<font point-size="11" color="{t.faint}">#{node.id} {esc(node.scope)}</font>'
    label = html_label(f"{title}<br/>{esc(fmt4(node.data))}<br/>{grad_line}<br/>{place}")
    g.node(f"n{node.id}", label, tooltip=f"#{node.id} {node.op} {node.scope}", **attrs)


def _edge(g: graphviz.Digraph, edge: DrawnEdge, t: Theme) -> None:
    colour = ROUTE_COLOURS[(edge.ranks[0] - 1) % len(ROUTE_COLOURS)]
    label = f'<font color="{colour}">{rank_text(edge.ranks)}</font> ∂ {esc(fmt4(edge.local_grad))}'
    if edge.sums:  # (an empty <font> is a syntax error to dot)
        plural = "s" * (edge.sums != 1)
        label += f'<br/><font point-size="11" color="{t.faint}">via {edge.sums} sum{plural}</font>'
    label = html_label(label)
    width = f"{1 + len(edge.ranks):.1f}"
    g.edge(f"n{edge.node.id}", f"n{edge.consumer.id}", label=label, color=colour, penwidth=width)


def export_routes(
    found: Routes,
    grads: list[float],
    path: str | os.PathLike[str],
    fmt: str | None = None,
    *,
    dpi: int | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    theme: str = "light",
    title: str | None = None,
) -> Exported:
    """Draw the routes to `path` (SVG, PNG, PDF or DOT); what was written."""
    start = time.perf_counter()
    path = Path(path)
    fmt = resolve_format(path, fmt)
    check_writable(path)
    if fmt != "dot":
        dot_binary()  # say how to install Graphviz before the work
    g = route_digraph(found, grads, theme, title)
    what = f"the top {len(found.paths)} paths to {found.target.label or '#' + str(found.target.id)}"
    render_source(g.source, path, fmt, dpi=dpi, timeout=timeout, what=what)
    drawn = len(condensed(found)[0])
    return Exported(path, fmt, len(found.nodes), drawn, seconds=time.perf_counter() - start)
