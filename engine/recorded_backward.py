"""Replaying a backward() as it actually ran: every grad write it made, in its order.

`BackwardPass` (stepper.py) computes microgpt's backward one node at a time. A
script's own `backward()` may do something else: visit nodes in another order (a
Kahn sort), accumulate into grads left from an earlier call, or run closures.
`RecordedBackward` holds what it did: its propagation steps (the node whose
grad was being passed on) and every grad write (node, value before, value after),
in order. `ReplayWalk` steps through them with the same moves as `BackwardPass`
(step, step over, step out, continue, back, run to end, focus, breakpoints), so
the session and the app can use either.

A step applies exactly the writes made while that node propagated: `grad =
after`, not a recomputation, so the replay run to its end equals the script's
grads bit for bit whatever its algorithm, and `back` restores exactly the grads
before. The walk starts from the grads the nodes held before the call, with the
writes made before the first step (the root's seed, any zeroing) applied.

The writes are either logged as they were made, or, for a backward() that is
microgpt's own (`engine.attach.textbook`), derived from its steps when first read
(`RecordedBackward.chain_rule`): the same expressions on the same numbers, checked
against the grads the call left.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections import deque
from collections.abc import Callable, Iterable, Sequence

from engine.stepper import Walk, _Move
from engine.value import Value

_get_grad = Value.__dict__["grad"].__get__
_get_id = Value.__dict__["id"].__get__
_set_grad = Value.__dict__["grad"].__set__


def _apply(targets: Iterable[Value], grads: Iterable) -> None:
    """`target.grad = grad` for each pair, in order (C-level: there may be a million)."""
    deque(map(_set_grad, targets, grads), maxlen=0)


class RecordedBackward:
    """What one backward() call did: its propagation steps and its grad writes, in order.

    `steps[i]` is the node passing its grad on at step i, which made the writes
    `step_starts[i]` .. `step_starts[i + 1] - 1`; write w set `targets[w].grad` from
    `olds[w]` to `news[w]`. The writes are either given as logged
    (`RecordedBackward(...)`) or derived when first read (`chain_rule`).
    """

    def __init__(
        self, steps: list[Value], step_starts: list[int], targets: list, olds: list, news: list
    ) -> None:
        if len(step_starts) != len(steps) + 1:
            raise ValueError("step_starts needs one entry per step, plus the end")
        self.steps = steps
        self._each_once = False  # known to be every node once, without looking
        self._writes: tuple[list[int], list, list, list] | None = (
            step_starts,
            targets,
            olds,
            news,
        )
        self._derive: Callable[[], tuple[list[int], list, list, list]] | None = None

    @classmethod
    def chain_rule(
        cls, steps: list[Value], prologue: list[tuple[Value, object, object]], before: list, after
    ) -> RecordedBackward:
        """microgpt's loop over `steps`, its writes derived when first read.

        The call wrote `prologue` (node, before, after) first (the root's seed); then for
        each step `v`, in order, `child.grad += local_grad * v.grad` for each pair of
        `zip(v._children, v._local_grads)`. `before[i]` is `steps[i]`'s grad before the
        call; `after[k]` is node k's grad after it (by id, steps covering every id).
        The derived writes are the same expressions on the same numbers, so the same
        bits; ending anywhere but `after` raises RuntimeError (an internal fault).
        """
        recorded = cls.__new__(cls)
        recorded.steps = steps
        recorded._each_once = True  # microgpt's topo: every node of the graph, once
        recorded._writes = None
        recorded._derive = lambda: _chain_rule_writes(steps, prologue, before, after)
        return recorded

    def _all_writes(self) -> tuple[list[int], list, list, list]:
        derive = self._derive  # (read once: another thread may finish deriving meanwhile)
        if self._writes is None and derive is not None:
            self._writes = derive()
            self._derive = None
        assert self._writes is not None
        return self._writes

    @property
    def derived(self) -> bool:
        """Are the writes microgpt's loop by construction (`chain_rule`), not as logged?"""
        return self._each_once

    @property
    def step_starts(self) -> list[int]:
        return self._all_writes()[0]

    @property
    def targets(self) -> list[Value]:
        """The node each write changed."""
        return self._all_writes()[1]

    @property
    def olds(self) -> list:
        """Each write's node's grad before it."""
        return self._all_writes()[2]

    @property
    def news(self) -> list:
        """The grad each write left."""
        return self._all_writes()[3]

    @property
    def prologue(self) -> int:
        """How many writes came before the first step (the root's seed, zeroing)."""
        return self.step_starts[0]

    def covers_once(self, n: int) -> bool:
        """Is every node of an n-node graph (ids 0..n-1) a step exactly once?"""
        if self._each_once:
            return len(self.steps) == n
        ids = set(map(_get_id, self.steps))
        return len(self.steps) == n == len(ids) and min(ids, default=0) >= 0

    def step_of(self, write: int) -> int:
        """The step a write was made in; -1 for the prologue."""
        return bisect_right(self.step_starts, write) - 1


def _chain_rule_writes(
    steps: list[Value], prologue: list[tuple[Value, object, object]], before: list, after
) -> tuple[list[int], list, list, list]:
    """`RecordedBackward.chain_rule`'s writes: (step_starts, targets, olds, news)."""
    grads = list(after)  # by node id: each is set from `before` below
    for node, grad in zip(steps, before):
        grads[node.id] = grad
    targets = [node for node, _, _ in prologue]
    olds = [old for _, old, _ in prologue]
    news = [new for _, _, new in prologue]
    for node, new in zip(targets, news):
        grads[node.id] = new
    starts = [len(targets)]
    add_target, add_old, add_new = targets.append, olds.append, news.append
    add_start = starts.append
    for v in steps:
        v_id = v.id
        for child, local_grad in zip(v._children, v._local_grads):
            i = child.id
            old = grads[i]
            new = old  # `child.grad += local_grad * v.grad`, evaluated as the script does
            new += local_grad * grads[v_id]
            grads[i] = new
            add_target(child)
            add_old(old)
            add_new(new)
        add_start(len(targets))
    if not all(map(_same, grads, after)):
        raise RuntimeError("the derived backward() does not end with the script's grads")
    return starts, targets, olds, news


def _same(a: object, b: object) -> bool:
    return a == b or (a != a and b != b)  # nan where the script has nan


class ReplayWalk(Walk):
    """A recorded backward() one propagation step at a time; `back` undoes exactly."""

    phase = "backward"

    def __init__(self, root: Value, nodes: Sequence[Value], recorded: RecordedBackward) -> None:
        super().__init__(recorded.steps)
        self.root = root
        self.nodes = nodes
        self.recorded = recorded
        self._index_of: list[int] | None = None
        self._by_target: dict[int, list[int]] | None = None
        self.reset()

    @property
    def index_of(self) -> list[int]:
        """By node id: the step after which the node's grad is final (see `_final_steps`)."""
        if self._index_of is None:
            self._index_of = self._final_steps()
        return self._index_of

    def _final_steps(self) -> list[int]:
        """By node id: the step it propagated in (its first), else its last write's step.

        After that step the node has passed its grad on (or received its last term);
        -1 for a node no step touches.
        """
        n = len(self.nodes)
        index_of = [-1] * n
        steps = self.recorded.steps
        for i in range(len(steps) - 1, -1, -1):  # backwards: the first step stays
            node_id = steps[i].id
            if 0 <= node_id < n:
                index_of[node_id] = i
        if -1 in index_of:  # some nodes never propagate: their last write counts
            self._last_writes(index_of, {id(s) for s in steps})
        return index_of

    def _last_writes(self, index_of: list[int], stepped: set[int]) -> None:
        recorded = self.recorded
        for step in range(-1, len(recorded.steps)):
            lo = recorded.step_starts[step] if step >= 0 else 0
            for target in recorded.targets[lo : recorded.step_starts[step + 1]]:
                if self._in_graph(target) and id(target) not in stepped:
                    index_of[target.id] = step

    def _in_graph(self, node: Value) -> bool:
        return 0 <= node.id < len(self.nodes) and self.nodes[node.id] is node

    def reset(self) -> None:
        """The state as the call began (its grads before), then the writes before step 1."""
        self._start_again()
        self._history.clear()

    def _start_again(self) -> None:
        recorded = self.recorded
        # the first write's `before` is set last: the grad before the call
        _apply(reversed(recorded.targets), reversed(recorded.olds))
        prologue = recorded.prologue
        _apply(recorded.targets[:prologue], recorded.news[:prologue])
        self.position = 0

    def _apply(self, node: Value) -> None:
        """The writes of step `position` (a restart or a jump replays them: Walk.go_to)."""
        recorded = self.recorded
        lo, hi = recorded.step_starts[self.position], recorded.step_starts[self.position + 1]
        _apply(recorded.targets[lo:hi], recorded.news[lo:hi])

    def final_grads(self) -> list:
        """By node id, each node's grad as the recorded backward() left it (the walk's
        end), without moving the walk: its last write, else the grad it has."""
        grads = [node.grad for node in self.nodes]
        n = len(grads)
        for target, new in zip(self.recorded.targets, self.recorded.news):
            node_id = target.id
            if 0 <= node_id < n:
                grads[node_id] = new
        return grads

    def start_grads(self) -> list:
        """By node id, each node's grad at the walk's start (position 0), without moving
        the walk: the grad it held before the call, or what the prologue wrote."""
        grads = [node.grad for node in self.nodes]  # a node never written keeps its grad
        n = len(grads)
        recorded = self.recorded
        targets, olds, news = recorded.targets, recorded.olds, recorded.news
        prologue = recorded.prologue
        for w in range(len(targets) - 1, prologue - 1, -1):  # backwards: the first stays
            node_id = targets[w].id
            if 0 <= node_id < n:
                grads[node_id] = olds[w]
        for w in range(prologue):  # in order: the prologue's last write stays
            node_id = targets[w].id
            if 0 <= node_id < n:
                grads[node_id] = news[w]
        return grads

    def run_to_end(self) -> int:
        """Apply every remaining write as one move (the same as stepping to the end)."""
        if self.done:
            return 0
        recorded = self.recorded
        start, lo = self.position, recorded.step_starts[self.position]
        targets = recorded.targets[lo:]
        move = _Move(start, targets, list(map(_get_grad, targets)))
        _apply(targets, recorded.news[lo:])
        self.position = len(self.order)
        self._history.append(move)
        return self.position - start

    def propagated(self, node: Value) -> bool:
        """Has this node passed its grad on (or, if it never does, received its last term)?"""
        if not self._in_graph(node):
            return True
        return self.index_of[node.id] < self.position

    def _process(self, node: Value, move: _Move) -> None:
        recorded = self.recorded
        i = self.position
        touched, old = move.touched, move.old_grads
        targets, news = recorded.targets, recorded.news
        for w in range(recorded.step_starts[i], recorded.step_starts[i + 1]):
            target = targets[w]
            touched.append(target)
            old.append(target.grad)
            target.grad = news[w]

    # -- the chain-rule terms a node received ----------------------------------------

    def writes_to(self, node: Value) -> list[int]:
        """The indices of every write to `node`, in order."""
        if self._by_target is None:
            by_target: dict[int, list[int]] = {}
            for w, target in enumerate(self.recorded.targets):
                by_target.setdefault(id(target), []).append(w)
            self._by_target = by_target
        return self._by_target.get(id(node), [])

    def terms(self, node: Value) -> list[tuple]:
        """The chain-rule terms `node.grad` has received so far, oldest first.

        Each is `(consumer, local_grad, consumer_grad, term, exact)`: a write made
        while `consumer` propagated, to one of its children. `exact` when `before +
        local_grad * consumer_grad` is the grad written, bit for bit; otherwise the
        term shown is `after - before`. Writes outside a step, or to a node that is
        not a child of the propagating node, are not terms.
        """
        return self._terms_before(node, self.recorded.step_starts[self.position])[0]

    def final_terms(self, node: Value) -> tuple[list[tuple], bool]:
        """Every chain-rule term the whole call added into `node.grad` (as `terms`, but
        wherever the walk is), and whether they account for every write to it after
        the prologue, each `before + term == after`: then the node's grad at the walk's
        start plus the terms, added in this order, is its final grad bit for bit."""
        return self._terms_before(node, len(self.recorded.targets))

    def _terms_before(self, node: Value, done: int) -> tuple[list[tuple], bool]:
        recorded = self.recorded
        terms, accounted = [], True
        for w in self.writes_to(node):
            if w >= done:
                break
            step = recorded.step_of(w)
            if step < 0:
                continue  # the prologue: the walk starts after it
            term = self._term(node, w, step)
            if term is None:
                accounted = False
                continue
            terms.append(term)
            accounted = accounted and recorded.olds[w] + term[3] == recorded.news[w]
        return terms, accounted

    def grad_before(self, node: Value, write: int) -> object:
        """`node.grad` as it was just before write number `write` (the call's own order)."""
        writes = self.writes_to(node)
        earlier = bisect_left(writes, write)
        if earlier:
            return self.recorded.news[writes[earlier - 1]]
        return self.recorded.olds[writes[0]] if writes else node.grad  # never written: as is

    def _term(self, node: Value, write: int, step: int) -> tuple | None:
        recorded = self.recorded
        consumer = recorded.steps[step]
        # the k-th write to `node` in this step goes with its k-th place among the children
        start = recorded.step_starts[step]
        k = sum(1 for w in range(start, write) if recorded.targets[w] is node)
        places = [i for i, child in enumerate(consumer._children) if child is node]
        if k >= len(places):
            return None
        local_grad = consumer._local_grads[places[k]]
        consumer_grad = self.grad_before(consumer, start)
        before, after = recorded.olds[write], recorded.news[write]
        term = local_grad * consumer_grad
        if before + term == after:
            return consumer, local_grad, consumer_grad, term, True
        return consumer, local_grad, consumer_grad, after - before, False
