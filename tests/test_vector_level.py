"""A session's level and the controller's: switching changes nothing, and at vector level the
session's (and the controller's queued) moves are the vector walk's, each stop a scalar state."""

from __future__ import annotations

import pytest
from conftest import VOCAB, make_model

from engine.config import GPTConfig
from engine.controller import Controller
from engine.data import Tokenizer
from engine.session import BACKWARD, FORWARD, DebugSession
from engine.stepper import Walk
from engine.vector import SCALAR, VECTOR
from engine.vector.level import TOGGLE_LEVEL

SMALL = GPTConfig(n_embd=8, n_head=2, block_size=8)
HEAD = "pos3.layer0.attn.head1"


def small_session() -> DebugSession:
    return DebugSession(make_model(SMALL), Tokenizer(VOCAB), "emma", pos=3)


def state(session: DebugSession) -> tuple:
    """Both walks' positions and every node's value and grad."""
    nodes = session.nodes
    return (
        session.forward.position,
        session.backward.position,
        [n.data for n in nodes],
        [n.grad for n in nodes],
    )


def synchronous(session: DebugSession) -> Controller:
    controller = Controller(lambda done: controller.finished(done), start=lambda job: job())
    controller.install(session)
    return controller


def test_a_session_starts_at_scalar_level_and_switching_level_moves_nothing() -> None:
    session = small_session()
    assert session.level == SCALAR
    session.move(BACKWARD)
    for _ in range(41):
        session.move("step")
    before = state(session)
    result = session.move(TOGGLE_LEVEL)
    assert (result.name, result.nodes, session.level) == (VECTOR, 1, VECTOR)
    assert state(session) == before
    assert session.move(VECTOR).nodes == 0  # already there
    assert session.move(SCALAR).name == SCALAR and session.level == SCALAR
    assert state(session) == before
    with pytest.raises(ValueError):
        session.move("matrix")


def test_at_vector_level_a_step_completes_the_next_op_and_back_undoes_it() -> None:
    session = small_session()
    session.move(VECTOR)
    session.move(BACKWARD)
    stops = 0
    while True:
        before = state(session)
        result = session.move("step")
        if not result.moved:
            break
        op = session.vectors.current.completed_op
        if op is None:  # the last move ran on to the end (the leaves left)
            assert session.backward.done
            break
        stops += 1
        assert session.vectors.shown_op() is op
        twin = small_session()  # the scalar stepper, at the same node
        twin.move(BACKWARD)
        while twin.backward.position < session.backward.position:
            assert twin.move("step").nodes == 1
        assert state(twin)[1:] == state(session)[1:]
        after = state(session)
        assert session.move("back").nodes == result.nodes and state(session) == before
        session.move("step")
        assert state(session) == after
    assert stops == len(session.vectors.graph.ops)


def test_the_forward_phase_steps_by_ops_too() -> None:
    session = small_session()
    session.move(VECTOR)
    ops = session.vectors.graph.ops
    assert session.vectors.shown_op() is ops[0]  # before any step: the next one
    for op in ops[:6]:
        session.move("step")
        assert session.forward.position == op.stop and session.vectors.shown_op() is op
    session.move("back")
    assert session.forward.position == ops[4].stop


def test_n_o_and_c_keep_their_meanings_at_vector_level() -> None:
    session = small_session()
    session.move(BACKWARD)
    session.move(VECTOR)
    session.set_focus(HEAD)
    session.move("step")
    assert session.vectors.current.completed_op.name == "Σ w·v"
    session.move("step_over")  # the softmax (in head1.softmax) is inside the step
    assert session.vectors.current.completed_op.name == "q·k/√d"
    session.set_focus(None)
    session.move("back")
    session.move("back")
    session.toggle_breakpoint("pos3.layer0.mlp")
    session.move("cont")
    assert session.vectors.current.completed_op.scope.startswith("pos3.layer0.mlp")


def test_the_controller_queues_level_switches_in_order_with_the_moves() -> None:
    session = small_session()
    controller = synchronous(session)
    controller.queue(BACKWARD)
    controller.queue("step")  # a scalar step: one node
    controller.toggle_level()
    controller.queue("step")  # a vector step: the rest of the loss op, or the next op
    assert controller.level == VECTOR
    walk = session.vectors.current
    op = walk.completed_op
    assert op is not None and session.backward.position == walk.last[op.number] + 1
    controller.toggle_level()
    controller.queue("step")
    assert controller.level == SCALAR and session.vectors.current.completed_op is None


def test_the_controller_shows_the_walks_op_or_the_inspected_one() -> None:
    session = small_session()
    controller = synchronous(session)
    assert controller.shown_op() is None  # scalar level: no op
    controller.set_level(VECTOR)
    controller.queue(FORWARD)
    first, other = session.vectors.graph.ops[0], session.vectors.graph.ops[7]
    assert controller.shown_op() is first
    controller.inspect_op(other)
    assert controller.shown_op() is other
    controller.queue("step")  # a move follows the walk again
    assert controller.shown_op() is first and controller.inspected_op is None


def test_a_new_session_opens_at_the_level_the_old_one_was_at() -> None:
    session = small_session()
    controller = synchronous(session)
    controller.set_level(VECTOR)
    controller.queue(BACKWARD)
    loss = session.vectors.graph.ops[-1].output.members[0]
    rooted = controller.root_here(session.nodes[loss.id - 2])
    assert rooted.level == VECTOR and controller.root_back() is session
    controller.install(small_session())
    assert controller.level == VECTOR


def test_a_walk_through_opens_at_its_own_level() -> None:
    controller = synchronous(small_session())
    controller.set_level(VECTOR)
    controller.install(small_session(), keep_level=False)  # a walk saved at scalar level
    assert controller.level == SCALAR
    walk = small_session()
    walk.move(VECTOR)
    controller.set_level(SCALAR)
    controller.install(walk, keep_level=False)
    assert controller.level == VECTOR


@pytest.mark.parametrize("phase", [FORWARD, BACKWARD])
def test_the_walks_tight_run_to_makes_the_generic_ones_writes(phase: str) -> None:
    """`run_to` (what a vector move uses) is a tight loop in both walks: the same grads, the
    same position, and `back` restores the same state, as `Walk.run_to` (the generic loop)."""
    tight, generic = small_session(), small_session()
    for session in (tight, generic):
        session.move(phase)
    squares = [n for n in tight.nodes if len(n._children) == 2 and n._children[0] is n._children[1]]
    assert squares  # (rmsnorm's x * x: one input, two writes)
    stops = [1, 7, 7, 300, 1200, len(tight.walk.order) + 5]
    for stop in stops:
        moved = tight.walk.run_to(stop)
        assert moved == Walk.run_to(generic.walk, stop)
        assert state(tight) == state(generic)
    while generic.walk.back():
        assert tight.walk.back()
        assert state(tight) == state(generic)
    assert not tight.walk.back()


def test_the_first_switch_to_vectors_leaves_what_it_built_to_refcounting() -> None:
    """Issue 9: the vector graph is frozen out of the cycle collector once built (as a session's
    graph is by its build), so a full collection in the middle of a step does not rescan it."""
    import gc

    session = small_session()
    session.move(VECTOR)
    op = session.vectors.graph.ops[0]
    gc.collect()  # (what survives a collection ends in the oldest generation, unless frozen)
    assert gc.is_tracked(op.inputs)
    assert all(o is not op.inputs for o in gc.get_objects(generation=2))
    gc.unfreeze()  # (leave the process as the other tests expect it)
