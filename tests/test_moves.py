"""Moves for rehearsing a lecture, without Textual: restart, first and last step, jumps to a
step (bookmarks), `b` starting the backward pass again, out with a focus, and `where()`
before the first step and at the end. Each is undone exactly by `back`."""

from __future__ import annotations

from functools import cache

import pytest
from conftest import VOCAB, make_model
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.bookmarks import Bookmarks, Step
from engine.capture import Capture, capture_loss
from engine.config import GPTConfig
from engine.controller import Controller
from engine.data import Tokenizer
from engine.graph import in_scope
from engine.session import BACKWARD, FORWARD, DebugSession
from engine.stepper import BackwardPass, ForwardReplay

SMALL = GPTConfig(n_embd=8, n_head=2, block_size=8)
EMMA = Tokenizer(VOCAB).encode("emma")
HEAD = "pos2.layer0.attn.head1"


@cache
def capture() -> Capture:
    return capture_loss(make_model(SMALL), EMMA, pos=2)


def grads(c: Capture) -> list:
    return [n.grad for n in c.nodes]


def fresh_walk() -> BackwardPass:
    c = capture()
    return BackwardPass(c.root, c.nodes)


def state(walk, c: Capture) -> tuple:
    return walk.position, grads(c), [type(g) for g in grads(c)]


def session() -> DebugSession:
    return DebugSession(make_model(SMALL), Tokenizer(VOCAB), "emma", 2)


def synchronous(s: DebugSession) -> Controller:
    controller = Controller(lambda done: controller.finished(done), start=lambda job: job())
    controller.install(s)
    return controller


# -- restart and go_to ---------------------------------------------------------------------------


def test_restart_is_the_state_before_backward_and_back_returns_exactly() -> None:
    c = capture()
    walk = fresh_walk()
    start = state(walk, c)
    walk.step_over()
    walk.step_out()
    walk.step()
    middle = state(walk, c)
    assert walk.restart() == middle[0]
    assert state(walk, c) == start
    assert walk.restart() == 0  # already there: nothing recorded
    assert walk.back()
    assert state(walk, c) == middle
    # the moves before the restart are still there to undo, exactly
    walk.back()
    walk.back()
    walk.back()
    assert state(walk, c) == start and not walk.can_go_back


def test_go_to_earlier_and_later_steps_and_back_through_them() -> None:
    c = capture()
    walk = fresh_walk()
    states = {}
    for position in (0, 10, 250, 1000):
        walk.go_to(position)
        states[position] = state(walk, c)
    # a state depends only on the position: jumping back and forth gives the same floats
    for position in (250, 10, 1000, 0, 250):
        walk.go_to(position)
        assert state(walk, c) == states[position]
    undone = [0, 1000, 10, 250, 1000, 250, 10, 0]  # back through every jump, in reverse
    for position in undone:
        assert walk.back()
        assert state(walk, c) == states[position]
    assert not walk.can_go_back


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(st.integers(0, 1200), st.just("back"), st.just("step")), max_size=12))
def test_random_jumps_and_steps_undo_exactly(actions: list) -> None:
    c = capture()
    walk = fresh_walk()
    undo: list[tuple] = []
    for action in actions:
        before = state(walk, c)
        if action == "back":
            assert walk.back() == bool(undo)
            if undo:
                assert state(walk, c) == undo.pop()
            continue
        moved = walk.step() if action == "step" else walk.go_to(action)
        if moved:
            undo.append(before)
        else:
            assert state(walk, c) == before
    position, now = walk.position, grads(c)
    again = fresh_walk()  # (the same nodes: start again, and replay to the position)
    again.run_to(position)
    assert grads(c) == now


def test_first_and_last_step_with_and_without_a_focus() -> None:
    walk = fresh_walk()
    walk.first_stop()
    assert walk.position == 1
    walk.last_stop()
    assert walk.done
    walk.focus = HEAD
    in_head = [i for i, n in enumerate(walk.order) if in_scope(n.scope, HEAD)]
    walk.first_stop()
    assert walk.position == in_head[0] + 1 and in_scope(walk.current.scope, HEAD)
    walk.last_stop()
    assert walk.position == in_head[-1] + 1 and in_scope(walk.current.scope, HEAD)
    replay = ForwardReplay(capture().nodes)
    replay.focus = HEAD
    replay.last_stop()
    assert in_scope(replay.current.scope, HEAD) and not replay.done


# -- out with a focus; where the walk is --------------------------------------------------------


