"""Hand-made Value graphs as captures, for tests that need a graph small enough to enumerate."""

from __future__ import annotations

import random
from collections.abc import Callable

from engine.capture import Capture
from engine.trace import Trace, scope
from engine.value import Value, ancestors


def capture_of(build: Callable[[], Value]) -> Capture:
    """Record `build()` (which may open scopes) and keep what its result depends on."""
    trace = Trace()
    with trace.recording(number=False):
        root = build()
    trace.keep_only(ancestors(root)[1])
    return Capture(trace, root)


def random_graph(rng: random.Random, size: int = 14) -> Callable[[], Value]:
    """A builder of a random expression DAG over microgpt's ops, in scopes `pos0`/`pos1`/….

    Every op is used; values stay in ranges where log and ** are defined. Some nodes
    belong to no position (`mix`), as the loss's mean does. The root is the sum of
    the last few nodes, so most of the graph feeds it.
    """

    def build() -> Value:
        pool = [Value(rng.uniform(0.5, 1.5)) for _ in range(3)]
        for _ in range(size):
            where = rng.choice(["pos0", "pos1", "pos2", "mix"])
            with scope(where), scope(rng.choice(["attn", "mlp"])):
                a, b = rng.choice(pool), rng.choice(pool)
                op = rng.choice(["+", "*", "**", "log", "exp", "relu", "-", "/"])
                if op == "+":
                    v = a + b
                elif op == "*":
                    v = a * b
                elif op == "-":
                    v = a - b
                elif op == "/":
                    v = a / (b * b + 0.5)
                elif op == "**":
                    v = (a * a + 0.25) ** rng.choice([-1, -0.5, 2, 0.5, 3])
                elif op == "log":
                    v = (a * a + 0.5).log()
                elif op == "exp":
                    v = (a * 0.3).exp()
                else:
                    v = (a - 0.9).relu()
            pool.append(v)
        with scope("loss"):
            return sum(pool[-4:])

    return build
