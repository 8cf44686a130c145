"""What the subcommands share: the program's name, the parser class, number options, MODEL.

Usage errors are one line (`InputError`, exit 2), like every other bad input.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable
from typing import Any

from engine.errors import InputError


class Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line (and still exit 2).

    `extras_error`, when given, turns arguments the parser does not know into
    that message instead of argparse's "unrecognized arguments" (attach uses it
    to say where a script's own options go).
    """

    def __init__(
        self, *args: Any, extras_error: Callable[[list[str]], str] | None = None, **kw: Any
    ) -> None:
        super().__init__(*args, **kw)
        self.extras_error = extras_error

    def error(self, message: str) -> None:  # type: ignore[override]
        raise InputError(f"{message} (see `{self.prog} --help`)")

    def parse_known_args(self, args=None, namespace=None):  # type: ignore[override]
        parsed, extras = super().parse_known_args(args, namespace)
        if extras and self.extras_error is not None:
            self.error(self.extras_error(extras))
        return parsed, extras


def int_at_least(minimum: int, what: str) -> Callable[[str], int]:
    """An argparse type: an integer >= `minimum`, else a one-line error naming `what`."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = None
        if value is None or value < minimum:
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}")
        return value

    return parse


positive_int = int_at_least(1, "a positive integer")
non_negative_int = int_at_least(0, "an integer >= 0")


def seconds_up_to(maximum: float, option: str) -> Callable[[str], float]:
    """An argparse type: a finite number of seconds in (0, maximum].

    The error is raised as an `InputError` naming the option itself (argparse
    would otherwise prefix it with "argument --timeout:").
    """

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        if not (math.isfinite(value) and 0 < value <= maximum):
            raise InputError(
                f"{option} must be more than 0 and at most {maximum:g} seconds, got {text!r}"
            )
        return value

    return parse


MODEL_KEYS = ("checkpoint", "seed", "data", "n_layer", "n_embd", "n_head", "block_size")


def add_model_options(p: argparse.ArgumentParser) -> None:
    """--checkpoint, or a fresh model's --seed, --data and sizes (DESIGN's MODEL)."""
    g = p.add_argument_group(
        "model",
        "--checkpoint CKPT, or a fresh microgpt from --seed/--data/sizes; "
        "nothing: the shipped trained model",
    )
    g.add_argument("--checkpoint", metavar="CKPT", help="a JSON checkpoint written by `train`")
    g.add_argument("--seed", type=int, help="random seed for a fresh model (microgpt: 42)")
    g.add_argument("--data", metavar="FILE", help="documents, one per line (default: names)")
    g.add_argument("--n-layer", type=positive_int, metavar="N")
    g.add_argument("--n-embd", type=positive_int, metavar="N")
    g.add_argument("--n-head", type=positive_int, metavar="N")
    g.add_argument("--block-size", type=positive_int, metavar="N")


def model_options(args: argparse.Namespace) -> dict[str, Any]:
    """The MODEL options as keyword arguments of `engine.workspace.open_workspace`."""
    return {key: getattr(args, key) for key in MODEL_KEYS}


def add_doc_options(p: argparse.ArgumentParser, *, doc_default: str | None = None) -> None:
    """--doc TEXT and --pos N, as debug, grads and export take them."""
    if doc_default is None:
        p.add_argument("--doc", required=True, help="the document")
        p.add_argument("--pos", type=non_negative_int, help="one position's loss (default: all)")
    else:
        p.add_argument(
            "--doc", default=doc_default, help=f"the document to debug (default: {doc_default})"
        )
        p.add_argument("--pos", type=non_negative_int, help="the position (default: the last)")
