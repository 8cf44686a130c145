"""Small terminals (issue 11): at 80×24 each journey can be done with every number it needs on
screen; at 120×40 nothing a step shows is cut. Checked on what the panels paint."""

from __future__ import annotations

from pathlib import Path

import pytest
from pilot import HEAD, make_app, press, settle, snapshot_app

from microgpt_tui.screens.arrangement import TALL_PAGES
from microgpt_tui.widgets import (
    GraphView,
    Inspector,
    ParametersView,
    ScopeTree,
    SourceView,
    StatusLine,
)
from microgpt_tui.widgets.footer import KeyFooter
from microgpt_tui.widgets.parameter_list import ParameterList


@pytest.fixture(autouse=True)
def offline(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("MICROGPT_TUI_OFFLINE", "1")
    monkeypatch.setenv("MICROGPT_TUI_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.chdir(tmp_path)


def painted(widget) -> list[str]:
    """The lines a widget paints now (its visible content)."""
    region = getattr(widget, "scrollable_content_region", None)
    height = region.height if region is not None else widget.size.height
    return [widget.render_line(y).text for y in range(height)]


def words(text: str) -> str:
    return " ".join(text.split())


def shown(widget) -> bool:
    return widget.display and widget.region.width > 0 and widget.region.height > 0


async def laid_out(pilot) -> None:
    """Let a layout the last key asked for happen (the screen lays out at its next frame)."""
    await pilot.pause(0.1)
    await settle(pilot)


async def into_the_head(pilot) -> None:
    """Journey 1: b, find the head, focus it, step into it."""
    await press(pilot, "b", "slash")
    await pilot.press(*"head1")
    await settle(pilot)
    await press(pilot, "enter", "F", "s", "s", "s")
    await laid_out(pilot)


def assert_inspector_whole(app) -> None:
    """Every line the inspector has is on screen, whole (wrapped, never cut or scrolled)."""
    inspector = app.query_one(Inspector)
    assert shown(inspector)
    rows = painted(inspector)
    assert len(inspector.rows) <= len(rows)  # no need to scroll
    on_screen = words(" ".join(rows))
    for line in inspector.lines:
        assert words("".join(text for text, _ in line)) in on_screen


def assert_status_whole(app) -> None:
    """Every part of the status line is on screen whole; a part wider than the line itself
    (a long model path: the temporary folder's name varies, longer under pytest-xdist) wraps
    where the line ends, so it is compared without the breaks."""
    status = app.query_one(StatusLine)
    on_screen = words(" ".join(status.render_line(y).text for y in range(status.size.height)))
    for line in status.text.split("\n"):
        for part in line.split(" · "):
            if len(part) <= status.size.width - 2:
                assert words(part) in on_screen, part
            else:
                assert "".join(part.split()) in "".join(on_screen.split()), part


async def test_at_80_by_24_backprop_through_one_head_shows_every_number(tmp_path: Path) -> None:
    app = snapshot_app(tmp_path)  # (the model named without the temporary path: its length varies)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert app.screen.has_class("-narrow")
        footer = {k.key for k in app.query_one(KeyFooter).query("FooterKey")}
        assert footer >= {"s", "b", "F", "v", "full_stop"}  # v: the level; .: the next panel
        await into_the_head(pilot)
        session = app.session
        assert session.focus == HEAD and HEAD in session.walk.current.scope
        assert_status_whole(app)
        assert_inspector_whole(app)  # value, grad, the terms received and passed on
        inspector = words(" ".join(painted(app.query_one(Inspector))))
        node = session.walk.current
        assert repr(float(node.grad)) in inspector
        # the graph, a panel away: each row's value, grad and ∂
        await press(pilot, "full_stop")
        await laid_out(pilot)
        graph = app.query_one(GraphView)
        assert shown(graph) and not shown(app.query_one(Inspector))
        for row, text in zip(graph.rows, painted(graph), strict=False):
            if row.kind == "node":
                assert "= " in text and "grad " in text
                if row.local_grad is not None:
                    assert "∂ " in text
        # and the code, whole lines from their start
        await press(pilot, "full_stop")
        assert shown(app.query_one(SourceView))


async def test_at_80_by_24_the_parameters_show_values_and_grads(tmp_path: Path) -> None:
    app = snapshot_app(tmp_path)  # (the model named without the temporary path: its length varies)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await press(pilot, "b", "c", "2", "S", "S")  # by |grad|, largest first
        await laid_out(pilot)
        view = app.query_one(ParametersView)
        plist = app.query_one(ParameterList)
        assert shown(plist) and view.sort_key == "grad"
        lines = painted(plist)
        for row, text in enumerate(lines[1:]):
            if row >= len(plist.order):
                break
            param = plist.index.params[plist.order[row]]
            assert f"{param.data:>+10.5f}".strip() in text and f"{param.grad:+.3e}" in text
        assert shown(view.heatmap)


async def test_at_80_by_24_the_export_dialog_fits(tmp_path: Path) -> None:
    app = snapshot_app(tmp_path)  # (the model named without the temporary path: its length varies)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await press(pilot, "b", "c", "e")
        screen = app.screen
        buttons = list(screen.query("Button"))
        assert buttons and all(b.region.right <= 80 and b.region.bottom <= 24 for b in buttons)
        for field in screen.query("Input"):
            assert field.region.right <= 80 and field.region.bottom <= 24


async def test_tall_narrow_terminals_show_two_panels_at_a_time(tmp_path: Path) -> None:
    app = snapshot_app(tmp_path)  # (the model named without the temporary path: its length varies)
    async with app.run_test(size=(90, 50)) as pilot:
        await settle(pilot)
        names = tuple(TALL_PAGES)
        assert shown(app.query_one(Inspector)) and shown(app.query_one(GraphView))
        await press(pilot, "full_stop")
        assert shown(app.query_one(SourceView)) and not shown(app.query_one(Inspector))
        assert app.screen.page == names.index("code")
        await press(pilot, "comma")  # back to the step's panels
        assert shown(app.query_one(Inspector)) and shown(app.query_one(GraphView))
        assert app.screen.page == names.index("step") and app.session.level == "scalar"


async def test_at_120_by_40_nothing_a_step_shows_is_cut(tmp_path: Path) -> None:
    app = snapshot_app(tmp_path)  # (the model named without the temporary path: its length varies)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        assert not app.screen.has_class("-narrow")
        await into_the_head(pilot)
        app.select_scope("pos4.lm_head")
        await press(pilot, "B", "s")  # a breakpoint and a long note: the status line wraps
        await laid_out(pilot)
        assert_status_whole(app)
        assert_inspector_whole(app)
        graph = app.query_one(GraphView)
        for row, text in zip(graph.rows, painted(graph), strict=False):
            if row.kind == "node":
                node = app.session.node(row.node_id)
                assert text.rstrip().endswith(text.rstrip())  # (painted within the panel)
                assert f"#{node.id} " in text and "= " in text and "grad " in text
        source = app.query_one(SourceView)
        line = Path(source.filename).read_text().splitlines()[source.lineno - 1].strip()
        assert words(line) in words(" ".join(painted(source)).replace("▶", " "))


async def test_at_80_by_24_clicking_a_name_in_the_bar_opens_its_tab_or_page(tmp_path: Path) -> None:
    from microgpt_tui.widgets.panel_bar import PanelBar

    app = snapshot_app(tmp_path)  # (the model named without the temporary path: its length varies)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        bar = app.query_one(PanelBar)
        assert shown(bar)
        text = bar.render_line(0).text
        await pilot.click(PanelBar, offset=(text.index("Params") + 1, 0))
        await laid_out(pilot)
        assert app.query_one("#tabs").active == "parameters"
        assert shown(app.query_one(ParameterList))
        text = bar.render_line(0).text
        await pilot.click(PanelBar, offset=(text.index("Debug") + 1, 0))
        await laid_out(pilot)
        assert app.query_one("#tabs").active == "debugger"
        text = bar.render_line(0).text
        await pilot.click(PanelBar, offset=(text.index("code") + 1, 0))  # a page of panels
        await laid_out(pilot)
        assert shown(app.query_one(SourceView)) and not shown(app.query_one(Inspector))


async def test_the_scope_tree_keeps_its_lines_when_its_tab_shows_again(tmp_path: Path) -> None:
    """Back from another tab at the same size, the scope tree keeps the lines it drew (Tree
    dropped them and asked for one more layout of the screen, a frame later); at a new size
    it draws them again."""
    app = make_app(tmp_path)
    async with app.run_test(size=(160, 45)) as pilot:
        await settle(pilot)
        tree = app.debugger.query_one(ScopeTree)
        drawn = tree._updates  # (Tree counts the times it dropped its lines)
        await press(pilot, "2", "1")
        assert tree._updates == drawn
        await pilot.resize_terminal(150, 40)
        await settle(pilot)
        assert tree._updates > drawn
        assert "pos0" in "".join(painted(tree))
