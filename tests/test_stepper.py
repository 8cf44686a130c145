"""The stepper: backward one node at a time equals backward(), and every move can be undone exactly.

Moves are checked against their documented meaning, written here independently:
`step` stops at the next node (inside the focus, if any); `step_over` at the next
node in the current scope or, once that scope has no nodes left, the first node
after it; `step_out` at the first node after the current scope's last (with a
focus that has no node after the scope: at the scope's last node); `cont` at the
next node entering a breakpoint scope; parameters never count as leaving a scope.
Before any step the walk is in the scope of the node the first step processes.
"""

from __future__ import annotations

from functools import cache

import pytest
from conftest import VOCAB, make_model
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.capture import Capture, capture_loss
from engine.config import GPTConfig
from engine.data import Tokenizer
from engine.stepper import BackwardPass, ForwardReplay, Walk

SMALL = GPTConfig(n_embd=8, n_head=2, block_size=8)
EMMA = Tokenizer(VOCAB).encode("emma")
HEAD = "pos2.layer0.attn.head1"


def inside(scope: str, prefix: str) -> bool:
    return scope == prefix or scope.startswith(prefix + ".")


def grads(capture: Capture) -> list:
    return [n.grad for n in capture.nodes]


def backward_grads(config: GPTConfig, pos: int | None, seed: int = 42) -> list:
    """What `backward()` gives on a fresh capture of a model with these weights."""
    capture = capture_loss(make_model(config, seed), EMMA, pos)
    capture.root.backward()
    return grads(capture)


@cache
def small() -> tuple[Capture, list]:
    """Position 2 of "emma" on a small model (about 4,200 nodes) and its backward() grads."""
    return capture_loss(make_model(SMALL), EMMA, pos=2), backward_grads(SMALL, pos=2)


# -- the backward pass run to its end is backward() -----------------------------------------


@pytest.mark.parametrize("pos", [None, 4], ids=["document", "last position"])
def test_run_to_end_equals_backward(pos: int | None) -> None:
    model = make_model()
    capture = capture_loss(model, EMMA, pos)
    walk = BackwardPass(capture.root, capture.nodes)
    assert walk.run_to_end() == len(capture.nodes)
    assert walk.done and walk.position == len(walk)
    ours = grads(capture)
    # a fresh capture of the same model, and microgpt's backward()
    again = capture_loss(model, EMMA, pos)
    again.root.backward()
    assert ours == grads(again)
    assert [p.grad for p in capture.model.params] == [p.grad for p in again.model.params]
    # the captures' own parameter copies: the model itself is untouched
    assert all(p.grad == 0 for p in model.params)


def test_single_steps_equal_backward() -> None:
    capture = capture_loss(make_model(), EMMA, pos=4)
    walk = BackwardPass(capture.root, capture.nodes)
    expected_order = list(walk.order)
    k = 0
    while not walk.done:
        assert walk.step() == 1
        assert walk.current is expected_order[k]
        k += 1
    assert k == len(capture.nodes)
    assert walk.step() == 0  # nothing left
    assert grads(capture) == backward_grads(GPTConfig(), pos=4)


def test_each_step_passes_one_nodes_grad_to_its_inputs() -> None:
    capture, _ = small()
    walk = BackwardPass(capture.root, capture.nodes)
    for _ in range(50):
        node = walk.next_node
        before = {id(c): c.grad for c in node._children}
        walk.step()
        expected = dict(before)
        for child, local_grad in zip(node._children, node._local_grads, strict=True):
            expected[id(child)] += local_grad * node.grad
        assert {id(c): c.grad for c in node._children} == expected
        assert walk.propagated(node)


def test_reset_is_the_state_before_backward() -> None:
    capture, _ = small()
    walk = BackwardPass(capture.root, capture.nodes)
    walk.run_to_end()
    walk.reset()
    assert walk.position == 0 and not walk.can_go_back
    assert grads(capture) == [1 if n is capture.root else 0 for n in capture.nodes]


def test_cont_through_breakpoints_equals_backward() -> None:
    capture, expected = small()
    walk = BackwardPass(capture.root, capture.nodes)
    walk.toggle_breakpoint(HEAD)
    walk.toggle_breakpoint("pos2.lm_head")
    stops = []
    while not walk.done:
        walk.cont()
        stops.append(walk.current)
    assert len(stops) > 2
    for node in stops[:-1]:
        assert inside(node.scope, HEAD) or inside(node.scope, "pos2.lm_head")
    assert grads(capture) == expected


