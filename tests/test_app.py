"""The debugger app, driven with Textual's Pilot: each journey, asserted on the session's state.

The app is built small (a fresh microgpt on a six-name data file) and compared
against an independent reference: the same model captured again and run
through a plain `loss.backward()`.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from types import SimpleNamespace

import pytest
from textual.command import CommandList
from textual.widgets import TabbedContent
from textual.worker import WorkerCancelled

from engine.capture import Capture, capture_loss
from engine.checkpoint import save_checkpoint
from engine.session import DebugSession
from engine.trace import Trace
from engine.value import Value
from engine.workspace import Workspace, open_workspace, to_checkpoint
from microgpt_tui import cli
from microgpt_tui.app import DebuggerApp
from microgpt_tui.commands import DebuggerCommands
from microgpt_tui.display import num
from microgpt_tui.widgets import GraphView, Inspector, ScopeTree, StatusLine
from microgpt_tui.widgets.graph_view import MAX_DEPTH
from microgpt_tui.widgets.inspector import term_text

NAMES = "emma\nolivia\nava\nisabella\nsophia\nmia\n"
HEAD = "pos4.layer0.attn.head1"


@pytest.fixture(autouse=True)
def offline(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("MICROGPT_TUI_OFFLINE", "1")
    monkeypatch.setenv("MICROGPT_TUI_CACHE_DIR", str(tmp_path / "cache"))


@pytest.fixture
def data(tmp_path: Path) -> Path:
    path = tmp_path / "names.txt"
    path.write_text(NAMES)
    return path


def workspace(data: Path, **sizes: int) -> Workspace:
    return open_workspace(seed=42, data=str(data), **sizes)


def reference_grads(
    data: Path, doc: str = "emma", pos: int | None = None, **sizes: int
) -> list[float]:
    """Every node's grad from a plain backward() on an identical, independent capture."""
    ws = workspace(data, **sizes)
    tokens = ws.tokenizer.encode(doc)
    if pos is None:
        pos = min(ws.model.config.block_size, len(tokens) - 1) - 1
    capture = capture_loss(ws.model, tokens, pos)
    capture.root.backward()
    return [node.grad for node in capture.nodes]


def make_app(data: Path, sizes: dict | None = None, **kwargs) -> DebuggerApp:
    return DebuggerApp(workspace(data, **(sizes or {})), cursor_blink=False, **kwargs)


async def settle(pilot) -> None:
    """Wait until the session is built and every queued move has run and been painted."""
    app = pilot.app
    for _ in range(1000):
        if not app.busy:  # (the panels are repainted when the mover reports, before it is idle)
            return
        with contextlib.suppress(WorkerCancelled):  # a search superseded by the next
            await app.workers.wait_for_complete()
        await pilot.pause()
    raise AssertionError("the app never became idle")


async def press(pilot, *keys: str) -> None:
    await pilot.press(*keys)
    await settle(pilot)


def status(app: DebuggerApp) -> str:
    return app.query_one(StatusLine).text


def inspector(app: DebuggerApp) -> str:
    return app.query_one(Inspector).text


# -- opening ------------------------------------------------------------------------------------


async def test_opens_on_the_last_position_of_the_document(data: Path) -> None:
    app = make_app(data)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        session = app.session
        assert session is not None and session.doc == "emma" and session.pos == 4
        text = status(app)
        assert "emma" in text and "position 4" in text and "'a' → <BOS>" in text
        assert num(session.loss, 6) in text
        assert f"FORWARD  step 0 / {len(session.nodes):,}" in text


def test_bad_document_exits_2_before_the_app_starts(data: Path, capsys) -> None:
    code = cli.main(["debug", "--seed", "42", "--data", str(data), "--doc", "EMMA"])
    assert code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "EMMA" in err


def test_position_past_the_end_exits_2(data: Path, capsys) -> None:
    assert cli.main(["--seed", "42", "--data", str(data), "--doc", "ava", "--pos", "9"]) == 2
    assert "position 9" in capsys.readouterr().err


# -- forward ------------------------------------------------------------------------------------


