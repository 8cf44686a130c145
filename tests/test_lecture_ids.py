"""Issue 11, defects 10 and 11 in the app (Pilot): ids say which graph they belong to, Root
here keeps them, and a root that is not the loss is named as what it is."""

from __future__ import annotations

from pathlib import Path

import pytest
from pilot import grads, make_app, press, settle, status

from microgpt_tui import cli
from microgpt_tui.screens.goto import GoToScreen
from microgpt_tui.widgets import GraphView


@pytest.fixture(autouse=True)
def offline(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("MICROGPT_TUI_OFFLINE", "1")
    monkeypatch.setenv("MICROGPT_TUI_CACHE_DIR", str(tmp_path / "cache"))


async def test_root_here_keeps_the_ids_and_go_to_names_the_graph(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        original = app.session
        assert "graph emma@pos4" in status(app)
        node = next(n for n in reversed(original.nodes) if n.scope == "pos3.layer0.attn")
        app.inspect_node(node.id)
        await press(pilot, "r")
        rooted = app.session
        assert rooted is not original and rooted.root.id == node.id
        assert f"graph emma@pos4 rooted at #{node.id}" in status(app)
        child = rooted.root._children[0]
        assert child.id == node._children[0].id  # the same id as in the original graph
        # go to: the dialog says whose ids it takes, and the id is the original one
        await press(pilot, "g")
        assert isinstance(app.screen, GoToScreen)
        label = str(app.screen.query_one("#goto-label").render())
        assert f"graph emma@pos4 rooted at #{node.id}" in label
        await pilot.press(*str(child.id), "enter")
        await settle(pilot)
        assert app.inspected == child.id and app.query_one(GraphView).centre_id == child.id
        # an id this graph does not keep is refused in the dialog, naming the graph
        missing = next(i for i in range(node.id) if not rooted.has_node(i))
        await press(pilot, "g")
        await pilot.press(*str(missing), "enter")
        await settle(pilot)
        error = str(app.screen.query_one("#goto-error").render())
        assert f"#{missing}" in error and "emma@pos4 rooted" in error
        await press(pilot, "escape")
        # stepping the rerooted graph to its end is the root's backward()
        await press(pilot, "c")
        original.set_phase("backward")
        original.backward.reset()
        for n in original.nodes:
            n.grad = 0
        original.node(node.id).backward()
        assert grads(app) == [original.node(n.id).grad for n in rooted.nodes]


async def test_root_here_on_a_parameter_names_the_root(tmp_path: Path) -> None:
    """Defect 11: `loss -0.296 · 1 nodes` for a root that is a parameter."""
    app = make_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        param = app.session.nodes[0]
        app.inspect_node(param.id)
        await press(pilot, "r")
        text = status(app)
        assert "loss" not in text.split("\n")[0]
        assert f"root #{param.id} param {param.label}" in text
        assert "1 node" in text and "1 nodes" not in text


def test_export_node_help_and_errors_say_which_graph(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    data = tmp_path / "names.txt"
    data.write_text("emma\nolivia\nava\n")
    with pytest.raises(SystemExit):
        cli.build_parser("export").parse_args(["export", "--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    node_help = help_text.split("--node ID a node")[1].split(" --overview")[0]
    assert "graph DOC@posP" in node_help and "DOC@all" in node_help
    argv = ["export", "--seed", "42", "--data", str(data), "--doc", "emma", "--pos", "2"]
    code = cli.main([*argv, "--node", "999999", "-o", str(tmp_path / "x.dot")])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1
    assert "#999999 does not exist in graph emma@pos2" in err
    code = cli.main([*argv[:-2], "--node", "999999", "-o", str(tmp_path / "x.dot")])
    assert code == 2 and "graph emma@all" in capsys.readouterr().err
