"""Stepping at vector level: each stop is a scalar state, each move undoes exactly, levels mix.

A vector step runs the scalar walk until the next vector op (inside the focus) is
complete; so at every vector-level stop the graph must be exactly what scalar
steps give at the same place, and `back` must restore exactly what was there.
"""

from __future__ import annotations

import pytest
from conftest import VOCAB, make_model
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.config import GPTConfig
from engine.data import Tokenizer
from engine.session import DebugSession
from engine.vector import vector_graph
from engine.vector.stepping import DONE, PENDING, RUNNING, VectorWalk

SMALL = GPTConfig(n_embd=8, n_head=2, block_size=8)
HEAD = "pos3.layer0.attn.head1"  # SMALL on `emma`: the last position is 3 (block 8, 5 tokens)


def small_session() -> DebugSession:
    return DebugSession(make_model(SMALL), Tokenizer(VOCAB), "emma", pos=3)


def state(session: DebugSession) -> tuple[int, list]:
    """Where the backward walk is, and every node's grad."""
    return session.backward.position, [n.grad for n in session.nodes]


def vector_walk(session: DebugSession) -> VectorWalk:
    return VectorWalk(session.backward, vector_graph(session.capture))


def scalar_twin_at(position: int, focus: str | None = None) -> DebugSession:
    """A second session, moved by scalar steps (the same focus) to `position`."""
    twin = small_session()
    twin.set_focus(focus)
    while twin.backward.position < position:
        assert twin.backward.step() > 0
    return twin


@pytest.mark.parametrize("focus", [None, HEAD, "pos3.layer0.mlp"])
def test_every_vector_stop_equals_the_scalar_stepper_at_the_same_node(focus):
    session = small_session()
    session.set_focus(focus)
    walk = vector_walk(session)
    twin = small_session()
    twin.set_focus(focus)
    stops = 0
    while walk.step():
        op = walk.completed_op
        if op is None:  # the last move ran to the end: nothing in focus was left
            assert session.backward.done
            break
        stops += 1
        assert walk.state(op) == DONE
        assert focus is None or op.scope.startswith(focus)
        while twin.backward.position < session.backward.position:
            twin.backward.step()  # the scalar stepper stops at every node of the focus
        assert state(twin) == state(session)
    assert stops == len(vector_graph(session.capture).ops_in(focus or ""))


def test_a_step_completes_the_ops_one_by_one_in_the_backward_order():
    session = small_session()
    walk = vector_walk(session)
    completed = []
    while walk.step():
        op = walk.completed_op
        if op is None:  # after the last op: the leaves left (parameters) to the end
            assert session.backward.done and len(completed) == len(walk.graph.ops)
            assert all(n.op in ("param", "const") for n in session.backward.order[-5:])
            break
        assert op not in completed
        assert walk.next_op() is not op
        completed.append(op)
        # every scalar step of it is done; the ops not yet completed still have some left
        assert all(walk.state(o) != DONE for o in walk.graph.ops if o not in completed)
    assert len(completed) == len(walk.graph.ops)
    order = session.backward.index_of
    assert completed == sorted(completed, key=lambda o: max(order[o.start : o.stop]))
    assert session.backward.done


def test_switching_level_changes_no_value_and_no_grad():
    session = small_session()
    for _ in range(37):
        session.backward.step()  # scalar steps: the walk stands inside some op
    before = state(session)
    walk = vector_walk(session)  # switch to vector level
    assert state(session) == before
    running = walk.current_op
    assert running is not None and walk.state(running) == RUNNING
    walk.step()  # completes the op under way (or an earlier-finishing one)
    twin = scalar_twin_at(session.backward.position)
    assert state(twin) == state(session)
    session.backward.step()  # back to scalar steps, from a vector stop
    twin.backward.step()
    assert state(twin) == state(session)
    assert walk.back() and session.backward.back()
    assert state(session) == before


