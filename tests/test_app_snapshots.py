"""Snapshots of the debugger's main views (pytest-textual-snapshot's `snap_compare`).

Fixed terminal size, a fresh tiny model, no clock, no cursor blink, and every
move awaited before the picture is taken, so each snapshot is deterministic.
Update them with `pytest tests/test_app_snapshots.py --snapshot-update` and look
at the report before committing.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest
from textual.worker import WorkerCancelled

from engine.workspace import open_workspace
from microgpt_tui.app import DebuggerApp

SIZE = (120, 40)
NAMES = "emma\nolivia\nava\nisabella\nsophia\nmia\n"
HEAD = "pos4.layer0.attn.head1"


@pytest.fixture(autouse=True)
def offline(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("MICROGPT_TUI_OFFLINE", "1")
    monkeypatch.setenv("MICROGPT_TUI_CACHE_DIR", str(tmp_path / "cache"))


@pytest.fixture
def app(tmp_path: Path) -> DebuggerApp:
    data = tmp_path / "names.txt"
    data.write_text(NAMES)
    workspace = open_workspace(seed=42, data=str(data))
    workspace.source = "fresh model (seed 42, names.txt)"  # not the temporary path
    return DebuggerApp(workspace, cursor_blink=False)


async def settle(pilot) -> None:
    app = pilot.app
    for _ in range(1000):
        if not app.busy:
            break
        with contextlib.suppress(WorkerCancelled):  # a search superseded by the next
            await app.workers.wait_for_complete()
        await pilot.pause()
    await pilot.pause()


def driving(*keys: str, then=None):
    """A `run_before` that presses `keys` one by one, waiting for each move to finish."""

    async def run_before(pilot) -> None:
        await settle(pilot)
        for key in keys:
            await pilot.press(key)
            await settle(pilot)
        if then is not None:
            then(pilot.app)
            await settle(pilot)

    return run_before


def test_opening_screen(app: DebuggerApp, snap_compare) -> None:
    assert snap_compare(app, terminal_size=SIZE, run_before=driving())


def test_forward_steps(app: DebuggerApp, snap_compare) -> None:
    assert snap_compare(app, terminal_size=SIZE, run_before=driving("o", "n", "n", "s", "s"))


def test_backward_steps(app: DebuggerApp, snap_compare) -> None:
    assert snap_compare(app, terminal_size=SIZE, run_before=driving("b", "n", "n", "n"))


def test_backward_inside_one_head(app: DebuggerApp, snap_compare) -> None:
    def focus_head(app: DebuggerApp) -> None:
        app.select_scope(HEAD)

    run_before = driving("b", then=focus_head)

    async def then_step(pilot) -> None:
        await run_before(pilot)
        for key in ("F", "s", "s", "s", "s"):
            await pilot.press(key)
            await settle(pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=then_step)


def test_parameters_view(app: DebuggerApp, snap_compare) -> None:
    def heatmap(app: DebuggerApp) -> None:
        app.show_parameters("layer0.attn_wq")

    assert snap_compare(app, terminal_size=SIZE, run_before=driving("b", "c", then=heatmap))


def test_attention_view(app: DebuggerApp, snap_compare) -> None:
    assert snap_compare(app, terminal_size=SIZE, run_before=driving("b", "3"))


def test_help_screen(app: DebuggerApp, snap_compare) -> None:
    assert snap_compare(app, terminal_size=SIZE, run_before=driving("question_mark"))


def test_find_screen(app: DebuggerApp, snap_compare) -> None:
    assert snap_compare(app, terminal_size=SIZE, run_before=driving("slash", *"head1"))
