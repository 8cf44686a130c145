"""`microgpt-tui train`: microgpt's training loop with progress, a log, a checkpoint, samples."""

from __future__ import annotations

import argparse
import json
import sys
from typing import TextIO

from engine.errors import InputError
from engine.fs import check_writable
from engine.train import StepResult
from microgpt_tui.subcommands.options import add_model_options, non_negative_int, positive_int
from microgpt_tui.subcommands.outcome import PROG
from microgpt_tui.subcommands.progress import progress_for
from microgpt_tui.subcommands.sample import DEFAULT_NUM, print_samples
from microgpt_tui.subcommands.train_run import DEFAULT_STEPS, prepare_training, save_training

DEFAULT_OUT = "microgpt.ckpt.json"  # train's checkpoint, in the current directory

DESCRIPTION = """\
Train microgpt exactly as its script does (Adam, one document per step, the
learning rate decaying linearly to 0), save a checkpoint, print samples.

Without --checkpoint, training starts from a fresh model (--seed, default 42;
--data, default the names dataset). With --checkpoint, it goes on where that
checkpoint stopped: the same document order, Adam's moments and random stream.
--steps N is always the length of the run's schedule, lr = 0.01 * (1 - s / N)
at global step s: a run of 1000 steps stopped at step 400 and resumed with
--steps 1000 (the default) ends exactly as if never stopped; a larger N trains
further with the schedule stretched to N.

Ctrl-C drops the step in progress and saves the last completed one (exit 130);
a Ctrl-C during a parameter update is held until that step is done.
"""


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "train",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_model_options(p)
    p.add_argument(
        "--steps",
        type=positive_int,
        metavar="N",
        help=f"the run's length: train steps 1..N, the learning rate decaying to 0 at N "
        f"(default {DEFAULT_STEPS}); with --checkpoint, go on from its saved step to N "
        "(default: the N it was started with)",
    )
    p.add_argument(
        "--out", metavar="CKPT", help=f"where to save the checkpoint (default {DEFAULT_OUT})"
    )
    p.add_argument("--log", metavar="FILE.jsonl", help="append one JSON line per step")
    p.add_argument(
        "--samples",
        type=non_negative_int,
        default=DEFAULT_NUM,
        help=f"names to sample ({DEFAULT_NUM})",
    )
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Train, then save the checkpoint and print samples; Ctrl-C saves the last step."""
    out = args.out or DEFAULT_OUT
    check_writable(out, "checkpoint")
    training = prepare_training(args)
    trainer = training.trainer
    log = _open_log(args.log) if args.log else None
    first = trainer.step
    progress = progress_for(sys.stderr, first, trainer.num_steps)
    print(
        f"training steps {first + 1}..{trainer.num_steps} on {len(trainer.docs)} documents "
        f"({training.ws.source})",
        file=sys.stderr,
    )
    last: list[StepResult] = []

    def on_step(result: StepResult) -> None:
        last[:] = [result]
        if log is not None:
            log.write(json.dumps({"step": result.step, "loss": result.loss, "lr": result.lr}))
            log.write("\n")
            log.flush()
        progress.update(result)

    try:
        trainer.run(on_step=on_step)
    except KeyboardInterrupt:
        progress.finish()
        if trainer.step == first:
            print(
                f"{PROG}: interrupted before step {first + 1} was done: nothing saved",
                file=sys.stderr,
            )
        else:
            save_training(out, training, last[0].loss if last else None)
            print(
                f"{PROG}: interrupted: saved step {trainer.step}/{trainer.num_steps} "
                f"(the last completed) to {out}; go on with "
                f"`{PROG} train --checkpoint {out}`",
                file=sys.stderr,
            )
        return 130
    finally:
        if log is not None:
            log.close()
    progress.finish()
    save_training(out, training, last[0].loss if last else None)
    print(f"saved step {trainer.step}/{trainer.num_steps} to {out}", file=sys.stderr)
    print_samples(training.ws.model, training.ws.tokenizer, args.samples)
    return 0


def _open_log(path: str) -> TextIO:
    try:
        return open(path, "a", encoding="utf-8")
    except OSError as e:
        raise InputError(f"cannot write the log {path}: {e.strerror or e}") from None
