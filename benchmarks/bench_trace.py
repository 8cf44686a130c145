"""What tracing costs: the engine against a plain microgpt, same weights, same document, same run.

    .venv/bin/python benchmarks/bench_trace.py [--reps N]

(a) a traced forward + backward (`capture_loss` + `Capture.backward()`) against
    the plain reference microgpt (`doc_loss` + `backward()`);
(b) memory per node of a traced graph and of a plain one (tracemalloc);
(c) an untraced training step (the engine's model: `document_loss`, `backward()`,
    microgpt's Adam update) against the same step of the plain reference.

Python's cyclic garbage collector dominates building graphs of this size: it
re-scans the growing, acyclic graph again and again. The engine pauses it while
it builds one (refcounting frees the graph); microgpt does not. So each time is
given twice: "as run" (the reference with the default GC, as microgpt runs; the
engine as it runs) and "like for like" (GC disabled for both). Each figure is the
median of several repetitions, engine and reference alternating.
"""

from __future__ import annotations

import argparse
import gc
import random
import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
sys.setrecursionlimit(100_000)  # the reference's build_topo is recursive, as microgpt's

import reference_microgpt as ref  # noqa: E402

from engine.capture import capture_loss, paused_gc  # noqa: E402
from engine.config import GPTConfig  # noqa: E402
from engine.data import Tokenizer  # noqa: E402
from engine.model import GPT, document_loss  # noqa: E402

CONFIG = GPTConfig(n_layer=2, n_embd=32, n_head=4, block_size=16)
VOCAB = "abcdefghijklmnopqrstuvwxyz"
DOC = "christopher"  # 11 characters: 12 positions
SEED = 42
TRACED_TARGET, TRACED_MAX, BYTES_TARGET, TRAIN_TARGET = 1.10, 1.25, 300, 1.05


def models() -> tuple[GPT, dict]:
    """The engine's model and the reference's state_dict, with the same weights."""
    random.seed(SEED)
    model = GPT.init(CONFIG, len(VOCAB) + 1)
    random.seed(SEED)
    state_dict = ref.init_state_dict(len(VOCAB) + 1, CONFIG.n_layer, CONFIG.n_embd, 16)
    assert model.to_floats() == {
        k: [[p.data for p in row] for row in mat] for k, mat in state_dict.items()
    }
    return model, state_dict


def timed(run: Callable[[], object], *, gc_on: bool) -> float:
    """Seconds `run()` takes with the collector on or off; what it returns is freed after."""
    gc.collect()
    if gc_on:
        gc.enable()
    else:
        gc.disable()
    try:
        start = time.perf_counter()
        result = run()
        elapsed = time.perf_counter() - start
    finally:
        gc.enable()
    del result  # freeing a large graph is not part of the measurement
    return elapsed


def compare(
    engine: Callable[[], object],
    reference: Callable[[], object],
    reps: int,
    *,
    engine_gc: bool,
    reference_gc: bool,
) -> tuple[list[float], list[float]]:
    """Seconds of each, in alternating repetitions (which goes first alternates too)."""
    ours: list[float] = []
    theirs: list[float] = []
    for i in range(reps):
        pair = [(ours, engine, engine_gc), (theirs, reference, reference_gc)]
        for times, run, gc_on in pair if i % 2 == 0 else reversed(pair):
            times.append(timed(run, gc_on=gc_on))
    return ours, theirs


