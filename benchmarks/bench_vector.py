"""What the vector level costs: building the vector graph against tracing, and a vector step.

    .venv/bin/python benchmarks/bench_vector.py [--repeat N] [--skip-large]

For each graph (the default model on `emma` at its last position, as the
debugger opens it; and n_layer 4, n_embd 64 on `emma` at position 2, 1.24M
nodes), measured in the same run:

- tracing: building the DebugSession (capture, renumbering, the walks), the
  reference; the median of `--repeat` runs (one run for the large graph);
- building the vector graph (`vector_graph`: the ops, their outputs, the
  lookups) and the vector walk's table of op boundaries (`VectorWalk`), the
  median of `--repeat` runs; the ratio to tracing;
- resolving what every op reads (`VectorOp.inputs`, which the graph does on
  first use, op by op), reported on its own;
- the walk's own rate of processing scalar nodes (`run_to_end`), the floor
  of any move, and the size of the largest op;
- a vector step (`VectorWalk.step`) through the whole backward pass: p50 /
  p95 / max; then `step_over`, and `step` focused on head 1 of layer 0, for
  scale (no target: they process what the scalar `n` and focused `s` do).

Targets (issue 9): building <= 5% of tracing for the default model and < 1 s
for the large graph; a vector step's p95 <= 50 ms on both.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from engine.config import GPTConfig  # noqa: E402
from engine.session import DebugSession  # noqa: E402
from engine.vector import vector_graph  # noqa: E402
from engine.vector.stepping import VectorWalk  # noqa: E402
from engine.workspace import default_model_path, fresh, open_workspace  # noqa: E402

BUILD_RATIO_TARGET, LARGE_BUILD_TARGET, STEP_TARGET = 0.05, 1.0, 0.050


def timed(function, repeat: int) -> tuple[float, object]:
    """The median seconds of `repeat` calls, and the last result."""
    times, result = [], None
    for _ in range(repeat):
        gc.collect()
        start = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def percentiles(samples: list[float], target: bool) -> tuple[str, bool]:
    samples = sorted(samples)
    p95 = samples[min(len(samples) - 1, int(0.95 * len(samples)))]
    ok = p95 <= STEP_TARGET
    verdict = ("ok" if ok else "OVER TARGET") if target else "no target"
    return (
        f"p50 {1000 * statistics.median(samples):7.2f} ms  p95 {1000 * p95:7.2f} ms  "
        f"max {1000 * samples[-1]:7.2f} ms over {len(samples)} steps  [{verdict}]"
    ), ok or not target


def steps(session: DebugSession, walk: VectorWalk, move: str, focus: str | None) -> list[float]:
    """The seconds of each `move` through the whole backward pass, from a fresh start."""
    session.backward.reset()
    session.set_focus(focus)
    samples = []
    while not session.backward.done:
        start = time.perf_counter()
        getattr(walk, move)()
        samples.append(time.perf_counter() - start)
    session.set_focus(None)
    return samples


def bench(title: str, make, pos: int | None, repeat: int, build_target) -> bool:
    print(f"\n{title}")
    ws = make()
    traced, session = timed(lambda: DebugSession(ws.model, ws.tokenizer, "emma", pos), repeat)
    capture = session.capture
    built, graph = timed(lambda: vector_graph(capture), max(repeat, 5))
    table, walk = timed(lambda: VectorWalk(session.backward, graph), max(repeat, 5))
    ratio = (built + table) / traced
    print(f"  graph: {len(session.nodes):,} nodes, {len(graph.ops):,} vector ops")
    print(f"  tracing (the session):        {traced * 1000:9.1f} ms")
    print(f"  vector graph:                 {built * 1000:9.2f} ms")
    print(f"  vector walk's op boundaries:  {table * 1000:9.2f} ms")
    ok_build, verdict = build_target(built + table, ratio)
    print(f"  building, both: {ratio:.1%} of tracing  [{verdict}]")
    start = time.perf_counter()
    for op in graph.ops:
        op.inputs  # noqa: B018 - resolved on first use; timed here for every op at once
    print(f"  every op's inputs (on first use): {1000 * (time.perf_counter() - start):.1f} ms")
    session.backward.reset()
    start = time.perf_counter()
    session.backward.run_to_end()
    per_node = (time.perf_counter() - start) / len(session.nodes)
    largest = max(len(op.nodes) for op in graph.ops)
    print(
        f"  scalar processing (run_to_end): {per_node * 1e9:.0f} ns a node; "
        f"the largest op has {largest:,} scalar nodes"
    )
    ok_steps = True
    head = f"pos{session.pos}.layer0.attn.head1"
    for move, focus in [("step", None), ("step_over", None), ("step", head)]:
        line, ok = percentiles(steps(session, walk, move, focus), move == "step" and not focus)
        where = f"focus {head}" if focus else "no focus"
        print(f"  vector {move:9s} ({where}): {line}")
        ok_steps &= ok
    return ok_build and ok_steps


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=5, help="timed runs (5); the median counts")
    parser.add_argument("--skip-large", action="store_true", help="skip the 1.24M-node graph")
    args = parser.parse_args()

    def small_target(seconds: float, ratio: float) -> tuple[bool, str]:
        ok = ratio <= BUILD_RATIO_TARGET
        return ok, f"target <= {BUILD_RATIO_TARGET:.0%}: " + ("ok" if ok else "OVER TARGET")

    def large_target(seconds: float, ratio: float) -> tuple[bool, str]:
        ok = seconds < LARGE_BUILD_TARGET
        return ok, f"{seconds:.3f} s, target < 1 s: " + ("ok" if ok else "OVER TARGET")

    default = open_workspace if default_model_path().exists() else (lambda: fresh(seed=42))
    ok = bench("default model, 'emma', last position", default, None, args.repeat, small_target)
    if not args.skip_large:
        large = lambda: fresh(seed=42, config=GPTConfig(n_layer=4, n_embd=64))  # noqa: E731
        title = "n_layer 4, n_embd 64, 'emma', position 2"
        ok &= bench(title, large, 2, 1, large_target)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
