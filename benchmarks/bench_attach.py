"""What attach costs: the script's run up to its first backward(), with attach and without.

Without: the script's unmodified source, compiled as `runpy` compiles it and run
as `__main__` the way `runpy.run_path(script, run_name="__main__")` runs it,
timed from the first line (compiling is not counted, on either side) and stopped
at the first `backward()` by a `backward` that raises, set on the value class as
it is created (via `builtins.__build_class__`, so no op of the script is touched). With: the
same run under `engine.attach.attach_script`, stopped at the same call, every node
recorded with its op, line and scope. The target is a ratio of at most 1.5, as
the script runs (Python's cycle collector on). Converting the captured graph into
engine Values happens after the stop and is reported on its own; so is the ratio
with the collector off in both runs, which shows the recording's own cost.

    .venv/bin/python benchmarks/bench_attach.py [SCRIPT [ARGS...]] [--repeat N]
"""

from __future__ import annotations

import argparse
import builtins
import contextlib
import gc
import io
import os
import statistics
import sys
import time
import types
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from engine.attach import attach_script  # noqa: E402

DEFAULT_SCRIPT = ROOT / "examples" / "microgpt.py"
TARGET = 1.5


class _Stop(BaseException):
    pass


def plain_run(script: Path, args: list[str]) -> float:
    """Seconds from the first line of a plain run of `script` to its first backward()."""
    real_build_class = builtins.__build_class__
    stopped_at = []

    def build_class(func, name, *bases, **kwargs):
        cls = real_build_class(func, name, *bases, **kwargs)
        if callable(getattr(cls, "backward", None)):

            def backward(self, *a, **k):
                stopped_at.append(time.perf_counter())
                raise _Stop

            cls.backward = backward
        return cls

    saved = os.getcwd(), list(sys.path), list(sys.argv)
    builtins.__build_class__ = build_class
    try:
        os.chdir(script.parent)
        sys.path.insert(0, str(script.parent))
        sys.argv = [str(script), *args]
        code = compile(script.read_bytes(), str(script), "exec")
        module = types.ModuleType("__main__")
        module.__dict__.update({"__file__": str(script), "__builtins__": builtins})
        saved_main = sys.modules["__main__"]
        sys.modules["__main__"] = module
        with contextlib.redirect_stdout(io.StringIO()):
            start = time.perf_counter()
            try:
                exec(code, module.__dict__)
            except _Stop:
                pass
            finally:
                sys.modules["__main__"] = saved_main
    finally:
        builtins.__build_class__ = real_build_class
        os.chdir(saved[0])
        sys.path[:], sys.argv = saved[1], saved[2]
    if not stopped_at:
        raise SystemExit(f"{script} never called backward()")
    return stopped_at[0] - start


def attached_run(script: Path, args: list[str]) -> tuple[float, float, int]:
    """(seconds to the first backward(), seconds to convert, nodes) under attach."""
    with contextlib.redirect_stdout(io.StringIO()):
        result = attach_script(str(script), args)
    return result.run_seconds, result.convert_seconds, len(result.capture.nodes)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("script", nargs="?", default=str(DEFAULT_SCRIPT))
    parser.add_argument("args", nargs="*", default=[])
    parser.add_argument("--repeat", type=int, default=5)
    ns = parser.parse_args()
    script = Path(ns.script).resolve()
    print(f"script: {script.relative_to(ROOT) if script.is_relative_to(ROOT) else script}")
    for collector in ("on", "off"):
        plain, attached, converts = [], [], []
        nodes = 0
        for _ in range(ns.repeat):  # interleaved, so drift hits both alike
            gc.collect()
            if collector == "off":
                gc.disable()
            plain.append(plain_run(script, ns.args))
            gc.enable()
            gc.collect()
            if collector == "off":
                gc.disable()
            run, conv, nodes = attached_run(script, ns.args)
            gc.enable()
            attached.append(run)
            converts.append(conv)
        p, a = statistics.median(plain), statistics.median(attached)
        ratio = a / p
        if collector == "on":
            print(f"graph: {nodes} nodes at the first backward(); median of {ns.repeat} runs")
            print(f"plain,  first line -> backward(): {p * 1000:8.1f} ms")
            print(f"attach, first line -> backward(): {a * 1000:8.1f} ms")
            verdict = "OK" if ratio <= TARGET else "OVER"
            print(f"ratio: {ratio:.2f}x (target <= {TARGET}x) {verdict}")
            c = statistics.median(converts)
            print(f"converting the graph afterwards:  {c * 1000:8.1f} ms")
        else:  # what the recording itself costs, without the collector's share in both runs
            per_node = (a - p) / nodes * 1e9
            print(
                f"with the cycle collector off in both: plain {p * 1000:.1f} ms, "
                f"attach {a * 1000:.1f} ms ({ratio:.2f}x, +{per_node:.0f} ns a node)"
            )


if __name__ == "__main__":
    main()
