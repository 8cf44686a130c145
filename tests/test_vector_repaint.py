"""A vector step repaints only the lines that change (issue 9), and the picture stays exact.

The vector panel and inspector repaint the lines whose content differs from what they
show, so after every step the screen must be what a repaint of every widget gives.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from microgpt_tui.widgets.vector_panel import VectorPanel
from tests.pilot import make_app, press

SIZE = (160, 45)


@pytest.fixture(autouse=True)
def offline(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("MICROGPT_TUI_OFFLINE", "1")
    monkeypatch.setenv("MICROGPT_TUI_CACHE_DIR", str(tmp_path / "cache"))


def picture(app) -> list[list]:
    """The screen as the compositor has it (each widget's lines as last painted)."""
    return [list(strip) for strip in app.screen._compositor.render_strips()]


async def repainted(app, pilot) -> list[list]:
    """The screen after every widget has repainted every line."""
    for widget in app.screen.walk_children(with_self=True):
        widget.refresh()
    await pilot.pause()
    return picture(app)


@pytest.mark.parametrize("phase", ["f", "b"])
async def test_the_picture_after_each_vector_step_is_a_full_repaints(
    tmp_path: Path, phase: str
) -> None:
    app = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await press(pilot, phase, "v")
        for _ in range(12):
            await press(pilot, "s")
            assert picture(app) == await repainted(app, pilot)
        await press(pilot, "down", "down", "right")  # the cursor, a vector's numbers
        assert picture(app) == await repainted(app, pilot)
        await press(pilot, "s", "s")
        assert picture(app) == await repainted(app, pilot)


async def test_a_vector_step_in_one_scope_repaints_a_few_lines_of_the_panel(
    tmp_path: Path,
) -> None:
    app = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await press(pilot, "b", "v")
        panel = app.screen.query_one(VectorPanel)
        painted: list[int] = []
        render_line = panel.render_line

        def counted(y: int):
            painted.append(y)
            return render_line(y)

        panel.render_line = counted  # type: ignore[method-assign]
        same_scope = []
        for _ in range(16):
            scope, top = panel.scope, panel.scroll_offset.y
            painted.clear()
            await press(pilot, "s")
            if panel.scope == scope and panel.scroll_offset.y == top:
                same_scope.append(len(set(painted)))
        height = panel.scrollable_content_region.height
        assert same_scope, "no step stayed in its scope"
        assert all(0 < count < height for count in same_scope), (same_scope, height)


async def test_a_vector_step_builds_each_visible_row_of_the_panel_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Marking the step's op and reading its new values are one repaint, not two."""
    from microgpt_tui.widgets import vector_panel

    app = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await press(pilot, "b", "v")
        built: list[int] = []
        pieces = vector_panel._pieces

        def counted(row, look):
            built.append(id(row))
            return pieces(row, look)

        monkeypatch.setattr(vector_panel, "_pieces", counted)
        panel = app.screen.query_one(VectorPanel)
        steps = 0
        for _ in range(16):
            scope = panel.scope
            built.clear()
            await press(pilot, "s")
            if panel.scope == scope:
                steps += 1
                assert built, "the step painted no row"
                assert len(built) == len(set(built)), "a row was built twice in one step"
        assert steps, "no step stayed in its scope"
