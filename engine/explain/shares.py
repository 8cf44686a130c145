"""Where a gradient came from: a node's final grad split into shares that add up to it.

Two splits:

- by position: the share each position's loss sent. The gradient is followed down
  from the root, tagged with the position it belongs to: it enters position t's
  scope from the loss's mean (the document loss is `(1/n) · Σ loss_t`, so position
  t's loss receives 1/n, exactly as `backward()` passes it), and keeps that tag
  wherever it flows after (into earlier positions' keys and values, into the
  parameters). Each tag's share is summed with `backward()`'s own operations, in
  its order. Nodes above the positions (the mean itself) carry the tag None.
- by consumer scope: the chain-rule terms the node's direct consumers sent,
  grouped by the consumer's scope (an attention head, the MLP, lm_head, ...).

Floating-point addition is not associative, so shares summed are not always the
grad to the last bit. Every split states how its shares were summed (left to right
from 0, in the order listed), the total that gives, and the remainder `grad −
total` (computed exactly, then rounded: `remainder_exact` says whether that
rounding lost anything). `same_order_as_backward` is True when the sum repeats
`backward()`'s additions one for one: then the remainder is 0 by construction.

For a script's own backward() (`engine.explain.recorded_grads`) the grad is the
script's, and a grad the node already held as the call began (accumulated over two
calls) is its own part, `held`: the split is `held + Σ shares + remainder`, the sum
starting from `held`. Grads that nodes above held pass down as the position share
`HELD_ABOVE`. The consumer-scope shares are the script's recorded terms.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction

from engine.explain.final_grads import FinalGrads
from engine.graph import scope_position
from engine.value import Value

BY_POSITION, BY_CONSUMER_SCOPE = "position", "consumer scope"
SEED = "seed"  # the key of the root's one share: the 1 that backward() starts from
HELD_ABOVE = "held above"  # the position share passed down from grads nodes above held


@dataclass(frozen=True)
class Share:
    """One part of a grad: what `key` sent (a position, a scope, None: the loss's mean)."""

    key: int | str | None
    value: float
    terms: int | None = None  # chain-rule terms summed in it (by consumer scope)


@dataclass(frozen=True)
class GradSplit:
    """A node's final grad and its shares, with how exactly they add up to it."""

    node: Value
    grad: float  # backward()'s final grad of the node
    by: str  # BY_POSITION or BY_CONSUMER_SCOPE
    shares: tuple[Share, ...]
    total: float  # the shares summed left to right from 0, in the order listed
    remainder: float  # grad − total, exact, then rounded to a float
    remainder_exact: bool  # the remainder is exactly grad − total (no rounding)
    same_order_as_backward: bool  # the sum is backward()'s own sequence of additions
    held: float = 0  # the grad held as backward() began: the sum starts from it
    scripts: bool = False  # the grad is a script's own backward()'s (attach)
    note: str = ""  # what else the remainder holds, if not only rounding

    @property
    def remainder_ulps(self) -> float:
        """The remainder in units in the last place of the grad (0 when it is 0)."""
        if self.remainder == 0:
            return 0.0
        return abs(self.remainder) / math.ulp(self.grad)

    @property
    def order(self) -> str:
        """How the shares were summed, in words (for a tooltip or a footnote)."""
        start = "the grad held before backward()" if self.held else "0"
        how = f"the shares added left to right from {start}, in the order listed"
        if self.same_order_as_backward:
            return how + ": the same additions backward() made, so they give the grad exactly"
        return how + ": float addition is not associative, so the remainder is rounding"


def make_split(
    node: Value,
    grad: float,
    by: str,
    shares: list[Share],
    same_order: bool,
    *,
    held: float = 0,
    scripts: bool = False,
    note: str = "",
) -> GradSplit:
    """A split with its total (from `held`, then each share) and its exact remainder."""
    total = held
    for share in shares:
        total += share.value
    remainder, exact = _exact_difference(grad, total)
    return GradSplit(
        node, grad, by, tuple(shares), total, remainder, exact, same_order, held, scripts, note
    )


def _exact_difference(a: float, b: float) -> tuple[float, bool]:
    """`a − b` computed exactly and rounded to a float; and whether the float is exact."""
    if not (math.isfinite(a) and math.isfinite(b)):
        return math.nan, False
    exact = Fraction(a) - Fraction(b)
    rounded = float(exact)
    return rounded, Fraction(rounded) == exact


# -- by consumer scope -------------------------------------------------------------------


def scope_key(scope: str, *, keep_position: bool = False, depth: int | None = None) -> str:
    """The group a consumer's scope falls in: `pos3.layer0.attn.head1` -> `layer0.attn.head1`.

    `keep_position` keeps the `pos3.` part; `depth` keeps only that many dotted parts
    (after the position is dropped), e.g. 2 -> `layer0.attn`.
    """
    parts = scope.split(".") if scope else []
    if not keep_position and parts and scope_position(parts[0]) is not None:
        parts = parts[1:]
    if depth is not None:
        parts = parts[:depth]
    return ".".join(parts) or "(top level)"


def split_by_consumer_scope(
    grads: FinalGrads, node: Value, *, keep_position: bool = False, depth: int | None = None
) -> GradSplit:
    """`node`'s grad as the terms its consumers sent, grouped by the consumer's scope.

    Groups are listed in the order of their first term in `backward()`'s order,
    each group's terms summed in that order. The root has one share, the seed 1.
    """
    grad = grads[node]
    scripts = grads.scripts
    if node is grads.root:
        seed = [Share(SEED, grad, 0)]
        return make_split(node, grad, BY_CONSUMER_SCOPE, seed, True, scripts=scripts)
    groups: dict[str, list] = {}
    runs: list[str] = []  # the group of each term, in backward order
    for term in grads.terms(node):
        key = scope_key(term.consumer.scope, keep_position=keep_position, depth=depth)
        groups.setdefault(key, []).append(term.value)
        runs.append(key)
    shares = []
    for key, values in groups.items():
        value = 0
        for v in values:
            value += v
        shares.append(Share(key, value, len(values)))
    held = grads.held_before(node)
    accounted = grads.terms_add_up(node)
    same = accounted and _repeats_backward(runs, held != 0)
    note = "" if accounted else NOT_TERMS
    return make_split(
        node, grad, BY_CONSUMER_SCOPE, shares, same, held=held, scripts=scripts, note=note
    )


NOT_TERMS = (
    "the script's backward() also wrote this grad otherwise than by adding chain-rule "
    "terms: the remainder holds those writes"
)


def _repeats_backward(runs: list[str], held: bool = False) -> bool:
    """Does summing the groups repeat backward()'s term-by-term additions exactly?

    backward() adds the terms one by one from 0 (or from a grad `held`). The group
    sums, added up, make the same additions when the first group's terms all come
    first and every later group is a single term (with a grad held, the first group
    too: its sum from 0 would regroup); otherwise the additions are regrouped.
    """
    if not runs:
        return True
    if held:
        return len(set(runs)) == len(runs)
    first = runs[0]
    n_first = runs.count(first)
    rest = runs[n_first:]
    return runs[:n_first] == [first] * n_first and len(set(rest)) == len(rest)


# -- by position -------------------------------------------------------------------------


class PositionShares:
    """Every node's grad split by the position whose loss sent it: one pass, then lookups.

    The pass follows `backward()` over the capture's order with a small dict per
    node, {position: share}, updated with `backward()`'s operation `share +=
    local_grad × consumer's share`. Flow from a node without a position (the
    loss's mean) into a node of position t takes the tag t; otherwise a share keeps
    its tag. A node is `mixed` when it, or any node above it, carries more than
    one tag: then its shares were summed apart and add up only up to rounding.

    The root starts from the seed backward() gave it (`grads.seed`). A node that held
    a grad as backward() began (`grads.held`) passes it on with what it received,
    tagged `HELD_ABOVE`; its own split states it apart, as `held`.
    """

    def __init__(self, grads: FinalGrads) -> None:
        self.grads = grads
        capture = grads.capture
        nodes, size = capture.nodes, capture.trace.id_bound  # (by id: ids may have gaps)
        positions: dict[str, int | None] = {}
        pos_of: list[int | None] = [None] * size
        for n in nodes:
            s = n.scope
            pos_of[n.id] = (
                positions[s] if s in positions else positions.setdefault(s, scope_position(s))
            )
        flows: list[dict | None] = [None] * size
        mixed = bytearray(size)
        root = capture.root
        flows[root.id] = {pos_of[root.id]: grads.seed}
        held = grads.held
        for v in capture.order:
            flow = flows[v.id]
            items = list(flow.items())
            if held is not None and held[v.id] and v._children:
                items = _passing_on(flow, held[v.id])
            is_mixed = mixed[v.id] or len(items) > 1
            for child, local_grad in zip(v._children, v._local_grads):
                cid = child.id
                into = flows[cid]
                if into is None:
                    into = flows[cid] = {}
                if is_mixed:
                    mixed[cid] = 1
                child_pos = pos_of[cid]
                for tag, g in items:
                    if tag is None and child_pos is not None:
                        tag = child_pos  # entering position t's scope from the loss's mean
                    into[tag] = into.get(tag, 0) + local_grad * g
        self._flows = flows
        self._mixed = mixed
        self._same_order = grads.same_order

    def shares(self, node: Value) -> dict[int | None, float]:
        """{position: share} for `node` (None: from the loss's mean, above any position)."""
        return dict(self._flows[node.id] or {})

    def split(self, node: Value) -> GradSplit:
        """`node`'s grad by position: None first (if any), then positions ascending, then
        what grads held above passed down (if any)."""
        flow = self._flows[node.id] or {}
        keys = sorted(flow, key=_position_order)
        shares = [Share(k, flow[k]) for k in keys]
        grads = self.grads
        held = grads.held_before(node)
        same = len(flow) <= 1 and not self._mixed[node.id] and self._same_order and not held
        return make_split(
            node, grads[node], BY_POSITION, shares, same, held=held, scripts=grads.scripts
        )


def _passing_on(flow: dict, held: float) -> list[tuple]:
    """What a node that held `held` passes on: its flow, with `held` added to HELD_ABOVE."""
    passed = dict(flow)
    passed[HELD_ABOVE] = passed.get(HELD_ABOVE, 0) + held
    return list(passed.items())


def _position_order(key: int | str | None) -> tuple[int, int]:
    """None (the loss's mean) first, then positions ascending, then HELD_ABOVE."""
    if key is None:
        return (0, 0)
    return (1, key) if isinstance(key, int) else (2, 0)
