"""What attach costs, at two sizes: the whole `attach --grads` against the script's plain run.

Sizes: examples/microgpt.py as shipped (1 layer, n_embd 16, 4 heads; its first
document), and the same script with 2 layers, n_embd 32 and 8 heads on the
document "olivia" (about 405k nodes), written to a temporary folder.

Plain: the script's unmodified source, run as `__main__` in this process, from its
first line until its first `backward()` has returned (Python's cycle collector
on, as a script runs; compiling is not counted). Attach: `attach_script` on the
same script, stopped after the same call, then the `--grads --json` report
(the replay of the recorded backward() to its end, every parameter's grad, the
JSON text): everything `attach --grads --json` does once its imports are done.
Targets: the whole attach at most 1.5x the plain run; capture and conversion
(from the script's stop to the result) at most 1 s at the large size. Runs are
interleaved, so drift hits both alike; medians are reported.

    .venv/bin/python benchmarks/bench_attach.py [--repeat N] [--size small|large]
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


def plain_run(script: Path) -> float:
    """Seconds from the first line of a plain run of `script` to its first backward()'s end."""
    real_build_class = builtins.__build_class__
    ended = []

    def build_class(func, name, *bases, **kwargs):
        cls = real_build_class(func, name, *bases, **kwargs)
        original = vars(cls).get("backward")
        if callable(original):

            def backward(self, *a, **k):
                original(self, *a, **k)
                ended.append(time.perf_counter())
                raise _Stop

            cls.backward = backward
        return cls

    saved = os.getcwd(), list(sys.path), list(sys.argv), sys.modules["__main__"]
    code = compile(script.read_bytes(), str(script), "exec")
    module = types.ModuleType("__main__")
    module.__dict__.update({"__file__": str(script), "__builtins__": builtins})
    builtins.__build_class__ = build_class
    try:
        os.chdir(script.parent)
        sys.path.insert(0, str(script.parent))
        sys.argv = [str(script), "1"]
        sys.modules["__main__"] = module
        with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(_Stop):
            start = time.perf_counter()
            exec(code, module.__dict__)
    finally:
        builtins.__build_class__ = real_build_class
        os.chdir(saved[0])
        sys.path[:], sys.argv, sys.modules["__main__"] = saved[1], saved[2], saved[3]
    if not ended:
        raise SystemExit(f"{script} never called backward()")
    return ended[0] - start


def attached_run(script: Path) -> dict:
    """The whole `attach --grads --json`, timed, with its parts."""
    start = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()):
        result = attach_script(str(script), ["1"])
    attached = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()) as out:
        print_grads(result, str(script), as_json=True)
    end = time.perf_counter()
    json.loads(out.getvalue())
    return {
        "total": end - start,
        "forward": result.run_seconds,
        "backward": result.backward_seconds,
        "convert": result.convert_seconds,
        "report": end - attached,
        "nodes": len(result.capture.nodes),
        "writes": len(result.recorded_backward.targets),
    }


def measure(label: str, script: Path, repeat: int) -> bool:
    plain, runs = [], []
    for _ in range(repeat):
        gc.collect()
        plain.append(plain_run(script))
        gc.collect()
        runs.append(attached_run(script))
        gc.unfreeze()  # what attach froze: let the next runs start alike
    p = statistics.median(plain)
    part = {key: statistics.median(r[key] for r in runs) for key in runs[0]}
    ratio = part["total"] / p
    nodes = int(part["nodes"])
    print(f"{label}: {nodes:,} nodes, {int(part['writes']):,} grad writes; median of {repeat}")
    print(f"  plain run to the end of backward():       {p * 1000:8.1f} ms")
    print(f"  attach --grads --json, whole:             {part['total'] * 1000:8.1f} ms")
    print(f"    the script's run to backward():         {part['forward'] * 1000:8.1f} ms")
    print(f"    its own backward(), every write logged: {part['backward'] * 1000:8.1f} ms")
    print(
        f"    capture and conversion after the stop:  {part['convert'] * 1000:8.1f} ms"
        f"  ({part['convert'] / nodes * 1e9:.0f} ns a node)"
    )
    print(f"    the report (replay to the end, JSON):   {part['report'] * 1000:8.1f} ms")
    ok = ratio <= RATIO_TARGET
    print(f"  ratio: {ratio:.2f}x (target <= {RATIO_TARGET}x) {'OK' if ok else 'OVER'}")
    return ok and (label != "large" or part["convert"] <= CONVERT_TARGET)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--size", choices=["small", "large", "both"], default="both")
    ns = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        sizes = {"small": EXAMPLE, "large": large_variant(Path(tmp))}
        for label, script in sizes.items():
            if ns.size in (label, "both"):
                measure(label, script, ns.repeat)
        if ns.size in ("large", "both"):
            print(f"  conversion target at the large size: <= {CONVERT_TARGET:.1f} s")


if __name__ == "__main__":
    main()