def test_focus_on_a_head_stops_only_inside_it_and_stays_exact() -> None:
    capture, expected = small()
    walk = BackwardPass(capture.root, capture.nodes)
    walk.focus = HEAD
    in_head = [n for n in walk.order if inside(n.scope, HEAD)]
    stops = []
    while not walk.done:
        walk.step()
        stops.append(walk.current)
    # every node of the head, in backward order, then one last move to the end
    assert stops[: len(in_head)] == in_head
    assert stops[len(in_head) :] in ([], [walk.order[-1]])
    assert grads(capture) == expected


@pytest.mark.parametrize("move", ["step_over", "step_out", "cont"])
def test_other_moves_under_focus_stop_inside_it_and_stay_exact(move: str) -> None:
    capture, expected = small()
    walk = BackwardPass(capture.root, capture.nodes)
    walk.focus = HEAD
    walk.toggle_breakpoint(HEAD + ".softmax")
    while not walk.done:
        getattr(walk, move)()
        assert inside(walk.current.scope, HEAD) or walk.done
    assert grads(capture) == expected


# -- back ------------------------------------------------------------------------------------

MOVES = ["step", "step_over", "step_out", "cont", "run_to_end"]


@pytest.mark.parametrize("move", MOVES)
def test_back_restores_the_exact_state_before_any_move(move: str) -> None:
    capture, _ = small()
    walk = BackwardPass(capture.root, capture.nodes)
    walk.toggle_breakpoint("pos2.layer0.mlp")
    for _ in range(3):  # from a few different places
        walk.step_out()
        before = (walk.position, grads(capture), [type(g) for g in grads(capture)])
        moved = getattr(walk, move)()
        assert moved > 0
        assert walk.back()
        assert (walk.position, grads(capture), [type(g) for g in grads(capture)]) == before


def test_back_with_nothing_to_undo() -> None:
    capture, _ = small()
    walk = BackwardPass(capture.root, capture.nodes)
    assert not walk.can_go_back and walk.back() is False
    walk.run_to_end()
    assert walk.step() == 0 and walk.cont() == 0  # moves of nothing are not recorded
    assert walk.back() and walk.position == 0 and not walk.can_go_back


def test_run_to_where_the_walk_is_moves_nothing() -> None:
    capture, _ = small()
    walk = ForwardReplay(capture.nodes)
    assert walk.run_to(10) == 10
    assert walk.run_to(10) == 0 and walk.run_to(3) == 0
    assert walk.position == 10
    assert walk.back() and walk.position == 0


# -- the documented meaning of each move, brute force ------------------------------------------


def where(walk: Walk) -> str | None:
    """The scope the walk is in: the last processed node's that is not a parameter
    (before any step: the first node's)."""
    done = walk.order[: walk.position]
    placed = [n for n in done if n.op != "param"]
    if placed:
        return placed[-1].scope
    if done:
        return done[-1].scope
    return walk.order[0].scope if walk.order else None


def expected_position(walk: Walk, move: str) -> int:
    """Where a move should leave the walk, from the definitions in this file's docstring."""
    order, start, n = walk.order, walk.position, len(walk.order)
    if start >= n:
        return start
    level = where(walk)
    if move == "run_to_end":
        return n
    if level is None and move in ("step_over", "step_out"):
        move = "step"
    end = max((i for i, v in enumerate(order) if level and inside(v.scope, level)), default=-1)
    if move == "step_over" and start > end:
        move = "step_out"  # nothing of the scope left
    focus_end = max(
        (i for i, v in enumerate(order) if walk.focus and inside(v.scope, walk.focus)), default=-1
    )
    if move == "step_out" and walk.focus is not None and start <= end and focus_end <= end:
        return end + 1  # the focus has nothing after the scope: out ends it at its last node
    previous = next((v for v in reversed(order[:start]) if v.op != "param"), None)
    for i in range(start, n):
        node = order[i]
        if move == "step":
            stop = True
        elif move == "step_over":
            stop = node.scope == level or i > end
        elif move == "step_out":
            stop = i > end
        else:  # cont
            stop = any(
                inside(node.scope, bp) and (previous is None or not inside(previous.scope, bp))
                for bp in walk.breakpoints
            )
            if node.op != "param":
                previous = node
        if stop and (walk.focus is None or inside(node.scope, walk.focus)):
            return i + 1
    return n


