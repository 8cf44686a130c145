"""Replaying a captured graph's forward pass with one node's value replaced.

Only the nodes computed from the replaced one are recomputed, in creation order
(inputs before the nodes made from them), each op from its inputs' values
(`engine.explain.ops`): in floats, the same bits as the model (a replay with the node's
own value gives back every value exactly), or in decimals of any precision. No
`Value` is created, so a replay is safe in a worker thread while a trace records.

What a replay keeps fixed is what the graph holds as constants: softmax's
`max_val` (a plain float taken from the logits) stays the one the capture saw.
That changes no loss (softmax(x − c) is the same for every c) beyond rounding.
"""

from __future__ import annotations

import decimal
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from engine.capture import Capture
from engine.errors import InputError
from engine.explain.final_grads import is_node_of
from engine.explain.ops import OPS, decimal_forward, exponent_of, forward
from engine.value import Value

Progress = Callable[[int, int], None]  # (nodes done, nodes in all)
ShouldStop = Callable[[], bool]

_EVERY = 2048  # nodes between progress reports and cancellation checks


class Cancelled(Exception):
    """A replay (or a check built on replays) was asked to stop."""


@dataclass(frozen=True)
class Replayed:
    """One replay's result: the root's value, and the relus whose input changed side."""

    root: float | Decimal
    flipped: tuple[Value, ...]  # relus whose input crossed 0 (their mask changed)
    values: dict[int, float | Decimal] | None = None  # every recomputed value, by id, if asked


class Replay:
    """The forward pass of `capture`, replayable with `node`'s value replaced."""

    def __init__(self, capture: Capture, node: Value) -> None:
        if not is_node_of(capture, node):
            raise InputError("the node to replace is not a node of this graph")
        nodes, trace = capture.nodes, capture.trace
        self.capture = capture
        self.node = node
        affected = bytearray(trace.id_bound)  # by id (ids may have gaps: a rerooted graph)
        affected[node.id] = 1
        self.steps: list[Value] = []  # the nodes computed from `node`, in creation order
        start = trace.index_of(node.id)
        assert start is not None  # (a node of the graph: checked above)
        for v in nodes[start + 1 :]:
            for child in v._children:
                if affected[child.id]:
                    affected[v.id] = 1
                    self.steps.append(v)
                    break
        self.exponents: dict[int, float] = {}
        for v in self.steps:
            if v.op not in OPS:
                raise InputError(f"cannot replay node #{v.id}: microgpt has no op {v.op!r}")
            if v.op == "**":
                exponent = exponent_of(v)
                if not exponent.derived:
                    raise InputError(f"cannot replay node #{v.id} (**): {exponent.how}")
                self.exponents[v.id] = exponent.value

    def run(
        self,
        value: float | Decimal,
        *,
        digits: int | None = None,
        keep_values: bool = False,
        progress: Progress | None = None,
        should_stop: ShouldStop | None = None,
    ) -> Replayed:
        """Recompute with `node`'s value set to `value`; the root's new value.

        `digits` None: in floats, as the model computes. Otherwise in decimals with that
        many significant digits (the graph's other values enter exactly, as decimals).
        """
        if digits is None:  # the inputs as they are: ints stay ints, as in the model
            return self._run(value, _same, forward, keep_values, progress, should_stop)
        with decimal.localcontext(decimal.Context(prec=digits, Emax=999_999, Emin=-999_999)):
            return self._run(
                Decimal(value), Decimal, decimal_forward, keep_values, progress, should_stop
            )

    def _run(self, value, convert, op_forward, keep_values, progress, should_stop) -> Replayed:
        new: dict[int, float | Decimal] = {self.node.id: value}
        flipped: list[Value] = []
        exponents, total = self.exponents, len(self.steps)
        for done, v in enumerate(self.steps):
            if done % _EVERY == 0:
                _report(done, total, progress, should_stop)
            args = [new[c.id] if c.id in new else convert(c.data) for c in v._children]
            try:
                out = op_forward(v.op, args, exponents.get(v.id))
            except (ArithmeticError, ValueError) as e:
                raise InputError(f"replaying node #{v.id} ({v.op}) failed: {e}") from None
            if v.op == "relu" and (args[0] > 0) != (v._children[0].data > 0):
                flipped.append(v)
            new[v.id] = out
        _report(total, total, progress, should_stop)
        root = self.capture.root
        return Replayed(new[root.id], tuple(flipped), new if keep_values else None)


def _same(x):
    return x


def _report(done: int, total: int, progress: Progress | None, should_stop: ShouldStop | None):
    if should_stop is not None and should_stop():
        raise Cancelled()
    if progress is not None:
        progress(done, total)
