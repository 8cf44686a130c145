"""Proof by nudging: a node's gradient checked against central finite differences.

    numeric = (L(x + h) − L(x − h)) / 2h,   beside backward()'s analytic grad,

with the relative error |numeric − analytic| / max(|numeric|, |analytic|).

Two ways to get L(x ± h):

- REPLAY (any node or parameter, any graph): the captured graph's forward pass is
  replayed with the node's value set to x ± h (`engine.explain.replay`), in decimals of
  `DIGITS` significant digits. The rounding of L, about 10⁻⁵⁰·|L|, then costs the
  quotient nothing, so h can be small: h = 10⁻⁸·max(1, |x|) leaves a truncation
  error h²·|L'''|/6 near 10⁻¹⁷, and what the relative error measures is the
  analytic grad's own float rounding. If a relu's input crosses 0 within ±h (a
  kink: the slope jumps there), h is divided by 1000 and the check repeated, up to
  three times; `kinks` says how many relus still crossed.
- RERUN (a parameter of the built-in model): the model's forward is run again in
  floats with the parameter nudged, as microgpt would compute it (softmax's max
  recomputed too). In float64 each L carries a rounding error near ε·|L| (ε =
  2⁻⁵²), which the quotient divides by 2h, so h balances that against truncation:
  h = ε^⅓·max(1, |x|) ≈ 6·10⁻⁶·max(1, |x|). Gradients much smaller than about
  10⁻⁴ cannot be checked to 10⁻⁶ this way; the replay can. The step actually taken
  is (x + h) − (x − h) in floats, and that is what the quotient divides by.

Both run in a worker: `progress(done, total)` is called as they go, and
`should_stop()` (checked between chunks of work) stops them with `Cancelled`.
The replay creates no `Value`; the re-run does (see `engine.value` on threads).
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass, replace
from decimal import Decimal

from engine.capture import Capture
from engine.errors import InputError
from engine.explain.final_grads import FinalGrads, is_node_of
from engine.explain.replay import Cancelled, Progress, Replay, ShouldStop
from engine.model import GPT, document_loss, forward_document
from engine.trace import recording_trace
from engine.value import Value

__all__ = ["Cancelled", "GradCheck", "check_gradient", "find_parameter", "REPLAY", "RERUN"]

REPLAY, RERUN = "replay", "rerun"
DIGITS = 50  # significant digits of the replay's decimals
REPLAY_STEP = 1e-8  # h = REPLAY_STEP · max(1, |x|)
RERUN_STEP = sys.float_info.epsilon ** (1 / 3)  # h = RERUN_STEP · max(1, |x|)
KINK_RETRIES = 3  # times h is divided by KINK_SHRINK when a relu's input crosses 0
KINK_SHRINK = 1000


@dataclass(frozen=True)
class GradCheck:
    """A finite-difference check of one node's gradient."""

    node: Value
    name: str  # the node's label, or "#id"
    method: str  # REPLAY or RERUN
    x: float  # the node's value, where the slope is taken
    h: float  # the nudge: L is evaluated at x − h and x + h
    loss: float  # L(x), the captured loss
    loss_minus: float  # L(x − h), rounded to a float for display
    loss_plus: float  # L(x + h), rounded to a float for display
    numeric: float  # (L(x + h) − L(x − h)) / 2h
    analytic: float  # what backward() added to the node's grad (all of it, from 0)
    kinks: int = 0  # relus whose input still crossed 0 within ±h (0: a clean check)
    tries: int = 1  # how many h were tried (a kink makes h smaller)
    note: str = ""  # anything the numbers alone do not say

    @property
    def abs_error(self) -> float:
        return abs(self.numeric - self.analytic)

    @property
    def rel_error(self) -> float:
        """|numeric − analytic| / max(|numeric|, |analytic|); 0 when both are 0."""
        scale = max(abs(self.numeric), abs(self.analytic))
        return self.abs_error / scale if scale else 0.0

    def agrees(self, tolerance: float = 1e-6) -> bool:
        return self.rel_error < tolerance


_PARAMETER = re.compile(r"\s*([\w.]+)\[(\d+)\]\[(\d+)\]\s*")  # wte[4][0]


def find_parameter(capture: Capture, name: str) -> Value:
    """A parameter by its label (`wte[4][0]`, `layer0.attn_wq[3][7]`); InputError if none."""
    state_dict = capture.model.state_dict if capture.model is not None else {}
    m = _PARAMETER.fullmatch(name)
    if m is None or m.group(1) not in state_dict:
        names = ", ".join(state_dict) or "none"
        raise InputError(f"no parameter {name!r}: expected MATRIX[ROW][COL], MATRIX one of {names}")
    matrix, row, col = state_dict[m.group(1)], int(m.group(2)), int(m.group(3))
    if row >= len(matrix) or col >= len(matrix[0]):
        shape = f"{len(matrix)}×{len(matrix[0])}"
        raise InputError(f"no parameter {name!r}: {m.group(1)} is {shape} (indices from 0)")
    return matrix[row][col]