SCOPES = [HEAD, HEAD + ".softmax", "pos2.lm_head", "pos2.layer0.mlp", "pos1", "pos2.loss", "params"]
ACTIONS = st.one_of(
    st.sampled_from(MOVES + ["back", "back"]),
    st.tuples(st.just("focus"), st.sampled_from([None, *SCOPES])),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    backward=st.booleans(),
    breakpoints=st.sets(st.sampled_from(SCOPES), max_size=2),
    actions=st.lists(ACTIONS, max_size=25),
)
def test_random_moves_go_where_documented_and_undo_exactly(
    backward: bool, breakpoints: set[str], actions: list
) -> None:
    capture, _ = small()
    walk = BackwardPass(capture.root, capture.nodes) if backward else ForwardReplay(capture.nodes)
    for bp in breakpoints:
        walk.toggle_breakpoint(bp)
    initial = grads(capture)
    undo: list[tuple[int, list]] = []  # (position, grads) before each recorded move
    for action in actions:
        if isinstance(action, tuple):  # a focus change moves nothing
            before = (walk.position, grads(capture))
            walk.focus = action[1]
            assert (walk.position, grads(capture)) == before
        elif action == "back":
            went_back = walk.back()
            assert went_back == bool(undo)
            if undo:
                assert (walk.position, grads(capture)) == undo.pop()
        else:
            before = (walk.position, grads(capture))
            expected = expected_position(walk, action)
            moved = getattr(walk, action)()
            assert walk.position == expected, action
            assert moved == expected - before[0]
            if moved:
                undo.append(before)
            else:
                assert (walk.position, grads(capture)) == before
    # the state depends only on the position: replaying to it from the start agrees
    position, now = walk.position, grads(capture)
    while walk.back():
        pass
    assert walk.position == 0 and grads(capture) == initial
    walk.run_to(position)
    assert grads(capture) == now


# -- the forward replay ------------------------------------------------------------------------


def test_forward_replay_reveals_nodes_in_creation_order() -> None:
    capture, _ = small()
    replay = ForwardReplay(capture.nodes)
    before = grads(capture)
    for k in range(0, len(capture.nodes), 97):
        replay.run_to(k)
        assert replay.position == k
        assert [replay.revealed(n) for n in capture.nodes] == [n.id < k for n in capture.nodes]
        assert replay.current is (capture.nodes[k - 1] if k else None)
    replay.run_to_end()
    assert all(replay.revealed(n) for n in capture.nodes)
    assert grads(capture) == before  # revealing changes no grad


def forward_at(label: str, scope: str) -> ForwardReplay:
    """A forward replay that has just revealed the node `label` in `scope`."""
    capture, _ = small()
    replay = ForwardReplay(capture.nodes)
    node = next(n for n in capture.nodes if n.label == label and n.scope == scope)
    replay.run_to(node.id + 1)
    return replay


def test_forward_step_over_treats_the_heads_as_one_step() -> None:
    replay = forward_at("v[7]", "pos2.layer0.attn")  # the last value, then the heads
    heads = [n for n in replay.order if inside(n.scope, "pos2.layer0.attn.head0")]
    replay.step_over()
    node = replay.current
    assert node.scope == "pos2.layer0.attn"  # back at the attention block's level
    assert all(replay.revealed(n) for n in heads)
    assert replay.order[node.id - 1].scope.startswith("pos2.layer0.attn.head1")


def test_forward_step_over_inside_a_head_steps_over_its_softmax() -> None:
    replay = forward_at("attn_logits[2]", HEAD)  # the last logit, then the softmax
    replay.step_over()
    assert replay.current.scope == HEAD
    assert replay.order[replay.position - 2].scope == HEAD + ".softmax"


def test_forward_step_out_of_a_softmax_and_of_a_head() -> None:
    replay = forward_at("attn_logits[2]", HEAD)  # the last logit, then the softmax
    replay.step()
    assert replay.current.scope == HEAD + ".softmax"
    replay.step_out()
    assert replay.current.scope == HEAD  # the head's output, after its softmax
    replay.step_out()
    assert replay.current.scope == "pos2.layer0.attn"  # attn_wo, after the last head
    assert not any(inside(n.scope, HEAD) for n in replay.order[replay.position :])


def test_backward_step_over_skips_parameters_and_inner_scopes() -> None:
    capture, _ = small()
    walk = BackwardPass(capture.root, capture.nodes)
    walk.focus = "pos2.lm_head"
    walk.step()
    walk.focus = None
    assert walk.current.scope == "pos2.lm_head"
    for _ in range(20):
        walk.step_over()
        assert walk.current.scope == "pos2.lm_head"
    walk.step()  # onto a parameter, perhaps: the walk is still in the linear
    assert where(walk) == walk.where()


def test_backward_step_out_finishes_the_scope() -> None:
    capture, _ = small()
    walk = BackwardPass(capture.root, capture.nodes)
    walk.focus = "pos2.loss.softmax"
    walk.step()
    walk.focus = None
    walk.step_out()
    softmax = [n for n in walk.order if inside(n.scope, "pos2.loss.softmax")]
    assert all(walk.propagated(n) for n in softmax)
    assert walk.order[walk.position - 2] is softmax[-1]  # stopped right after its last node
