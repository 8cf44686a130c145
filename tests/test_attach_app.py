"""The debugger on the user's own script (`microgpt-tui attach`), driven with Textual's Pilot.

The app is opened as `run_session` opens it (`session_app`), on the graph of
tests/attach_scripts/microgpt_relu.py captured at its first backward(), after which
the script's own backward() ran: its grads are the reference, node for node.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest
from textual.worker import WorkerCancelled

from engine.attach import AttachResult, attach_script
from engine.capture import capture_loss
from engine.value import topological_order
from engine.workspace import open_workspace
from microgpt_tui.app import DebuggerApp, session_app
from microgpt_tui.commands import DebuggerCommands
from microgpt_tui.screens.choose import ChooseScreen
from microgpt_tui.widgets import AttentionView, Inspector, SourceView, StatusLine

SCRIPTS = Path(__file__).resolve().parent / "attach_scripts"
SCRIPT = SCRIPTS / "microgpt_relu.py"
HEAD = "pos2.layer0.head1"
SIZE = (140, 42)


@pytest.fixture(autouse=True)
def offline(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("MICROGPT_TUI_OFFLINE", "1")
    monkeypatch.setenv("MICROGPT_TUI_CACHE_DIR", str(tmp_path / "cache"))


@pytest.fixture
def relu() -> AttachResult:
    """A fresh capture (the tests change the script's grads), its own backward() done."""
    return attach_script(str(SCRIPT), ["1"])


def open_app(result: AttachResult) -> DebuggerApp:
    return session_app(result.session(), result.script, cursor_blink=False)


async def settle(pilot) -> None:
    app = pilot.app
    for _ in range(1000):
        if not app.busy:
            return
        with contextlib.suppress(WorkerCancelled):
            await app.workers.wait_for_complete()
        await pilot.pause()
    raise AssertionError("the app never became idle")


async def press(pilot, *keys: str) -> None:
    await pilot.press(*keys)
    await settle(pilot)


def inside(scope: str, path: str) -> bool:
    return scope == path or scope.startswith(path + ".")


async def test_head_focused_backprop_through_the_scripts_own_graph(relu: AttachResult) -> None:
    app = open_app(relu)
    theirs = [u.grad for u in relu.script_nodes]
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        session = app.session
        assert session is not None and session.model.config is None
        # the status line names the script; the source panel shows it
        status = app.query_one(StatusLine).text
        assert "script " in status and "microgpt_relu.py" in status
        await press(pilot, "b")
        app.select_scope(HEAD)
        await press(pilot, "F")
        assert session.focus == HEAD and f"focus ◎ {HEAD}" in app.query_one(StatusLine).text
        stops = 0
        while not session.walk.done:
            await press(pilot, "s")
            current = session.walk.current
            if inside(current.scope, HEAD):
                stops += 1
                assert current.grad == theirs[current.id]  # final when reached
                if stops == 1:  # the inspector has the script's chain, the source its line
                    assert "calls   gpt" in app.query_one(Inspector).text
                    source = app.query_one(SourceView)
                    assert source.filename == relu.script and source.lineno == current.line
            else:
                assert session.walk.done  # after the head's last node: on to the end
            assert stops < 10_000
        assert stops == session.find_scope(HEAD).total
        # every grad, the head's and the rest, is the script's own backward()'s
        assert [n.grad for n in session.nodes] == theirs


async def test_attention_tab_says_there_is_none_and_d_is_refused(relu: AttachResult) -> None:
    app = open_app(relu)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "3", "s", "b", "s")  # stepping with the tab shown is fine too
        view = app.query_one(AttentionView)
        assert view.unavailable and "no attention view" in view.render_line(0).text
        await press(pilot, "1")
        messages: list[str] = []
        app.notify = lambda message, *a, **k: messages.append(message)  # type: ignore[method-assign]
        await press(pilot, "d")
        assert not isinstance(app.screen, ChooseScreen) and len(app.screen_stack) == 1
        assert messages and "captured from a script" in messages[0]
        names = [name for name, _, _ in DebuggerCommands(app.screen)._actions()]
        assert not any(name.startswith("Choose") for name in names)
        assert any(name.startswith("Root here") for name in names)