def check_gradient(
    capture: Capture,
    node: Value,
    *,
    grads: FinalGrads | None = None,
    method: str = REPLAY,
    h: float | None = None,
    progress: Progress | None = None,
    should_stop: ShouldStop | None = None,
) -> GradCheck:
    """Check `node`'s final grad in `capture` by central differences (see the module doc).

    `grads` are the capture's final grads if the caller has them. `h` None chooses
    it as the method says. A parameter the loss does not use has grad 0, and
    nudging it changes nothing: that is reported without a replay.
    """
    if method not in (REPLAY, RERUN):
        raise InputError(f"unknown check method {method!r}: {REPLAY} or {RERUN}")
    used = is_node_of(capture, node)
    if not used and node.op != "param":
        raise InputError("the node to check is not a node of this graph")
    held, analytic = _analytic(grads or FinalGrads(capture), node) if used else (0, 0)
    name = node.label or f"#{node.id}"
    if method == RERUN:
        return _held_said(_rerun(capture, node, name, analytic, h, progress, should_stop), held)
    if not used:  # L(x ± h) is L, exactly: the loss never reads x
        loss, h = capture.root.data, REPLAY_STEP * max(1.0, abs(node.data)) if h is None else h
        note = "the loss does not use this parameter: nudging it changes nothing"
        return GradCheck(node, name, REPLAY, node.data, h, loss, loss, loss, 0.0, 0, note=note)
    return _held_said(_replay(capture, node, name, analytic, h, progress, should_stop), held)


def _analytic(grads: FinalGrads, node: Value) -> tuple[float, float]:
    """(held, analytic): the grad `node` held as backward() began (a script's grads
    accumulated over calls) and what this backward() added to it, the slope of this loss."""
    held = grads.held_before(node)
    return held, grads[node] - held if held else grads[node]


def _held_said(check: GradCheck, held: float) -> GradCheck:
    """The check, its note saying what its analytic grad is when a grad was held before."""
    if not held:
        return check
    said = f"analytic = the final grad minus the {held!r} held before backward()"
    return replace(check, note="; ".join(filter(None, (said, check.note))))


def _replay(capture, node, name, analytic, h, progress, should_stop) -> GradCheck:
    replay = Replay(capture, node)
    n = len(replay.steps)
    x = Decimal(node.data)
    h = REPLAY_STEP * max(1.0, abs(node.data)) if h is None else h
    for tries in range(1, KINK_RETRIES + 2):
        step = Decimal(h)  # exact: x ± step is taken in decimals, without rounding
        plus = replay.run(
            x + step, digits=DIGITS, progress=_offset(progress, 0, 2 * n), should_stop=should_stop
        )
        minus = replay.run(
            x - step, digits=DIGITS, progress=_offset(progress, n, 2 * n), should_stop=should_stop
        )
        kinks = len({v.id for v in plus.flipped + minus.flipped})
        if not kinks or tries > KINK_RETRIES:
            break
        h /= KINK_SHRINK
    numeric = float((plus.root - minus.root) / (2 * step))
    note = f"a relu's input crossed 0 within ±h at {kinks} node(s): a kink" if kinks else ""
    return GradCheck(
        node=node,
        name=name,
        method=REPLAY,
        x=node.data,
        h=h,
        loss=capture.root.data,
        loss_minus=float(minus.root),
        loss_plus=float(plus.root),
        numeric=numeric,
        analytic=analytic,
        kinks=kinks,
        tries=tries,
        note=note,
    )


def _offset(progress: Progress | None, offset: int, total: int) -> Progress | None:
    """Progress of one of several runs, reported as part of the whole."""
    if progress is None:
        return None
    return lambda done, _total: progress(offset + done, total)


def _rerun(capture, node, name, analytic, h, progress, should_stop) -> GradCheck:
    model = capture.model
    where = _PARAMETER.fullmatch(node.label or "")
    if not isinstance(model, GPT) or node.op != "param" or where is None:
        raise InputError(
            "re-running the model checks a parameter of the built-in model; "
            "this is not one (use the replay, which checks any node)"
        )
    if recording_trace() is not None:
        raise RuntimeError("a Trace is recording: a re-run now would record into it")
    nudged = model.copy()  # its own parameter nodes: the capture's stay as they are
    twin = nudged.state_dict[where.group(1)][int(where.group(2))][int(where.group(3))]
    x = node.data
    h = RERUN_STEP * max(1.0, abs(x)) if h is None else h
    x_minus, x_plus = x - h, x + h
    losses = []
    for i, value in enumerate((x_minus, x_plus)):
        if should_stop is not None and should_stop():
            raise Cancelled()
        if progress is not None:
            progress(i, 2)
        twin.data = value
        losses.append(_model_loss(nudged, capture))
    if progress is not None:
        progress(2, 2)
    step = x_plus - x_minus  # the step really taken, after rounding x ± h
    return GradCheck(
        node=node,
        name=name,
        method=RERUN,
        x=x,
        h=step / 2,
        loss=capture.root.data,
        loss_minus=losses[0],
        loss_plus=losses[1],
        numeric=(losses[1] - losses[0]) / step,
        analytic=analytic,
    )


def _model_loss(model: GPT, capture: Capture) -> float:
    """The loss the capture's root is, computed afresh by the model (untraced, in floats)."""
    if capture.pos is None:
        return document_loss(model, capture.tokens).data
    return forward_document(model, capture.tokens, upto=capture.pos)[-1].data
