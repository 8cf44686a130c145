"""Snapshots of the vector level: the vector panel and inspector at 120×40 and 80×24, a vector's
numbers on demand, and a vector drilled down to its scalars.

Same conditions as tests/test_app_snapshots.py (a fresh tiny model, no clock, no blink, every
move awaited). Update with `pytest tests/test_vector_snapshots.py --snapshot-update` and look
at the report before committing.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from pilot import HEAD, settle, snapshot_app

from microgpt_tui.app import DebuggerApp
from microgpt_tui.widgets.vector_panel import VectorPanel


@pytest.fixture(autouse=True)
def offline(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("MICROGPT_TUI_OFFLINE", "1")
    monkeypatch.setenv("MICROGPT_TUI_CACHE_DIR", str(tmp_path / "cache"))


@pytest.fixture
def app(tmp_path: Path) -> DebuggerApp:
    return snapshot_app(tmp_path)


def in_the_head(*keys: str, then: str | None = None):
    """`b`, `v`, the head selected and focused, then `keys`; `then`: a vector to put the
    panel's cursor on (with the panel focused) before the last key."""

    async def run_before(pilot) -> None:
        await settle(pilot)
        for key in ("b", "v"):
            await pilot.press(key)
            await settle(pilot)
        pilot.app.select_scope(HEAD)
        await settle(pilot)
        for key in ("F", *(keys[:-1] if then else keys)):
            await pilot.press(key)
            await settle(pilot)
        if then is not None:
            panel = pilot.app.debugger.query_one(VectorPanel)
            panel.focus()
            panel.set_cursor(
                next(i for i, r in enumerate(panel.rows) if r.box and r.box.title == then)
            )
            await settle(pilot)
            await pilot.press(keys[-1])
            await settle(pilot)

    return run_before


@pytest.mark.parametrize("size", [(120, 40), (80, 24)], ids=["120x40", "80x24"])
def test_vector_panel_and_inspector_at_the_softmax(app: DebuggerApp, snap_compare, size) -> None:
    assert snap_compare(app, terminal_size=size, run_before=in_the_head("s", "s"))


def test_a_vectors_numbers_on_demand(app: DebuggerApp, snap_compare) -> None:
    run_before = in_the_head("s", "right", then="head_out")
    assert snap_compare(app, terminal_size=(120, 40), run_before=run_before)


def test_a_vector_drilled_down_to_its_scalars(app: DebuggerApp, snap_compare) -> None:
    run_before = in_the_head("s", "s", "enter", then="attn_weights")
    assert snap_compare(app, terminal_size=(120, 40), run_before=run_before)
