"""How fast the gradient explanations answer, against one backward pass of the same graph.

    .venv/bin/python benchmarks/bench_explain.py [--reps N]

On the shipped default model, for three graphs: the debugger's default session
(`emma` at its last position), `emma`'s whole-document loss, and `christopher`'s
(a 12-position document, the largest graph here). The reference, measured in the
same run on the same graph, is `Capture.backward()`: one full backward pass,
which the debugger already runs when it loads a graph. Timed:

- `FinalGrads(capture)`: backward()'s grads into an array (once per graph);
- `PositionShares(grads)`: every node's grad split by position (once per graph);
- `top_paths(grads, target, 5)`, the interactive key, for the targets that make it
  work hardest: the BOS token's embedding (it feeds every position), the parameter
  with the largest |grad|, and a node half-way through the graph. Target: each at
  most 3 backward passes (`PATHS_TARGET`);
- `check_gradient` (50-digit replay) of the BOS embedding: a worker's job, shown
  for scale;
- the app's gradient tab, cold: every answer it shows for the largest-|grad|
  parameter (`explain_node` on a new `GradInspector`: final grads, position
  shares, top 3 paths, the path count, the explanations), a worker's job too.

Each figure is the median of `--reps` repetitions, the reference alternating.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from engine.explain import GradInspector  # noqa: E402
from engine.explain.final_grads import FinalGrads  # noqa: E402
from engine.explain.nudge import check_gradient  # noqa: E402
from engine.explain.paths import top_paths  # noqa: E402
from engine.explain.shares import PositionShares  # noqa: E402
from engine.session import DebugSession  # noqa: E402
from engine.workspace import open_workspace  # noqa: E402
from microgpt_tui.widgets.gradient_view import explain_node  # noqa: E402

PATHS_TARGET = 3.0  # top_paths(k=5) in backward passes of the same graph
GRAPHS = [("emma", False), ("emma", True), ("christopher", True)]


def median_seconds(run: Callable[[], object], reps: int) -> float:
    times = []
    for _ in range(reps):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def bench_graph(session: DebugSession, bos: int, reps: int) -> float:
    """Print one graph's figures; return top_paths' worst ratio to a backward pass."""
    capture = session.capture
    backward = median_seconds(capture.backward, reps)
    print(f"    reference: one backward pass                   {backward * 1e3:8.1f} ms")

    def line(name: str, seconds: float, target: str = "") -> None:
        ratio = seconds / backward
        print(f"    {name:<46} {seconds * 1e3:8.1f} ms  {ratio:5.2f}× backward  {target}")

    line("FinalGrads", median_seconds(lambda: FinalGrads(capture, session.consumers), reps))
    grads = FinalGrads(capture, session.consumers)
    line("PositionShares", median_seconds(lambda: PositionShares(grads), reps))
    params = [n for n in session.nodes if n.op == "param"]
    largest = max(params, key=lambda p: abs(grads[p]))
    embedding = session.model.state_dict["wte"][bos][0]
    targets = {
        f"BOS embedding {embedding.label}": embedding,
        f"largest |grad| {largest.label}": largest,
        "a node half-way": session.nodes[len(session.nodes) // 2],
    }
    worst = 0.0
    for name, target in targets.items():
        seconds = median_seconds(lambda t=target: top_paths(grads, t, 5), reps)
        worst = max(worst, seconds / backward)
        line(f"top_paths k=5: {name}", seconds, f"target <= {PATHS_TARGET:.0f}×")
    check = median_seconds(lambda: check_gradient(capture, embedding, grads=grads), 1)
    line("check_gradient (replay): BOS embedding", check)
    tab = median_seconds(lambda: explain_node(GradInspector(session), largest), reps)
    line("gradient tab, cold (largest |grad|)", tab)
    return worst


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=5, help="repetitions per figure (median)")
    reps = parser.parse_args().reps
    ws = open_workspace()
    print(f"model: {ws.source}; median of {reps}; times are wall-clock on a shared machine")
    worst = 0.0
    for doc, whole in GRAPHS:
        session = DebugSession(ws.model, ws.tokenizer, doc, whole_document=whole)
        what = "whole document" if whole else f"position {session.pos}"
        print(f"\n{doc!r}, {what}: {len(session.nodes):,} nodes")
        worst = max(worst, bench_graph(session, ws.tokenizer.BOS, reps))
    met = worst <= PATHS_TARGET
    print(
        f"\ntop_paths: worst {worst:.2f}× a backward pass; target <= {PATHS_TARGET:.0f}×: "
        f"{'met' if met else 'MISSED'}"
    )
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
