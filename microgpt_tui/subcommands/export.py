"""`microgpt-tui export`: write part of one document's graph as SVG, PNG, PDF or DOT.

The graph is the document loss's (or, with `--pos`, one position's loss), after a
full backward pass, so every node shows its final value and grad. No Textual here.
"""

from __future__ import annotations

import argparse

from engine.errors import InputError
from engine.export import (
    DEFAULT_MAX_NODES,
    DEFAULT_TIMEOUT,
    FORMATS,
    THEMES,
    Selection,
    export,
    resolve_format,
)
from engine.session import DebugSession
from engine.workspace import open_workspace
from microgpt_tui.subcommands.options import (
    add_doc_options,
    add_model_options,
    model_options,
    non_negative_int,
    positive_int,
    seconds_up_to,
)

DEFAULT_DEPTH = 2  # levels of inputs around --node
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
    what.add_argument("--overview", action="store_true", help="one box per scope")
    p.add_argument(
        "--depth",
        type=non_negative_int,
        default=DEFAULT_DEPTH,
        help=f"levels around --node ({DEFAULT_DEPTH})",
    )
    p.add_argument("--consumers", action="store_true", help="with --node: follow consumers")
    p.add_argument(
        "-o", "--output", required=True, metavar="FILE", help=f"FILE.{{{','.join(FORMATS)}}}"
    )
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
    """--scope PATH | --node ID [--depth K] [--consumers] | --overview, as a Selection."""
    if args.consumers and args.node is None:
        raise InputError("--consumers works only with --node")
    if args.overview:
        return Selection.overview()
    if args.node is not None:
        return Selection.of_node(args.node, args.depth, consumers=args.consumers)
    return Selection.of_scope(args.scope)


def run(args: argparse.Namespace) -> int:
    """Export the selection; print the path written and what it holds."""
    # Cheap checks first, before the model is loaded and the graph traced.
    fmt = resolve_format(args.output, args.format)
    if args.dpi is not None and fmt != "png":
        raise InputError(f"--dpi applies to PNG output only, not {fmt.upper()}")
    selection = selection_from_args(args)

    ws = open_workspace(**model_options(args))
    session = DebugSession(
        ws.model, ws.tokenizer, args.doc, args.pos, whole_document=args.pos is None
    )
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