def report(what: str, ours: list[float], theirs: list[float], target: str) -> None:
    """The medians and their ratio; and the ratio of the best times, less hurt by other load."""
    mine, plain = statistics.median(ours), statistics.median(theirs)
    best = min(ours) / min(theirs)
    print(
        f"    {what:<33} engine {mine:5.2f} s  plain {plain:5.2f} s  "
        f"ratio {mine / plain:4.2f} (best times {best:4.2f})  {target}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--reps", type=int, default=4, help="repetitions per figure (median)")
    reps = parser.parse_args().reps

    model, state_dict = models()
    tokens = Tokenizer(VOCAB).encode(DOC)
    assert tokens == ref.tokenize(DOC, list(VOCAB))
    args = (state_dict, CONFIG.n_layer, CONFIG.n_head, CONFIG.block_size, tokens)

    def traced() -> object:
        capture = capture_loss(model, tokens)
        capture.backward()  # the order the capture found, as the debugger uses it
        return capture

    def plain() -> object:
        for p in (p for mat in state_dict.values() for row in mat for p in row):
            p.grad = 0  # as capture_loss does for the engine's parameters
        loss = ref.doc_loss(*args)
        loss.backward()
        return loss

    # the two compute the same thing, float for float
    capture, loss = traced(), plain()
    nodes = len(capture.nodes)
    assert capture.root.data == loss.data and nodes == len(loss.topo())
    del capture, loss

    print(
        f"microgpt-tui tracing benchmark: n_layer={CONFIG.n_layer} n_embd={CONFIG.n_embd} "
        f"n_head={CONFIG.n_head}, document {DOC!r} ({len(DOC)} characters), {nodes:,} nodes; "
        f"median of {reps}"
    )
    print("(times are wall-clock on whatever else this machine is running: expect noise)")
    target = f"target <= {TRACED_TARGET:.2f} (max {TRACED_MAX:.2f})"

    print("\n(a) traced forward + backward vs plain microgpt forward + backward")
    ours, theirs = compare(traced, plain, reps, engine_gc=True, reference_gc=True)
    report("as run (plain with default GC):", ours, theirs, target)
    ours, theirs = compare(traced, plain, reps, engine_gc=False, reference_gc=False)
    report("like for like (GC off for both):", ours, theirs, target)

    print("\n(b) memory per node (tracemalloc: bytes allocated for the graph / nodes)")
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    capture = capture_loss(model, tokens)
    traced_bytes = (tracemalloc.get_traced_memory()[0] - before) / len(capture.nodes)
    del capture
    gc.collect()
    before = tracemalloc.get_traced_memory()[0]
    loss = ref.doc_loss(*args)
    plain_bytes = (tracemalloc.get_traced_memory()[0] - before) / nodes
    tracemalloc.stop()
    del loss
    print(
        f"    traced {traced_bytes:5.0f} B/node   plain {plain_bytes:5.0f} B/node   "
        f"ratio {traced_bytes / plain_bytes:4.2f}   target <= {BYTES_TARGET} B/node"
    )

    print("\n(c) untraced training step (forward, backward, Adam) vs plain microgpt")
    lr, beta1, beta2, eps = 0.01, 0.85, 0.99, 1e-8
    engine_params = model.params
    plain_params = [p for mat in state_dict.values() for row in mat for p in row]
    losses: dict[str, list[float]] = {"engine": [], "plain": []}
    for p in engine_params + plain_params:
        p.grad = 0  # (a) left the reference's grads behind; (b) cleared the engine's

    def adam(params: list, m: list, v: list, step: int) -> None:
        """microgpt's update, verbatim (a fixed step number: every repetition is step 0)."""
        lr_t = lr * (1 - step / 1000)
        for i, p in enumerate(params):
            m[i] = beta1 * m[i] + (1 - beta1) * p.grad
            v[i] = beta2 * v[i] + (1 - beta2) * p.grad**2
            m_hat = m[i] / (1 - beta1 ** (step + 1))
            v_hat = v[i] / (1 - beta2 ** (step + 1))
            p.data -= lr_t * m_hat / (v_hat**0.5 + eps)
            p.grad = 0

    def engine_step(pause_gc: bool) -> Callable[[], object]:
        m, v = [0.0] * len(engine_params), [0.0] * len(engine_params)

        def run() -> object:
            if pause_gc:  # as the engine's Trainer runs a step
                with paused_gc():
                    loss = document_loss(model, tokens)
                    loss.backward()
            else:
                loss = document_loss(model, tokens)
                loss.backward()
            adam(engine_params, m, v, 0)
            losses["engine"].append(loss.data)
            return loss

        return run

    def plain_step() -> Callable[[], object]:
        m, v = [0.0] * len(plain_params), [0.0] * len(plain_params)

        def run() -> object:
            loss = ref.doc_loss(*args)
            loss.backward()
            adam(plain_params, m, v, 0)
            losses["plain"].append(loss.data)
            return loss

        return run

    target = f"target <= {TRAIN_TARGET:.2f}"
    ours, theirs = compare(engine_step(True), plain_step(), reps, engine_gc=True, reference_gc=True)
    report("as run (plain with default GC):", ours, theirs, target)
    ours, theirs = compare(
        engine_step(False), plain_step(), reps, engine_gc=False, reference_gc=False
    )
    report("like for like (GC off for both):", ours, theirs, target)
    # both trained the same way from the same weights: the same losses, step for step
    assert losses["engine"] == losses["plain"], "the engine's training diverged from microgpt's"


if __name__ == "__main__":
    main()
