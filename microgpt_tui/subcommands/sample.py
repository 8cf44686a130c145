"""`microgpt-tui sample`: names drawn exactly as microgpt draws them, one line each as drawn."""

from __future__ import annotations

import argparse
import random

from engine.data import Tokenizer, printable
from engine.model import GPT
from engine.train import DEFAULT_TEMPERATURE, check_temperature, sample
from engine.train_section import decode_random_state
from engine.workspace import DEFAULT_SEED, open_workspace
from microgpt_tui.subcommands.options import (
    add_model_options,
    model_options,
    non_negative_int,
)
from microgpt_tui.subcommands.train_run import about_train_section

DEFAULT_NUM = 20  # microgpt's inference loop draws 20


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("sample", description=__doc__.splitlines()[0])
    add_model_options(p)
    p.add_argument(
        "--num", type=non_negative_int, default=DEFAULT_NUM, help=f"how many ({DEFAULT_NUM})"
    )
    p.add_argument(
        "--temperature",
        type=float,
        default=DEFAULT_TEMPERATURE,
        help=f"> 0; microgpt keeps it in (0, 1] ({DEFAULT_TEMPERATURE})",
    )
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Sample from the model's random stream.

    The stream: `random.seed(--seed)` for a checkpoint given --seed; else the one a
    checkpoint saved (so the shipped model prints microgpt's own 20 samples); a fresh
    model's goes on from its initialisation, as microgpt's would; a checkpoint
    without a saved stream samples as if given --seed 42.
    """
    temperature = check_temperature(args.temperature)
    ws = open_workspace(**model_options(args))
    saved = ws.train_state or {}
    if ws.checkpoint_path is not None:
        if args.seed is not None:
            random.seed(args.seed)
        elif "random_state" in saved:
            with about_train_section(args.checkpoint):
                random.setstate(decode_random_state(saved["random_state"]))
        else:
            random.seed(DEFAULT_SEED)
    print_samples(ws.model, ws.tokenizer, args.num, temperature)
    return 0


def print_samples(
    model: GPT, tokenizer: Tokenizer, num: int, temperature: float = DEFAULT_TEMPERATURE
) -> None:
    """`sample  1: name`, one line per sample, each printed (and flushed) as it is drawn.

    So `sample --num 3000 | head -1` ends at once: the first line is out before
    the second is drawn, and the closed pipe stops the loop.
    """
    for i in range(num):
        name = printable(sample(model, tokenizer, temperature))  # a data file's ESC stays text
        print(f"sample {i + 1:2d}: {name}", flush=True)
