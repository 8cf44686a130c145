"""`export`: a selection of a session's graph, checked, drawn and written; what was written."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import TYPE_CHECKING

from engine.export.digraph import build_digraph
from engine.export.errors import TooManyNodes
from engine.export.exported import Exported
from engine.export.overview import Overview
from engine.export.render import DEFAULT_TIMEOUT, dot_binary, render_source, resolve_format
from engine.export.selection import Selection, Subgraph, narrower_scope, select
from engine.export.vector_export import export_vector
from engine.fs import check_writable

if TYPE_CHECKING:
    from engine.session import DebugSession

DEFAULT_MAX_NODES = 1000  # dot takes ~1 s at 1,000 nodes and ~30 s at 3,000


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

    At vector level (`selection.level`), a scope or the overview is drawn as
    vectors and ops (`engine.export.vector_export`). The format comes from
    `fmt` or the extension. Selections that would draw more than `max_nodes`
    nodes are refused (TooManyNodes); `dot` runs under `timeout` seconds. Any
    failure is an InputError with a one-line message (see
    `engine.export.errors`), and leaves an existing file at `path` as it was.
    """
    start = time.perf_counter()
    path = Path(path)
    fmt = resolve_format(path, fmt)
    check_writable(path)
    if selection.vector and selection.kind != "node":
        return export_vector(
            session,
            selection,
            path,
            fmt,
            dpi=dpi,
            max_nodes=max_nodes,
            timeout=timeout,
            highlight=highlight,
            theme=theme,
            title=title,
        )
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
