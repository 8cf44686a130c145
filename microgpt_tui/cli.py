"""The `microgpt-tui` command line: the debugger, and train / sample / grads / export.

Scripts rely on this interface (DESIGN.md, "Command line"). Bad input exits 2 with
one line on stderr and no traceback; an internal error exits 1. Only `debug`
imports Textual, so the other subcommands start fast and work without a terminal.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from engine.errors import InputError

PROG = "microgpt-tui"
SUBCOMMANDS = ("debug", "train", "sample", "grads", "export")


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line (and still exit 2)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise InputError(f"{message} (see `{self.prog} --help`)")


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def _non_negative_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer >= 0, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected an integer >= 0, got {text!r}")
    return value


def _add_model_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group(
        "model",
        "--checkpoint CKPT, or a fresh microgpt from --seed/--data/sizes; "
        "nothing: the shipped trained model",
    )
    g.add_argument("--checkpoint", metavar="CKPT", help="a JSON checkpoint written by `train`")
    g.add_argument("--seed", type=int, help="random seed for a fresh model (microgpt: 42)")
    g.add_argument("--data", metavar="FILE", help="documents, one per line (default: names)")
    g.add_argument("--n-layer", type=_positive_int, metavar="N")
    g.add_argument("--n-embd", type=_positive_int, metavar="N")
    g.add_argument("--n-head", type=_positive_int, metavar="N")
    g.add_argument("--block-size", type=_positive_int, metavar="N")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog=PROG, description="A step-through debugger for microgpt.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    p = sub.add_parser("debug", help="open the debugger (the default command)")
    _add_model_options(p)
    p.add_argument("--doc", default="emma", help="the document to debug (default: emma)")
    p.add_argument("--pos", type=_non_negative_int, help="the position (default: the last)")

    p = sub.add_parser("train", help="train microgpt, save a checkpoint, print samples")
    _add_model_options(p)
    p.add_argument("--steps", type=_positive_int, default=1000, help="training steps (1000)")
    p.add_argument("--out", metavar="CKPT", help="where to save the checkpoint")
    p.add_argument("--log", metavar="FILE.jsonl", help="append one JSON line per step")
    p.add_argument("--samples", type=_non_negative_int, default=20, help="names to sample (20)")

    p = sub.add_parser("sample", help="sample names from a model")
    _add_model_options(p)
    p.add_argument("--num", type=_non_negative_int, default=20, help="how many (20)")
    p.add_argument("--temperature", type=float, default=0.5, help="in (0, 1] (0.5)")

    p = sub.add_parser("grads", help="every parameter's gradient for one document")
    _add_model_options(p)
    p.add_argument("--doc", required=True, help="the document")
    p.add_argument("--pos", type=_non_negative_int, help="one position's loss (default: all)")
    p.add_argument("--json", action="store_true", help="print JSON")

    p = sub.add_parser("export", help="export part of the graph with Graphviz")
    _add_model_options(p)
    p.add_argument("--doc", required=True, help="the document")
    p.add_argument("--pos", type=_non_negative_int, help="one position's loss (default: all)")
    what = p.add_mutually_exclusive_group(required=True)
    what.add_argument("--scope", metavar="PATH", help="a scope, e.g. pos3.layer0.attn.head1")
    what.add_argument("--node", type=_non_negative_int, metavar="ID", help="a node and its inputs")
    what.add_argument("--overview", action="store_true", help="one box per scope")
    p.add_argument("--depth", type=_non_negative_int, default=2, help="levels around --node (2)")
    p.add_argument("--consumers", action="store_true", help="with --node: follow consumers")
    p.add_argument("-o", "--output", required=True, metavar="FILE", help="FILE.svg/png/pdf/dot")
    p.add_argument("--format", choices=("svg", "png", "pdf", "dot"), help="(default: extension)")
    p.add_argument("--dpi", type=_positive_int, help="PNG resolution")
    p.add_argument("--theme", choices=("light", "dark"), default="light")
    p.add_argument("--title", help="a title above the graph")
    p.add_argument("--max-nodes", type=_positive_int, default=1000, help="refuse more (1000)")
    p.add_argument("--timeout", type=float, default=60.0, help="seconds for dot (60)")
    return parser


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    argv = list(argv)
    # `microgpt-tui [MODEL options]` means `microgpt-tui debug [MODEL options]`.
    if not argv or (argv[0] not in SUBCOMMANDS and argv[0] not in ("-h", "--help")):
        argv.insert(0, "debug")
    return build_parser().parse_args(argv)


def model_options(args: argparse.Namespace) -> dict:
    """The MODEL options as keyword arguments of `engine.workspace.open_workspace`."""
    keys = ("checkpoint", "seed", "data", "n_layer", "n_embd", "n_head", "block_size")
    return {k: getattr(args, k) for k in keys}


def run(args: argparse.Namespace) -> int:
    if args.command == "debug":
        from microgpt_tui.app import run_debugger

        return run_debugger(args)
    if args.command == "export":
        from microgpt_tui.export_command import run_export

        return run_export(args)
    return {"train": run_train, "sample": run_sample, "grads": run_grads}[args.command](args)


def run_train(args: argparse.Namespace) -> int:
    raise NotImplementedError("train")


def run_sample(args: argparse.Namespace) -> int:
    raise NotImplementedError("sample")


def run_grads(args: argparse.Namespace) -> int:
    raise NotImplementedError("grads")


def main(argv: Sequence[str] | None = None) -> int:
    try:
        args = parse_args(sys.argv[1:] if argv is None else argv)
        return run(args)
    except InputError as e:
        print(f"{PROG}: {e}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        return 0
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
