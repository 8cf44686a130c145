"""Snapshots of the gradient and training tabs, and of the paths marked in the graph panel.

Fixed terminal sizes (120×40 and 80×24), no cursor blink, every move and worker
awaited before the picture (`test_gradient_tab.settle`), so each is deterministic.
Update with `pytest tests/test_explain_snapshots.py --snapshot-update`, after
looking at the report.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from pilot import snapshot_app
from test_gradient_tab import settle

from engine.workspace import open_workspace
from microgpt_tui.app import DebuggerApp

WIDE, SMALL = (120, 40), (80, 24)


@pytest.fixture(autouse=True)
def offline(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("MICROGPT_TUI_OFFLINE", "1")
    monkeypatch.setenv("MICROGPT_TUI_CACHE_DIR", str(tmp_path / "cache"))


@pytest.fixture
def app(tmp_path: Path) -> DebuggerApp:
    return snapshot_app(tmp_path)


@pytest.fixture
def shipped() -> DebuggerApp:
    return DebuggerApp(open_workspace(), cursor_blink=False)


def inspecting(label: str, *keys: str, first: tuple[str, ...] = ()):
    """A `run_before`: press `first`, inspect parameter `label`, then press `keys`."""

    async def run_before(pilot) -> None:
        await settle(pilot)
        for key in first:
            await pilot.press(key)
            await settle(pilot)
        pilot.app.inspect_node(pilot.app.session.parameter(label).id)
        await settle(pilot)
        for key in keys:
            await pilot.press(key)
            await settle(pilot)

    return run_before


@pytest.mark.parametrize("size", [WIDE, SMALL], ids=["120x40", "80x24"])
def test_gradient_tab_after_a_check(app: DebuggerApp, snap_compare, size) -> None:
    checked = inspecting("wte[2][0]", "x", first=("b",))  # in the backward phase
    assert snap_compare(app, terminal_size=size, run_before=checked)


def test_gradient_tab_deeper_down(app: DebuggerApp, snap_compare) -> None:
    async def scrolled(pilot) -> None:
        await inspecting("wte[2][0]", "4")(pilot)
        view = pilot.app.screen.query_one("#gradient-view")
        view.scroll_to(y=10, animate=False)  # the shares and the first path
        await settle(pilot)

    assert snap_compare(app, terminal_size=WIDE, run_before=scrolled)


def test_graph_panel_marks_the_top_paths(app: DebuggerApp, snap_compare) -> None:
    assert snap_compare(app, terminal_size=WIDE, run_before=inspecting("wte[2][0]", "4", "1"))


@pytest.mark.parametrize("size", [WIDE, SMALL], ids=["120x40", "80x24"])
def test_training_tab(shipped: DebuggerApp, snap_compare, size) -> None:
    assert snap_compare(shipped, terminal_size=size, run_before=inspecting("wte[4][0]", "5"))
