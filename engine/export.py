"""Export part of a captured graph with Graphviz: DOT source, or SVG / PNG / PDF through `dot`.

Three selections: the nodes of a scope (`pos3.layer0.attn.head1`), a node and its
inputs (or consumers) a few levels away, or an overview where each scope is one
box with its node count and the edges between boxes count the values that flow.
Inputs from outside a selection are drawn as small dashed stubs, never dropped.

`build_digraph` makes a `graphviz.Digraph` (pure Python, no binary needed);
`export` writes it: DOT directly, images by running Graphviz's `dot` program
under a timeout (`graphviz.render` has none). An existing file is replaced
atomically: `dot` writes a temporary file next to it, which is then renamed.
Every failure is an `InputError` with a one-line message.
"""

from __future__ import annotations

import difflib
import html
import os
import shutil
import subprocess
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import graphviz

from engine.errors import InputError
from engine.fs import check_writable, write_atomically
from engine.graph import (
    ScopeNode,
    id_bound,
    neighbourhood,
    nodes_in_scope,
    scope_position,
    scope_tree,
)
from engine.value import Value

if TYPE_CHECKING:
    from engine.session import DebugSession

FORMATS = ("svg", "png", "pdf", "dot")
THEMES = ("light", "dark")
DEFAULT_MAX_NODES = 1000  # dot takes ~1 s at 1,000 nodes and ~30 s at 3,000
DEFAULT_TIMEOUT = 60.0  # seconds for one run of `dot`
DEFAULT_DPI = 144  # PNG: twice the 72 dpi of the layout, sharp on a projector

INSTALL_HINT = (
    "install Graphviz (apt-get install graphviz, brew install graphviz, "
    "or https://graphviz.org/download/), or export to .dot"
)

# How each op is drawn in a node's title (microgpt's ops; `neg sub div` are built from them).
OP_SYMBOLS = {"+": "+", "*": "×", "**": "pow", "log": "log", "exp": "exp", "relu": "relu"}


# -- selections ----------------------------------------------------------------------


@dataclass(frozen=True)
class Selection:
    """What to export: a scope, a node and its surroundings, or the overview of scopes."""

    kind: Literal["scope", "node", "overview"]
    scope: str = ""  # kind "scope": this scope and every scope inside it ("" is everything)
    node_id: int | None = None  # kind "node": the node in the middle
    depth: int = 2  # kind "node": how many levels of inputs (or consumers)
    consumers: bool = False  # kind "node": follow consumers instead of inputs
    overview_depth: int | None = None  # kind "overview": collapse scopes below this level

    @classmethod
    def of_scope(cls, path: str) -> Selection:
        return cls("scope", scope=path)

    @classmethod
    def of_node(cls, node_id: int, depth: int = 2, *, consumers: bool = False) -> Selection:
        return cls("node", node_id=node_id, depth=depth, consumers=consumers)

    @classmethod
    def overview(cls, depth: int | None = None) -> Selection:
        return cls("overview", overview_depth=depth)

    def describe(self) -> str:
        """A phrase for messages: `scope pos3.layer0.attn`, `node #12 and 2 levels of inputs`."""
        if self.kind == "scope":
            return f"scope {self.scope}" if self.scope else "the whole graph"
        if self.kind == "node":
            way = "consumers" if self.consumers else "inputs"
            return f"node #{self.node_id} and {self.depth} levels of {way}"
        return "the overview"

    def file_stem(self) -> str:
        """A file name for this selection, without extension: `pos3.layer0.attn.head1`, `node12`."""
        if self.kind == "scope":
            return self.scope or "graph"
        if self.kind == "node":
            return f"node{self.node_id}" + ("-consumers" if self.consumers else "")
        return "overview"


@dataclass
class Subgraph:
    """The nodes of a scope or node selection, and the outside inputs drawn as stubs."""

    nodes: list[Value]  # in creation order
    stubs: list[Value]  # inputs of `nodes` from outside the selection, in creation order

    @property
    def drawn(self) -> int:
        return len(self.nodes) + len(self.stubs)


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


def scope_paths(session: DebugSession) -> list[str]:
    """Every scope path in the session's graph (parents included), in creation order."""
    paths: list[str] = []

    def walk(node) -> None:
        for child in node.children.values():
            paths.append(child.path)
            walk(child)

    walk(session.scopes)
    return paths


