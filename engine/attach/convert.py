"""The script's graph as engine values: the same data, children and local gradients.

The nodes are the root and everything it depends on, in creation order (children
before the nodes made from them), each with its provenance. They are found and
made in one pass over the records, newest first, each script object holding its
engine node in its own `grad` for the while (`NodeSlots`): a graph has hundreds
of thousands of nodes and about two edges a node, and this is the cheapest way
from a child to its node. When children are not older than their parents
(reassigned after creation, or made without `__init__`), a depth-first order is
used instead; a cycle, children and local gradients of different lengths, or data
that is not a number are refused with the place the script made the node.
"""

from __future__ import annotations

import math
import sys
import types
from collections import deque
from dataclasses import dataclass
from itertools import repeat
from operator import attrgetter

from engine.attach.backward_log import NOT_DERIVED, Attribute, attribute, probe_local_grads
from engine.attach.classes import ValueShape
from engine.attach.provenance import UNKNOWN_CONTEXT, NodeContext
from engine.errors import InputError
from engine.value import Value


class _NotInOrder(Exception):
    """A child is not older than its parent, or has no record: use a depth-first order."""


class NodeSlots:
    """Where each script object's engine node is kept while converting: its own `grad`.

    Finding a child's node by `id()` in a dict costs a hash and a probe per edge, in
    tables too big for the cache; reading an attribute of the child is one memory
    access. So while converting, each object of the graph lends its `grad` (a
    `__slots__` entry or its `__dict__`'s) to hold its node, and `release` puts every
    grad back. A class whose `grad` is a property of its own keeps it: for the
    while, `grad` reads a node from a table by `id()` (slower), else the property.
    """

    def __init__(self, cls: type) -> None:
        self.lent: list = []  # the objects holding a node
        self.lent_grads: list = []  # their own grads
        self._property: Attribute | None = None
        grad = attribute(cls, "grad")
        if not isinstance(grad.original, types.MemberDescriptorType) and hasattr(
            type(grad.original), "__set__"
        ):
            table: dict[int, Value] = {}
            own = grad.get

            def read(u: object) -> object:
                node = table.get(id(u))
                return own(u) if node is None else node

            grad.owner.grad = property(read, lambda u, n: table.__setitem__(id(u), n))
            self._property = grad

    def lend(self, u: object, node: Value) -> None:
        """Keep `node` in `u` (its grad saved), and give the node that grad."""
        grad = u.grad  # type: ignore[attr-defined]
        node.grad = grad
        self.lent.append(u)
        self.lent_grads.append(grad)
        u.grad = node  # type: ignore[attr-defined]

    def release(self) -> None:
        """Every lent grad back, as the script left it."""
        if self._property is not None:
            self._property.owner.grad = self._property.original
            self._property = None
        else:
            deque(map(setattr, self.lent, repeat("grad"), self.lent_grads), maxlen=0)
        self.lent.clear()
        self.lent_grads.clear()


@dataclass
class Graph:
    """The converted graph: engine nodes by id, and the script's objects and contexts."""

    nodes: list[Value]
    script_nodes: list  # the script's own object of each node
    contexts: list[NodeContext]
    slots: NodeSlots  # each script object's node, until released

    def engine_of(self, u: object) -> Value | None:
        """The node of a script object, if it is in the graph (until `slots.release()`)."""
        node = u.grad  # type: ignore[attr-defined]
        return node if type(node) is Value else None


def _where(ctx: NodeContext, display: str) -> str:
    return f"{display}:{ctx.line}" if ctx.code is not None else display


def _depth_first(root: object, children_of, objs: list, ctxs: list, display: str):
    """The graph children first, with each node's record if it has one; refuses a cycle."""
    context_of = {id(u): ctx for u, ctx in zip(reversed(objs), reversed(ctxs))}
    order, done, on_path = [], set(), {id(root)}
    stack = [(root, iter(children_of(root)))]
    while stack:
        node, children = stack[-1]
        for child in children:
            if id(child) in on_path:
                ctx = context_of.get(id(child), UNKNOWN_CONTEXT)
                raise InputError(
                    f"{_where(ctx, display)}: the graph has a cycle (a value made here depends "
                    "on itself); backward() needs an acyclic graph"
                )
            if id(child) not in done:
                on_path.add(id(child))
                stack.append((child, iter(children_of(child))))
                break
        else:
            stack.pop()
            on_path.discard(id(node))
            done.add(id(node))
            order.append(node)
    return order, [context_of.get(id(u), UNKNOWN_CONTEXT) for u in order]


def _data_error(data: object, ctx: NodeContext, display: str) -> InputError:
    return InputError(
        f"{_where(ctx, display)}: a value holds {type(data).__name__} data "
        f"({data!r:.40}), not a number; attach needs int or float data"
    )


def _lengths_error(children: int, local_grads: int, ctx: NodeContext, display: str):
    return InputError(
        f"{_where(ctx, display)}: a value has {children} children but {local_grads} local "
        "gradients; attach needs one per child"
    )


