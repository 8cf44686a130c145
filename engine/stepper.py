"""Stepping through a captured graph one node at a time, like a debugger steps a program.

Two walks share the same moves: the forward replay reveals nodes in creation
order; the backward pass propagates one node's grad to its inputs per step,
`child.grad += local_grad * node.grad`, in exactly `backward()`'s order, so
running it to the end gives `backward()`'s grads bit for bit.

Scopes play the part of functions: `step_over` treats an inner scope as one
step, `step_out` runs to the end of the current scope, `cont` runs to the next
breakpoint scope. A focus scope makes every move stop only at nodes inside it
(the nodes in between are still processed). `back` undoes the last move,
whatever its size, restoring exactly the state before it.

A walk can also go to any step exactly, an earlier one too (`restart`, `go_to`: the
moves in `engine.rewinding`), as one move `back` undoes.

In the forward replay a scope's nodes come in one block (creation order). The
backward order is a depth-first one, so there a scope's nodes are interleaved
with others' (parameters, which every linear reads, sit between almost any two
nodes; a softmax alternates with the linear that made its logits). So "the
end of a scope" means after its last node in the walk's order, not the first
node outside it, and parameters (leaves, whose step passes nothing on) never
count as leaving a breakpoint's scope.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from engine.graph import id_bound, in_scope
from engine.rewinding import Rewind, Rewinding
from engine.value import Value, backward_order


@dataclass
class _Move:
    """What `back` needs to undo one move: where it started, and the grads it overwrote."""

    start: int
    touched: list[Value] = field(default_factory=list)
    old_grads: list = field(default_factory=list)


class Walk(Rewinding):
    """A cursor over an order of nodes: `position` nodes have been processed."""

    phase = "walk"

    def __init__(self, order: Sequence[Value]) -> None:
        self.order = order
        self.position = 0  # how many nodes of `order` are processed
        self.focus: str | None = None  # stop only at nodes inside this scope
        self.breakpoints: set[str] = set()  # scopes that `cont` stops on entering
        self._history: list[_Move | Rewind] = []
        self._scope_end: dict[str, int] = {}  # scope -> index of its last node in `order`

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
        """Step to the next node in the current scope (`where()`), inner scopes as one step.

        Nodes in scopes nested inside the current one, and nodes of other scopes met
        meanwhile (parameters, in the backward order), are processed without
        stopping. When the current scope has no nodes left, this is `step_out`.
        """
        level = self.where()
        if level is None:
            return self.step()
        end = self.scope_end(level)
        if self.position > end:  # nothing of the scope left
            return self.step_out()
        return self._move(lambda node: node.scope == level or self.position > end + 1)

    def step_out(self) -> int:
        """Run to the end of the current scope (`where()`): stop at the first node after its last.

        If the scope has no nodes left, that is the next node. With a focus, the stop
        is the first node inside the focus after the scope's end; if the focus has
        none left there (the scope is the focus, or holds it), out still ends the
        scope: it stops at the scope's last node.
        """
        level = self.where()
        if level is None:
            return self.step()
        end = self.scope_end(level)
        if self.focus is not None and self.position <= end and self.scope_end(self.focus) <= end:
            # nothing of the focus after this scope: out ends the scope at its last node
            return self._move(lambda node: self.position > end, respect_focus=False)
        return self._move(lambda node: self.position > end + 1)

    def cont(self) -> int:
        """Run to the next node that enters a breakpoint scope, or to the end.

        Entering: the node is inside a breakpoint scope and the node processed before
        it was not (parameters do not count as being anywhere: they are leaves that
        every linear reads, interleaved with everything in the backward order). So
        continuing from inside a breakpoint scope first leaves it; a breakpoint on
        `params` stops at every parameter.
        """
        breakpoints = tuple(self.breakpoints)
        previous = self._last_placed()

        def entering(node: Value) -> bool:
            nonlocal previous
            hit = any(
                in_scope(node.scope, bp) and (previous is None or not in_scope(previous.scope, bp))
                for bp in breakpoints
            )
            if node.op != "param":
                previous = node
            return hit

        return self._move(entering)

    def run_to_end(self) -> int:
        """Process every remaining node (ignoring focus and breakpoints)."""
        return self._move(lambda node: False, respect_focus=False)

    def run_to(self, position: int) -> int:
        """Process nodes until `position` are processed (forward only; 0 if already there)."""
        target = min(position, len(self.order))
        if target <= self.position:
            return 0
        return self._move(lambda node: self.position >= target, respect_focus=False)

    def where(self) -> str | None:
        """The scope the walk is in: the last processed node's, parameters not counting.

        A parameter is a leaf that every linear reads, so in the backward order one
        sits between almost any two nodes; stepping onto one does not leave the scope
        the walk was in. Before any step, the scope of the node the first step
        processes (None for an empty walk); in the forward replay's opening block of
        parameters, "params".
        """
        placed = self._last_placed()
        if placed is None:
            node = self.current if self.current is not None else self.next_node
            return None if node is None else node.scope
        return placed.scope

    def _last_placed(self) -> Value | None:
        """The last processed node that is not a parameter, if any."""
        order, i = self.order, self.position - 1
        while i >= 0 and order[i].op == "param":
            i -= 1
        return order[i] if i >= 0 else None

    def scope_end(self, scope: str) -> int:
        """The index in `order` of the last node inside `scope` (-1 if there is none)."""
        end = self._scope_end.get(scope)
        if end is None:
            order = self.order
            end = len(order) - 1
            while end >= 0 and not in_scope(order[end].scope, scope):
                end -= 1
            self._scope_end[scope] = end
        return end

    def back(self) -> bool:
        """Undo the last move exactly; False if there is nothing to undo."""
        if not self._history:
            return False
        move = self._history.pop()
        if isinstance(move, Rewind):  # (the moves made since were undone first)
            self._replay(move.start)
            self._history = move.history
            return True
        self._undo(move)
        return True

    def _undo(self, move: _Move) -> None:
        for node, old in zip(reversed(move.touched), reversed(move.old_grads), strict=True):
            node.grad = old
        self.position = move.start

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
            # `stop` sees every node (`cont` tracks the node before), focus or not
            if stop(node) and (focus is None or in_scope(node.scope, focus)):
                break
        self._history.append(move)
        return self.position - move.start

    def _start_again(self) -> None:
        """The state before the phase's first step."""
        self.position = 0

    def _process(self, node: Value, move: _Move) -> None:
        """Forward replay: revealing a node changes nothing."""

    def _apply(self, node: Value) -> None:
        """`_process` without recording what it overwrote."""