def unknown_scope_message(session: DebugSession, path: str) -> str:
    """`no scope 'x' in this graph`, with the closest scope names to try instead."""
    paths = scope_paths(session)
    close = difflib.get_close_matches(path, paths, n=3, cutoff=0.6)
    if close:
        hint = "did you mean " + " or ".join(filter(None, [", ".join(close[:-1]), close[-1]])) + "?"
    else:
        tops = [c.path for c in session.scopes.children.values()]
        shown = ", ".join(tops[:8]) + (", ..." if len(tops) > 8 else "")
        hint = f"scopes start with {shown}"
    return f"no scope {path!r} in this graph; {hint}"


def select(session: DebugSession, selection: Selection) -> Subgraph | Overview:
    """The nodes a selection stands for (an `Overview` for the overview)."""
    if selection.kind == "overview":
        return overview(session.nodes, selection.overview_depth)
    if selection.kind == "scope":
        if session.find_scope(selection.scope) is None:
            raise InputError(unknown_scope_message(session, selection.scope))
        nodes = nodes_in_scope(session.nodes, selection.scope)
    elif selection.kind == "node":
        if selection.node_id is None:
            raise InputError("a node selection needs a node id")
        if selection.depth < 0:
            raise InputError(f"depth must be 0 or more, got {selection.depth}")
        root = session.node(selection.node_id)
        if selection.consumers:
            nodes = neighbourhood(root, selection.depth, session.consumers, session.node)
        else:
            nodes = neighbourhood(root, selection.depth)
    else:
        raise InputError(f"unknown selection kind {selection.kind!r}")
    return Subgraph(nodes, outside_inputs(nodes))


def outside_inputs(nodes: list[Value]) -> list[Value]:
    """The inputs of `nodes` that are not among them, each once, in creation order."""
    inside = {n.id for n in nodes}
    outside: dict[int, Value] = {}
    for node in nodes:
        for child in node._children:
            if child.id not in inside:
                outside[child.id] = child
    return [outside[i] for i in sorted(outside)]


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


# -- style ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Theme:
    """Colours for one background."""

    background: str
    text: str
    faint: str  # secondary text: op names, counts, stub labels
    edge: str
    op_fill: str
    op_line: str
    param_fill: str
    param_line: str
    const_fill: str
    grad: str  # the grad line of a node
    cluster_fill: str
    cluster_line: str
    highlight_fill: str
    highlight_line: str


THEME_STYLES = {
    "light": Theme(
        background="white",
        text="#1f2328",
        faint="#6e7781",
        edge="#8c959f",
        op_fill="#ddeaff",
        op_line="#3b6fb6",
        param_fill="#fff1c2",
        param_line="#b07d00",
        const_fill="#eeeeee",
        grad="#b42318",
        cluster_fill="#f6f8fa",
        cluster_line="#afb8c1",
        highlight_fill="#ffd8d3",
        highlight_line="#d1242f",
    ),
    "dark": Theme(
        background="#1b1f24",
        text="#e6edf3",
        faint="#9198a1",
        edge="#6e7681",
        op_fill="#1f3a5f",
        op_line="#6ea8fe",
        param_fill="#4a3b0c",
        param_line="#e3b341",
        const_fill="#30363d",
        grad="#ff9b8a",
        cluster_fill="#22272e",
        cluster_line="#444c56",
        highlight_fill="#5c1d1d",
        highlight_line="#ff6b6b",
    ),
}

FONT = "Helvetica"


def fmt4(x: float) -> str:
    """A number to 4 significant digits (`0.3124`, `-1.235e-05`)."""
    return format(x, ".4g")


def _esc(text: object) -> str:
    return html.escape(str(text), quote=True)


def _html(body: str) -> str:
    """Mark a label as Graphviz's HTML-like label (the `graphviz` package passes <...> as is)."""
    return f"<{body}>"


def _tooltip(node: Value) -> str:
    site = ""
    code = getattr(node, "code", None)
    if code is not None:
        site = f" · {os.path.basename(code.co_filename)}:{node.line}"
    name = f" {node.label}" if node.label else ""
    return (
        f"#{node.id} {node.op}{name} in {node.scope or '(top)'}{site}\n"
        f"value {node.data!r}\ngrad {node.grad!r}"
    )


def stub_text(node: Value) -> str:
    """A stub's one line: its label (or id and op), and the position it was computed at."""
    name = node.label or f"#{node.id} {OP_SYMBOLS.get(node.op, node.op)}"
    pos = scope_position(node.scope)
    return name if pos is None else f"{name} · pos{pos}"


