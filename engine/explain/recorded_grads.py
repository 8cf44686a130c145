"""The final grads of a script's own backward() (`attach`), read from its recorded writes.

A script's backward() may visit the nodes in another order than microgpt's (a Kahn
sort), or add into grads an earlier call left (accumulation over two calls, `attach
--backward 2`). Its walk is a `ReplayWalk` (`engine.recorded_backward`), and the
explanations then answer from it instead of recomputing microgpt's backward from zero:

- exact, read from the record: each node's final grad (its last write); the grad it
  held as the call began passing grads on (`held`: before the call, or what the call
  wrote first, such as the root's seed); each chain-rule term, `local_grad ×
  consumer_grad` as the script added it (or `after − before` where that product is
  not what it wrote, flagged); the grad a node passed on to its inputs (`upstream`).
- computed from the graph, as for microgpt: the position shares (microgpt's loop
  over `capture.order`, grads held above a node passed down as a share of their own),
  the paths' products (the upstream read from the record, times local gradients).

A split then reads `held + Σ shares + remainder`, the remainder stated (rounding,
where the script's order or grouping differs from the one the shares were summed in).
"""

from __future__ import annotations

from collections.abc import Sequence

from engine.capture import Capture
from engine.explain.final_grads import FinalGrads, ranks
from engine.graph import Consumers
from engine.recorded_backward import ReplayWalk
from engine.session import Term
from engine.value import Value


class ScriptFinalGrads(FinalGrads):
    """`FinalGrads` for a recorded backward(): the script's grads, what it held, its terms."""

    scripts = True

    def __init__(
        self, capture: Capture, walk: ReplayWalk, consumers: Consumers | None = None
    ) -> None:
        self.capture = capture
        self.consumers = Consumers(capture.nodes) if consumers is None else consumers
        self.walk = walk
        self.values = walk.final_grads()  # by node id: the script's, as its call left them
        self.rank = ranks(capture)
        start = walk.start_grads()
        root_id = capture.root.id
        self.seed = start[root_id]
        held = list(start)
        held[root_id] = 0  # the root's start is the seed: its one share, nothing held
        self.held = held if any(g != 0 for g in held) else None
        self.same_order = self.held is None and repeats_chain_rule(walk, start, capture.order)

    def upstream(self, node: Value) -> float:
        """The grad `node` passed on to its inputs, as the record has it (its final grad
        if it never passed one on)."""
        passed = grad_passed_on(self.walk, node)
        return self.values[node.id] if passed is None else passed

    def terms(self, node: Value) -> list[Term]:
        """The chain-rule terms the script's backward() added into `node.grad`, in its order."""
        return [Term(*t) for t in self.walk.final_terms(node)[0]]

    def terms_add_up(self, node: Value) -> bool:
        """Are the terms every write the call made to `node.grad` after its prologue, each
        reproducing its write (`before + term == after`)?"""
        return self.walk.final_terms(node)[1]


def grad_passed_on(walk: ReplayWalk, node: Value) -> object | None:
    """The grad `node` held when it first passed its grad on (its first step), read from
    the record; None if it is never a step."""
    step = walk.index_of[node.id] if 0 <= node.id < len(walk.nodes) else -1
    recorded = walk.recorded
    if step < 0 or recorded.steps[step] is not node:
        return None
    return walk.grad_before(node, recorded.step_starts[step])


def repeats_chain_rule(walk: ReplayWalk, start: list, order: Sequence[Value]) -> bool:
    """Are the recorded steps `order`, each writing `child.grad += local_grad * v.grad`
    for each of its inputs in turn, from the grads `start` (by node id)? Then
    microgpt's loop over `order` from `start` makes every write the script made."""
    recorded = walk.recorded
    steps = recorded.steps
    if len(steps) != len(order) or any(a is not b for a, b in zip(steps, order)):
        return False
    if recorded.derived:
        return True  # `RecordedBackward.chain_rule`'s writes are that loop
    grads = list(start)
    targets, olds, news = recorded.targets, recorded.olds, recorded.news
    starts = recorded.step_starts
    for i, v in enumerate(steps):
        w, g = starts[i], grads[v.id]
        if starts[i + 1] - w != len(v._children):
            return False
        for child, local_grad in zip(v._children, v._local_grads):
            old = grads[child.id]
            if targets[w] is not child or not _same(olds[w], old):
                return False
            if not _same(old + local_grad * g, news[w]):
                return False
            grads[child.id] = news[w]
            w += 1
    return True


def _same(a: object, b: object) -> bool:
    return a == b or (a != a and b != b)  # nan where the script has nan