async def test_root_here_on_a_positions_loss_backprops_from_it(relu: AttachResult) -> None:
    original = relu.capture
    loss2 = next(n for n in original.nodes if n.label == "losses[2]")
    kept = sorted(topological_order(loss2), key=lambda n: n.id)
    app = open_app(relu)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        first = app.session
        app.inspect_node(loss2.id)
        messages: list[str] = []
        app.notify = lambda message, *a, **k: messages.append(message)  # type: ignore[method-assign]
        await press(pilot, "r")
        session = app.session
        assert session is not first and app.previous_sessions == [first]
        assert session.root is session.nodes[-1] and session.root.data == loss2.data
        assert session.root.label == "losses[2]" and session.pos == 2
        assert len(session.nodes) == len(kept) < len(first.nodes)
        assert session.phase == "backward"
        note = f"backprop from #{loss2.id} (losses[2] at pos 2): {len(kept):,} nodes"
        assert messages and messages[0].startswith(note)
        assert "position 2" in app.query_one(StatusLine).text
        await press(pilot, "c")
        assert session.walk.done
        # the script's own backward() from that node
        mine = relu.script_nodes[loss2.id]
        for u in relu.script_nodes:
            u.grad = 0
        type(mine).backward(mine)  # the script's own (attach leaves the class as it was)
        assert [n.grad for n in session.nodes] == [relu.script_nodes[n.id].grad for n in kept]
        # R: back to the session as it was left
        await press(pilot, "R")
        assert app.session is first and app.previous_sessions == []
        await press(pilot, "R")
        assert app.session is first and "No previous root" in messages[-1]


async def test_root_here_works_on_the_built_in_model(tmp_path: Path) -> None:
    data = tmp_path / "names.txt"
    data.write_text("emma\nolivia\nava\nisabella\nsophia\nmia\n")
    ws = open_workspace(seed=42, data=str(data), n_embd=8, n_head=2)
    app = DebuggerApp(ws, doc="ava", whole_document=True, cursor_blink=False)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        first = app.session
        node = next(n for n in first.nodes if n.label == "loss" and n.scope == "pos1.loss")
        app.inspect_node(node.id)
        await press(pilot, "r")
        session = app.session
        assert session is not first and session.pos == 1 and session.model.config is not None
        await press(pilot, "3")  # the attention view still works on the rerooted graph
        assert not app.query_one(AttentionView).unavailable
        await press(pilot, "1", "c")
        # the same as tracing position 1's loss afresh and calling backward() on it
        reference = capture_loss(ws.model, ws.tokenizer.encode("ava"), 1)
        reference.root.backward()
        assert [n.grad for n in session.nodes] == [n.grad for n in reference.nodes]
        await press(pilot, "R")
        assert app.session is first


async def test_export_dialog_dismissed_twice_closes_once(relu: AttachResult) -> None:
    from microgpt_tui.screens.export import ExportScreen

    app = open_app(relu)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "e")
        screen = app.screen
        assert isinstance(screen, ExportScreen)
        screen.action_cancel()
        screen.action_cancel()  # a second escape or Cancel click queued behind the first
        await pilot.pause()
        assert len(app.screen_stack) == 1 and app.is_running


async def test_a_graph_without_scope_levels_says_how_to_name_them() -> None:
    from microgpt_tui.subcommands.attach import attach_app

    # GIVEN a script with no loop counter where its nodes are made
    result = attach_script(str(SCRIPTS / "micrograd_closures.py"))
    assert result.notes and "--scope-vars" in result.notes[0]
    app = attach_app(result)
    app.cursor_blink = False
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        # THEN the app says so as it opens
        assert any("no scope levels" in str(n.message) for n in app._notifications)
        # AND the header claims no document, and so no positions of one, it does not have
        header = app.query_one(StatusLine).text.splitlines()[0]
        assert header.startswith("(no document) · loss -4")
        assert "position" not in header


async def test_the_gradient_tab_shows_what_an_accumulating_script_held_before() -> None:
    from engine.explain import GradInspector
    from microgpt_tui.widgets import GradientView

    # GIVEN grads accumulated over two documents, captured at the second backward()
    result = attach_script(str(SCRIPTS / "gpt_accumulate.py"), backward=2)
    app = open_app(result)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        session = app.session
        why = GradInspector(session)
        p = next(p for row in session.model.state_dict["wte"] for p in row if why.held(p))
        # WHEN one of its embeddings is inspected in the gradient tab
        app.inspect_node(p.id)
        await press(pilot, "4")
        view = app.screen.query_one(GradientView)
        for _ in range(200):
            if view.explained is not None:
                break
            await pilot.pause(0.05)
        text = view.text
        # THEN it shows the script's grad, and the grad held before as a line of its own
        assert view.explained is not None and view.explained.held == why.held(p)
        assert repr(why.grad(p)) in text and "what the script's backward() left" in text
        held_lines = [line for line in text.splitlines() if "held before backward()" in line]
        assert len(held_lines) == 2  # by position and by consumer scope
        assert all(f"{why.held(p):+.6e}" in line for line in held_lines)
        assert "held + the shares" in text
        session.backward.run_to_end()
        assert why.grad(p) == p.grad
