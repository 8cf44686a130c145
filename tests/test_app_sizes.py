"""Snapshots at three terminal sizes (issue 11): 80×24, where the panels take turns, 120×40, the
smallest where every panel shows, and 200×60. Same determinism as test_app_snapshots.py:
a fresh tiny model, no cursor blink, every move awaited. Update with
`pytest tests/test_app_sizes.py --snapshot-update` after looking at the report.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from pilot import HEAD, settle, snapshot_app

from microgpt_tui.app import DebuggerApp

SIZES = [(80, 24), (120, 40), (200, 60)]


@pytest.fixture(autouse=True)
def offline(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("MICROGPT_TUI_OFFLINE", "1")
    monkeypatch.setenv("MICROGPT_TUI_CACHE_DIR", str(tmp_path / "cache"))


@pytest.fixture
def app(tmp_path: Path) -> DebuggerApp:
    return snapshot_app(tmp_path)


def keys(*pressed: str, scope: str | None = None, then: tuple[str, ...] = ()):
    """Press `pressed`, select `scope` if given, then press `then`, settling after each."""

    async def run_before(pilot) -> None:
        await settle(pilot)
        for key in pressed:
            await pilot.press(key)
            await settle(pilot)
        if scope is not None:
            pilot.app.select_scope(scope)
            await settle(pilot)
        for key in then:
            await pilot.press(key)
            await settle(pilot)

    return run_before


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_backward_inside_one_head(app: DebuggerApp, snap_compare, size) -> None:
    run_before = keys("b", scope=HEAD, then=("F", "s", "s", "s", "s"))
    assert snap_compare(app, terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_parameters_by_grad(app: DebuggerApp, snap_compare, size) -> None:
    assert snap_compare(app, terminal_size=size, run_before=keys("b", "c", "2", "S", "S"))


def test_the_graph_panel_at_80x24(app: DebuggerApp, snap_compare) -> None:
    run_before = keys("b", scope=HEAD, then=("F", "s", "s", "full_stop"))
    assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)


def test_the_code_panel_at_80x24(app: DebuggerApp, snap_compare) -> None:
    run_before = keys("b", scope=HEAD, then=("F", "s", "s", "full_stop", "full_stop"))
    assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)


def test_help_at_80x24(app: DebuggerApp, snap_compare) -> None:
    assert snap_compare(app, terminal_size=(80, 24), run_before=keys("question_mark"))