class _Styler:
    """Draws nodes, stubs and boxes in one theme."""

    def __init__(self, theme: Theme, highlight: int | None) -> None:
        self.t = theme
        self.highlight = highlight

    def _grad_line(self, grad: float, size: int) -> str:
        return f'<font point-size="{size}" color="{self.t.grad}">∇ {_esc(fmt4(grad))}</font>'

    def node(self, g: graphviz.Digraph, node: Value) -> None:
        t, lit = self.t, node.id == self.highlight
        attrs: dict[str, str] = {"tooltip": _tooltip(node)}
        if node.op == "const":
            # a constant: only its value matters (the 0 that `sum()` starts from, a scale, ...)
            label = f'<font point-size="10" color="{t.faint}">{_esc(fmt4(node.data))}</font>'
            attrs.update(shape="ellipse", style="filled", fillcolor=t.const_fill, color=t.faint)
            attrs.update(margin="0.02,0.01", height="0.25", width="0.3", penwidth="0.6")
        elif node.op == "param":
            label = (
                f"<b>{_esc(node.label or '#' + str(node.id))}</b><br/>"
                f"{_esc(fmt4(node.data))}<br/>{self._grad_line(node.grad, 10)}"
            )
            attrs.update(shape="box", style="filled", fillcolor=t.param_fill, color=t.param_line)
        else:
            symbol = OP_SYMBOLS.get(node.op, node.op)
            if node.label:
                title = f'<b>{_esc(node.label)}</b> <font color="{t.faint}">{_esc(symbol)}</font>'
            else:
                title = f"<b>{_esc(symbol)}</b>"
            label = f"{title}<br/>{_esc(fmt4(node.data))}<br/>{self._grad_line(node.grad, 10)}"
            attrs.update(shape="box", style="rounded,filled", fillcolor=t.op_fill, color=t.op_line)
        if lit:
            attrs.update(fillcolor=t.highlight_fill, color=t.highlight_line, penwidth="3")
        g.node(f"n{node.id}", _html(label), **attrs)

    def stub(self, g: graphviz.Digraph, node: Value) -> None:
        """An input from outside the selection: small, dashed, its name and its position."""
        t, lit = self.t, node.id == self.highlight
        g.node(
            f"s{node.id}",
            _html(f'<font color="{t.faint}">{_esc(stub_text(node))}</font>'),
            shape="box",
            style="dashed,rounded" + (",filled" if lit else ""),
            color=t.highlight_line if lit else t.faint,
            fillcolor=t.highlight_fill,
            fontsize="10",
            margin="0.05,0.02",
            height="0.22",
            penwidth="3" if lit else "0.8",
            tooltip=_tooltip(node),
        )

    def box(self, g: graphviz.Digraph, box: Box, lit: bool) -> None:
        t = self.t
        unit = "params" if box.kind == "params" else "nodes"
        label = (
            f'<b>{_esc(box.title)}</b><br/><font point-size="10" color="{t.faint}">'
            f"{box.count:,} {unit}</font>"
        )
        params = box.kind == "params"
        fill, line = (t.param_fill, t.param_line) if params else (t.op_fill, t.op_line)
        g.node(
            _box_id(box.key),
            _html(label),
            shape="box",
            style="filled" if box.kind == "params" else "rounded,filled",
            fillcolor=t.highlight_fill if lit else fill,
            color=t.highlight_line if lit else line,
            penwidth="3" if lit else "1",
            tooltip=f"{box.key}: {box.count:,} {unit}",
        )


def _box_id(key: str) -> str:
    return f"box_{key}"  # no colon: in an edge, `a:b` would mean node a, port b


# -- clusters ------------------------------------------------------------------------


@dataclass
class _Cluster:
    """A scope drawn as a cluster: what is drawn directly in it, and the scopes inside it."""

    path: str
    items: list = field(default_factory=list)
    children: dict[str, _Cluster] = field(default_factory=dict)


def _cluster_tree(paths_items: list[tuple[str, object]]) -> _Cluster:
    """A tree of clusters holding each item in the cluster of its scope path."""
    root = _Cluster("")
    for path, item in paths_items:
        node = root
        if path:
            parts = path.split(".")
            for i in range(len(parts)):
                sub = ".".join(parts[: i + 1])
                node = node.children.setdefault(parts[i], _Cluster(sub))
        node.items.append(item)
    return root


