"""Stepping through a captured graph one node at a time, like a debugger steps a program.

Two walks share the same moves: the forward replay reveals nodes in creation
order; the backward pass propagates one node's grad to its inputs per step,
`child.grad += local_grad * node.grad`, in exactly `backward()`'s order, so
running it to the end gives `backward()`'s grads bit for bit.

Scopes play the part of functions: `step_over` treats an inner scope as one
step, `step_out` runs until the walk leaves the current scope, `cont` runs to
the next breakpoint scope. A focus scope makes every move stop only at nodes
inside it (the nodes in between are still processed). `back` undoes the last
move, whatever its size, restoring exactly the state before it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from engine.value import Value, backward_order


def _inside(scope: str, prefix: str) -> bool:
    return scope == prefix or scope.startswith(prefix + ".")


@dataclass
class _Move:
    """What `back` needs to undo one move: where it started, and the grads it overwrote."""

    start: int
    touched: list[Value] = field(default_factory=list)
    old_grads: list = field(default_factory=list)


class Walk:
    """A cursor over an order of nodes: `position` nodes have been processed."""

    phase = "walk"

    def __init__(self, order: Sequence[Value]) -> None:
        self.order = order
        self.position = 0  # how many nodes of `order` are processed
        self.focus: str | None = None  # stop only at nodes inside this scope
        self.breakpoints: set[str] = set()  # scopes that `cont` stops on entering
        self._history: list[_Move] = []

    # -- state ---------------------------------------------------------------------

    @property
    def current(self) -> Value | None:
        """The node processed last, or None before the first step."""
        return self.order[self.position - 1] if self.position else None

    @property
    def next_node(self) -> Value | None:
        return self.order[self.position] if self.position < len(self.order) else None

    @property
    def done(self) -> bool:
        return self.position >= len(self.order)

    @property
    def can_go_back(self) -> bool:
        return bool(self._history)

    def __len__(self) -> int:
        return len(self.order)

    # -- moves ---------------------------------------------------------------------

    def step(self) -> int:
        """Process exactly one node (with a focus: up to the next node inside it)."""
        return self._move(lambda node: True)

    def step_over(self) -> int:
        """Step, treating a scope nested inside the current node's scope as one step."""
        current = self.current
        if current is None:
            return self.step()
        level = current.scope + "."
        return self._move(lambda node: not node.scope.startswith(level))

    def step_out(self) -> int:
        """Run until the walk reaches a node outside the current node's scope."""
        current = self.current
        if current is None:
            return self.step()
        level = current.scope
        return self._move(lambda node: not _inside(node.scope, level))

    def cont(self) -> int:
        """Run to the next node that enters a breakpoint scope, or to the end."""
        breakpoints = tuple(self.breakpoints)
        previous = self.current

        def entering(node: Value) -> bool:
            nonlocal previous
            hit = any(
                _inside(node.scope, bp) and (previous is None or not _inside(previous.scope, bp))
                for bp in breakpoints
            )
            previous = node
            return hit

        return self._move(entering)

    def run_to_end(self) -> int:
        """Process every remaining node (ignoring focus and breakpoints)."""
        return self._move(lambda node: False, respect_focus=False)

    def run_to(self, position: int) -> int:
        """Process nodes until `position` are processed (forward only)."""
        target = min(max(position, self.position), len(self.order))
        return self._move(lambda node: self.position >= target, respect_focus=False)

    def back(self) -> bool:
        """Undo the last move exactly; False if there is nothing to undo."""
        if not self._history:
            return False
        move = self._history.pop()
        for node, old in zip(reversed(move.touched), reversed(move.old_grads)):
            node.grad = old
        self.position = move.start
        return True

    def toggle_breakpoint(self, scope: str) -> bool:
        """Add or remove a breakpoint on `scope`; True if it is now set."""
        if scope in self.breakpoints:
            self.breakpoints.discard(scope)
            return False
        self.breakpoints.add(scope)
        return True

    def _move(self, stop: Callable[[Value], bool], *, respect_focus: bool = True) -> int:
        """Process nodes until `stop(node)` holds for a node inside the focus.

        Returns how many nodes were processed; a move of zero nodes (at the end)
        is not recorded, so `back` always undoes something visible.
        """
        if self.done:
            return 0
        focus = self.focus if respect_focus else None
        move = _Move(self.position)
        order, n = self.order, len(self.order)
        while self.position < n:
            node = order[self.position]
            self._process(node, move)
            self.position += 1
            if (focus is None or _inside(node.scope, focus)) and stop(node):
                break
        self._history.append(move)
        return self.position - move.start

    def _process(self, node: Value, move: _Move) -> None:
        """Forward replay: revealing a node changes nothing."""


class ForwardReplay(Walk):
    """The forward pass replayed in creation order: each step reveals one node."""

    phase = "forward"

    def __init__(self, nodes: Sequence[Value]) -> None:
        super().__init__(nodes)

    def revealed(self, node: Value) -> bool:
        return node.id < self.position


class BackwardPass(Walk):
    """`backward()` one node at a time: each step passes one node's grad to its inputs."""

    phase = "backward"

    def __init__(self, root: Value, nodes: Sequence[Value]) -> None:
        order = backward_order(root)
        super().__init__(order)
        self.root = root
        self.nodes = nodes
        # index of each node (by id) in the backward order: has it propagated yet?
        self.index_of = [0] * len(nodes)
        for i, node in enumerate(order):
            self.index_of[node.id] = i
        self.reset()

    def reset(self) -> None:
        """The state before `backward()` runs: every grad 0, the root's 1."""
        for node in self.order:
            node.grad = 0
        self.root.grad = 1
        self.position = 0
        self._history.clear()

    def propagated(self, node: Value) -> bool:
        """Has this node already passed its grad on to its inputs?"""
        return self.index_of[node.id] < self.position

    def _process(self, node: Value, move: _Move) -> None:
        touched, old = move.touched, move.old_grads
        grad = node.grad
        for child, local_grad in zip(node._children, node._local_grads):
            touched.append(child)
            old.append(child.grad)
            child.grad += local_grad * grad


def terms_received(node: Value, consumers: Sequence[Value], walk: BackwardPass) -> list[tuple]:
    """The chain-rule terms `node.grad` has received so far, in the order they were added.

    Each is `(consumer, local_grad, consumer.grad, term)`: `term = local_grad *
    consumer.grad` was added when the consumer propagated. A consumer's grad is
    final by then (backward goes in reverse topological order), so the terms can
    be read off the current state rather than stored.
    """
    done = [c for c in dict.fromkeys(consumers) if walk.propagated(c)]
    done.sort(key=lambda c: walk.index_of[c.id])
    terms = []
    for consumer in done:
        for child, local_grad in zip(consumer._children, consumer._local_grads):
            if child is node:
                terms.append((consumer, local_grad, consumer.grad, local_grad * consumer.grad))
    return terms
