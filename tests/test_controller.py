"""The controller, the debugger's state without a screen: the move queue, selection, focus,
breakpoints and root here, driven as the debugger screen drives it, without Textual."""

from __future__ import annotations

import gc
import queue
import threading
from collections.abc import Callable

import pytest
from conftest import VOCAB, make_model

from engine.config import GPTConfig
from engine.controller import Controller, MovesDone
from engine.data import Tokenizer
from engine.errors import InputError
from engine.loading import load_session
from engine.session import BACKWARD, FORWARD, DebugSession
from engine.workspace import Workspace

SMALL = GPTConfig(n_embd=8, n_head=2, block_size=8)
HEAD = "pos4.layer0.attn.head1"


def session(doc: str = "emma", pos: int | None = None) -> DebugSession:
    return DebugSession(make_model(SMALL), Tokenizer(VOCAB), doc, pos)


class ManualRunner:
    """Starts nothing by itself: the test runs each job, and hands each report back."""

    def __init__(self) -> None:
        self.jobs: list[Callable[[], None]] = []
        self.reports: list[MovesDone] = []

    def start(self, job: Callable[[], None]) -> None:
        self.jobs.append(job)

    def run_next(self) -> MovesDone:
        self.jobs.pop(0)()
        return self.reports.pop(0)


def manual(s: DebugSession | None = None) -> tuple[Controller, ManualRunner]:
    runner = ManualRunner()
    controller = Controller(runner.reports.append, start=runner.start)
    if s is not None:
        controller.install(s)
    return controller, runner


def synchronous(s: DebugSession) -> Controller:
    """A controller whose runner runs at once and reports straight back (as tests of the rest)."""
    controller = Controller(lambda done: controller.finished(done), start=lambda job: job())
    controller.install(s)
    return controller


def grads(s: DebugSession) -> list[float]:
    return [n.grad for n in s.nodes]


# -- the move queue -----------------------------------------------------------------------------


def test_queued_moves_run_in_order_and_report_once_the_queue_is_empty() -> None:
    s = session()
    controller, runner = manual(s)
    for name in ("step", "step", BACKWARD, "step"):
        controller.queue(name)
    assert controller.moving and len(runner.jobs) == 1  # one runner for the whole queue
    assert s.walk.position == 0  # nothing runs on the queueing thread
    done = runner.run_next()
    assert [(r.name, r.phase, r.nodes) for r in done.results] == [
        ("step", FORWARD, 1),
        ("step", FORWARD, 1),
        (BACKWARD, BACKWARD, 1),
        ("step", BACKWARD, 1),
    ]
    assert s.forward.position == 2 and s.backward.position == 1
    assert controller.moving  # until the report is handed back
    assert controller.finished(done) == done.results and not controller.moving


def test_moves_queued_after_the_runner_looked_start_it_again() -> None:
    s = session()
    controller, runner = manual(s)
    controller.queue("step")
    first = runner.run_next()  # the runner has emptied the queue and reported ...
    controller.queue("step_out")  # ... but its report is not handled yet
    assert not runner.jobs  # still "moving": no second runner
    assert controller.finished(first) == first.results
    assert controller.moving and len(runner.jobs) == 1  # started again for the new move
    second = runner.run_next()
    assert [r.name for r in second.results] == ["step_out"]
    assert controller.finished(second) == second.results and not controller.moving


def test_moves_run_on_a_thread_while_more_are_queued() -> None:
    s = session()
    reports: queue.Queue[MovesDone] = queue.Queue()
    controller = Controller(reports.put)  # the default runner: a thread
    controller.install(s)
    release = threading.Event()
    move = s.move

    def slow_move(name: str):
        release.wait(10)
        return move(name)

    s.move = slow_move  # type: ignore[method-assign]
    controller.queue("step")
    controller.queue("step")  # while the first is still running
    release.set()
    results = []
    while True:
        results += controller.finished(reports.get(timeout=10)) or []
        if not controller.moving:
            break
    assert [r.nodes for r in results] == [1, 1] and s.walk.position == 2


def test_a_failing_move_still_reports_so_the_queue_never_sticks() -> None:
    s = session()
    controller, runner = manual(s)
    s.move = lambda name: 1 / 0  # type: ignore[method-assign]
    controller.queue("step")
    with pytest.raises(ZeroDivisionError):
        runner.jobs.pop(0)()
    assert controller.finished(runner.reports.pop()) == [] and not controller.moving


def test_unknown_move_and_no_session_are_refused() -> None:
    controller, runner = manual()
    with pytest.raises(RuntimeError):
        controller.queue("step")
    controller.install(session())
    with pytest.raises(ValueError):
        controller.queue("sideways")
    assert not runner.jobs


def test_a_move_clears_the_selection_but_a_move_that_does_nothing_does_not() -> None:
    s = session()
    controller = synchronous(s)
    controller.select_scope("pos4.lm_head")
    assert controller.inspected is not None
    controller.queue("step")
    assert controller.inspected is None and controller.selected_scope is None
    controller.queue("run_to_end")
    controller.inspect(7)
    controller.queue("step")  # at the end: nothing moves
    assert controller.inspected == 7


def test_a_report_for_a_session_since_replaced_is_dropped() -> None:
    old, new = session(), session("ava")
    controller, runner = manual(old)
    controller.queue("step")
    controller.install(new)  # e.g. another document loaded meanwhile
    controller.queue("step")  # queued for the new session, after the old runner
    assert len(runner.jobs) == 1
    assert controller.finished(runner.run_next()) is None  # the old session's
    assert old.walk.position == 1 and new.walk.position == 0
    assert controller.finished(runner.run_next()) is not None and new.walk.position == 1