async def test_forward_stepping_reveals_nodes_in_creation_order(data: Path) -> None:
    app = make_app(data)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        session = app.session
        for k in range(1, 8):
            await press(pilot, "s")
            assert session.walk.position == k
            assert session.cursor_node().id == k - 1  # the node just revealed
            assert f"step {k} / " in status(app)
        # `o` leaves the parameters: the next node revealed is the first computed one
        await press(pilot, "o")
        first = session.walk.current
        assert first.op != "param" and first.id == session.find_scope("params").total
        assert repr(float(first.data)) in inspector(app)
        # a node not reached yet is pending, and shows no grad in the forward phase
        later = first.id + 5
        app.inspect_node(later)
        await settle(pilot)
        assert "pending" in inspector(app) and "shown in the backward phase" in inspector(app)
        assert f"inspecting #{later}" in status(app)
        for _ in range(5):
            await press(pilot, "s")
        assert session.walk.current.id == later
        assert repr(float(session.nodes[later].data)) in inspector(app)
        assert "inspecting" not in status(app)  # a move brings the inspector back to the cursor


# -- backward -----------------------------------------------------------------------------------


async def test_backward_grads_when_reached_equal_plain_backward(data: Path) -> None:
    """Each node's grad, when the walk reaches it, is backward()'s; the terms shown sum to it."""
    expected = reference_grads(data)
    app = make_app(data)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await press(pilot, "b")
        session = app.session
        assert session.phase == "backward" and "BACKWARD" in status(app)
        for key in ["s"] * 30 + ["n"] * 10 + ["o"] * 3:
            node = session.walk.next_node
            before = {child.id: child.grad for child in node._children}
            await press(pilot, key)
            node = session.walk.current
            # every node processed so far had its final grad, backward()'s, when reached
            order = session.backward.order
            assert [n.grad for n in order[: session.walk.position]] == [
                expected[n.id] for n in order[: session.walk.position]
            ]
            shown = inspector(app)
            total = 0
            for term in session.terms(node):
                assert term_text(term.local_grad, term.consumer_grad, term.value) in shown
                assert f"(from #{term.consumer.id} {term.consumer.op})" in shown
                total += term.value
            if node is not session.root:
                assert total == node.grad  # the terms, summed in order, are the grad
            # what this step passed on is the term the inspector shows
            for child, local in zip(node._children, node._local_grads):
                if key == "s":
                    assert child.grad == before[child.id] + local * node.grad
                assert f"#{child.id}.{term_text(local, node.grad, local * node.grad)}" in shown


async def test_head_focused_stepping_stops_only_inside_the_head(data: Path) -> None:
    head = "pos1.layer0.attn.head1"
    sizes = {"n_embd": 8, "n_head": 4}  # a small head: 37 nodes
    expected = reference_grads(data, pos=1, **sizes)
    app = make_app(data, sizes, pos=1)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        # b, then / to find the head, enter to select it, F to focus it
        await press(pilot, "b", "slash")
        await pilot.press(*head)
        await settle(pilot)
        await press(pilot, "enter")
        assert app.selected_scope == head
        await press(pilot, "F")
        session = app.session
        assert session.focus == head and f"focus ◎ {head}" in status(app)
        stops = 0
        while not session.walk.done:
            await press(pilot, "s")
            current = session.walk.current
            if current.scope == head or current.scope.startswith(head + "."):
                assert current.grad == expected[current.id]
                stops += 1
            else:
                assert session.walk.done  # after the head's last node: on to the end
            assert stops < 1000
        assert stops == session.find_scope(head).total  # one stop at every node of the head
        assert [n.grad for n in session.nodes] == expected


async def test_focus_key_toggles_and_breakpoint_stops_continue(data: Path) -> None:
    app = make_app(data)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        session = app.session
        await press(pilot, "b", "s", "s", "s")
        scope = session.walk.where()
        await press(pilot, "F")
        assert session.focus == scope
        await press(pilot, "F")
        assert session.focus is None
        app.select_scope("pos4.lm_head")
        await press(pilot, "B")
        assert session.breakpoints == {"pos4.lm_head"}
        await press(pilot, "c")
        assert session.walk.current.scope.startswith("pos4.lm_head")
        assert "● 1 breakpoint" in status(app)


async def test_step_back_restores_exactly(data: Path) -> None:
    app = make_app(data)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        session = app.session
        await press(pilot, "b")
        start = [n.grad for n in session.nodes]
        moves = ["s", "n", "s", "o", "n", "c"]
        states = []
        for key in moves:
            states.append((session.walk.position, [n.grad for n in session.nodes]))
            await press(pilot, key)
        assert session.walk.done
        for position, grads in reversed(states):
            await press(pilot, "p")
            assert session.walk.position == position
            assert [n.grad for n in session.nodes] == grads
        assert [n.grad for n in session.nodes] == start
        await press(pilot, "p")
        assert "nothing to undo" in status(app)


