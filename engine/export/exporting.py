"""`export`: a selection of a session's graph, checked, drawn and written; what was written."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from engine.export.digraph import build_digraph
from engine.export.errors import TooManyNodes
from engine.export.overview import Overview
from engine.export.render import DEFAULT_TIMEOUT, dot_binary, render_source, resolve_format
from engine.export.selection import Selection, Subgraph, narrower_scope, select
from engine.fs import check_writable

if TYPE_CHECKING:
    from engine.session import DebugSession

DEFAULT_MAX_NODES = 1000  # dot takes ~1 s at 1,000 nodes and ~30 s at 3,000


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
            return f"{count(self.nodes, 'node')} in {count(self.drawn, 'scope box')}"
        extra = f", {count(self.stubs, 'outside input')} as stubs" if self.stubs else ""
        return f"{count(self.nodes, 'node')}{extra}"


def count(n: int, noun: str) -> str:
    """`1 node`, `2 nodes`, `25 scope boxes`."""
    if n == 1:
        return f"1 {noun}"
    return f"{n:,} {noun}{'es' if noun.endswith(('x', 's')) else 's'}"


def too_many(
    session: DebugSession, selection: Selection, selected: Subgraph | Overview, max_nodes: int
) -> TooManyNodes:
    """The refusal of a selection over the limit, with a narrower scope that fits, if any."""
    outside = len(selected.stubs) if isinstance(selected, Subgraph) else 0
    narrower = None
    if selection.kind == "scope":
        narrower = narrower_scope(session, selection.scope, max_nodes)
    return TooManyNodes(
        selection.describe(),
        selected.drawn,
        max_nodes,
        outside=outside,
        narrower=narrower,
        by_depth=selection.kind == "node",
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
    more than `max_nodes` nodes are refused (TooManyNodes); `dot` runs under
    `timeout` seconds. Any failure is an InputError with a one-line message
    (see `engine.export.errors`), and leaves an existing file at `path` as it was.
    """
    start = time.perf_counter()
    path = Path(path)
    fmt = resolve_format(path, fmt)
    check_writable(path)
    if fmt != "dot":
        dot_binary()  # before the work: say how to install Graphviz, or that DOT works
    sel = select(session, selection)
    if sel.drawn > max_nodes:
        raise too_many(session, selection, sel, max_nodes)
    g = build_digraph(session, selection, highlight, theme, title, selected=sel)
    render_source(g.source, path, fmt, dpi=dpi, timeout=timeout, what=selection.describe())
    seconds = time.perf_counter() - start
    if isinstance(sel, Overview):
        return Exported(path, fmt, sel.total, sel.drawn, overview=True, seconds=seconds)
    return Exported(path, fmt, len(sel.nodes), sel.drawn, len(sel.stubs), seconds=seconds)
