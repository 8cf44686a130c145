"""Capture: the traced graph of one document's loss, or of one position's loss.

A capture records every node the model creates, then keeps only the nodes the
root depends on (the earlier positions' keys and values included), renumbered in
creation order: `nodes` is then exactly what microgpt's `backward()` walks.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from engine.model import GPT, document_loss, forward_document
from engine.trace import Trace
from engine.value import Value, ancestors, backward_order, propagate


@dataclass
class Capture:
    """A recorded graph and its root (the loss), plus what it was computed from."""

    trace: Trace
    root: Value
    tokens: list[int] = field(default_factory=list)
    pos: int | None = None  # None: the document's mean loss
    model: Any = None  # the parameters the graph uses: `state_dict` and `config`
    order: list[Value] | None = None  # backward_order(root), computed once

    def __post_init__(self) -> None:
        if self.order is None:
            self.order = backward_order(self.root)

    @property
    def nodes(self) -> list[Value]:
        return self.trace.nodes

    def backward(self) -> None:
        """`root.backward()`, reusing the order found when capturing."""
        propagate(self.root, self.order)


@contextmanager
def paused_gc() -> Iterator[None]:
    """Pause Python's cycle collector while building a graph.

    A graph of Values has no reference cycles (nodes point only to their inputs),
    so refcounting frees it all; the collector would only re-scan the growing
    graph again and again, which costs more than building it. Floats are untouched.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def capture_loss(model: GPT, tokens: list[int], pos: int | None = None) -> Capture:
    """Trace the document loss (pos None) or position `pos`'s loss of `tokens`.

    The capture works on its own copy of the parameter nodes (the same floats), so
    its ids, labels and grads belong to it alone: two captures of one model, or a
    capture and training, never disturb each other.
    """
    model = model.copy()
    trace = Trace()
    for name, mat in model.state_dict.items():
        for i, row in enumerate(mat):
            for j, p in enumerate(row):
                trace.add_leaf(p, "param", "params", f"{name}[{i}][{j}]")
    with paused_gc(), trace.recording(number=False):  # keep_only numbers them
        if pos is None:
            root = document_loss(model, tokens)
        else:
            root = forward_document(model, tokens, upto=pos)[-1]
    topo, reached = ancestors(root)
    trace.keep_only(reached)
    topo.reverse()
    return Capture(trace, root, list(tokens), pos, model, topo)
