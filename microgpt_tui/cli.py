"""The `microgpt-tui` command line: the debugger, and train / sample / grads / export.

Scripts rely on this interface (DESIGN.md, "Command line"). Bad input exits 2 with
one line on stderr and no traceback; an internal error exits 1. Only `debug`
imports Textual, so the other subcommands start fast and work without a terminal.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from engine.capture import capture_loss
from engine.checkpoint import save_checkpoint
from engine.data import load_docs
from engine.errors import InputError
from engine.fs import check_writable
from engine.session import resolve_position
from engine.train import (
    StepResult,
    Trainer,
    check_temperature,
    decode_random_state,
    docs_fingerprint,
    read_train_section,
    sample_names,
    shuffled,
    train_section,
)
from engine.workspace import DEFAULT_SEED, Workspace, open_workspace, to_checkpoint

PROG = "microgpt-tui"
DEFAULT_OUT = "microgpt.ckpt.json"  # train's checkpoint, in the current directory
DEFAULT_STEPS = 1000  # microgpt's num_steps
SUBCOMMANDS = ("debug", "train", "sample", "grads", "export", "attach")


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line (and still exit 2)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise InputError(f"{message} (see `{self.prog} --help`)")


TRAIN_DESCRIPTION = """\
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


def _int_at_least(minimum: int, what: str) -> Callable[[str], int]:
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