def _convert(objs: list, ctxs: list, root_at: int, shape: ValueShape, slots: NodeSlots, display):
    """Engine nodes for record `root_at` and what it depends on, and their records.

    One pass over the records, newest first. A node reached from the root lends each
    child a shell node (in the child's `grad`), filled in when the pass reaches the
    child's record; `_NotInOrder` if the child was filled already (it is not older
    than its parent: a cycle, or children reassigned), or is never filled (it has
    no record). This loop is the hot path of
    the conversion: `slots.lend` is written out in it.
    """
    children_of = attrgetter(shape.children)
    local_grads_of = None if shape.closures else attrgetter("_local_grads")
    new = Value.__new__
    lent, lent_grads = slots.lent.append, slots.lent_grads.append
    nodes, records = [], []
    root = new(Value)
    root.id = -1
    slots.lend(objs[root_at], root)
    for i in range(root_at, -1, -1):
        u = objs[i]
        node = u.grad
        if type(node) is not Value:
            continue  # not in the graph
        node.id = i  # filled: a child that is this node or filled already is out of order
        shells = []
        for child in children_of(u):
            shell = child.grad
            if type(shell) is not Value:
                lent(child)
                lent_grads(shell)
                grad, shell = shell, new(Value)
                shell.grad = grad
                shell.id = -1
                child.grad = shell
            elif shell.id >= 0:
                raise _NotInOrder
            shells.append(shell)
        ctx = ctxs[i]
        children = node._children = tuple(shells)
        data = node.data = u.data
        if type(data) is not float and type(data) is not int and not isinstance(data, (int, float)):
            raise _data_error(data, ctx, display)
        if local_grads_of is None:
            node._local_grads = ()  # read out of the closures afterwards
        else:
            local_grads = node._local_grads = tuple(local_grads_of(u))
            if len(local_grads) != len(children):
                raise _lengths_error(len(children), len(local_grads), ctx, display)
        node.op = ctx.op if children else "const"
        node.code = ctx.code
        node.line = ctx.line
        node.label = None
        nodes.append(node)
        records.append(i)
    if len(nodes) != len(slots.lent):
        raise _NotInOrder  # a child with no record (made without `__init__`) was never filled
    records.reverse()  # creation order
    nodes.reverse()
    return nodes, list(map(objs.__getitem__, records)), list(map(ctxs.__getitem__, records))


class ScopeNamer:
    """Sets each context's scope path once the captured graph's contexts are known.

    With `drop_steps`, a level set around the backward() call (`active`) that has one
    value in the whole graph is left out: it is the training step, the same for all.
    """

    def __init__(self, active: set[str], drop_steps: bool) -> None:
        self.active = active
        self.drop_steps = drop_steps
        self.has_levels = False

    def name(self, contexts: list[NodeContext]) -> None:
        used = set(contexts)
        dropped = self.dropped(used)
        for ctx in used:
            ctx.scope = self.scope_of(ctx, dropped)

    def dropped(self, used: set[NodeContext]) -> frozenset[str]:
        """The levels left out of the scopes of these contexts (the graph's); sets
        `has_levels`."""
        values: dict[str, set[str]] = {}
        for ctx in used:
            for prefix, text in ctx.parts.levels:
                values.setdefault(prefix, set()).add(text)
        dropped = frozenset(
            p for p in self.active if self.drop_steps and len(values.get(p, ())) == 1
        )
        self.has_levels = any(prefix not in dropped for prefix in values)
        return dropped

    @staticmethod
    def scope_of(ctx: NodeContext, dropped: frozenset[str]) -> str:
        return "" if ctx is UNKNOWN_CONTEXT else sys.intern(ctx.parts.scope(dropped))


def build_graph(
    objs: list, ctxs: list, root: object, shape: ValueShape, scopes: ScopeNamer, display: str
) -> Graph:
    """The graph rooted at `root` as engine nodes, numbered in creation order.

    Until `graph.slots.release()`, the script's objects hold their nodes in `grad`.
    """
    slots = NodeSlots(type(root))
    root_at = next((i for i in range(len(objs) - 1, -1, -1) if objs[i] is root), -1)
    try:
        try:
            if root_at < 0:
                raise _NotInOrder
            nodes, script_nodes, contexts = _convert(objs, ctxs, root_at, shape, slots, display)
        except _NotInOrder:
            slots.release()
            slots = NodeSlots(type(root))
            objs, ctxs = _depth_first(root, attrgetter(shape.children), objs, ctxs, display)
            last = len(objs) - 1
            nodes, script_nodes, contexts = _convert(objs, ctxs, last, shape, slots, display)
    except BaseException:
        slots.release()
        raise
    scopes.name(contexts)
    for k, (node, ctx) in enumerate(zip(nodes, contexts)):
        node.id = k
        node.scope = ctx.scope
    return Graph(nodes, script_nodes, contexts, slots)


def closure_local_grads(graph: Graph, cls: type) -> int:
    """Micrograd-style nodes: children and local gradients read out of `_backward`.

    A node whose closure writes each of its children (`_prev`) at least once and
    nothing else gets the written nodes as its children, in the order written, with
    the local gradient of each write (`x * x` has `x` twice). Otherwise its local
    gradients are not derived (nan). Returns how many nodes that left.
    """
    inner = [(n, u) for n, u in zip(graph.nodes, graph.script_nodes) if n._children]
    probes = probe_local_grads([u for _, u in inner], cls)
    underived = 0
    for (node, _), (targets, local_grads) in zip(inner, probes):
        written = [graph.engine_of(t) for t in targets]
        if written and all(w is not None for w in written):
            if {id(w) for w in written} == {id(c) for c in node._children}:
                node._children = tuple(written)  # type: ignore[arg-type]
                node._local_grads = tuple(_number(g) for g in local_grads)
                continue
        node._local_grads = (NOT_DERIVED,) * len(node._children)
        underived += 1
    return underived


def _number(g: object) -> float | int:
    return int(g) if isinstance(g, bool) else g if isinstance(g, (int, float)) else math.nan


def micrograd_ops(graph: Graph) -> None:
    """micrograd names its ops (`_op`: '+', 'tanh', '**2'); leaves stay `const`."""
    for node, u in zip(graph.nodes, graph.script_nodes):
        op = getattr(u, "_op", None)
        if node._children and isinstance(op, str) and op:
            node.op = op