class ForwardReplay(Walk):
    """The forward pass replayed in creation order: each step reveals one node."""

    phase = "forward"

    def __init__(self, nodes: Sequence[Value]) -> None:
        super().__init__(nodes)
        # where each node is in the order, by id, when ids are not the indexes (a rerooted
        # graph keeps its original ids); None: they are
        dense = not nodes or nodes[-1].id == len(nodes) - 1
        self._index_of = None if dense else {node.id: i for i, node in enumerate(nodes)}

    def revealed(self, node: Value) -> bool:
        index = node.id if self._index_of is None else self._index_of[node.id]
        return index < self.position

    def run_to(self, position: int) -> int:
        """As `Walk.run_to`, at once: revealing nodes changes nothing (a vector step may
        reveal thousands)."""
        target, start = min(position, len(self.order)), self.position
        if target <= start:
            return 0
        self.position = target
        self._history.append(_Move(start))
        return target - start


class BackwardPass(Walk):
    """`backward()` one node at a time: each step passes one node's grad to its inputs."""

    phase = "backward"

    def __init__(
        self, root: Value, nodes: Sequence[Value], order: Sequence[Value] | None = None
    ) -> None:
        """`order` is `backward_order(root)` if the caller has it already."""
        super().__init__(backward_order(root) if order is None else order)
        self.root = root
        self.nodes = nodes
        # index of each node (by id) in the backward order: has it propagated yet?
        self.index_of = [0] * id_bound(nodes)
        for i, node in enumerate(self.order):
            self.index_of[node.id] = i
        self.reset()

    def reset(self) -> None:
        """The state before `backward()` runs: every grad 0, the root's 1 (nothing to undo)."""
        self._start_again()
        self._history.clear()

    def _start_again(self) -> None:
        for node in self.order:
            node.grad = 0
        self.root.grad = 1
        self.position = 0

    def propagated(self, node: Value) -> bool:
        """Has this node already passed its grad on to its inputs?"""
        return self.index_of[node.id] < self.position

    def _process(self, node: Value, move: _Move) -> None:
        touched, old = move.touched, move.old_grads
        grad = node.grad
        for child, local_grad in zip(node._children, node._local_grads, strict=True):
            touched.append(child)
            old.append(child.grad)
            child.grad += local_grad * grad

    def run_to(self, position: int) -> int:
        """As `Walk.run_to` (the same writes, in the same order), in one tight loop: a
        vector step processes up to tens of thousands of nodes. Leaves pass nothing on;
        a node of two inputs (`+`, `*`: most) is unrolled."""
        target, start = min(position, len(self.order)), self.position
        if target <= start:
            return 0
        move = _Move(start)
        touch, touch_both, keep = move.touched.append, move.touched.extend, move.old_grads.append
        for node in self.order[start:target]:
            children = node._children
            if not children:
                continue
            grad = node.grad
            if len(children) == 2:
                a, b = children  # (the same node twice for x * x: two writes, as below)
                local_a, local_b = node._local_grads
                touch_both(children)
                keep(a.grad)
                a.grad += local_a * grad
                keep(b.grad)
                b.grad += local_b * grad
                continue
            for child, local_grad in zip(children, node._local_grads, strict=True):
                touch(child)
                keep(child.grad)
                child.grad += local_grad * grad
        self.position = target
        self._history.append(move)
        return target - start

    def _apply(self, node: Value) -> None:
        grad = node.grad
        for child, local_grad in zip(node._children, node._local_grads, strict=True):
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
        for child, local_grad in zip(consumer._children, consumer._local_grads, strict=True):
            if child is node:
                terms.append((consumer, local_grad, consumer.grad, local_grad * consumer.grad))
    return terms