def _draw_clusters(
    g: graphviz.Digraph,
    cluster: _Cluster,
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
                label=_html(f"<b>{_esc(full if depth == 0 else title)}</b>"),
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
            _draw_clusters(c, child, draw_item, theme, full, depth + 1)
    if depth == 0:
        for item in cluster.items:
            draw_item(g, item)


# -- the digraph ---------------------------------------------------------------------


def _new_digraph(theme: Theme, title: str | None, name: str) -> graphviz.Digraph:
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
        g.attr(label=_html(f'<font point-size="20">{_esc(title)}</font>'), labelloc="t")
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

    Nodes show their label (or op), value and grad to 4 significant digits;
    parameters are yellow boxes, operations blue rounded boxes, constants small
    grey ovals; inputs from outside the selection are dashed stubs. `highlight`
    (a node id) is drawn in red; in the overview, the box that holds it.
    """
    style = THEME_STYLES.get(theme)
    if style is None:
        raise InputError(f"unknown theme {theme!r}: use {' or '.join(THEMES)}")
    if selected is None:
        selected = select(session, selection)
    g = _new_digraph(style, title, selection.file_stem())
    styler = _Styler(style, highlight)
    if isinstance(selected, Overview):
        _draw_overview(g, selected, styler)
    else:
        _draw_subgraph(g, selected, styler)
    return g


def _draw_subgraph(g: graphviz.Digraph, selected: Subgraph, styler: _Styler) -> None:
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
    _draw_clusters(g, _cluster_tree(items), lambda c, item: item[0](c, item[1]), styler.t)
    for node in selected.nodes:
        for child in node._children:
            if child.id in inside:
                g.edge(f"n{child.id}", f"n{node.id}")
            else:
                g.edge(f"s{child.id}", f"n{node.id}", style="dashed")


def _draw_overview(g: graphviz.Digraph, selected: Overview, styler: _Styler) -> None:
    lit = styler.highlight
    lit_box = selected.box_of[lit] if lit is not None and 0 <= lit < len(selected.box_of) else None
    tree = _cluster_tree([(b.cluster, b) for b in selected.boxes.values()])
    draw = lambda c, b: styler.box(c, b, b.key == lit_box)
    _draw_clusters(g, tree, draw, styler.t, latest_first=True)
    for (src, dst), count in selected.edges.items():
        g.edge(
            _box_id(src),
            _box_id(dst),
            label=f"{count:,}",
            fontsize="10",
            fontname=FONT,
            fontcolor=styler.t.faint,
            penwidth=f"{min(0.8 + count / 100, 3.0):.2f}",  # thicker for more values
        )


# -- writing -------------------------------------------------------------------------


@dataclass
class Exported:
    """What `export` wrote."""

    path: Path
    format: str
    nodes: int  # graph nodes selected (the overview: every node, summarised)
    drawn: int  # shapes drawn: nodes and stubs, or the overview's boxes
    stubs: int = 0  # outside inputs drawn as stubs
    overview: bool = False
    seconds: float = 0.0

    def summary(self) -> str:
        """`105 nodes, 36 outside inputs as stubs` or `15,143 nodes in 25 scope boxes`."""
        if self.overview:
            return f"{_count(self.nodes, 'node')} in {_count(self.drawn, 'scope box')}"
        extra = f", {_count(self.stubs, 'outside input')} as stubs" if self.stubs else ""
        return f"{_count(self.nodes, 'node')}{extra}"


def _count(n: int, noun: str) -> str:
    """`1 node`, `2 nodes`, `25 scope boxes`."""
    if n == 1:
        return f"1 {noun}"
    return f"{n:,} {noun}{'es' if noun.endswith(('x', 's')) else 's'}"


def resolve_format(path: str | os.PathLike[str], fmt: str | None = None) -> str:
    """The output format: `fmt` if given, else the file's extension."""
    if fmt is not None:
        fmt = fmt.lower().lstrip(".")
        if fmt not in FORMATS:
            raise InputError(f"unknown format {fmt!r}: use one of {', '.join(FORMATS)}")
        return fmt
    ext = Path(path).suffix.lower().lstrip(".")
    if ext not in FORMATS:
        what = f"extension .{ext}" if ext else "no extension"
        raise InputError(
            f"cannot tell the format of {str(path)!r} ({what}): name it .svg, .png, .pdf "
            "or .dot, or give --format"
        )
    return ext


def dot_binary() -> str:
    """The path of Graphviz's `dot`, or an InputError saying how to install it."""
    found = shutil.which("dot")
    if found is None:
        raise InputError(f"Graphviz's `dot` program is not on PATH; {INSTALL_HINT}")
    return found


def render_source(
    source: str,
    path: str | os.PathLike[str],
    fmt: str,
    *,
    dpi: int | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    what: str = "the graph",
) -> Path:
    """Write DOT `source` to `path` as `fmt`, running `dot` under `timeout` seconds for images."""
    if fmt not in FORMATS:
        raise InputError(f"unknown format {fmt!r}: use one of {', '.join(FORMATS)}")
    check_writable(path)
    if fmt == "dot":

        def fill(tmp: Path) -> None:
            tmp.write_text(source, encoding="utf-8")

        return write_atomically(path, fill)

    binary = dot_binary()
    command = [binary, f"-T{fmt}"]
    if fmt == "png":
        command.append(f"-Gdpi={dpi or DEFAULT_DPI}")

    def fill(tmp: Path) -> None:
        try:
            done = subprocess.run(
                [*command, "-o", str(tmp)],
                input=source.encode("utf-8"),
                capture_output=True,
                timeout=timeout,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise InputError(
                f"Graphviz's dot timed out: stopped after {timeout:g} s rendering {what}; "
                "try a narrower selection, the overview, or a longer --timeout"
            ) from None
        except OSError as e:
            raise InputError(f"cannot run {binary}: {e.strerror or e}") from None
        if done.returncode != 0:
            lines = done.stderr.decode("utf-8", "replace").strip().splitlines()
            reason = lines[0] if lines else f"exit status {done.returncode}"
            raise InputError(f"Graphviz's dot failed to render {what}: {reason}")
        if tmp.stat().st_size == 0:
            raise InputError(f"Graphviz's dot wrote nothing for {what}")

    return write_atomically(path, fill)


def too_many_message(
    session: DebugSession, selection: Selection, selected: Subgraph | Overview, max_nodes: int
) -> str:
    """Why a selection is refused, and three ways out: the overview, a narrower one, the limit."""
    if isinstance(selected, Subgraph) and selected.stubs:
        inside, outside = len(selected.nodes), len(selected.stubs)
        size = f"{selected.drawn:,} nodes ({inside:,} + {outside:,} outside inputs)"
    else:
        size = f"{selected.drawn:,} nodes"
    narrower = "a smaller --depth"
    if selection.kind == "scope":
        tree = session.find_scope(selection.scope)
        fits = [c for c in tree.children.values() if c.total <= max_nodes] if tree else []
        narrower = "a narrower scope"
        if fits:
            example = max(fits, key=lambda c: c.total)  # the first of the largest that fit
            narrower += f" (e.g. {example.path})"
    return (
        f"{selection.describe()} has {size}, more than the limit of {max_nodes:,} "
        f"(dot slows steeply with size); try --overview, {narrower} "
        f"or --max-nodes {selected.drawn}"
    )


def export(
    session: DebugSession,
    selection: Selection,
    path: str | os.PathLike[str],
    fmt: str | None = None,
    *,
    dpi: int | None = None,
    max_nodes: int = DEFAULT_MAX_NODES,
    timeout: float = DEFAULT_TIMEOUT,
    highlight: int | None = None,
    theme: str = "light",
    title: str | None = None,
) -> Exported:
    """Write a selection of the session's graph to `path` as SVG, PNG, PDF or DOT.

    The format comes from `fmt` or the extension. Selections that would draw
    more than `max_nodes` nodes are refused; `dot` runs under `timeout` seconds.
    Any failure is an InputError with a one-line message, and leaves an
    existing file at `path` as it was.
    """
    start = time.perf_counter()
    path = Path(path)
    fmt = resolve_format(path, fmt)
    check_writable(path)
    if fmt != "dot":
        dot_binary()  # before the work: say how to install Graphviz, or that DOT works
    sel = select(session, selection)
    if sel.drawn > max_nodes:
        raise InputError(too_many_message(session, selection, sel, max_nodes))
    g = build_digraph(session, selection, highlight, theme, title, selected=sel)
    render_source(g.source, path, fmt, dpi=dpi, timeout=timeout, what=selection.describe())
    seconds = time.perf_counter() - start
    if isinstance(sel, Overview):
        return Exported(path, fmt, sel.total, sel.drawn, overview=True, seconds=seconds)
    return Exported(path, fmt, len(sel.nodes), sel.drawn, len(sel.stubs), seconds=seconds)
