"""How long exporting one attention head to SVG takes: the target is at most 1 s.

The head is `pos3.layer0.attn.head1` of `emma` (its position-3 loss, after the
backward pass) in the default-size model: the shipped one, or a fresh seed-42
model if it is missing. Timed, at scalar level and at vector level: selecting,
building the DOT (at vector level: deriving the vectors, and `dot` measuring
the boxes), and Graphviz's `dot` writing the SVG (what `microgpt-tui export`
does after tracing). Tracing the graph is reported on its own.

    .venv/bin/python benchmarks/bench_export.py [--repeat N] [--format svg|png|pdf]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from engine.export import Selection, export  # noqa: E402
from engine.session import DebugSession  # noqa: E402
from engine.workspace import default_model_path, fresh, open_workspace  # noqa: E402

SCOPE = "pos3.layer0.attn.head1"
TARGET = 1.0  # seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="timed runs (5); the median counts")
    parser.add_argument("--format", default="svg", choices=("svg", "png", "pdf", "dot"))
    args = parser.parse_args()

    if default_model_path().exists():
        ws = open_workspace()
    else:
        ws = fresh(seed=42)
    start = time.perf_counter()
    session = DebugSession(ws.model, ws.tokenizer, "emma", pos=3)
    session.backward.run_to_end()
    traced = time.perf_counter() - start

    ok = True
    print(f"model: {ws.source}; graph of emma at position 3: {len(session.nodes):,} nodes")
    print(f"trace + backward: {traced:.3f} s (not counted)")
    for level in ("scalar", "vector"):
        times = []
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / f"head.{args.format}"
            for _ in range(args.repeat):
                selection = Selection.of_scope(SCOPE, level=level)
                done = export(session, selection, out, args.format)
                times.append(done.seconds)
            size = out.stat().st_size
        median = statistics.median(times)
        print(
            f"export {SCOPE} at {level} level -> {args.format.upper()}: {done.summary()}; "
            f"{size:,} bytes"
        )
        print(
            f"  seconds: median {median:.3f}, min {min(times):.3f}, max {max(times):.3f} "
            f"over {args.repeat} runs; target <= {TARGET:.1f} s: "
            + ("OK" if median <= TARGET else "TOO SLOW")
        )
        ok &= median <= TARGET
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
