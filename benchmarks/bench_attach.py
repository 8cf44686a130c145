"""What attach costs, at two sizes: `attach --grads` against the script's plain run.

Sizes: examples/microgpt.py as shipped (1 layer, n_embd 16, 4 heads; its first
document), and the same script with 2 layers, n_embd 32 and 8 heads on the
document "olivia" (about 405k nodes), written to a temporary folder.

Plain: the script's unmodified source, run as `__main__` in this process: reading
and compiling it (as `python SCRIPT` does), then from its first line until its
first `backward()` has returned (Python's cycle collector on, as a script runs).
`--grads`: what `attach SCRIPT 1 --grads --json` does once its imports are done:
`attach_script(..., graph=False)` (reading, parsing and compiling the script
too) stopped after the same call, then the report's JSON.

Like with like: both run in this process, after one untimed run of each
(imports done, files cached), and neither counts starting Python or importing
anything. A fresh process pays those on top; they are measured apart and
printed: a bare `python -c pass` (what `python SCRIPT` pays before its first
line) and the attach command's own start-up (Python, then importing the attach
subcommand and the engine: more than the whole plain run at the small size).
The plain and `--grads` runs alternate, so drift on a shared machine hits both
alike (the other runs come after them, their larger graphs apart); medians are
reported, of wall-clock time (what a user waits; the targets) and of CPU time
(what the process itself spent: steadier when other work shares the cores). For
information, the plain run is also timed with Python's cycle collector paused:
attach pauses it for the captured step, while the script run as is pays it
(much of its forward pass).

Debugger: `attach SCRIPT` without `--grads` also builds the graph as engine nodes
(the report does without them when the script's backward() is microgpt's); that
conversion, from the script's stop to the result, is timed in a run of its own,
per node.

Targets: `--grads` whole at most 1.5x the plain run, at both sizes; the
debugger's capture and conversion at most 1 s after the script stops, at the
large size.

    .venv/bin/python benchmarks/bench_attach.py [--repeat N] [--size small|large|both]
"""

from __future__ import annotations

import argparse
import builtins
import contextlib
import gc
import io
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import types
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from engine.attach import attach_script  # noqa: E402
from microgpt_tui.subcommands.attach import print_grads  # noqa: E402

EXAMPLE = ROOT / "examples" / "microgpt.py"
RATIO_TARGET = 1.5
CONVERT_TARGET = 1.0  # seconds, at the large size


class _Stop(BaseException):
    pass


def large_variant(folder: Path) -> Path:
    """examples/microgpt.py with 2 layers, n_embd 32, 8 heads, first document "olivia"."""
    source = EXAMPLE.read_text()
    for old, new in [
        ("n_layer = 1 ", "n_layer = 2 "),
        ("n_embd = 16 ", "n_embd = 32 "),
        ("n_head = 4 ", "n_head = 8 "),
        ("random.shuffle(docs)\n", 'random.shuffle(docs)\ndocs.insert(0, "olivia")\n'),
    ]:
        assert old in source, old
        source = source.replace(old, new, 1)
    (folder / "input.txt").write_text((EXAMPLE.parent / "input.txt").read_text())
    script = folder / "microgpt_large.py"
    script.write_text(source)
    return script


def plain_run(script: Path, collector: bool = True) -> dict:
    """Seconds from reading and compiling `script` to the end of its first backward() in a
    plain run, and of that backward() alone; `collector=False`: with Python's cycle
    collector paused throughout, as attach pauses it for the captured step."""
    real_build_class = builtins.__build_class__
    ended, began, ended_cpu = [], [], []

    def build_class(func, name, *bases, **kwargs):
        cls = real_build_class(func, name, *bases, **kwargs)
        original = vars(cls).get("backward")
        if callable(original):

            def backward(self, *a, **k):
                began.append(time.perf_counter())
                original(self, *a, **k)
                ended.append(time.perf_counter())
                ended_cpu.append(time.process_time())
                raise _Stop

            cls.backward = backward
        return cls

    saved = os.getcwd(), list(sys.path), list(sys.argv), sys.modules["__main__"]
    start, start_cpu = time.perf_counter(), time.process_time()
    code = compile(script.read_bytes(), str(script), "exec")  # as `python SCRIPT` does
    compiled, compiled_cpu = time.perf_counter() - start, time.process_time() - start_cpu
    module = types.ModuleType("__main__")
    module.__dict__.update({"__file__": str(script), "__builtins__": builtins})
    builtins.__build_class__ = build_class
    paused = not collector and gc.isenabled()
    try:
        os.chdir(script.parent)
        sys.path.insert(0, str(script.parent))
        sys.argv = [str(script), "1"]
        sys.modules["__main__"] = module
        if paused:
            gc.disable()
        with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(_Stop):
            # the compiling counts, not this setup
            start, start_cpu = time.perf_counter() - compiled, time.process_time() - compiled_cpu
            exec(code, module.__dict__)
    finally:
        if paused:
            gc.enable()
        builtins.__build_class__ = real_build_class
        os.chdir(saved[0])
        sys.path[:], sys.argv, sys.modules["__main__"] = saved[1], saved[2], saved[3]
    if not ended:
        raise SystemExit(f"{script} never called backward()")
    return {
        "total": ended[0] - start,
        "cpu": ended_cpu[0] - start_cpu,
        "backward": ended[0] - began[0],
    }


