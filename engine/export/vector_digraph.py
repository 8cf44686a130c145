"""The vector-level picture as a `graphviz.Digraph`: boxes and ops in reading order, in rows.

Each op comes after what it reads and before what it makes, so the items read
left to right; the line of items is broken into rows, top to bottom like text,
so the picture comes out about 1.65 times as wide as it is tall (a slide's
shape) instead of one long strip. The rows are placed here, not by `dot`: each
item gets a pinned position (the graph is laid out by Graphviz's `neato`, which
only routes the edges), so rows start at the left edge and keep their order.
The items' sizes are measured by `dot` itself when a measure is given
(`engine.export.render.node_sizes`), else estimated from the cell counts.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import graphviz

from engine.export.style import FONT, Theme, esc, html_label
from engine.export.vector_style import NUMBERS_UP_TO, BoxPainter, Scale, cell_size
from engine.export.vector_view import OpNode, VectorBox, VectorView
from engine.value import Value

ASPECT = 1.65  # the width : height aimed at (slides are 16:9, with room for a title)
GAP, ROW_GAP = 30.0, 48.0  # points between items in a row, and between rows
TITLE_HEIGHT = 50.0  # points the title takes above the rows

Sizes = dict[str, tuple[float, float]]  # node name -> (width, height) in points


@dataclass
class _Node:
    """One node to draw: its name, label and attributes."""

    name: str
    label: str
    attrs: dict[str, str]


@dataclass
class Frame:
    """What stays fixed across pictures of one view (frames of an animation): sizes, scales."""

    sizes: Sizes
    values: Scale
    grads: Scale


def frame_of(
    view: VectorView, theme: Theme, measure: Callable[[str], Sizes] | None = None
) -> Frame:
    """The view's colour scales (from its values and grads now) and its nodes' sizes.

    `measure(dot_source)` gives each node's real size (`dot` measures it); None:
    estimates from the cell counts.
    """
    members = [m for box in view.boxes.values() for m in box.members]
    values = Scale.over((m.data for m in members), theme)
    grads = Scale.over((m.grad for m in members), theme)
    if measure is None:
        return Frame(_estimates(view), values, grads)
    nodes = _nodes(view, BoxPainter(theme, values, grads), theme, None)
    return Frame(measure(_nodes_only(nodes, theme).source), values, grads)


def build_vector_digraph(
    view: VectorView,
    theme: Theme,
    title: str | None,
    name: str,
    *,
    frame: Frame | None = None,
    current: OpNode | None = None,
    pending: Callable[[Value], bool] = lambda node: False,
) -> graphviz.Digraph:
    """Draw `view`: boxes of cells, op nodes between them, a legend; `current` highlighted.

    `frame` fixes the sizes and colour scales (default: `frame_of(view, theme)`,
    estimated sizes); `pending(node)` says a grad has not started to arrive.
    """
    frame = frame or frame_of(view, theme)
    painter = BoxPainter(theme, frame.values, frame.grads, pending)
    nodes = _nodes(view, painter, theme, current)
    order = [n.name for n in nodes if n.name != "legend"]
    rows = _break_rows(order, frame.sizes, title is not None)
    positions = _place([*rows, ["legend"]], frame.sizes)
    g = _new_digraph(theme, title, name)
    for node in nodes:
        x, y = positions[node.name]
        g.node(node.name, node.label, pos=f"{x:.1f},{y:.1f}!", **node.attrs)
    for op in view.ops:
        for key in op.inputs:
            g.edge(key, op.key)
        g.edge(op.key, op.output, penwidth="2.5" if op is current else "1.3")
    return g


def _nodes(view: VectorView, painter: BoxPainter, t: Theme, current: OpNode | None) -> list[_Node]:
    """Every box and op once, in reading order (each op after what it reads), then the legend."""
    nodes: dict[str, _Node] = {}
    for op in view.ops:
        for key in [*op.inputs, op.key, op.output]:
            if key in nodes:
                continue
            box = view.boxes.get(key)
            if box is not None:
                nodes[key] = _box_node(box, painter, t, current)
            else:
                nodes[key] = _op_node(op, t, op is current)
    outside = any(box.outside for box in view.boxes.values())
    nodes["legend"] = _Node("legend", painter.legend(outside), {"shape": "plaintext"})
    return list(nodes.values())


def _nodes_only(nodes: list[_Node], theme: Theme) -> graphviz.Digraph:
    """The nodes alone, for `dot` to measure."""
    g = _new_digraph(theme, None, "measure")
    for node in nodes:
        g.node(node.name, node.label, **node.attrs)
    return g


def _new_digraph(theme: Theme, title: str | None, name: str) -> graphviz.Digraph:
    g = graphviz.Digraph(name=name)
    g.attr(
        layout="neato",  # every node is pinned: neato only routes the edges
        inputscale="72",
        splines="true",
        bgcolor=theme.background,
        fontname=FONT,
        fontcolor=theme.text,
        pad="0.3",
    )
    if title:
        g.attr(label=html_label(f'<font point-size="30">{esc(title)}</font>'), labelloc="t")
    g.attr("node", fontname=FONT, fontcolor=theme.text, margin="0.12,0.08")
    g.attr("edge", color=theme.edge, arrowsize="0.9", penwidth="1.3")
    return g


def _box_node(box: VectorBox, painter: BoxPainter, t: Theme, current: OpNode | None) -> _Node:
    made_now = current is not None and current.output == box.key
    fill, line = (t.param_fill, t.param_line) if box.param else (t.op_fill, t.op_line)
    attrs = {
        "shape": "box",
        "style": "rounded,filled" + (",dashed" if box.outside else ""),
        "fillcolor": fill,
        "color": t.highlight_line if made_now else line,
        "penwidth": "3.5" if made_now else "1.3",
        "tooltip": f"{box.title} in {box.where}",
    }
    return _Node(box.key, painter.label(box), attrs)


def _op_node(op: OpNode, t: Theme, lit: bool) -> _Node:
    attrs = {
        "shape": "ellipse",
        "style": "filled",
        "fillcolor": t.highlight_fill if lit else t.cluster_fill,
        "color": t.highlight_line if lit else t.cluster_line,
        "penwidth": "3.5" if lit else "1",
        "tooltip": f"{op.name} in {op.ops[-1].scope}",
    }
    lines = "<br/>".join(esc(line) for line in op.name.split("\n"))
    return _Node(op.key, html_label(f'<font point-size="24"><b>{lines}</b></font>'), attrs)


def _estimates(view: VectorView) -> Sizes:
    """Rough sizes in points, from cell counts and title lengths (when `dot` cannot measure)."""
    sizes = {key: _box_size(box) for key, box in view.boxes.items()}
    for op in view.ops:
        lines = op.name.split("\n")
        sizes[op.key] = (max(map(len, lines)) * 12 + 40, 30 * len(lines) + 16)
    sizes["legend"] = (420, 90)
    return sizes


def _box_size(box: VectorBox) -> tuple[float, float]:
    title = len(box.title) * 14 + (len(box.note) + 8) * 11
    numbers = box.width <= NUMBERS_UP_TO and not box.param
    width, height = cell_size(box.width, len(box.rows), numbers)
    if len(box.rows) == 1:
        cells_w, cells_h = box.width * (width + 1) + 70, 2 * (height + 2)
    else:
        names = 50 if box.row_names else 0
        cells_w = 2 * (box.width * (width + 1) + names) + 10
        cells_h = len(box.rows) * (height + 1) + 24
    return max(title, cells_w) + 20, cells_h + 44


def _break_rows(order: list[str], sizes: Sizes, titled: bool) -> list[list[str]]:
    """Break the line of items into rows so that the whole is about ASPECT times as wide as tall."""
    legend_w, legend_h = sizes["legend"]
    best, best_error = [order], float("inf")
    widest = max(sizes[k][0] for k in order)
    total = sum(sizes[k][0] for k in order) + GAP * len(order)
    for k in range(1, 61):
        rows = _greedy(order, sizes, max(widest, total * k / 60))
        width = max(legend_w, *(_row_width(row, sizes) for row in rows))
        height = sum(_row_height(row, sizes) + ROW_GAP for row in rows) + legend_h
        height += TITLE_HEIGHT if titled else 0
        error = abs(width / height - ASPECT)
        if error < best_error:
            best, best_error = rows, error
    return best


def _row_width(row: list[str], sizes: Sizes) -> float:
    return sum(sizes[k][0] for k in row) + GAP * (len(row) - 1)


def _row_height(row: list[str], sizes: Sizes) -> float:
    return max(sizes[k][1] for k in row)


def _greedy(order: list[str], sizes: Sizes, limit: float) -> list[list[str]]:
    rows: list[list[str]] = [[]]
    for key in order:
        if rows[-1] and _row_width([*rows[-1], key], sizes) > limit:
            rows.append([])
        rows[-1].append(key)
    return rows


def _place(rows: list[list[str]], sizes: Sizes) -> dict[str, tuple[float, float]]:
    """The centre of each item: rows from the top, each from the left edge, centred in height."""
    positions: dict[str, tuple[float, float]] = {}
    top = 0.0
    for row in rows:
        height = _row_height(row, sizes)
        x = 0.0
        for key in row:
            width = sizes[key][0]
            positions[key] = (x + width / 2, -(top + height / 2))
            x += width + GAP
        top += height + ROW_GAP
    return positions