def test_a_focused_head_takes_at_most_15_presses_on_the_default_model():
    session = DebugSession(make_model(), Tokenizer(VOCAB), "emma")
    head = "pos4.layer0.attn.head1"
    session.set_focus(head)
    walk = vector_walk(session)
    inside = []
    while walk.step() and walk.completed_op is not None:
        inside.append(walk.completed_op.name)
    assert inside == ["Σ w·v", "softmax", "q·k/√d"]  # from the first vector step to the last
    assert len(inside) <= 15


def test_step_over_skips_ops_in_inner_scopes():
    session = small_session()
    session.set_focus(HEAD)
    walk = vector_walk(session)
    walk.step()
    assert (walk.completed_op.name, walk.where()) == ("Σ w·v", HEAD)
    walk.step_over()  # the softmax is in head1.softmax: stepped over, not stopped at
    assert walk.completed_op.name == "q·k/√d"
    assert walk.state(walk.graph.ops_in(HEAD + ".softmax")[0]) == DONE


def test_step_out_and_cont_stop_at_op_boundaries():
    session = small_session()
    walk = vector_walk(session)
    walk.step()
    assert walk.completed_op.name == "−log p[target]"
    walk.step_out()  # past the loss scope: the first op completed after its last node
    end = session.backward.scope_end("pos3.loss")
    assert walk.completed_op is not None and session.backward.position > end + 1
    session.toggle_breakpoint(HEAD)
    walk.cont()
    assert walk.completed_op.scope.startswith(HEAD)
    assert walk.completed_op.name == "Σ w·v"
    twin = scalar_twin_at(session.backward.position)
    assert state(twin) == state(session)


def test_the_forward_replay_reveals_one_op_per_step():
    session = small_session()
    graph = vector_graph(session.capture)
    walk = VectorWalk(session.forward, graph)
    assert walk.state(graph.ops[0]) == PENDING
    for op in graph.ops[:10]:
        walk.step()
        assert walk.completed_op is op and session.forward.position == op.stop


ACTIONS = st.sampled_from(
    ["v.step", "v.step_over", "v.step_out", "v.cont", "back", "s.step", "s.step_over", "focus"]
)


@settings(
    max_examples=60, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)
@given(actions=st.lists(ACTIONS, max_size=20))
def test_undo_at_vector_level_restores_the_exact_state(actions):
    session = small_session()
    session.toggle_breakpoint("pos3.layer0.mlp")
    walk = vector_walk(session)
    history = []  # the state before each recorded move
    for action in actions:
        if action == "focus":
            session.set_focus(None if session.focus else HEAD)
            continue
        if action == "back":
            if history:
                assert walk.back()
                assert state(session) == history.pop()
            else:
                assert not walk.back()
            continue
        before = state(session)
        level, move = action.split(".")
        moved = getattr(walk if level == "v" else session.backward, move)()
        if moved:
            history.append(before)
    while history:  # and everything back to the start
        assert walk.back()
        assert state(session) == history.pop()
    assert state(session) == state(small_session())


def test_a_scripts_recorded_backward_steps_op_by_op_too():
    """attach replays the script's own backward() (a ReplayWalk): vector stops are its states."""
    from pathlib import Path

    from engine.attach import attach_script
    from engine.recorded_backward import ReplayWalk

    script = str(Path(__file__).resolve().parent / "attach_scripts" / "microgpt_relu.py")
    # two captures: each session's walk moves its own nodes' grads
    session, twin = (attach_script(script, ["1"]).session() for _ in range(2))
    assert isinstance(session.backward, ReplayWalk)
    assert session.nodes[0] is not twin.nodes[0]
    walk = VectorWalk(session.backward, vector_graph(session.capture))
    stops = 0
    while walk.step() and walk.completed_op is not None:
        stops += 1
        while twin.backward.position < session.backward.position:
            twin.backward.step()
        assert [n.grad for n in twin.nodes] == [n.grad for n in session.nodes]
    assert stops == len(walk.graph.ops)
    while walk.back():
        pass
    assert session.backward.position == 0
