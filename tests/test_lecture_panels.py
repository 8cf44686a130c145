"""Issue 11, defects 6, 7, 8, 12, 13 and 15 in the panels (Pilot): the code panel, consumer
counts, pending local gradients, the parameters tab, find, and the offline names list."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pilot import inspector, make_app, press, settle, status
from textual.command import CommandList

from engine.workspace import open_workspace
from microgpt_tui import cli
from microgpt_tui.app import DebuggerApp
from microgpt_tui.commands import DebuggerCommands
from microgpt_tui.screens.find import FindScreen
from microgpt_tui.widgets import GraphView, ParametersView, SourceView
from microgpt_tui.widgets.heatmap import GradHeatmap
from microgpt_tui.widgets.parameter_list import ParameterList


@pytest.fixture(autouse=True)
def offline(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("MICROGPT_TUI_OFFLINE", "1")
    monkeypatch.setenv("MICROGPT_TUI_CACHE_DIR", str(tmp_path / "cache"))


def source_lines(view: SourceView) -> list[str]:
    return [view.render_line(y).text for y in range(view.scrollable_content_region.height)]


async def test_the_code_panel_shows_the_start_of_every_line(tmp_path: Path) -> None:
    """Defect 6: a narrow code panel slid sideways and cut the start of every line."""
    app = make_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        logit = next(n for n in app.session.nodes if n.label == "attn_logits[0]")
        app.inspect_node(logit.id)  # a node made on a line indented 28 columns deep
        await settle(pilot)
        view = app.query_one(SourceView)
        source = Path(view.filename).read_text().splitlines()
        lines = source_lines(view)
        assert any("▶" in line for line in lines)
        for line in lines:
            number = re.match(r".\s*(\d+) ", line)
            if number is None:
                continue
            code = source[int(number.group(1)) - 1].strip()
            shown = line[number.end() :].strip().rstrip("…")
            assert code.startswith(shown[: len(code)]) and (shown or not code), (line, code)
            assert shown[:8] == code[:8], (line, code)  # the start of each line, never cut


async def test_consumer_counts_agree_and_say_uses_and_nodes(tmp_path: Path) -> None:
    """Defect 7: `used by 3 nodes` in the inspector, `▲ used by 2` in the graph (x*x)."""
    app = make_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        session = app.session
        node = next(
            n
            for n in session.nodes
            if len(session.consumers_of(n)) > len(set(map(id, session.consumers_of(n)))) > 1
        )
        uses, distinct = session.consumer_count(node), session.consumer_nodes(node)
        app.inspect_node(node.id)
        await settle(pilot)
        said = f"used by {distinct} nodes, {uses} uses"
        assert said in " ".join(inspector(app).split())
        graph = app.query_one(GraphView)
        assert said in graph.rows[0].text
        await press(pilot, "b")
        app.inspect_node(node.id)
        await settle(pilot)
        assert f"of {distinct} consumers" in inspector(app)


async def test_pending_nodes_show_no_local_gradients_in_the_forward_phase(tmp_path: Path) -> None:
    """Defect 8: the forward phase showed ∂ values for inputs still `· pending`."""
    app = make_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        session = app.session
        later = next(n for n in session.nodes if n.op == "*" and not session.is_computed(n))
        app.inspect_node(later.id)
        await settle(pilot)
        assert "pending" in inspector(app)
        assert not re.search(r"∂ -?\d", inspector(app))
        graph = app.query_one(GraphView)
        rows = [graph.render_line(y).text for y in range(len(graph.rows))]
        assert not any(re.search(r"∂ -?\d", row) for row in rows)
        await press(pilot, "o")
        while not session.is_computed(later):
            await press(pilot, "n")
        app.inspect_node(later.id)
        await settle(pilot)
        assert re.search(r"∂ -?\d", inspector(app))  # computed now: its local gradients show


async def test_the_parameters_tab_works_from_the_keyboard_at_once(tmp_path: Path) -> None:
    """Defect 12: `2` did not focus the table; Enter after `]` opened the drop-down; the
    heatmap showed only after `]`."""
    app = make_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await press(pilot, "b", "c")
        param = app.session.parameter("layer0.mlp_fc1[5][3]")
        app.inspect_node(param.id)
        await press(pilot, "2")
        view = app.query_one(ParametersView)
        assert isinstance(app.focused, ParameterList)
        heatmap = app.query_one(GradHeatmap)  # at once: the inspected parameter's matrix
        assert heatmap.display and heatmap.matrix_name == "layer0.mlp_fc1"
        assert view.index.params[view.parameter_list.current_row] is param
        await press(pilot, "S")
        assert view.sort_key == "name"
        await press(pilot, "right_square_bracket")
        assert view.matrix is not None and heatmap.matrix_name == view.matrix
        await press(pilot, "down", "enter")
        k = view.parameter_list.current_row
        assert app.inspected == view.index.params[k].id
        assert app.query_one("#tabs").active == "debugger"


async def test_the_palette_finds_a_parameter_by_a_partial_name(tmp_path: Path) -> None:
    """Defect 12: `attn_wq[3][7]` found nothing: the palette wanted `layer0.attn_wq[3][7]`."""
    app = make_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        provider = DebuggerCommands(app.screen)
        hits = {str(hit.text): hit.command async for hit in provider.search("attn_wq[3][7]")}
        hits["Go to parameter layer0.attn_wq[3][7]"]()
        assert app.inspected == app.session.parameter("layer0.attn_wq[3][7]").id
        await press(pilot, "ctrl+p")
        await pilot.press(*"wq[3][7]")
        for _ in range(200):
            results = app.screen.query(CommandList)
            if results and results.first().option_count:
                break
            await pilot.pause(0.05)
        assert "layer0.attn_wq[3][7]" in str(results.first().get_option_at_index(0).prompt)


async def test_find_prefers_the_current_position_and_says_where(tmp_path: Path) -> None:
    """Defect 13: `head1` + Enter went to pos0's head1 in a graph of many positions."""
    app = make_app(tmp_path, whole_document=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        session = app.session
        await press(pilot, "slash")
        await pilot.press(*"head1")
        await settle(pilot)
        assert isinstance(app.screen, FindScreen)
        results = app.screen.query_one("#find-results")
        prompts = [str(results.get_option_at_index(i).prompt) for i in range(results.option_count)]
        for pos in range(5):  # each match says where it is
            assert any(f"pos{pos}.layer0.attn.head1 " in p and f"position {pos}" in p
                       for p in prompts)  # fmt: skip
        await press(pilot, "escape")
        # the walk in position 3: its head1 comes first, marked, and enter picks it
        session.forward.run_to(session.find_scope("pos3").first_id + 1)
        await press(pilot, "slash")
        await pilot.press(*"head1")
        await settle(pilot)
        first = str(app.screen.query_one("#find-results").get_option_at_index(0).prompt)
        assert "pos3.layer0.attn.head1" in first and "here" in first
        await press(pilot, "enter")
        assert app.selected_scope == "pos3.layer0.attn.head1"


def test_train_says_when_it_uses_the_shipped_names(capsys: pytest.CaptureFixture, tmp_path):
    """Defect 15: offline, `train` silently used the shipped 2,187 names."""
    out = tmp_path / "a.ckpt.json"
    assert cli.main(["train", "--steps", "1", "--out", str(out), "--samples", "0"]) == 0
    err = capsys.readouterr().err
    assert "2,187 names shipped" in err and "offline" in err and "microgpt's" in err


async def test_the_app_header_says_when_it_uses_the_shipped_names() -> None:
    app = DebuggerApp(open_workspace(seed=42), cursor_blink=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        assert "2,187 names shipped" in status(app) and "offline" in status(app)
