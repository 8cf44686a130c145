"""The gradient and training tabs, driven with Pilot: the engine's numbers, and keys never wait.

GIVEN the debugger on a small fresh model (or the shipped one, for its history),
WHEN a node is inspected and the gradient tab (4), `x` or the training tab (5) is
used, THEN what is shown is the engine's own answer, and a running check by
nudging never holds a key back.
"""

from __future__ import annotations

import contextlib
import threading
from pathlib import Path

import pytest
from textual.widgets import Input
from textual.worker import WorkerCancelled

from engine.explain import GradInspector
from engine.history import History
from engine.workspace import Workspace, open_workspace
from microgpt_tui.app import DebuggerApp
from microgpt_tui.widgets import GradientView, PathGraphView, TrainingView

SIZE = (120, 40)
NAMES = "emma\nolivia\nava\nisabella\nsophia\nmia\n"


@pytest.fixture(autouse=True)
def offline(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("MICROGPT_TUI_OFFLINE", "1")
    monkeypatch.setenv("MICROGPT_TUI_CACHE_DIR", str(tmp_path / "cache"))


@pytest.fixture
def small(tmp_path: Path) -> Workspace:
    data = tmp_path / "names.txt"
    data.write_text(NAMES)
    return open_workspace(seed=42, data=str(data))


async def settle(pilot) -> None:
    """Every move, session build and worker (explanations, checks) done and painted."""
    app = pilot.app
    for _ in range(1000):
        with contextlib.suppress(WorkerCancelled):
            await app.workers.wait_for_complete()
        await pilot.pause()
        if not app.busy and not any(w.is_running for w in app.workers):
            break
    await pilot.pause()


async def test_the_gradient_tab_shows_the_engines_answers_and_marks_the_paths(small) -> None:
    app = DebuggerApp(small, cursor_blink=False)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        # GIVEN a parameter inspected (the embedding of "e": this vocabulary is "abehilmopsv")
        p = app.session.parameter("wte[2][0]")
        app.inspect_node(p.id)
        # WHEN the gradient tab is opened
        await pilot.press("4")
        await settle(pilot)
        # THEN it shows the inspector's answers for it, float for float
        view = app.screen.query_one(GradientView)
        why = GradInspector(app.session)
        assert view.node is p and view.explained is not None
        assert view.explained.grad == why.grad(p) != 0
        assert repr(why.grad(p)) in view.text
        assert [s.value for s in view.explained.by_position.shares] == [
            s.value for s in why.by_position(p).shares
        ]
        paths = why.paths(p, 3)
        assert [x.node_ids for x in view.explained.paths] == [x.node_ids for x in paths]
        assert f"top 3 of {why.count_paths(p):,} paths from the loss" in view.text
        assert f"{paths[0].product:+.6e}" in view.text
        assert "by position" in view.text and "by consumer scope" in view.text
        assert "why this local gradient: parameter" in view.text
        assert "d(a + b)/da = 1" in view.text  # its consumer, the embedding sum
        assert "not checked yet: press x" in view.text
        # AND the graph panel marks every node on the paths with their ranks
        graph = app.screen.query_one(PathGraphView)
        assert graph.path_target == p.id
        assert set(graph.marks) == {i for path in paths for i in path.node_ids}
        assert graph.marks[paths[0].node_ids[1]].startswith("①")
        assert graph.border_title == f"graph · ①… the top paths to #{p.id}"


async def test_the_tab_follows_the_cursor_when_nothing_is_inspected(small) -> None:
    app = DebuggerApp(small, cursor_blink=False)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("4")
        await settle(pilot)
        view = app.screen.query_one(GradientView)
        assert view.node is app.session.cursor_node()
        await pilot.press("s")
        await settle(pilot)
        assert view.node is app.session.cursor_node() and view.explained.node is view.node


async def test_a_check_by_nudging_never_blocks_keys(small, monkeypatch) -> None:
    # GIVEN a check that cannot finish until the test lets it (as a slow one on a big graph)
    release, started = threading.Event(), threading.Event()
    real = GradInspector.check

    def slow_check(self, node, *, progress=None, should_stop=None, **kw):
        progress(1, 4)
        started.set()
        # (bounded: were the check run on the UI thread, keys would wait for it, and
        # the assertions that it is still running while they act would fail)
        release.wait(10)
        return real(self, node, progress=progress, should_stop=should_stop, **kw)

    monkeypatch.setattr(GradInspector, "check", slow_check)
    app = DebuggerApp(small, cursor_blink=False)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        p = app.session.parameter("wpe[2][5]")
        app.inspect_node(p.id)
        # WHEN x starts the check
        await pilot.press("x")
        assert started.wait(10)
        await pilot.pause()
        view = app.screen.query_one(GradientView)
        tabs = app.screen.query_one("#tabs")
        assert tabs.active == "gradient" and "replaying…" in view.text and "25%" in view.text
        # THEN keys are handled while it runs: moves (the panels follow the cursor again),
        # tabs, the phase
        for key in ("s", "s", "1", "b", "s", "s", "2", "4"):
            await pilot.press(key)
            await pilot.pause()
        for _ in range(100):
            if not app.busy:
                break
            await pilot.pause()
        assert app.session.phase == "backward" and app.session.walk.position == 2
        assert tabs.active == "gradient" and view.node is app.session.cursor_node()
        assert view.checking is not None and view.checking[0] == p.id  # still running
        # AND once it is let go, the result stands beside the analytic grad, for its node
        release.set()
        await settle(pilot)
        check = view.checks[p.id]
        assert check.analytic == GradInspector(app.session).grad(p) and check.agrees()
        app.inspect_node(p.id)
        await settle(pilot)
        assert f"{check.numeric:+.12e}" in view.text and f"{check.analytic:+.12e}" in view.text
        assert f"relative error {check.rel_error:.2e}" in view.text and "h = 1e-08" in view.text


async def test_steps_taken_while_explaining_ask_only_for_the_last_node(small, monkeypatch) -> None:
    # GIVEN explanations that take as long as the test wants
    from microgpt_tui.widgets import gradient_view

    release, asked = threading.Event(), []
    real = gradient_view.explain_node

    def slow_explain(inspector, node, k=3):
        asked.append(node.id)
        release.wait(10)
        return real(inspector, node, k)

    monkeypatch.setattr(gradient_view, "explain_node", slow_explain)
    app = DebuggerApp(small, cursor_blink=False)
    async with app.run_test(size=SIZE) as pilot:
        await settle_moves(pilot)
        await pilot.press("4")  # the cursor's node: explained, held
        # WHEN five steps are taken while it is held
        for _ in range(5):
            await pilot.press("s")
            await settle_moves(pilot)
        view = app.screen.query_one(GradientView)
        assert "… computing" in view.text and len(asked) == 1
        release.set()
        await settle(pilot)
        # THEN only the first and the last node were explained, and the last is shown
        last = app.session.cursor_node()
        assert asked == [asked[0], last.id] and asked[0] != last.id
        assert view.node is last and view.explained.node is last


async def settle_moves(pilot) -> None:
    """The moves done and painted (workers may still run)."""
    for _ in range(200):
        await pilot.pause()
        if not pilot.app.busy:
            break


async def test_a_check_belongs_to_its_node(small) -> None:
    app = DebuggerApp(small, cursor_blink=False)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        a, b = app.session.parameter("wte[2][0]"), app.session.parameter("lm_head[0][0]")
        app.inspect_node(a.id)
        await pilot.press("x")
        await settle(pilot)
        view = app.screen.query_one(GradientView)
        assert a.id in view.checks and "relative error" in view.text
        app.inspect_node(b.id)
        await settle(pilot)
        assert "not checked yet" in view.text
        app.inspect_node(a.id)
        await settle(pilot)
        assert "relative error" in view.text  # a's result, kept


async def test_the_training_tab_draws_the_shipped_models_history() -> None:
    ws = open_workspace()
    app = DebuggerApp(ws, cursor_blink=False)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("5")
        await settle(pilot)
        view = app.screen.query_one(TrainingView)
        assert view.history is ws.history and view.at_step == 1000
        assert view.summary.startswith("The model is at step 1000. Loss 3.3660 at step 1 →")
        assert view.note.startswith("wte[0][0]: ")  # the cursor's node: the first parameter
        # WHEN a parameter is inspected, THEN its track is drawn
        app.inspect_node(app.session.parameter("wte[4][0]").id)
        await pilot.press("5")
        await settle(pilot)
        steps, values = ws.history.track(4 * 16)
        assert view.parameter == "wte[4][0]" and steps == list(range(0, 1001, 100))
        assert view.note.startswith(f"wte[4][0]: {values[0]:+.6f} at step 0 → {values[-1]:+.6f}")
        assert values[-1] == app.session.parameter("wte[4][0]").data  # the model's own weight
        # AND one typed in (Enter) is drawn too; a bad name says why
        field = view.query_one("#parameter-name", Input)
        field.value = "lm_head[2][3]"
        await field.action_submit()
        await settle(pilot)
        assert view.note.startswith("lm_head[2][3]: ")
        field.value = "lm_head[99][3]"
        await field.action_submit()
        await settle(pilot)
        assert view.note == "no parameter 'lm_head[99][3]': lm_head is 27×16"


async def test_the_training_tab_says_when_there_is_no_history(small) -> None:
    app = DebuggerApp(small, cursor_blink=False)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("5")
        await settle(pilot)
        assert app.screen.query_one(TrainingView).summary.startswith("No training history")


async def test_a_history_without_snapshots_says_values_are_not_kept(small) -> None:
    history = History()
    for step in range(1, 21):
        history.record(step, 3.0 - step / 20, 0.01)
    small.history = history
    app = DebuggerApp(small, cursor_blink=False)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("5")
        await settle(pilot)
        view = app.screen.query_one(TrainingView)
        assert view.summary.startswith("The model is at step 20.")
        assert "holds no parameter values" in view.note
