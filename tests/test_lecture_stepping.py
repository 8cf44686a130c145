"""Issue 11's stepping defects, as a first-time user met them (Pilot): out with a focus,
`b` after stepping, the first `o`, the call stack at the end of the backward pass.

The same moves are unit-tested without Textual in test_stepper.py and test_controller.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from pilot import HEAD, grads, make_app, press, settle, status

from engine.graph import in_scope
from microgpt_tui.display import scope_frames
from microgpt_tui.widgets import CallStack


@pytest.fixture(autouse=True)
def offline(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("MICROGPT_TUI_OFFLINE", "1")
    monkeypatch.setenv("MICROGPT_TUI_CACHE_DIR", str(tmp_path / "cache"))


async def test_out_with_a_focus_ends_the_current_scope_not_the_pass(tmp_path: Path) -> None:
    """Defect 3: `b`, focus the head, `s`, `o` ran to the end of the whole pass."""
    app = make_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await press(pilot, "b")
        app.select_scope(HEAD)
        await press(pilot, "F", "s")
        walk = app.session.walk
        level = walk.where()
        assert in_scope(level, HEAD)
        await press(pilot, "o")
        assert not walk.done
        # every node of the scope it was in is processed; with nothing of the focus
        # after it, out stops at the scope's last node (else at the focus's next one)
        assert all(walk.propagated(n) for n in walk.order if in_scope(n.scope, level))
        end = walk.scope_end(level)
        later = [i for i in range(end + 1, len(walk)) if in_scope(walk.order[i].scope, HEAD)]
        assert walk.position == (later[0] + 1 if later else end + 1)
        assert in_scope(walk.current.scope, HEAD)


async def test_b_restarts_the_backward_pass_and_p_brings_the_walk_back(tmp_path: Path) -> None:
    """Defect 4: `b` after stepping came back to the old walk and its grads."""
    app = make_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        session = app.session
        fresh = [1 if n is session.root else 0 for n in session.nodes]
        await press(pilot, "b", "s", "n", "n")
        walked, position = grads(app), session.walk.position
        await press(pilot, "f", "b")
        assert session.phase == "backward" and session.walk.position == 0
        assert grads(app) == fresh
        assert "every grad 0" in status(app)
        await press(pilot, "p")  # the restart is undone exactly
        assert session.walk.position == position and grads(app) == walked
        await press(pilot, "b")  # in the backward phase too: from the start
        assert session.walk.position == 0 and grads(app) == fresh


async def test_restart_key_starts_the_current_phase_again(tmp_path: Path) -> None:
    """Defect 4: there was no restart at all."""
    app = make_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        session = app.session
        await press(pilot, "o", "n", "n")
        assert session.walk.position > 0
        await press(pilot, "0")
        assert session.phase == "forward" and session.walk.position == 0
        await press(pilot, "b", "c", "0")
        assert session.walk.position == 0
        assert grads(app) == [1 if n is session.root else 0 for n in session.nodes]


async def test_the_first_out_steps_out_of_the_parameters(tmp_path: Path) -> None:
    """Defect 5: the hint says `o` steps out of the parameters; the first `o` did one node."""
    app = make_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        session = app.session
        assert "o steps out of them" in status(app)
        await press(pilot, "o")
        params = session.find_scope("params").total
        assert session.walk.position == params + 1
        assert session.walk.current.op != "param"


async def test_the_call_stack_follows_the_cursor_at_the_end_of_backward(tmp_path: Path) -> None:
    """Defect 9: at the end of the backward pass the stack still showed `embed / pos4`."""
    app = make_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await press(pilot, "b", "c")
        session = app.session
        assert session.walk.done
        cursor = session.cursor_node()
        assert app.query_one(CallStack).frames == scope_frames(cursor.scope)


async def test_the_app_is_busy_from_the_start_until_its_session_is_built(tmp_path: Path) -> None:
    # (a snapshot test once sent `b` after "not busy" but before the screen had mounted:
    # the key was lost and the picture showed the forward phase)
    app = make_app(tmp_path)
    assert app.busy
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        assert not app.busy and app.session is not None
        await press(pilot, "b")
        assert app.session.phase == "backward"