# -- looking around -----------------------------------------------------------------------------


async def test_go_to_inspects_without_moving_the_cursor(data: Path) -> None:
    app = make_app(data)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await press(pilot, "s", "s", "g")
        await pilot.press(*"5000", "enter")
        await settle(pilot)
        assert app.inspected == 5000 and app.session.walk.position == 2
        assert "#5000" in str(app.query_one(Inspector).border_title)
        assert "inspecting #5000" in status(app)
        assert app.query_one(GraphView).centre_id == 5000
        await press(pilot, "escape")
        assert app.inspected is None and "inspecting" not in status(app)


async def test_clicking_a_graph_row_inspects_that_node(data: Path) -> None:
    app = make_app(data)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await press(pilot, "b", "s")
        graph = app.query_one(GraphView)
        root = app.session.root
        row = next(i for i, r in enumerate(graph.rows) if r.node_id == root._children[0].id)
        await pilot.click(GraphView, offset=(20, row - graph.scroll_offset.y + 1))
        await settle(pilot)
        assert app.inspected == root._children[0].id
        assert app.session.walk.position == 1


async def test_clicking_a_scope_selects_it_and_its_first_node(data: Path) -> None:
    app = make_app(data)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        tree = app.query_one(ScopeTree)
        line = next(i for i, tn in enumerate(tree._tree_lines) if tn.node.data == "pos2")
        await pilot.click(ScopeTree, offset=(6, line - tree.scroll_offset.y + 1))
        await settle(pilot)
        assert app.selected_scope == "pos2"
        assert app.inspected == app.session.find_scope("pos2").first_id


