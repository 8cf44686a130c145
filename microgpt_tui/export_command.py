"""`microgpt-tui export`: write part of one document's graph as SVG, PNG, PDF or DOT.

The graph is the document loss's (or, with `--pos`, one position's loss), after a
full backward pass, so every node shows its final value and grad. No Textual here.
"""

from __future__ import annotations

import argparse

from engine.errors import InputError
from engine.export import (
    DotTimedOut,
    Selection,
    TooManyNodes,
    UnknownFormat,
    export,
    export_frames,
    resolve_format,
)
from engine.session import DebugSession
from engine.workspace import open_workspace


def selection_from_args(args: argparse.Namespace) -> Selection:
    """--scope PATH | --node ID [--depth K] [--consumers] | --overview, and --level, as a Selection.

    The level is vector for a scope and the overview unless --level scalar; a node is scalar.
    """
    if args.consumers and args.node is None:
        raise InputError("--consumers works only with --node")
    if args.node is not None:
        if args.level == "vector" or args.frames is not None:
            raise InputError("a --node is drawn as scalars: use --scope or --overview for vectors")
        return Selection.of_node(args.node, args.depth, consumers=args.consumers)
    level = args.level or "vector"
    if args.frames is not None and level != "vector":
        raise InputError("--frames steps vector ops: drop --level scalar")
    if args.overview:
        return Selection.overview(level=level)
    return Selection.of_scope(args.scope, level=level)


def run_export(args: argparse.Namespace) -> int:
    """Export the selection; print the path written and what it holds."""
    try:
        return _export(args)
    except (TooManyNodes, UnknownFormat, DotTimedOut) as e:
        raise InputError(flag_hint(e)) from None


def flag_hint(error: TooManyNodes | UnknownFormat | DotTimedOut) -> str:
    """The engine's refusal, its advice worded in this command's flags."""
    if isinstance(error, TooManyNodes):
        narrower = error.narrower_phrase("a smaller --depth")
        return f"{error.summary}; try --overview, {narrower} or --max-nodes {error.drawn}"
    if isinstance(error, UnknownFormat):
        return error.explain("give --format")
    return f"{error.summary}; try {error.advice('a longer --timeout')}"


def _export(args: argparse.Namespace) -> int:
    from microgpt_tui.cli import model_options

    # Cheap checks first, before the model is loaded and the graph traced.
    if args.frames is not None:
        fmt = resolve_format(args.frames, args.format or "png")
    else:
        fmt = resolve_format(args.output, args.format)
    if args.dpi is not None and fmt != "png":
        raise InputError(f"--dpi applies to PNG output only, not {fmt.upper()}")
    if args.timeout <= 0:
        raise InputError(f"--timeout must be more than 0 seconds, got {args.timeout:g}")
    selection = selection_from_args(args)

    ws = open_workspace(**model_options(args))
    session = DebugSession(
        ws.model, ws.tokenizer, args.doc, args.pos, whole_document=args.pos is None
    )
    if args.frames is not None:
        written = export_frames(
            session,
            selection,
            args.frames,
            fmt,
            dpi=args.dpi,
            max_nodes=args.max_nodes,
            timeout=args.timeout,
            theme=args.theme,
            title=args.title,
        )
        names = f"{written[0].name} to {written[-1].name}"
        print(f"wrote {len(written)} frames to {args.frames} ({fmt.upper()}: {names})")
        return 0
    session.backward.run_to_end()  # final grads, as `loss.backward()` leaves them
    done = export(
        session,
        selection,
        args.output,
        fmt,
        dpi=args.dpi,
        max_nodes=args.max_nodes,
        timeout=args.timeout,
        highlight=args.node,  # with --node, the node in the middle stands out
        theme=args.theme,
        title=args.title,
    )
    print(f"wrote {done.path} ({done.format.upper()}, {done.summary()})")
    return 0
