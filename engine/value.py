"""The scalar autograd engine: microgpt's `Value`, plus the provenance a `Trace` records.

An op is its forward value plus its local gradients (microgpt stores them as data,
not closures), in exactly microgpt's order of float operations, so the same inputs
give the same bits. Provenance (id, op, scope, label, source site) is a few more
slots, filled in only while a `Trace` is recording: then `Value.__init__` is
swapped for `_recording_init`, so untraced code (training) runs microgpt's own
constructor plus one store, the op. The swap is process-wide: record
one trace at a time, and not while another thread builds Values.
"""

from __future__ import annotations

import math
import sys

# The recording Trace, or None. While a Trace records, `Value.__init__` is
# `_recording_init` (installed by `start_recording`), so untraced code never runs it.
_recording = None

# Frames whose globals are this module's are the engine's own ops: the source site
# of a node is the first frame above them (the model line that asked for the op).
_ENGINE_GLOBALS = globals()
_getframe = sys._getframe


class Value:
    """A scalar in the computation graph: data, grad, children and local gradients."""

    # microgpt's four slots, the op, then provenance (set only while a Trace records)
    __slots__ = (
        "data",
        "grad",
        "_children",
        "_local_grads",
        "op",
        "id",
        "scope",
        "label",
        "code",
        "line",
    )

    def __init__(self, data, children=(), local_grads=(), op="const"):
        self.data = data  # scalar value of this node, computed in the forward pass
        self.grad = 0  # d loss / d this node, accumulated in the backward pass
        self._children = children  # the nodes this one was computed from
        self._local_grads = local_grads  # d this node / d each child
        self.op = op  # "+", "*", "**", "log", "exp", "relu", or a leaf kind: "const", "param"

    def __add__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        return Value(self.data + other.data, (self, other), (1, 1), "+")

    def __mul__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        return Value(self.data * other.data, (self, other), (other.data, self.data), "*")

    def __pow__(self, other):
        return Value(self.data**other, (self,), (other * self.data ** (other - 1),), "**")

    def log(self):
        return Value(math.log(self.data), (self,), (1 / self.data,), "log")

    def exp(self):
        return Value(math.exp(self.data), (self,), (math.exp(self.data),), "exp")

    def relu(self):
        return Value(max(0, self.data), (self,), (float(self.data > 0),), "relu")

    def __neg__(self):
        return self * -1

    def __radd__(self, other):
        return self + other

    def __sub__(self, other):
        return self + (-other)

    def __rsub__(self, other):
        return other + (-self)

    def __rmul__(self, other):
        return self * other

    def __truediv__(self, other):
        return self * other**-1

    def __rtruediv__(self, other):
        return other * self**-1

    def backward(self) -> None:
        """Accumulate d self / d node into every node's grad, in microgpt's order."""
        propagate(self, backward_order(self))

    def __repr__(self) -> str:
        return f"Value(data={self.data}, grad={self.grad})"


def topological_order(root: Value) -> list[Value]:
    """microgpt's `build_topo`: post-order depth-first over children in order.

    Iterative, so a graph of any depth fits; it visits nodes in exactly the order
    the recursive version does, which fixes the order grads are summed in.
    """
    return ancestors(root)[0]


def ancestors(root: Value) -> tuple[list[Value], set[Value]]:
    """`root` and every node it depends on: in topological order, and as a set."""
    topo: list[Value] = []
    visited: set[Value] = {root}
    visit = visited.add
    append = topo.append
    stack = [(root, iter(root._children))]
    push, pop = stack.append, stack.pop
    while stack:
        node, children = stack[-1]
        for child in children:
            if child not in visited:
                visit(child)
                push((child, iter(child._children)))
                break
        else:
            pop()
            append(node)
    return topo, visited


def backward_order(root: Value) -> list[Value]:
    """The order `backward()` visits nodes: the topological order reversed."""
    topo = topological_order(root)
    topo.reverse()
    return topo


def _recording_init(self, data, children=(), local_grads=(), op=None):
    """`Value.__init__` while a Trace records: microgpt's, plus the node's provenance."""
    self.data = data
    self.grad = 0
    self._children = children
    self._local_grads = local_grads
    trace = _recording
    trace.nodes.append(self)  # the id is the index here, assigned when recording ends
    self.scope = trace.scope
    self.label = None
    # The source site: the first frame outside this module (`a * b` in the model,
    # not `__rmul__` -> `__mul__` in here). An op names itself, so its caller's
    # caller is the first candidate; a constant (made by an op's wrapping, or
    # directly by the model) starts the walk at its own caller.
    if op is None:
        self.op = "const"
        frame = _getframe(1)
    else:
        self.op = op
        frame = _getframe(2)
    while frame.f_globals is _ENGINE_GLOBALS:
        frame = frame.f_back
    self.code = frame.f_code
    self.line = frame.f_lineno


_plain_init = Value.__init__


def start_recording(trace) -> None:
    """Make every new Value a node of `trace` (one trace at a time, process-wide)."""
    global _recording
    if _recording is not None:
        raise RuntimeError("another Trace is already recording")
    _recording = trace
    Value.__init__ = _recording_init


def stop_recording() -> None:
    global _recording
    _recording = None
    Value.__init__ = _plain_init


def propagate(root: Value, order: list[Value]) -> None:
    """microgpt's backward loop over a precomputed `backward_order(root)`."""
    root.grad = 1
    for v in order:
        for child, local_grad in zip(v._children, v._local_grads):
            child.grad += local_grad * v.grad
