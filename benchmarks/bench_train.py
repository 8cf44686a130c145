"""What `train` costs per step: the engine's Trainer against microgpt's own loop, same run.

    .venv/bin/python benchmarks/bench_train.py [--steps N] [--reps N]

Both start from microgpt's initialisation (seed 42, the names dataset, the
default sizes) and train the same N steps, init included: the engine's
`fresh()` + `Trainer.run()` (forward, backward, Adam, with the checks a real run
makes: the step's signals held across the update, a non-finite loss or weight
refused) against the plain reference's `train()`. The losses must be equal step
for step; the time is the median of several repetitions, the two alternating.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
sys.setrecursionlimit(100_000)  # the reference's build_topo is recursive, as microgpt's
os.environ.setdefault("MICROGPT_TUI_OFFLINE", "1")  # the names shipped in the package

import reference_microgpt as ref  # noqa: E402

from engine.data import load_docs  # noqa: E402
from engine.train import Trainer  # noqa: E402
from engine.workspace import DEFAULT_SEED, fresh  # noqa: E402

TARGET = 1.05  # the engine's training may cost at most 5% more than microgpt's


def engine_run(steps: int) -> list[float]:
    ws = fresh(seed=DEFAULT_SEED)
    assert ws.docs is not None
    trainer = Trainer(ws.model, ws.tokenizer, ws.docs, steps)
    return [result.loss for result in trainer.run()]


def reference_run(docs: list[str], steps: int) -> list[float]:
    losses, _, _, _ = ref.train(docs, seed=DEFAULT_SEED, num_steps=steps, num_samples=0)
    return losses


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--reps", type=int, default=3)
    args = parser.parse_args()
    docs = load_docs(None)
    times: dict[str, list[float]] = {"engine": [], "reference": []}
    losses: dict[str, list[float]] = {}
    for _ in range(args.reps):
        for name, run in (
            ("engine", lambda: engine_run(args.steps)),
            ("reference", lambda: reference_run(docs, args.steps)),
        ):
            start = time.perf_counter()
            losses[name] = run()
            times[name].append(time.perf_counter() - start)
    assert losses["engine"] == losses["reference"], "the engine's training is not microgpt's"
    ours, theirs = (statistics.median(times[k]) for k in ("engine", "reference"))
    print(f"{args.steps} training steps, init included (median of {args.reps}):")
    print(
        f"    engine {ours:6.2f} s   microgpt {theirs:6.2f} s   ratio {ours / theirs:4.2f}   "
        f"target <= {TARGET:.2f}"
    )


if __name__ == "__main__":
    main()
