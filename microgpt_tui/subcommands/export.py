"""`microgpt-tui export`: write part of one document's graph as SVG, PNG, PDF or DOT.

The graph is the document loss's (or, with `--pos`, one position's loss), after a
full backward pass, so every node shows its final value and grad; `--frames` draws
the backward pass instead, one picture per vector step, and `--paths-to NODE --top
K` the K routes from the loss that carry most of NODE's gradient
(`engine.export.routes`). The engine's refusals carry their data; here
their advice is worded in this command's flags. No Textual.
"""

from __future__ import annotations

import argparse

from engine.errors import InputError
from engine.explain.final_grads import FinalGrads
from engine.explain.routes import routes, target_node
from engine.export import (
    DEFAULT_MAX_NODES,
    DEFAULT_TIMEOUT,
    FORMATS,
    LEVELS,
    THEMES,
    DotTimedOut,
    Selection,
    TooManyNodes,
    UnknownFormat,
    export,
    export_frames,
    export_routes,
    resolve_format,
)
from engine.session import DebugSession, resolve_position
from engine.workspace import open_workspace
from microgpt_tui.subcommands.options import (
    add_doc_options,
    add_model_options,
    model_options,
    non_negative_int,
    positive_int,
    seconds_up_to,
)
from microgpt_tui.subcommands.tracing import announced

DEFAULT_DEPTH = 2  # levels of inputs around --node
DEFAULT_TOP = 3  # routes drawn by --paths-to
MAX_TIMEOUT = 3600.0  # seconds: dot lays out 3,000 nodes in ~30 s; an hour is ample


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("export", description=__doc__.splitlines()[0])
    add_model_options(p)
    add_doc_options(p)
    what = p.add_mutually_exclusive_group(required=True)
    what.add_argument("--scope", metavar="PATH", help="a scope, e.g. pos3.layer0.attn.head1")
    what.add_argument(
        "--node",
        type=non_negative_int,
        metavar="ID",
        help="a node and its inputs; ID is a node of graph DOC@posP with --pos P (the ids "
        "the debugger shows at that position), else of graph DOC@all (the document's)",
    )
    what.add_argument("--overview", action="store_true", help="one token's forward pass")
    what.add_argument(
        "--paths-to",
        metavar="NODE",
        help="the routes from the loss carrying most of NODE's gradient (an id or a "
        "parameter's name, e.g. wte[4][0])",
    )
    p.add_argument(
        "--top",
        type=positive_int,
        metavar="K",
        help=f"with --paths-to: how many routes ({DEFAULT_TOP})",
    )
    p.add_argument(
        "--depth",
        type=non_negative_int,
        default=DEFAULT_DEPTH,
        help=f"levels around --node ({DEFAULT_DEPTH})",
    )
    p.add_argument("--consumers", action="store_true", help="with --node: follow consumers")
    p.add_argument("--level", choices=LEVELS, help="vectors or scalars (vector; --node: scalar)")
    out = p.add_mutually_exclusive_group(required=True)
    out.add_argument("-o", "--output", metavar="FILE", help=f"FILE.{{{','.join(FORMATS)}}}")
    out.add_argument("--frames", metavar="DIR", help="a picture per vector step of backward")
    p.add_argument("--format", choices=FORMATS, help="(default: the output's extension)")
    p.add_argument("--dpi", type=positive_int, help="PNG resolution")
    p.add_argument("--theme", choices=THEMES, default=THEMES[0])
    p.add_argument("--title", help="a title above the graph")
    p.add_argument(
        "--max-nodes",
        type=positive_int,
        default=DEFAULT_MAX_NODES,
        help=f"refuse more ({DEFAULT_MAX_NODES})",
    )
    p.add_argument(
        "--timeout",
        type=seconds_up_to(MAX_TIMEOUT, "--timeout"),
        default=DEFAULT_TIMEOUT,
        help=f"seconds for dot ({DEFAULT_TIMEOUT:g}, at most {MAX_TIMEOUT:g})",
    )
    p.set_defaults(run=run)


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


def run(args: argparse.Namespace) -> int:
    """Export the selection (or its frames); print what was written."""
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
    # Cheap checks first, before the model is loaded and the graph traced.
    if args.frames is not None:
        fmt = resolve_format(args.frames, args.format or "png")
    else:
        fmt = resolve_format(args.output, args.format)
    if args.dpi is not None and fmt != "png":
        raise InputError(f"--dpi applies to PNG output only, not {fmt.upper()}")
    if args.top is not None and args.paths_to is None:
        raise InputError("--top works only with --paths-to")
    if args.paths_to is not None:
        if args.frames is not None or args.level is not None:
            raise InputError("--paths-to draws its routes as scalars to one -o FILE")
        return _export_paths(args, fmt)
    selection = selection_from_args(args)

    ws = open_workspace(**model_options(args))
    tokens = ws.tokenizer.encode(args.doc)
    pos = None if args.pos is None else resolve_position(ws.model, tokens, args.pos)
    with announced(ws.model, tokens, pos):
        session = DebugSession(ws.model, ws.tokenizer, args.doc, pos, whole_document=pos is None)
    if args.frames is not None:
        return _write_frames(args, session, selection, fmt)
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


def _export_paths(args: argparse.Namespace, fmt: str) -> int:
    """--paths-to NODE --top K: the routes carrying most of NODE's gradient, on one slide."""
    ws = open_workspace(**model_options(args))
    session = DebugSession(
        ws.model, ws.tokenizer, args.doc, args.pos, whole_document=args.pos is None
    )
    grads = FinalGrads(session.capture, session.consumers)
    found = routes(grads, target_node(session, args.paths_to), args.top or DEFAULT_TOP)
    if not found.paths:
        raise InputError(f"{args.paths_to} does not feed the loss: it has no paths to draw")
    done = export_routes(
        found,
        grads.values,
        args.output,
        fmt,
        dpi=args.dpi,
        timeout=args.timeout,
        theme=args.theme,
        title=args.title,
    )
    print(
        f"wrote {done.path} ({done.format.upper()}, the top {len(found.paths)} of "
        f"{found.count:,} paths: {done.drawn} boxes for {done.nodes} nodes)"
    )
    return 0


def _write_frames(
    args: argparse.Namespace, session: DebugSession, selection: Selection, fmt: str
) -> int:
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