async def test_graph_expands_lazily_and_caps_depth_on_a_deep_chain() -> None:
    """A chain 3,000 deep: the graph opens, expands to the cap, and never recurses."""
    trace = Trace()
    with trace.recording():
        x = Value(1.0)
        for _ in range(3000):
            x = x * 1.0001
    capture = Capture(trace, x)
    model = SimpleNamespace(state_dict={}, config=None)
    session = DebugSession.from_capture(capture, model)
    ws = Workspace(model, None, "a chain")  # type: ignore[arg-type]
    app = DebuggerApp(ws, session, doc="", cursor_blink=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await press(pilot, "b")
        graph = app.query_one(GraphView)
        graph.focus()
        await pilot.pause()
        await press(pilot, "down", "right", "down", "right")  # the keys expand
        assert max(r.depth for r in graph.rows) == 3
        for _ in range(MAX_DEPTH + 5):  # down the chain, expanding as we go
            graph.action_cursor(1)
            graph.action_expand()
        await settle(pilot)
        assert max(r.depth for r in graph.rows) == MAX_DEPTH
        await press(pilot, "c")
        assert app.session.walk.done


# -- choosing what to debug ---------------------------------------------------------------------


async def test_choosing_another_position_rebuilds_the_trace(data: Path) -> None:
    app = make_app(data)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        old = app.session
        await press(pilot, "d")
        pos_field = app.screen.query_one("#pos")
        pos_field.value = "2"
        await press(pilot, "enter")
        assert app.session is not old and app.session.pos == 2
        assert len(app.session.nodes) < len(old.nodes)
        assert "position 2" in status(app) and "step 0 / " in status(app)
        expected = reference_grads(data, pos=2)
        await press(pilot, "b", "c")
        assert [n.grad for n in app.session.nodes] == expected
        # "all": the document's mean loss over every position
        await press(pilot, "d")
        app.screen.query_one("#pos").value = "all"
        await press(pilot, "enter")
        assert app.session.pos is None and "every position" in status(app)


async def test_choosing_a_checkpoint_debugs_that_model(data: Path, tmp_path: Path) -> None:
    checkpoint = tmp_path / "smaller.json"
    save_checkpoint(checkpoint, to_checkpoint(workspace(data, n_embd=8, n_head=2)))
    app = make_app(data)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await press(pilot, "d")
        app.screen.query_one("#checkpoint").value = str(checkpoint)
        await press(pilot, "enter")
        assert app.workspace.source == str(checkpoint)
        assert app.session.model.config.n_embd == 8 and str(checkpoint) in status(app)


async def test_bad_choice_is_an_error_notification_and_keeps_the_session(data: Path) -> None:
    app = make_app(data)
    errors: list[str] = []
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        original_notify = app.notify

        def notify(message, *args, severity="information", **kwargs):
            if severity == "error":
                errors.append(message)
            return original_notify(message, *args, severity=severity, **kwargs)

        app.notify = notify  # type: ignore[method-assign]
        old = app.session
        await press(pilot, "d")
        app.screen.query_one("#doc").value = "zoë"
        await press(pilot, "enter")
        assert app.session is old
        assert errors and "ë" in errors[-1]
        await press(pilot, "d")
        app.screen.query_one("#checkpoint").value = "/no/such/checkpoint.json"
        await press(pilot, "enter")
        assert app.session is old and len(errors) == 2
        await press(pilot, "s")
        assert old.walk.position == 1  # still stepping the old session


# -- screens and palette ------------------------------------------------------------------------


async def test_help_screen_explains_head_focused_backprop(data: Path) -> None:
    app = make_app(data)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await press(pilot, "question_mark")
        from microgpt_tui.screens.help import HELP, HelpScreen

        assert isinstance(app.screen, HelpScreen)
        assert "Single-step backprop through one attention head" in HELP
        await press(pilot, "s")  # the debugger's keys are off while help is up
        assert app.session.walk.position == 0
        await press(pilot, "escape")
        assert not isinstance(app.screen, HelpScreen)


async def test_command_palette_focuses_a_scope(data: Path) -> None:
    app = make_app(data)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await press(pilot, "ctrl+p")
        await pilot.press(*f"focus scope {HEAD}")
        # the palette searches in the background: wait until the best hit is this one
        for _ in range(200):
            results = app.screen.query(CommandList)
            if results and results.first().option_count:
                best = str(results.first().get_option_at_index(0).prompt)
                if "Focus scope" in best and HEAD in best:
                    break
            await pilot.pause(0.05)
        await press(pilot, "enter")
        await settle(pilot)
        assert app.session.focus == HEAD


async def test_command_palette_offers_scopes_parameters_phases_and_documents(data: Path) -> None:
    app = make_app(data)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        provider = DebuggerCommands(app.screen)

        async def hits(query: str) -> dict[str, object]:
            return {str(hit.text): hit.command async for hit in provider.search(query)}

        assert f"Focus scope {HEAD}" in await hits("focus head1")
        assert f"Go to scope {HEAD}" in await hits("go to scope head1")
        first = app.session.nodes[0]  # a parameter this graph uses
        found = await hits(first.label)
        found[f"Go to parameter {first.label}"]()
        assert app.inspected == first.id
        assert "Switch to the backward phase" in await hits("backward")
        assert {"Choose document…", "Choose position…"} <= set(await hits("choose"))
        assert "Export…" in await hits("export")
        found = await hits("matrix layer0.attn_wq")
        found["Go to parameter matrix layer0.attn_wq"]()
        await settle(pilot)
        assert app.query_one("#tabs", TabbedContent).active == "parameters"


async def test_focus_scope_picker_lists_scopes_and_focuses_the_chosen_one(data: Path) -> None:
    app = make_app(data)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        app.action_pick_focus()  # the palette's "Focus scope…"
        await pilot.pause()
        await app.workers.wait_for_complete()  # the search runs in a worker
        await pilot.pause()
        results = app.screen.query_one("#find-results")
        assert results.option_count > 10  # every scope, before typing anything
        await pilot.press(*"attn.head1")
        with contextlib.suppress(WorkerCancelled):  # each key supersedes the last search
            await app.workers.wait_for_complete()
        await pilot.pause()
        await press(pilot, "enter")
        assert app.session.focus == HEAD  # (earlier positions feed it keys and values only)


async def test_export_key_opens_export_or_says_it_is_not_available(data: Path) -> None:
    app = make_app(data)
    messages: list[str] = []
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        app.notify = lambda message, *a, **k: messages.append(message)  # type: ignore[method-assign]
        await press(pilot, "e")
        try:
            from microgpt_tui.screens.export import ExportScreen
        except ImportError:
            assert messages == ["export not available"]
        else:
            assert isinstance(app.screen, ExportScreen)
