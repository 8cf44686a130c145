"""What the inspector asks about a node's gradient, for one debug session, with the work cached.

One object per session. Everything it answers is about the *final* gradients (what
a full `backward()` leaves), computed on the side, so the answers do not depend on
how far the debugger has stepped and the nodes' own grads are never touched. For a
session stepping a script's own backward() (`DebugSession.script_backward`), they
are that backward()'s, read from its record (`engine.explain.recorded_grads`):

    why = GradInspector(session)
    why.grad(node)             # its final grad; why.held(node): what it held before
    why.by_position(node)      # GradSplit: the share each position's loss sent
    why.by_scope(node)         # GradSplit: the terms its consumers sent, by scope
    why.paths(node, k=3)       # list[GradPath]: the top-k routes from the loss
    why.count_paths(node)      # how many routes there are
    why.explain(node)          # Explanation: why its local gradients are what they are
    why.check(node)            # GradCheck: central differences (run it in a worker)

The final grads and the position shares are computed once, on first use (about
one and three backward passes of the graph: `benchmarks/bench_explain.py`), even
when several threads ask at once (a UI's explanation and its check, say): the
others wait for the one computing them, instead of computing them again.
"""

from __future__ import annotations

import threading

from engine.explain.final_grads import FinalGrads
from engine.explain.local_grads import Explanation, explain
from engine.explain.nudge import REPLAY, GradCheck, check_gradient
from engine.explain.paths import GradPath, count_paths, top_paths
from engine.explain.recorded_grads import ScriptFinalGrads
from engine.explain.replay import Progress, ShouldStop
from engine.explain.shares import GradSplit, PositionShares, split_by_consumer_scope
from engine.session import DebugSession
from engine.value import Value


class GradInspector:
    """Where a session's gradients came from, why their local gradients are so, and proof."""

    def __init__(self, session: DebugSession) -> None:
        self.session = session
        self._computing = threading.Lock()  # one thread computes the cached answers
        self._grads: FinalGrads | None = None
        self._position_shares: PositionShares | None = None

    @property
    def grads(self) -> FinalGrads:
        """Every node's final grad (the same floats as the session's full backward), computed
        once: microgpt's backward(), or the script's own as recorded."""
        if self._grads is None:
            with self._computing:
                if self._grads is None:  # (not computed by another thread meanwhile)
                    self._grads = self._final_grads()
        return self._grads

    def _final_grads(self) -> FinalGrads:
        session = self.session
        walk = session.script_backward
        if walk is not None:
            return ScriptFinalGrads(session.capture, walk, session.consumers)
        return FinalGrads(session.capture, session.consumers)

    @property
    def position_shares(self) -> PositionShares:
        """Every node's grad split by position, computed once."""
        if self._position_shares is None:
            grads = self.grads  # (before the lock: it takes the lock itself)
            with self._computing:
                if self._position_shares is None:
                    self._position_shares = PositionShares(grads)
        return self._position_shares

    def grad(self, node: Value) -> float:
        """`node`'s final grad: `node.grad` once the session's backward walk has run to its end."""
        return self.grads[node]

    def held(self, node: Value) -> float:
        """The grad `node` held as backward() began (0 unless a script's grads accumulated)."""
        return self.grads.held_before(node)

    def by_position(self, node: Value) -> GradSplit:
        """`node`'s grad split by the position whose loss sent it."""
        return self.position_shares.split(node)

    def by_scope(
        self, node: Value, *, keep_position: bool = False, depth: int | None = None
    ) -> GradSplit:
        """`node`'s grad split by its consumers' scopes (see `shares.scope_key`)."""
        return split_by_consumer_scope(self.grads, node, keep_position=keep_position, depth=depth)

    def paths(self, node: Value, k: int = 3, *, start: Value | None = None) -> list[GradPath]:
        """The top-k paths from the loss (or `start`) down to `node`, largest |product| first."""
        return top_paths(self.grads, node, k, start=start)

    def count_paths(self, node: Value, *, start: Value | None = None) -> int:
        return count_paths(self.grads, node, start=start)

    def explain(self, node: Value) -> Explanation:
        """Why `node`'s local gradients are what they are (words, formulas, the numbers)."""
        return explain(node, self.session.consumers_of(node))

    def check(
        self,
        node: Value,
        *,
        method: str = REPLAY,
        h: float | None = None,
        progress: Progress | None = None,
        should_stop: ShouldStop | None = None,
    ) -> GradCheck:
        """Check `node`'s grad by central differences (`engine.explain.nudge`); blocking, so run it
        in a worker (`progress(done, total)` reports, `should_stop()` cancels)."""
        return check_gradient(
            self.session.capture,
            node,
            grads=self.grads,
            method=method,
            h=h,
            progress=progress,
            should_stop=should_stop,
        )
