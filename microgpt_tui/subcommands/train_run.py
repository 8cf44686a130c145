"""A training run as `train` sets it up: fresh, or resumed from a checkpoint, and saved.

A fresh run is microgpt's script (`--seed`, `--data`, sizes); a resumed one goes
on where its checkpoint stopped: the same document order, Adam's moments and the
random stream (see `engine.train` on resuming).
"""

from __future__ import annotations

import argparse
import random
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from engine.checkpoint import save_checkpoint
from engine.data import load_docs_noted
from engine.errors import InputError
from engine.history import History
from engine.train import Trainer, shuffled
from engine.train_section import (
    decode_random_state,
    docs_fingerprint,
    read_train_section,
    train_section,
)
from engine.workspace import DEFAULT_SEED, Workspace, open_workspace, to_checkpoint
from microgpt_tui.subcommands import PROG
from microgpt_tui.subcommands.options import model_options

DEFAULT_STEPS = 1000  # microgpt's num_steps


@dataclass
class TrainingRun:
    """A Trainer and what its checkpoint records about the run."""

    ws: Workspace
    trainer: Trainer
    seed: int
    data: str | None  # the data file's name (no directory); None: the names dataset
    fingerprint: str
    num_docs: int
    history: History  # every step's loss and lr so far (and parameter snapshots)

    def record(self, step: int, loss: float, lr: float) -> None:
        """A completed step: its loss and lr, and the parameters if a snapshot is due."""
        self.history.record(step, loss, lr)
        if self.history.wants_snapshot(step):
            self.history.snapshot(step, [p.data for p in self.ws.model.params])

    def snapshot_start(self) -> None:
        """The weights the run starts from, when snapshots are on (a track's first point)."""
        step = self.trainer.step
        if self.history.wants_snapshot(step, final=True):
            self.history.snapshot(step, [p.data for p in self.ws.model.params])


def prepare_training(args: argparse.Namespace) -> TrainingRun:
    """Fresh (microgpt's script) or resumed from --checkpoint; the random stream set.

    The run's history goes on from the checkpoint's, if it has one; snapshots are
    taken every --snapshot-every steps (default: as the checkpoint's history did).
    """
    run = _prepared(args)
    every = getattr(args, "snapshot_every", None)
    if every is not None:
        run.history.snapshot_every = every
    return run


def _prepared(args: argparse.Namespace) -> TrainingRun:
    data = None if args.data is None else Path(args.data).name
    if args.checkpoint is None:
        ws = open_workspace(**model_options(args), fresh_by_default=True)
        seed = DEFAULT_SEED if args.seed is None else args.seed
        assert ws.docs is not None
        trainer = Trainer(ws.model, ws.tokenizer, ws.docs, args.steps or DEFAULT_STEPS)
        # The random stream stays where microgpt's is after initialisation.
        fingerprint = docs_fingerprint(ws.docs)
        return TrainingRun(ws, trainer, seed, data, fingerprint, len(ws.docs), History())

    ws = open_workspace(**model_options(args))
    if ws.docs is not None:
        docs = ws.docs
    else:
        docs, ws.data_note = load_docs_noted(None)
    fingerprint = docs_fingerprint(docs)
    unknown = sorted(set("".join(docs)) - set(ws.tokenizer.vocab))
    if unknown:
        raise InputError(
            f"the documents have characters not in {args.checkpoint}'s vocabulary: "
            f"{''.join(unknown)!r}"
        )
    saved = ws.train_state
    if saved is None or "step" not in saved:
        # Weights only: start a new run on them, as microgpt would with this seed.
        seed = DEFAULT_SEED if args.seed is None else args.seed
        trainer = Trainer(ws.model, ws.tokenizer, shuffled(docs, seed), args.steps or DEFAULT_STEPS)
        random.seed(seed)
        return TrainingRun(ws, trainer, seed, data, fingerprint, len(docs), History())
    return _resumed(args, ws, saved, docs, fingerprint, data)


def _resumed(
    args: argparse.Namespace,
    ws: Workspace,
    saved: dict,
    docs: list[str],
    fingerprint: str,
    data: str | None,
) -> TrainingRun:
    """The run a checkpoint's train section describes, going on to --steps (or its own)."""
    with about_train_section(args.checkpoint):
        state, adam = read_train_section(saved, len(ws.model.params))
        random_state = decode_random_state(saved.get("random_state"))
    seed = saved.get("seed")
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise InputError(f"{args.checkpoint}'s train section has no integer seed")
    if args.seed is not None and args.seed != seed:
        raise InputError(
            f"--seed {args.seed} differs from {args.checkpoint}'s seed {seed} "
            "(it fixes the order of the documents); leave --seed out to go on"
        )
    num_steps = args.steps or state.num_steps
    if state.step >= num_steps:
        raise InputError(
            f"{args.checkpoint} has done {state.step} of {state.num_steps} steps: "
            f"give --steps N with N > {state.step} to train further"
        )
    if fingerprint == saved.get("docs_sha256"):
        data = saved.get("data") if isinstance(saved.get("data"), str) else data
    else:
        was = saved.get("data") or "the names dataset"
        print(
            f"{PROG}: note: these {len(docs)} documents differ from the ones "
            f"{args.checkpoint} was trained on ({was}); training goes on with them",
            file=sys.stderr,
        )
    trainer = Trainer(
        ws.model, ws.tokenizer, shuffled(docs, seed), num_steps, state=state, adam=adam
    )
    random.setstate(random_state)
    history = ws.history  # (it ends at the saved step: the loader checks it)
    if history is None:
        history = History(first_step=state.step)  # this run's steps, from here
    return TrainingRun(ws, trainer, seed, data, fingerprint, len(docs), history)


@contextmanager
def about_train_section(path: str) -> Iterator[None]:
    """Name the checkpoint in a complaint about its "train" section."""
    try:
        yield
    except InputError as e:
        raise InputError(f"{path} has a damaged train section: {e}") from None


def save_training(path: str, run: TrainingRun, last_loss: float | None) -> None:
    """Save the model, its train section and its history (at the trainer's completed step)."""
    train = train_section(
        run.trainer,
        seed=run.seed,
        data=run.data,
        fingerprint=run.fingerprint,
        num_docs=run.num_docs,
        last_loss=last_loss,
    )
    step = run.trainer.step
    if run.history.wants_snapshot(step, final=True):  # a track ends where the model is
        run.history.snapshot(step, [p.data for p in run.ws.model.params])
    save_checkpoint(path, to_checkpoint(run.ws, train, run.history))