# -- selection, focus and breakpoints ---------------------------------------------------------


def test_inspect_select_and_follow() -> None:
    s = session()
    controller = synchronous(s)
    assert controller.inspected_node() is s.nodes[0]  # the cursor's, before any step
    assert not controller.inspect(len(s.nodes)) and controller.inspected is None
    assert controller.inspect(5) and controller.inspected_node() is s.nodes[5]
    scope = controller.select_scope(HEAD)
    assert controller.selected_scope == HEAD and controller.inspected == scope.first_id
    with pytest.raises(InputError):
        controller.select_scope("pos9")
    assert controller.selected_scope == HEAD
    controller.follow()
    assert controller.inspected is None and controller.selected_scope is None


def test_focus_toggles_on_the_walks_scope_or_the_selected_one() -> None:
    s = session()
    controller = synchronous(s)
    controller.queue(BACKWARD)
    for _ in range(3):
        controller.queue("step")
    here = s.where()
    assert controller.toggle_focus() == here and s.focus == here
    assert controller.toggle_focus() is None and s.focus is None
    controller.select_scope(HEAD)
    assert controller.toggle_focus() == HEAD and s.backward.focus == HEAD
    assert controller.selected_scope is None  # focusing uses the selection up
    controller.select_scope("pos4.lm_head")  # another scope selected: F moves the focus there
    assert controller.toggle_focus() == "pos4.lm_head"
    with pytest.raises(InputError):
        controller.set_focus("pos9")
    controller.set_focus(None)
    assert s.focus is None


def test_breakpoints_toggle_on_the_target_scope_and_stop_continue() -> None:
    s = session()
    controller = synchronous(s)
    controller.queue(BACKWARD)
    controller.select_scope("pos4.lm_head")
    assert controller.toggle_breakpoint() == ("pos4.lm_head", True)
    controller.queue("cont")
    assert s.walk.current.scope.startswith("pos4.lm_head")
    assert controller.toggle_breakpoint() == ("pos4.lm_head", False)  # where the walk is now
    controller.select_scope(HEAD)
    controller.toggle_breakpoint()
    controller.select_scope("pos4.lm_head")
    controller.toggle_breakpoint()
    assert s.breakpoints == {HEAD, "pos4.lm_head"} == s.backward.breakpoints
    controller.clear_breakpoints()
    assert not s.breakpoints and not s.backward.breakpoints


# -- root here ----------------------------------------------------------------------------------


def test_undo_across_root_here_each_session_as_it_was_left() -> None:
    first = session(pos=2)
    controller = synchronous(first)
    controller.queue(BACKWARD)
    for name in ("step", "step_over", "step"):
        controller.queue(name)
    position, left = first.walk.position, grads(first)
    earlier = next(n for n in first.nodes if n.scope.startswith("pos1."))  # feeds position 2
    second = controller.root_here(earlier)
    assert controller.session is second and controller.previous_sessions == [first]
    assert second.phase == BACKWARD and second.walk.position == 0
    assert second.root.data == earlier.data and len(second.nodes) < len(first.nodes)
    controller.queue("run_to_end")
    controller.root_here(second.nodes[len(second.nodes) // 2])
    assert controller.previous_sessions == [first, second]
    # back, and back again: each as it was left
    assert controller.root_back() is second and second.walk.done
    assert controller.root_back() is first and controller.root_back() is None
    assert first.walk.position == position and grads(first) == left
    # the first session's own moves are still there to undo
    controller.queue("back")
    assert first.walk.position == position - 1
    controller.queue("back")
    controller.queue("back")
    assert first.walk.position == 0 and grads(first) == [0] * (len(first.nodes) - 1) + [1]


def test_root_here_needs_a_node_other_than_the_root_and_no_move_running() -> None:
    s = session()
    controller, runner = manual(s)
    with pytest.raises(ValueError):
        controller.root_here(s.root)
    controller.queue("step")
    with pytest.raises(RuntimeError):
        controller.root_here(s.nodes[-3])
    controller.finished(runner.run_next())
    controller.inspect(len(s.nodes) - 3)
    rooted = controller.root_here()  # the inspected node by default
    assert rooted.root.data == s.nodes[-3].data and controller.inspected is None
    controller.queue("step")
    with pytest.raises(RuntimeError):
        controller.root_back()


def test_installing_another_trace_forgets_the_roots() -> None:
    s = session()
    controller = synchronous(s)
    controller.root_here(s.nodes[-3])
    assert controller.previous_sessions
    controller.install(session("ava"))
    assert controller.previous_sessions == []


# -- loading ------------------------------------------------------------------------------------


def test_load_session_builds_indexes_and_freezes_the_graph() -> None:
    workspace = Workspace(make_model(SMALL), Tokenizer(VOCAB), "test model")
    loaded = load_session(workspace, "emma", 2)
    assert loaded is not None and loaded.workspace is workspace
    assert loaded.session.pos == 2
    assert "consumers" in vars(loaded.session) and "scopes" in vars(loaded.session)  # indexed
    assert gc.get_freeze_count() > 0
    gc.unfreeze()
    assert load_session(workspace, "emma", cancelled=lambda: True) is None
    with pytest.raises(InputError):
        load_session(workspace, "emma", 9)
    with pytest.raises(InputError):
        load_session(workspace, "emma", checkpoint="/no/such/checkpoint.json")
