"""Stepping one vector op at a time: a wrapper that moves a scalar `Walk` to op boundaries.

At vector level a step runs the walk until the next vector op is complete:
every scalar step of it done, in the walk's own order (microgpt's, backward),
and everything the walk meets in between processed exactly as scalar steps
would. So a vector-level stop is a scalar-level state; nothing is computed
differently, and switching level (using this or the walk's own moves) never
changes a value or a grad. `back` is the walk's: it undoes the last move,
whatever its size. Focus and breakpoints are the walk's too, and keep their
meanings: a step stops only at ops inside the focus; `step_over` treats ops in
inner scopes as part of the step; `step_out` runs to the first op completed
after the current scope's last node; `cont` runs to the first op completed in
a breakpoint scope after one outside it.

Built on `Walk`'s public API alone (`order`, `position`, `focus`,
`breakpoints`, `scope_end`, `run_to`, `back`): a vector move first finds its
stop among the op completions (a table made once), then has the walk process
the scalar nodes up to it with `run_to`, as one move that `back` undoes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from engine.graph import in_scope
from engine.recorded_backward import ReplayWalk
from engine.stepper import BackwardPass, Walk
from engine.vector.graph import VectorGraph, VectorOp

DONE, RUNNING, PENDING = "done", "running", "pending"


class VectorWalk:
    """Moves `walk` (a ForwardReplay, BackwardPass or ReplayWalk over `graph`'s nodes) op by op."""

    def __init__(self, walk: Walk, graph: VectorGraph) -> None:
        self.walk = walk
        self.graph = graph
        n = len(walk.order)
        self._stops = bytearray(n + 1)  # [k]: an op is complete once k nodes are processed
        self._completed: dict[int, VectorOp] = {}  # k -> the op completed there
        self.first: list[int] = []  # by op number: the index of its first node in walk order
        self.last: list[int] = []  # ... and of its last
        # where each node is in the walk's order: creation order (the forward replay),
        # or the backward's (a BackwardPass, or a script's recorded backward replayed)
        index = walk.index_of if isinstance(walk, (BackwardPass, ReplayWalk)) else None
        for op in graph.ops:
            if index is None:
                first, last = op.start, op.stop - 1
            else:
                first, last = _span(op.steps_in(index))
            self.first.append(first)
            self.last.append(last)
            if last >= 0:
                self._stops[last + 1] = 1
                self._completed[last + 1] = op

    # -- where the walk is --------------------------------------------------------------

    @property
    def completed_op(self) -> VectorOp | None:
        """The op the last processed node completed (None if it completed none)."""
        return self._completed.get(self.walk.position)

    @property
    def current_op(self) -> VectorOp | None:
        """The op just completed, else the op the last processed node belongs to (if any)."""
        done = self.completed_op
        if done is not None:
            return done
        node = self.walk.current
        return None if node is None else self.graph.op_of(node)

    def state(self, op: VectorOp) -> str:
        """DONE (every scalar step of `op` processed), RUNNING (some) or PENDING (none)."""
        position = self.walk.position
        if position > self.last[op.number]:
            return DONE
        return RUNNING if position > self.first[op.number] else PENDING

    def next_op(self) -> VectorOp | None:
        """The op the next `step` completes (inside the focus, if there is one)."""
        focus, k = self.walk.focus, self.walk.position
        while (k := self._stops.find(1, k + 1)) >= 0:
            op = self._completed[k]
            if focus is None or in_scope(op.scope, focus):
                return op
        return None

    def last_completed_op(self) -> VectorOp | None:
        """The op completed last, at or before the walk's position (None before any)."""
        k = self._stops.rfind(1, 0, self.walk.position + 1)
        return self._completed[k] if k >= 0 else None

    def where(self) -> str | None:
        """The scope the walk is in at vector level: the current op's (None before any)."""
        op = self.current_op
        return None if op is None else op.scope

    # -- moves --------------------------------------------------------------------------

    def step(self) -> int:
        """Complete the next op (inside the focus); how many scalar nodes were processed."""
        return self._move_to(lambda k, op: True)

    def step_over(self) -> int:
        """Complete the next op in the current op's scope, ops in inner scopes included.

        When the scope has nothing left, stops at the first op completed after it.
        """
        level = self.where()
        if level is None:
            return self.step()
        end = self.walk.scope_end(level)
        return self._move_to(lambda k, op: op.scope == level or k > end + 1)

    def step_out(self) -> int:
        """Run past the current op's scope: to the first op completed after its last node."""
        level = self.where()
        if level is None:
            return self.step()
        end = self.walk.scope_end(level)
        return self._move_to(lambda k, op: k > end + 1)

    def cont(self) -> int:
        """Run to the first op completed in a breakpoint scope after one outside it (or the end)."""
        breakpoints = tuple(self.walk.breakpoints)
        previous = [self.current_op]

        def entering(k: int, op: VectorOp) -> bool:
            before, previous[0] = previous[0], op
            return any(
                in_scope(op.scope, bp) and (before is None or not in_scope(before.scope, bp))
                for bp in breakpoints
            )

        return self._move_to(entering, every_op=True)

    def back(self) -> bool:
        """Undo the walk's last move exactly (whatever level made it)."""
        return self.walk.back()

    def _move_to(self, accept: Callable[[int, VectorOp], bool], *, every_op: bool = False) -> int:
        """Move the walk, as one undoable move, to the first op completion `accept` takes.

        Only op completions are looked at (`accept(k, op)`: `op` is complete once
        `k` nodes are processed), inside the focus, unless `every_op` (`cont`
        follows every op, as the scalar `cont` follows every node); with none,
        to the end. The scalar nodes are then processed by the walk itself.
        """
        walk = self.walk
        if walk.done:
            return 0
        focus, k, target = walk.focus, walk.position, len(walk.order)
        while (k := self._stops.find(1, k + 1)) >= 0:
            op = self._completed[k]
            inside = focus is None or in_scope(op.scope, focus)
            if not (inside or every_op):
                continue
            if accept(k, op) and inside:
                target = k
                break
        return walk.run_to(target)


def _span(steps: Sequence[int]) -> tuple[int, int]:
    """The first and last step of an op's nodes; a recorded backward may skip some (-1).

    An op none of whose nodes the walk steps has no completion: (-1, -1).
    """
    first, last = min(steps), max(steps)
    if first < 0:
        stepped = [i for i in steps if i >= 0]
        first = min(stepped, default=-1)
    return first, last
