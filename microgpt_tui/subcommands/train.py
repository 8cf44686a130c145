"""`microgpt-tui train`: microgpt's training loop with progress, a log, a checkpoint, samples."""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import sys
import threading

from engine.errors import InputError
from engine.fs import check_writable
from engine.train import Diverged, StepResult
from microgpt_tui.subcommands import EXIT_INTERRUPTED, EXIT_TERMINATED, PROG
from microgpt_tui.subcommands.options import add_model_options, non_negative_int, positive_int
from microgpt_tui.subcommands.progress import progress_for
from microgpt_tui.subcommands.sample import DEFAULT_NUM, print_samples
from microgpt_tui.subcommands.train_curve import curve_line
from microgpt_tui.subcommands.train_log import StepLog
from microgpt_tui.subcommands.train_run import (
    DEFAULT_STEPS,
    TrainingRun,
    prepare_training,
    save_training,
)

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

A fresh run refuses to replace an existing --out (give --force); a resumed one
may replace the checkpoint it goes on from.

Ctrl-C drops the step in progress and saves the last completed one (exit 130),
and so does SIGTERM (exit 143); one during a parameter update is held until that
step is done and logged. The --log then ends at the saved step. After a SIGKILL
the log may run ahead of the checkpoint: resuming with the same --log drops the
lines the checkpoint never saw. A log that cannot be written (a full disk) is
warned about once and costs nothing else. A loss or weight that becomes inf or
nan stops training (exit 2), keeping the last finite step.

The checkpoint keeps what training did, its history: each step's loss and
learning rate, and with --snapshot-every K every parameter's value every K
steps (the app's training tab draws them). On a terminal, train ends with the
loss curve as a sparkline.
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
    p.add_argument(
        "--force", action="store_true", help="replace an existing --out a fresh run would refuse"
    )
    p.add_argument("--log", metavar="FILE.jsonl", help="append one JSON line per step")
    p.add_argument(
        "--snapshot-every",
        type=positive_int,
        metavar="K",
        help="keep every parameter's value in the checkpoint's history every K steps (and "
        "at the run's start and end), so the app can show how a parameter moved; "
        "with --checkpoint, the default is its history's K",
    )
    p.add_argument(
        "--samples",
        type=non_negative_int,
        default=DEFAULT_NUM,
        help=f"names to sample ({DEFAULT_NUM})",
    )
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Train, then save the checkpoint and print samples; Ctrl-C or SIGTERM saves the last step."""
    out = args.out or DEFAULT_OUT
    _check_out(args, out)
    training = prepare_training(args)
    trainer = training.trainer
    first = trainer.step
    log = StepLog(args.log, resumed_at=first or None) if args.log else None
    print(
        f"training steps {first + 1}..{trainer.num_steps} on {len(trainer.docs)} documents "
        f"({training.ws.source})",
        file=sys.stderr,
    )
    if training.ws.data_note:
        print(
            f"{PROG}: note: training on {training.ws.data_note}: "
            "its losses and samples differ from microgpt's",
            file=sys.stderr,
        )
    stopped, diverged = _train(training, log, out)
    saved = trainer.step > first
    if saved and sys.stderr.isatty():
        width = shutil.get_terminal_size().columns - 1
        print(curve_line(training.history, width), file=sys.stderr)
    done = f"saved step {trainer.step}/{trainer.num_steps}"
    if diverged is not None:
        kept = f"{done} (the last finite) to {out}" if saved else "nothing saved"
        raise InputError(f"{diverged}; {kept}")
    if stopped is not None:
        word = "terminated" if stopped == signal.SIGTERM else "interrupted"
        if saved:
            print(
                f"{PROG}: {word}: {done} (the last completed) to {out}; go on with "
                f"`{PROG} train --checkpoint {out}`",
                file=sys.stderr,
            )
        else:
            print(
                f"{PROG}: {word} before step {first + 1} was done: nothing saved", file=sys.stderr
            )
        return EXIT_TERMINATED if stopped == signal.SIGTERM else EXIT_INTERRUPTED
    print(f"{done} to {out}", file=sys.stderr)
    print_samples(training.ws.model, training.ws.tokenizer, args.samples)
    return 0


def _check_out(args: argparse.Namespace, out: str) -> None:
    """--out can be written, and replaces no checkpoint but the one the run goes on from."""
    check_writable(out, "checkpoint")
    if args.force or not os.path.exists(out):
        return
    if args.checkpoint is not None and _same_file(args.checkpoint, out):
        return
    raise InputError(
        f"{out} exists: give --force to replace it, or train it further with --checkpoint {out}"
    )


def _same_file(a: str, b: str) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def _train(
    training: TrainingRun, log: StepLog | None, out: str
) -> tuple[int | None, Diverged | None]:
    """Train until done, stopped (the signal) or diverged; save what was completed.

    Ctrl-C and SIGTERM stop training at once (the step in progress is dropped);
    from the moment training ends, they are only noted, so the save that follows
    is never cut short, and one that arrives during it still ends the command.
    """
    trainer, first = training.trainer, training.trainer.step
    progress = progress_for(sys.stderr, first, trainer.num_steps)
    last_loss: list[float] = []

    training.snapshot_start()

    def on_step(result: StepResult) -> None:
        last_loss[:] = [result.loss]
        training.record(result.step, result.loss, result.lr)
        if log is not None:
            log.write(result)
        progress.update(result)

    stopped: int | None = None
    diverged: Diverged | None = None
    with StopSignals() as signals:
        try:
            try:
                trainer.run(on_step=on_step)
            finally:
                signals.holding = True  # first, before anything else can be interrupted
        except KeyboardInterrupt as e:
            stopped = e.signum if isinstance(e, Stopped) else signal.SIGINT
        except Diverged as e:
            diverged = e
        progress.finish()
        if log is not None:
            log.close()
        loss = last_loss[0] if last_loss else None
        if trainer.step > first:
            save_training(out, training, loss)
        stopped = stopped or signals.received
    return stopped, diverged


class Stopped(KeyboardInterrupt):
    """Training was stopped by a signal (SIGINT or SIGTERM)."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


class StopSignals:
    """While training, Ctrl-C and SIGTERM raise `Stopped`; once `holding`, they are only noted."""

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self) -> None:
        self.holding = False
        self.received: int | None = None  # the first signal received
        self.previous: dict[int, object] = {}

    def __enter__(self) -> StopSignals:
        if threading.current_thread() is threading.main_thread():
            for signum in self.SIGNALS:
                self.previous[signum] = signal.signal(signum, self._handle)
        return self

    def __exit__(self, *exc: object) -> None:
        for signum, handler in self.previous.items():
            signal.signal(signum, handler)

    def _handle(self, signum: int, frame: object) -> None:
        if self.received is None:
            self.received = signum
        if not self.holding:
            raise Stopped(signum)