_positive_int = _int_at_least(1, "a positive integer")
_non_negative_int = _int_at_least(0, "an integer >= 0")


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

    p = sub.add_parser(
        "train",
        help="train microgpt, save a checkpoint, print samples",
        description=TRAIN_DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add_model_options(p)
    p.add_argument(
        "--steps",
        type=_positive_int,
        metavar="N",
        help="the run's length: train steps 1..N, the learning rate decaying to 0 at N "
        "(default 1000); with --checkpoint, go on from its saved step to N "
        "(default: the N it was started with)",
    )
    p.add_argument(
        "--out", metavar="CKPT", help=f"where to save the checkpoint (default {DEFAULT_OUT})"
    )
    p.add_argument("--log", metavar="FILE.jsonl", help="append one JSON line per step")
    p.add_argument("--samples", type=_non_negative_int, default=20, help="names to sample (20)")

    p = sub.add_parser("sample", help="sample names from a model")
    _add_model_options(p)
    p.add_argument("--num", type=_non_negative_int, default=20, help="how many (20)")
    p.add_argument(
        "--temperature", type=float, default=0.5, help="> 0; microgpt keeps it in (0, 1] (0.5)"
    )

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
    what.add_argument("--overview", action="store_true", help="one token's forward pass")
    p.add_argument("--depth", type=_non_negative_int, default=2, help="levels around --node (2)")
    p.add_argument("--consumers", action="store_true", help="with --node: follow consumers")
    p.add_argument("--level", choices=("vector", "scalar"), help="vectors or scalars (vector)")
    out = p.add_mutually_exclusive_group(required=True)
    out.add_argument("-o", "--output", metavar="FILE", help="FILE.svg/png/pdf/dot")
    out.add_argument("--frames", metavar="DIR", help="an image per vector step of backward")
    p.add_argument("--format", choices=("svg", "png", "pdf", "dot"), help="(default: extension)")
    p.add_argument("--dpi", type=_positive_int, help="PNG resolution")
    p.add_argument("--theme", choices=("light", "dark"), default="light")
    p.add_argument("--title", help="a title above the graph")
    p.add_argument("--max-nodes", type=_positive_int, default=1000, help="refuse more (1000)")
    p.add_argument("--timeout", type=float, default=60.0, help="seconds for dot (60)")
    _add_attach_help(sub)
    return parser


def _add_attach_help(sub: argparse._SubParsersAction) -> None:
    """`attach` parses its own arguments (the script's come after SCRIPT); listed for --help."""
    sub.add_parser(
        "attach",
        help="debug your own microgpt-style script: SCRIPT [ARGS...] [--backward N] "
        "[--scope-vars MAP] [--grads --json]",
        add_help=False,
    )


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


# --- train --------------------------------------------------------------------------------


def run_train(args: argparse.Namespace) -> int:
    """`train`: microgpt's training loop with a progress bar, a checkpoint and samples."""
    out = args.out or DEFAULT_OUT
    check_writable(out, "checkpoint")
    run = _prepare_training(args)
    trainer = run.trainer
    log = _open_log(args.log) if args.log else None
    first = trainer.step
    progress = _Progress(sys.stderr, first, trainer.num_steps)
    print(
        f"training steps {first + 1}..{trainer.num_steps} on {len(trainer.docs)} documents "
        f"({run.ws.source})",
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
            _save_training(out, run, last[0].loss if last else None)
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
    _save_training(out, run, last[0].loss if last else None)
    print(f"saved step {trainer.step}/{trainer.num_steps} to {out}", file=sys.stderr)
    for i, name in enumerate(sample_names(run.ws.model, run.ws.tokenizer, args.samples)):
        print(f"sample {i + 1:2d}: {name}")
    return 0


@dataclass
class _TrainingRun:
    """A Trainer and what its checkpoint records about the run."""

    ws: Workspace
    trainer: Trainer
    seed: int
    data: str | None  # the data file's name (no directory); None: the names dataset
    fingerprint: str
    num_docs: int


def _prepare_training(args: argparse.Namespace) -> _TrainingRun:
    """Fresh (microgpt's script) or resumed from --checkpoint; the random stream set."""
    if args.checkpoint is None:
        ws = open_workspace(**model_options(args), fresh_by_default=True)
        seed = DEFAULT_SEED if args.seed is None else args.seed
        data = None if args.data is None else Path(args.data).name
        assert ws.docs is not None
        trainer = Trainer(ws.model, ws.tokenizer, ws.docs, args.steps or DEFAULT_STEPS)
        # The random stream stays where microgpt's is after initialisation.
        return _TrainingRun(ws, trainer, seed, data, docs_fingerprint(ws.docs), len(ws.docs))

    ws = open_workspace(**model_options(args))
    docs = ws.docs if ws.docs is not None else load_docs(None)
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
        data = None if args.data is None else Path(args.data).name
        return _TrainingRun(ws, trainer, seed, data, fingerprint, len(docs))

    with _about_train_section(args.checkpoint):
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
    data = None if args.data is None else Path(args.data).name
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
    return _TrainingRun(ws, trainer, seed, data, fingerprint, len(docs))


@contextmanager
def _about_train_section(path: str) -> Iterator[None]:
    """Name the checkpoint in a complaint about its "train" section."""
    try:
        yield
    except InputError as e:
        raise InputError(f"{path} has a damaged train section: {e}") from None


def _save_training(path: str, run: _TrainingRun, last_loss: float | None) -> None:
    train = train_section(
        run.trainer,
        seed=run.seed,
        data=run.data,
        fingerprint=run.fingerprint,
        num_docs=run.num_docs,
        last_loss=last_loss,
    )
    save_checkpoint(path, to_checkpoint(run.ws, train))


def _open_log(path: str) -> TextIO:
    try:
        return open(path, "a", encoding="utf-8")
    except OSError as e:
        raise InputError(f"cannot write the log {path}: {e.strerror or e}") from None


class _Progress:
    """The progress bar on stderr: one `\\r` line on a terminal, a line now and then if not."""

    def __init__(self, stream: TextIO, first: int, total: int) -> None:
        self.stream = stream
        self.first = first  # steps completed before this run
        self.total = total
        self.tty = stream.isatty()
        self.start = self.last_shown = time.monotonic()
        self.every = max(1, (total - first) // 10)  # without a terminal: about 10 lines
        self.shown = ""

    def update(self, result: StepResult) -> None:
        now = time.monotonic()
        done = result.step - self.first
        final = result.step == self.total
        if self.tty:
            if not final and now - self.last_shown < 0.1:
                return
        elif not (final or done % self.every == 0 or now - self.last_shown >= 30):
            return
        self.last_shown = now
        rate = done / max(now - self.start, 1e-9)
        eta = (self.total - result.step) / rate
        width = len(str(self.total))
        line = (
            f"step {result.step:{width}d}/{self.total} | loss {result.loss:.4f} | "
            f"{rate:.1f} steps/s | ETA {_duration(eta)}"
        )
        if self.tty:
            self.stream.write("\r" + line.ljust(len(self.shown)))
            self.shown = line
        else:
            self.stream.write(line + "\n")
        self.stream.flush()

    def finish(self) -> None:
        if self.tty and self.shown:
            self.stream.write("\n")
            self.stream.flush()
            self.shown = ""


def _duration(seconds: float) -> str:
    seconds = round(seconds)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


# --- sample -------------------------------------------------------------------------------


def run_sample(args: argparse.Namespace) -> int:
    """`sample`: names drawn exactly as microgpt draws them, from the model's random stream.

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
            with _about_train_section(args.checkpoint):
                random.setstate(decode_random_state(saved["random_state"]))
        else:
            random.seed(DEFAULT_SEED)
    for i, name in enumerate(sample_names(ws.model, ws.tokenizer, args.num, temperature)):
        print(f"sample {i + 1:2d}: {name}")
    return 0


# --- grads --------------------------------------------------------------------------------


def run_grads(args: argparse.Namespace) -> int:
    """`grads`: the loss of one document (or one position) and every parameter's gradient."""
    ws = open_workspace(**model_options(args))
    tokens = ws.tokenizer.encode(args.doc)
    pos = None if args.pos is None else resolve_position(ws.model, tokens, args.pos)
    capture = capture_loss(ws.model, tokens, pos)
    capture.backward()
    grads = {  # the capture's own parameter nodes hold the grads
        name: [[float(p.grad) for p in row] for row in mat]
        for name, mat in capture.model.state_dict.items()
    }
    loss, nodes = capture.root.data, len(capture.nodes)
    if args.json:
        report = {"loss": loss, "doc": args.doc, "pos": pos, "nodes": nodes, "grads": grads}
        print(json.dumps(report, allow_nan=False))
        return 0
    n = ws.model.config.positions(tokens)
    if pos is None:
        what = f"document loss, the mean over positions 0..{n - 1}"
    else:
        here, target = (ws.tokenizer.token_text(t) for t in tokens[pos : pos + 2])
        what = f"position {pos}'s loss ({here} -> {target})"
    print(f"model   {ws.source}")
    print(f"doc     {args.doc!r}: {what}")
    print(f"loss    {loss:.6f}")
    print(f"nodes   {nodes} (the loss depends on them, parameters and constants included)")
    print_grads_table(grads)
    return 0


def print_grads_table(grads: dict[str, list[list[float]]]) -> None:
    """The parameters' gradients for a person: the largest |grad|, then one line per matrix."""
    flat = [
        (abs(g), g, f"{name}[{i}][{j}]")
        for name, mat in grads.items()
        for i, row in enumerate(mat)
        for j, g in enumerate(row)
    ]
    nonzero = sum(1 for a, _, _ in flat if a)
    print(f"params  {len(flat)}, {nonzero} with a nonzero gradient")
    print("\nlargest |grad|:")
    top = sorted(flat, key=lambda t: t[0], reverse=True)[:10]
    width = max((len(label) for _, _, label in top), default=0)
    for rank, (_, g, label) in enumerate(top, 1):
        print(f"  {rank:2d}  {label:<{width}}  {g:+.6e}")
    print("\nper matrix:            shape    max |grad|    norm")
    for name, mat in grads.items():
        values = [g for row in mat for g in row]
        shape = f"{len(mat)}x{len(mat[0])}"
        peak = max(abs(g) for g in values)
        norm = math.sqrt(sum(g * g for g in values))
        print(f"  {name:<18} {shape:>7}  {peak:.6e}  {norm:.6e}")


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        if argv[:1] == ["attach"]:
            from microgpt_tui.attach_command import run_attach

            return run_attach(argv[1:])
        args = parse_args(argv)
        return run(args)
    except InputError as e:
        print(f"{PROG}: {e}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        return 0
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
