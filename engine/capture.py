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
from typing import Protocol

from engine.config import GPTConfig
from engine.errors import ArithmeticFailure
from engine.estimate import check_fits, graph_size
from engine.graph import scope_position
from engine.model import GPT, document_loss, forward_document
from engine.trace import Trace
from engine.value import Value, ancestors, backward_order, propagate, topological_order


class ModelView(Protocol):
    """What a session needs of a model: the parameters by name, and the config.

    The built-in `GPT` is one; a script's parameters (`Parameters`) have no config
    (None), and then there is no attention view.
    """

    state_dict: dict[str, list[list[Value]]]
    config: GPTConfig | None


@dataclass
class Parameters:
    """A `ModelView` that is just parameters by name (a script's, or a rerooted graph's)."""

    state_dict: dict[str, list[list[Value]]]
    config: GPTConfig | None = None


@dataclass
class Capture:
    """A recorded graph and its root (the loss), plus what it was computed from."""

    trace: Trace
    root: Value
    tokens: list[int] = field(default_factory=list)
    pos: int | None = None  # None: the document's mean loss
    model: ModelView | None = None  # the parameters the graph uses
    order: list[Value] | None = None  # backward_order(root), computed once
    script: str | None = None  # the user's script the graph came from (None: built-in model)
    chains: list[str] | None = None  # a script's call chains ("gpt › softmax"), as `nodes`

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
    check_fits(graph_size(model.config, model.vocab_size, tokens, pos))
    model = model.copy()
    trace = Trace()
    for name, mat in model.state_dict.items():
        for i, row in enumerate(mat):
            for j, p in enumerate(row):
                trace.add_leaf(p, "param", "params", f"{name}[{i}][{j}]")
    try:
        with paused_gc(), trace.recording(number=False):  # keep_only numbers them
            if pos is None:
                root = document_loss(model, tokens)
            else:
                root = forward_document(model, tokens, upto=pos)[-1]
    except (ArithmeticError, ValueError) as error:  # log(0), an overflow: the weights' fault
        raise ArithmeticFailure(error, trace.nodes[-1].scope if trace.nodes else "") from None
    topo, reached = ancestors(root)
    trace.keep_only(reached)
    topo.reverse()
    return Capture(trace, root, list(tokens), pos, model, topo)


def reroot(capture: Capture, node: Value, model: ModelView | None = None) -> Capture:
    """A new capture rooted at `node` of `capture`'s graph: "backprop from here".

    Keeps `node` and its ancestors only, as copies (the original graph is left as
    it is) that keep their ids, so an id means the same node in both graphs (the
    new one's ids have gaps: see `Trace.get`), every grad 0. Labelled vectors whose
    nodes are all kept come along; the position is the one in `node`'s scope
    (`pos3...` -> 3) when it names one. The new capture's `model` has the
    parameters by name (`state_dict`: the new graph's nodes, and fresh ones with
    grad 0 and id -1 for those the new root does not use) and the `config` of
    `model` (default: `capture.model`).
    """
    model = capture.model if model is None else model
    topo = topological_order(node)  # children first
    kept = sorted(topo, key=lambda n: n.id)
    copy_of: dict[int, Value] = {}
    trace = Trace()
    for old in kept:
        new = Value(old.data, tuple([copy_of[c.id] for c in old._children]), old._local_grads)
        new.op, new.id, new.scope, new.label = old.op, old.id, old.scope, old.label
        new.code, new.line = old.code, old.line
        copy_of[old.id] = new
        trace.nodes.append(new)
    old_trace = capture.trace
    for key, vec in old_trace.vectors.items():
        if all(n.id in copy_of and old_trace.get(n.id) is n for n in vec):
            trace.vectors[key] = [copy_of[n.id] for n in vec]
    params = _rerooted_parameters(model, old_trace, copy_of)
    pos = scope_position(node.scope)
    order = [copy_of[n.id] for n in reversed(topo)]  # backward_order(root)
    return Capture(
        trace,
        copy_of[node.id],
        list(capture.tokens),
        capture.pos if pos is None else pos,
        params,
        order,
        script=capture.script,
        chains=[capture.chains[old_trace.index_of(n.id)] for n in kept] if capture.chains else None,
    )


def _rerooted_parameters(
    model: ModelView | None, old_trace: Trace, copy_of: dict[int, Value]
) -> Parameters:
    """The parameters by name over a rerooted graph: its copies, or fresh unused ones."""
    state_dict: dict[str, list[list[Value]]] = {}
    for name, mat in (model.state_dict if model is not None else {}).items():
        rows = []
        for row in mat:
            out = []
            for p in row:
                if p.id in copy_of and old_trace.get(p.id) is p:
                    out.append(copy_of[p.id])
                else:
                    fresh = Value(p.data, (), (), "param")
                    fresh.id, fresh.scope, fresh.label = -1, "params", p.label
                    fresh.code, fresh.line = None, 0
                    out.append(fresh)
            rows.append(out)
        state_dict[name] = rows
    return Parameters(state_dict, model.config if model is not None else None)
