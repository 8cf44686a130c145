"""backward()'s final gradients for every node of a capture, computed on the side.

The debugger's stepper owns the nodes' own `grad` slots (mid-walk they hold partial
sums), so questions about the *final* gradient (where it came from, which paths
carry it, is it the slope) are answered from an array instead. It is filled by the
same float operations in the same order as `backward()` (`child.grad += local_grad
* node.grad`, over `capture.order`), so `grads[node] == node.grad` after a full
backward, bit for bit, while the nodes themselves are left untouched.

For a script's own backward() (`attach`), `engine.explain.recorded_grads` gives the
same questions the script's answers, read from its recorded writes.
"""

from __future__ import annotations

from engine.capture import Capture
from engine.graph import Consumers
from engine.session import Term
from engine.value import Value


def is_node_of(capture: Capture, node: Value) -> bool:
    """Is `node` one of `capture`'s nodes? (Not: a Value made outside any trace, which
    has no id; a node of another capture; a parameter this loss never used.)"""
    node_id = getattr(node, "id", -1)  # the slot is unset on a Value no trace recorded
    return isinstance(node_id, int) and capture.trace.get(node_id) is node


class FinalGrads:
    """Every node's grad as `backward()` leaves it, and the terms that summed to it."""

    def __init__(self, capture: Capture, consumers: Consumers | None = None) -> None:
        self.capture = capture
        self.consumers = Consumers(capture.nodes) if consumers is None else consumers
        order, size = capture.order, capture.trace.id_bound  # (arrays by id: ids may have gaps)
        grads: list = [0] * size  # microgpt's grads start as the int 0
        grads[capture.root.id] = 1
        for v in order:
            g = grads[v.id]
            for child, local_grad in zip(v._children, v._local_grads):
                grads[child.id] += local_grad * g
        self.values = grads  # by node id
        self.rank = ranks(capture)

    # What a script's own backward() may do otherwise (`recorded_grads` says so there):
    scripts = False  # the grads are microgpt's backward() over `capture.order`
    seed = 1  # the root's grad as backward() starts passing grads on
    held: list | None = None  # by node id, grads held before backward() (None: all 0)
    same_order = True  # backward() made the additions of microgpt's loop over capture.order

    def held_before(self, node: Value) -> float:
        """The grad `node` held as backward() began passing grads on (0: it started from 0)."""
        return 0 if self.held is None else self.held[node.id]

    def upstream(self, node: Value) -> float:
        """The grad `node` passed on to its inputs (the same as its final grad here)."""
        return self.values[node.id]

    def terms_add_up(self, node: Value) -> bool:
        """Do `held_before(node)` and `terms(node)`, added in order, repeat backward()'s
        own additions into `node.grad`? (Here always: the terms are them.)"""
        return True

    def __getitem__(self, node: Value) -> float:
        return self.values[node.id]

    @property
    def root(self) -> Value:
        return self.capture.root

    def consumers_of(self, node: Value) -> list[Value]:
        """The distinct nodes that take `node` as an input, in the backward order."""
        get = self.capture.trace.get
        found = [get(i) for i in dict.fromkeys(self.consumers.of(node.id))]
        found.sort(key=lambda c: self.rank[c.id])
        return found

    def terms(self, node: Value) -> list[Term]:
        """The chain-rule terms `backward()` adds into `node.grad`, in the order it adds them.

        One per use of `node` as an input (`x * x` gives two), each `local_grad ×
        consumer_grad` with the consumer's final grad: the very floats `backward()`
        multiplies, so adding the terms up from 0 in this order gives `self[node]`.
        """
        grads = self.values
        out = []
        for consumer in self.consumers_of(node):
            g = grads[consumer.id]
            for child, local_grad in zip(consumer._children, consumer._local_grads):
                if child is node:
                    out.append(Term(consumer, local_grad, g, local_grad * g))
        return out


def ranks(capture: Capture) -> list[int]:
    """By node id: its index in the capture's backward order."""
    rank = [0] * capture.trace.id_bound  # (arrays by id: ids may have gaps)
    for i, v in enumerate(capture.order):
        rank[v.id] = i
    return rank