def test_out_with_a_focus_ends_the_scope_it_is_in() -> None:
    walk = fresh_walk()
    walk.focus = HEAD
    walk.step()
    level = walk.where()
    assert in_scope(level, HEAD)
    walk.step_out()
    assert not walk.done
    assert all(walk.propagated(n) for n in walk.order if in_scope(n.scope, level))


def test_where_before_the_first_step_is_the_first_nodes_scope() -> None:
    replay = ForwardReplay(capture().nodes)
    assert replay.where() == "params"
    replay.step_out()  # out of the parameters, as the opening hint says
    assert replay.current.op != "param"
    assert all(replay.revealed(n) for n in replay.order if n.op == "param")


def test_session_where_at_the_end_is_the_last_nodes_scope() -> None:
    s = session()
    s.move(BACKWARD)
    s.move("run_to_end")
    assert s.where() == s.walk.current.scope == "params"


# -- the session's moves by name ----------------------------------------------------------------


def test_b_starts_the_backward_pass_again_and_back_undoes_that() -> None:
    s = session()
    s.move(BACKWARD)
    for name in ("step", "step_over", "step_over"):
        s.move(name)
    position, walked = s.walk.position, [n.grad for n in s.nodes]
    s.move(FORWARD)
    result = s.move(BACKWARD)
    assert result.moved and result.restarted == position
    assert s.walk.position == 0
    assert [n.grad for n in s.nodes] == [1 if n is s.root else 0 for n in s.nodes]
    back = s.move("back")
    assert back.nodes == position and [n.grad for n in s.nodes] == walked


def test_goto_a_bookmark_in_the_other_phase() -> None:
    s = session()
    s.move(BACKWARD)
    s.move("step_over")
    s.move("step_over")
    mark = s.step_now
    walked = [n.grad for n in s.nodes]
    s.move("run_to_end")
    s.move(FORWARD)
    result = s.move("goto", to=mark)
    assert result.moved and s.phase == BACKWARD and s.step_now == mark
    assert [n.grad for n in s.nodes] == walked
    with pytest.raises(ValueError):
        s.move("goto")


def test_controller_bookmarks_and_jumps() -> None:
    s = session()
    controller = synchronous(s)
    controller.queue(BACKWARD)
    controller.queue("step_over")
    first, marked = controller.toggle_bookmark()
    assert marked and first in s.bookmarks
    controller.queue("step_over")
    controller.queue("step_over")
    second, _ = controller.toggle_bookmark()
    controller.queue("run_to_end")
    assert controller.jump_to_next_bookmark() == first  # wraps to the first
    assert s.step_now == first
    assert controller.jump_to_next_bookmark() == second and s.step_now == second
    assert controller.toggle_bookmark() == (second, False)
    with pytest.raises(ValueError):
        controller.queue("goto")


def test_bookmarks_keep_a_lectures_order() -> None:
    marks = Bookmarks([Step("backward", 5), Step("forward", 900), Step("backward", 2)])
    assert list(marks) == [Step("forward", 900), Step("backward", 2), Step("backward", 5)]
    assert marks.after(Step("forward", 0)) == Step("forward", 900)
    assert marks.after(Step("backward", 5)) == Step("forward", 900)  # wraps
    assert Bookmarks().after(Step("forward", 0)) is None
    with pytest.raises(ValueError):
        Step("sideways", 1)
    with pytest.raises(ValueError):
        Step("forward", -1)


# -- a script's own recorded backward() (attach) -------------------------------------------------


def test_restart_and_jumps_replay_a_scripts_recorded_backward_exactly() -> None:
    from attach_reference import SCRIPTS

    from engine.attach import attach_script

    result = attach_script(str(SCRIPTS / "gpt_accumulate.py"), [], backward=2)
    s = result.session()
    s.move(BACKWARD)
    walk = s.backward
    positions = (0, 7, len(walk) // 2, len(walk))
    states = {}
    for position in positions:
        walk.go_to(position)
        states[position] = [n.grad for n in s.nodes]
    for position in (7, 0, len(walk), len(walk) // 2, 7):  # back and forth: the same floats
        walk.go_to(position)
        assert [n.grad for n in s.nodes] == states[position]
    s.move("restart")
    assert s.walk.position == 0 and [n.grad for n in s.nodes] == states[0]
    assert s.move("back").moved and [n.grad for n in s.nodes] == states[7]
    s.move("run_to_end")
    assert [n.grad for n in s.nodes] == [u.grad for u in result.script_nodes]
