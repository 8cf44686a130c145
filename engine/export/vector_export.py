"""Writing vector-level pictures: one of a scope or of the overview, or frames of the backward pass.

The boxes' sizes are measured by `dot` (a quick `-Tplain` run) so the rows can
be laid out exactly; DOT output without Graphviz installed uses estimates.
Frames step the backward pass one vector op at a time through the selection
(`engine.vector.stepping`) and draw the graph after each step, the op just
completed highlighted, the grads that have not started to arrive grey; sizes
and colour scales are fixed across frames so they animate cleanly.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from engine.errors import InputError
from engine.export.errors import TooManyNodes
from engine.export.exported import Exported
from engine.export.render import dot_binary, node_sizes, render_source
from engine.export.selection import Selection
from engine.export.style import theme_style
from engine.export.vector_digraph import build_vector_digraph, frame_of
from engine.export.vector_view import VectorView, token_position, vector_view
from engine.value import Value
from engine.vector.stepping import VectorWalk

if TYPE_CHECKING:
    from engine.session import DebugSession


def export_vector(
    session: DebugSession,
    selection: Selection,
    path: Path,
    fmt: str,
    *,
    dpi: int | None,
    max_nodes: int,
    timeout: float,
    highlight: int | None,
    theme: str,
    title: str | None,
) -> Exported:
    """`export` at vector level: the selection's vectors and ops, values and grads as they are."""
    start = time.perf_counter()
    style = theme_style(theme)
    view = checked_view(session, selection, max_nodes)
    measure = _measurer(fmt, timeout)
    current = None
    if highlight is not None:
        current = view.op_node_of(view.graph.op_of(session.node(highlight)))
    g = build_vector_digraph(
        view,
        style,
        title,
        selection.file_stem(),
        frame=frame_of(view, style, measure),
        current=current,
    )
    render_source(g.source, path, fmt, dpi=dpi, timeout=timeout, what=selection.describe())
    return Exported(
        path,
        fmt,
        view.nodes,
        len(view.boxes),
        overview=selection.kind == "overview",
        seconds=time.perf_counter() - start,
        ops=len(view.ops),
    )


def checked_view(session: DebugSession, selection: Selection, max_nodes: int) -> VectorView:
    """The selection's vector view, refused (TooManyNodes) if it draws more than `max_nodes`."""
    view = vector_view(session, selection)
    if view.drawn > max_nodes:
        raise TooManyNodes(selection.describe() + " at vector level", view.drawn, max_nodes)
    return view


def _measurer(fmt: str, timeout: float) -> Callable[[str], dict] | None:
    """`dot` measures the boxes, unless the output is DOT and Graphviz is not installed."""
    if fmt != "dot":
        dot_binary()  # before the work: say how to install Graphviz, or that DOT works
    elif shutil.which("dot") is None:
        return None
    return lambda source: node_sizes(source, timeout)


def export_frames(
    session: DebugSession,
    selection: Selection,
    directory: str | os.PathLike[str],
    fmt: str = "png",
    *,
    dpi: int | None = None,
    max_nodes: int,
    timeout: float,
    theme: str = "light",
    title: str | None = None,
) -> list[Path]:
    """One picture per vector step of the backward pass through the selection, numbered from 0.

    Frame 0 is the start (every grad still to come but the loss's); frame k is
    after the k-th op inside the selection completed, that op highlighted. The
    session's backward pass is reset to its start first and left at its end.
    Returns the files written.
    """
    if selection.kind == "node":
        raise InputError("frames step vector ops: give a scope or the overview, not a node")
    folder = _frames_folder(directory)
    style = theme_style(theme)
    walk = session.backward
    walk.run_to_end()  # the final grads fix the colour scales and the boxes' sizes
    view = checked_view(session, selection, max_nodes)
    frame = frame_of(view, style, _measurer(fmt, timeout))
    walk.reset()
    focus = selection.scope if selection.kind == "scope" else f"pos{token_position(session)}"
    stepper = VectorWalk(walk, view.graph)
    pending = _pending(session)
    saved_focus, walk.focus = walk.focus, focus
    written: list[Path] = []
    try:
        total = len(view.graph.ops_in(focus))
        for k in range(total + 1):
            if k and (not stepper.step() or stepper.completed_op is None):
                break
            op = stepper.completed_op if k else None
            what = f"step {k} of {total}: {op.name}" if op else f"before step 1 of {total}"
            g = build_vector_digraph(
                view,
                style,
                f"{title} · {what}" if title else f"Backward through {view.what} · {what}",
                f"{selection.file_stem()}-{k:03d}",
                frame=frame,
                current=view.op_node_of(op),
                pending=pending,
            )
            path = folder / f"{selection.file_stem()}-{k:03d}.{fmt}"
            render_source(g.source, path, fmt, dpi=dpi, timeout=timeout, what=f"frame {k}")
            written.append(path)
    finally:
        walk.focus = saved_focus
        walk.run_to_end()
    return written


def _frames_folder(directory: str | os.PathLike[str]) -> Path:
    """The folder to write frames in: made if it does not exist (its parent must)."""
    folder = Path(directory)
    if folder.exists() and not folder.is_dir():
        raise InputError(f"cannot write frames to {str(folder)!r}: it is not a directory")
    if not folder.exists():
        if not folder.parent.is_dir():
            raise InputError(f"cannot write frames to {str(folder)!r}: its parent does not exist")
        try:
            folder.mkdir()
        except OSError as e:
            raise InputError(f"cannot make {str(folder)!r}: {e.strerror or e}") from None
    return folder


def _pending(session: DebugSession) -> Callable[[Value], bool]:
    """True for a node no consumer has passed its grad to yet (the loss: never)."""
    walk, root = session.backward, session.root

    def pending(node: Value) -> bool:
        if node is root:
            return False
        return not any(walk.propagated(c) for c in session.consumers_of(node))

    return pending
