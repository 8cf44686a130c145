"""Rehearsing a lecture in the app (Pilot): first and last step, bookmarks, saving and opening
a walk-through (from the app and with `--walk`), copying a value or the chain rule."""

from __future__ import annotations

from pathlib import Path

import pytest
from pilot import HEAD, data_file, grads, make_app, press, settle, status

from engine.graph import in_scope
from microgpt_tui import cli
from microgpt_tui.display import node_name
from microgpt_tui.screens.ask import AskScreen
from microgpt_tui.subcommands import debug
from microgpt_tui.widgets.vector_inspector import VectorInspector


@pytest.fixture(autouse=True)
def offline(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("MICROGPT_TUI_OFFLINE", "1")
    monkeypatch.setenv("MICROGPT_TUI_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.chdir(tmp_path)


def state(app) -> tuple:
    s = app.session
    return (
        s.phase,
        s.forward.position,
        s.backward.position,
        grads(app),
        s.focus,
        sorted(s.breakpoints),
        list(s.bookmarks),
        s.graph_name,
    )


async def rehearse(pilot) -> None:
    """Prepare a lecture: into the forward pass, a bookmark, backward into a focused head."""
    app = pilot.app
    await press(pilot, "o", "n", "n", "m", "b")
    app.select_scope(HEAD)
    await press(pilot, "F", "s", "s", "m", "s", "s")
    app.select_scope("pos4.lm_head")
    await press(pilot, "B")


async def test_first_and_last_step_of_a_focused_head(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await press(pilot, "b")
        app.select_scope(HEAD)
        await press(pilot, "F", "greater_than_sign")
        walk = app.session.walk
        in_head = [i for i, n in enumerate(walk.order) if in_scope(n.scope, HEAD)]
        assert walk.position == in_head[-1] + 1 and "last step" in status(app)
        last = grads(app)
        await press(pilot, "less_than_sign")
        assert walk.position == in_head[0] + 1 and "first step" in status(app)
        await press(pilot, "p")  # back to the last step, exactly
        assert walk.position == in_head[-1] + 1 and grads(app) == last


async def test_bookmarks_jump_back_exactly(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await press(pilot, "apostrophe")
        assert "no bookmarks yet" in status(app)
        await press(pilot, "b", "n", "n", "n", "m")
        assert "bookmarked backward step" in status(app)
        marked, at_mark = app.session.step_now, grads(app)
        await press(pilot, "c", "f", "apostrophe")
        assert app.session.step_now == marked and grads(app) == at_mark
        await press(pilot, "p")
        assert app.session.phase == "backward" and app.session.walk.done


async def test_a_saved_walk_reopens_at_the_same_step_with_the_same_grads(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await rehearse(pilot)
        saved = state(app)
        await press(pilot, "w")
        assert isinstance(app.screen, AskScreen)
        field = app.screen.query_one("#path-input")
        field.value = ""
        await pilot.press(*"lecture.json", "enter")
        await settle(pilot)
        assert "saved the walk-through to lecture.json" in status(app)
    assert (tmp_path / "lecture.json").is_file()
    # in the app: W, the file, enter
    again = make_app(tmp_path)
    async with again.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await press(pilot, "W")
        app_field = again.screen.query_one("#path-input")
        app_field.value = "lecture.json"
        await press(pilot, "enter")
        assert state(again) == saved
        assert "opened the walk-through at backward step" in status(again)
        await press(pilot, "apostrophe")  # its bookmarks came along
        assert again.session.step_now == saved[6][0]
    # and from the command line: microgpt-tui --walk lecture.json (MODEL options as saved)
    model = ["--seed", "42", "--data", str(data_file(tmp_path))]
    args = cli.parse_args(["--walk", "lecture.json", *model])
    opened = debug.walk_app(args, terminal=False)
    async with opened.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        assert state(opened) == saved
        assert "opened the walk-through" in status(opened)


async def test_a_walk_saved_at_vector_level_reopens_at_vector_level(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await press(pilot, "b", "v")
        app.select_scope(HEAD)
        await press(pilot, "F", "s", "s", "m")  # the head's softmax, bookmarked
        saved, op = state(app), app.session.vectors.shown_op().name
        assert app.session.level == "vector" and op == "softmax"
        await press(pilot, "w")
        app.screen.query_one("#path-input").value = "vectors.json"
        await press(pilot, "enter")
    # in an app at the scalar level: W opens it at the vector level (not the app's level)
    again = make_app(tmp_path)
    async with again.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        assert again.session.level == "scalar"
        await press(pilot, "W")
        again.screen.query_one("#path-input").value = "vectors.json"
        await press(pilot, "enter")
        session = again.session
        assert session.level == "vector" and state(again) == saved
        assert session.vectors.shown_op().name == op and "VECTORS" in status(again)
        assert again.debugger.query_one("#vector-graph").display
        await press(pilot, "s")  # the next vector op, from where the walk was
        assert session.vectors.current.completed_op.name == "q·k/√d"
    # and with --walk
    model = ["--seed", "42", "--data", str(data_file(tmp_path))]
    opened = debug.walk_app(cli.parse_args(["--walk", "vectors.json", *model]), terminal=False)
    async with opened.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        assert opened.session.level == "vector" and state(opened) == saved
        assert opened.debugger.query_one("#vector-graph").display


def test_walk_on_the_command_line_refuses_bad_input_in_one_line(tmp_path: Path, capsys) -> None:
    data = str(data_file(tmp_path))
    bad = tmp_path / "bad.json"
    bad.write_text('{"format": "microgpt-tui.walk", "version": 7}')
    for argv, said in [
        (["--walk", str(bad), "--seed", "42", "--data", data], "version 7 is not supported"),
        (["--walk", "none.json"], "does not exist"),
        (["debug", "--walk", str(bad), "--doc", "ava"], "leave out --doc and --pos"),
    ]:
        assert cli.main(argv) == 2
        err = capsys.readouterr().err
        assert said in err and err.count("\n") == 1


async def test_a_walk_on_another_model_is_refused(tmp_path: Path, capsys) -> None:
    app = make_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await press(pilot, "b", "n")
        await press(pilot, "w")
        app.screen.query_one("#path-input").value = "w.json"
        await press(pilot, "enter")
    assert cli.main(["--walk", "w.json", "--seed", "7", "--data", str(data_file(tmp_path))]) == 2
    assert "saved on another model" in capsys.readouterr().err


async def test_copy_the_value_and_the_chain_rule_lines(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await press(pilot, "o", "y")
        node = app.session.walk.current
        assert app.clipboard == f"{node_name(node)} = {float(node.data)!r}"  # every digit
        await press(pilot, "b", "s", "s", "s", "Y")
        node = app.session.walk.current
        copied = app.clipboard
        assert copied.startswith("received")
        for term in app.session.terms(node):
            assert f"(from #{term.consumer.id} {term.consumer.op})" in copied
        assert "passed on" in copied and copied.count("grad +=") >= len(node._children)
        await press(pilot, "y")
        assert app.clipboard.endswith(f", grad = {float(node.grad)!r}")


async def test_at_vector_level_the_chain_rule_copy_is_the_ops_lines(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await press(pilot, "b", "s", "s", "Y")
        scalar = app.clipboard
        await press(pilot, "v", "s", "Y")  # the inspector now shows an op, not a node
        inspector = app.debugger.query_one(VectorInspector)
        assert app.clipboard == inspector.text != scalar
        assert inspector.op.name in app.clipboard and "gradient" in app.clipboard
        assert f"copied the inspector's lines on op {inspector.op.name}" in status(app)
        await press(pilot, "v", "Y")  # back at scalars: the node's chain rule again
        assert app.clipboard.startswith("received")