def grads_run(script: Path) -> dict:
    """`attach --grads --json` once its imports are done, timed, with its parts."""
    start, start_cpu = time.perf_counter(), time.process_time()
    with contextlib.redirect_stdout(io.StringIO()):
        result = attach_script(str(script), ["1"], graph=False)
    attached = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()) as out:
        print_grads(result, str(script), as_json=True)
    end, end_cpu = time.perf_counter(), time.process_time()
    report = json.loads(out.getvalue())
    return {
        "total": end - start,
        "cpu": end_cpu - start_cpu,
        "forward": result.run_seconds,
        "backward": result.backward_seconds,
        "checks": result.stop_seconds,
        "report": end - attached,
        "nodes": report["nodes"],
    }


def debugger_run(script: Path) -> dict:
    """`attach` for the debugger: the graph built as engine nodes after the stop."""
    with contextlib.redirect_stdout(io.StringIO()):
        result = attach_script(str(script), ["1"])
    return {
        "convert": result.convert_seconds,
        "nodes": len(result.capture.nodes),
        "writes": len(result.recorded_backward.targets),  # derived here if need be: untimed
    }


def startup(code: str, repeat: int) -> float:
    """Median seconds of a fresh `python -c code`."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def measure(label: str, script: Path, repeat: int) -> bool:
    plain_run(script), grads_run(script)  # warm up, untimed
    gc.unfreeze()  # what attach froze: let the next runs start alike
    plain, paused, grads, debug = [], [], [], []
    for _ in range(repeat):  # the pair the ratio compares, alternating
        gc.collect()
        plain.append(plain_run(script))
        gc.collect()
        grads.append(grads_run(script))
        gc.unfreeze()
    # then the rest, whose larger graphs would otherwise come between the pairs
    debugger_run(script)
    gc.unfreeze()
    for _ in range(repeat):
        gc.collect()
        paused.append(plain_run(script, collector=False)["total"])
        gc.collect()
        debug.append(debugger_run(script))
        gc.unfreeze()
    p = statistics.median(r["total"] for r in plain)
    p_cpu = statistics.median(r["cpu"] for r in plain)
    plain_backward = statistics.median(r["backward"] for r in plain)
    part = {key: statistics.median(r[key] for r in grads) for key in grads[0]}
    conv = {key: statistics.median(r[key] for r in debug) for key in debug[0]}
    assert part["nodes"] == conv["nodes"]
    ratio = part["total"] / p
    nodes = int(conv["nodes"])
    print(f"{label}: {nodes:,} nodes, {int(conv['writes']):,} grad writes; median of {repeat}")
    print(f"  plain run to the end of backward():       {p * 1000:8.1f} ms")
    print(f"    its backward() alone:                   {plain_backward * 1000:8.1f} ms")
    print(
        f"    (with the cycle collector paused, as attach pauses it: "
        f"{statistics.median(paused) * 1000:.1f} ms)"
    )
    print(f"  attach --grads --json, whole:             {part['total'] * 1000:8.1f} ms")
    print(f"    the script's run to backward():         {part['forward'] * 1000:8.1f} ms")
    print(f"    its own backward(), recorded:           {part['backward'] * 1000:8.1f} ms")
    print(f"    after the stop (checks, parameters):    {part['checks'] * 1000:8.1f} ms")
    print(f"    the report's JSON:                      {part['report'] * 1000:8.1f} ms")
    ok = ratio <= RATIO_TARGET
    print(f"  ratio: {ratio:.2f}x (target <= {RATIO_TARGET}x) {'OK' if ok else 'OVER'}")
    print(
        f"  the same in CPU time (steadier on a busy machine): {part['cpu'] * 1000:.1f} ms "
        f"vs {p_cpu * 1000:.1f} ms, {part['cpu'] / p_cpu:.2f}x"
    )
    print(
        f"  attach (debugger), capture and conversion after the stop: "
        f"{conv['convert'] * 1000:.1f} ms ({conv['convert'] / nodes * 1e9:.0f} ns a node)"
    )
    if label == "large":
        fits = conv["convert"] <= CONVERT_TARGET
        print(f"    target at the large size: <= {CONVERT_TARGET:.1f} s {'OK' if fits else 'OVER'}")
        ok = ok and fits
    return ok


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--size", choices=["small", "large", "both"], default="both")
    ns = parser.parse_args()
    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        sizes = {"small": EXAMPLE, "large": large_variant(Path(tmp))}
        for label, script in sizes.items():
            if ns.size in (label, "both"):
                ok = measure(label, script, ns.repeat) and ok
    bare = startup("pass", ns.repeat)
    command = startup("import microgpt_tui.cli, microgpt_tui.subcommands.attach", ns.repeat)
    print(
        f"start-up in a fresh process (not in the ratios): python {bare * 1000:.0f} ms; "
        f"the attach command {command * 1000:.0f} ms (python, then its imports)"
    )
    print("all targets met" if ok else "some target missed")


if __name__ == "__main__":
    main()
