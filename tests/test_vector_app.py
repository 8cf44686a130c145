"""The app at vector level, driven with Pilot: the level key, vector steps through the controller,
the vector panel and inspector, numbers on demand, drilling down to the scalars and back."""

from __future__ import annotations

import contextlib
import threading
from pathlib import Path

import pytest
from textual.worker import WorkerCancelled

from engine.session import DebugSession
from engine.vector import SCALAR, VECTOR
from engine.workspace import open_workspace
from microgpt_tui.app import DebuggerApp
from microgpt_tui.widgets import GraphView, Inspector, StatusLine
from microgpt_tui.widgets.member_graph import MemberGraph
from microgpt_tui.widgets.vector_inspector import VectorInspector
from microgpt_tui.widgets.vector_panel import VectorPanel
from microgpt_tui.widgets.vector_rows import BARS, NUMBER, OP

NAMES = "emma\nolivia\nava\nisabella\nsophia\nmia\n"
HEAD = "pos4.layer0.attn.head1"


@pytest.fixture(autouse=True)
def offline(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("MICROGPT_TUI_OFFLINE", "1")
    monkeypatch.setenv("MICROGPT_TUI_CACHE_DIR", str(tmp_path / "cache"))


@pytest.fixture
def app(tmp_path: Path) -> DebuggerApp:
    data = tmp_path / "names.txt"
    data.write_text(NAMES)
    return DebuggerApp(open_workspace(seed=42, data=str(data)), cursor_blink=False)


async def settle(pilot) -> None:
    app = pilot.app
    for _ in range(2000):
        if not app.busy:
            await pilot.pause()
            return
        with contextlib.suppress(WorkerCancelled):
            await app.workers.wait_for_complete()
        await pilot.pause()
    raise AssertionError("the app never became idle")


async def press(pilot, *keys: str) -> None:
    for key in keys:
        await pilot.press(key)
        await settle(pilot)


async def in_the_head(pilot, *keys: str) -> None:
    """Settle, `b`, `v`, select head 1 and focus it (`F`), then `keys`."""
    await settle(pilot)
    await press(pilot, "b", "v")
    pilot.app.select_scope(HEAD)
    await press(pilot, "F", *keys)


def state(session: DebugSession) -> tuple:
    return (
        session.forward.position,
        session.backward.position,
        [n.data for n in session.nodes],
        [n.grad for n in session.nodes],
    )


def twin_of(app: DebuggerApp) -> DebugSession:
    """The same graph, built again from the app's own model: a scalar stepper to compare with."""
    session = app.session
    assert session is not None
    return DebugSession(app.debugger.workspace.model, session.tokenizer, session.doc, session.pos)


async def test_v_switches_the_panels_and_changes_no_value_and_no_grad(app: DebuggerApp) -> None:
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await press(pilot, "b", "s", "s", "s")
        session = app.session
        before = state(session)
        screen = app.debugger
        graph, panel = screen.query_one(GraphView), screen.query_one(VectorPanel)
        assert graph.display and not panel.display and session.level == SCALAR
        await press(pilot, "v")
        assert session.level == VECTOR and panel.display and not graph.display
        assert screen.query_one(VectorInspector).display and not screen.query_one(Inspector).display
        assert "VECTORS" in screen.query_one(StatusLine).text
        assert state(session) == before
        await press(pilot, "v")
        assert session.level == SCALAR and graph.display and not panel.display
        assert state(session) == before


async def test_each_vector_stop_in_the_app_is_the_scalar_steppers_state(app: DebuggerApp) -> None:
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await press(pilot, "b", "v")
        session = app.session
        twin = twin_of(app)
        twin.move("backward")
        moves = threading.get_ident(), set()
        original = session.move

        def recorded(name: str):
            moves[1].add(threading.get_ident())
            return original(name)

        session.move = recorded  # type: ignore[method-assign]
        stops, before = 0, [state(session)]
        while not session.backward.done:
            await press(pilot, "s")
            op = session.vectors.current.completed_op
            while twin.backward.position < session.backward.position:
                assert twin.move("step").nodes == 1
            assert state(twin)[1:] == state(session)[1:]
            stops += op is not None
            before.append(state(session))
        assert stops == len(session.vectors.graph.ops)
        assert moves[0] not in moves[1]  # every move ran off the UI thread
        before.pop()
        while before:  # p undoes each vector step exactly
            await press(pilot, "p")
            assert state(session) == before.pop()


async def test_a_focused_head_takes_three_presses_on_the_default_model() -> None:
    app = DebuggerApp(open_workspace(), cursor_blink=False)  # the shipped default model
    async with app.run_test(size=(120, 40)) as pilot:
        await in_the_head(pilot)
        session = app.session
        inspector = app.debugger.query_one(VectorInspector)
        seen, presses = [], 0
        while True:
            await press(pilot, "s")
            presses += 1
            op = session.vectors.current.completed_op
            if op is None or not op.scope.startswith(HEAD):
                break
            seen.append(op.name)
            assert inspector.op is op and app.debugger.query_one(VectorPanel).scope == HEAD
        assert seen == ["Σ w·v", "softmax", "q·k/√d"] and presses - 1 <= 15


async def test_the_panel_shows_the_head_as_vectors_with_the_current_op_marked(
    app: DebuggerApp,
) -> None:
    async with app.run_test(size=(120, 40)) as pilot:
        await in_the_head(pilot, "s", "s")
        panel = app.debugger.query_one(VectorPanel)
        assert panel.scope == HEAD
        ops = [row.op.name for row in panel.rows if row.kind == OP]
        assert ops == ["q·k/√d", "softmax", "Σ w·v"]
        assert panel.current is not None and panel.current.name == "softmax"
        text = panel.text
        assert "▶ └─ softmax  ✓ done" in text and "attn_weights" in text
        assert any(bar in text for bar in BARS) and "k[4:8] · pos 0–4" in text
        inspector = app.debugger.query_one(VectorInspector).text
        assert "∂L/∂attn_logits = w ⊙ (g − Σ w·g)" in inspector
        assert "largest difference" in inspector or "bit for bit" in inspector
        gradient = app.debugger.query_one(VectorInspector).gradient
        assert gradient is not None and gradient.largest_difference() < 1e-15


async def test_numbers_on_demand_and_drilling_down_to_the_scalars_and_back(
    app: DebuggerApp,
) -> None:
    async with app.run_test(size=(120, 40)) as pilot:
        await in_the_head(pilot, "s")
        screen = app.debugger
        panel = screen.query_one(VectorPanel)
        panel.focus()
        at = next(i for i, row in enumerate(panel.rows) if row.box and row.box.title == "head_out")
        panel.set_cursor(at)
        await press(pilot, "right")
        numbers = [row for row in panel.rows if row.kind == NUMBER]
        assert [row.box.members[row.member] for row in numbers] == numbers[0].box.members
        await press(pilot, "left")
        assert not any(row.kind == NUMBER for row in panel.rows)
        head_out = panel.rows[panel.cursor].box.members
        session = app.session
        await press(pilot, "enter")
        graph = screen.query_one(MemberGraph)
        assert graph.display and not panel.display and graph.has_focus
        assert not screen.query_one("#graph").display
        listed = [row.node_id for row in graph.rows if row.kind == "node"]
        assert listed == [m.id for m in head_out]
        assert screen.query_one(Inspector).display
        assert screen.controller.inspected == head_out[0].id
        await press(pilot, "down")
        assert screen.controller.inspected == head_out[1].id
        await press(pilot, "escape")
        assert panel.display and not graph.display and panel.has_focus
        await press(pilot, "v")  # back to scalars: the graph panel centred on the cursor
        assert screen.query_one("#graph").display and not graph.display
        assert screen.query_one("#graph", GraphView).centre_id == session.cursor_node().id
        assert screen.controller.inspected is None


async def test_picking_a_row_inspects_its_op_and_a_step_follows_the_walk_again(
    app: DebuggerApp,
) -> None:
    async with app.run_test(size=(120, 40)) as pilot:
        await in_the_head(pilot, "s")
        screen = app.debugger
        panel, inspector = screen.query_one(VectorPanel), screen.query_one(VectorInspector)
        assert inspector.op.name == "Σ w·v"
        panel.focus()
        at = next(i for i, row in enumerate(panel.rows) if row.kind == OP)
        panel.set_cursor(at)  # the first op of the head: q·k/√d
        await settle(pilot)
        assert inspector.op.name == "q·k/√d" and "not reached yet" in inspector.text
        await press(pilot, "s")
        assert inspector.op.name == "softmax"


async def test_the_forward_phase_steps_by_ops_at_vector_level(app: DebuggerApp) -> None:
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await press(pilot, "v", "s", "s")
        session = app.session
        ops = session.vectors.graph.ops
        assert session.forward.position == ops[1].stop
        assert app.debugger.query_one(VectorInspector).op is ops[1]
        assert "evaluated in the backward phase" in app.debugger.query_one(VectorInspector).text
        await press(pilot, "p")
        assert session.forward.position == ops[0].stop


async def test_the_panel_paints_the_grads_as_they_are_after_each_move(app: DebuggerApp) -> None:
    async with app.run_test(size=(120, 40)) as pilot:
        await in_the_head(pilot, "s")
        panel = app.debugger.query_one(VectorPanel)
        before = panel.text
        await press(pilot, "s")  # the softmax: its input's grads arrive
        after = panel.text
        assert after != before
        logits = next(line for line in after.splitlines() if "attn_logits" in line)
        assert "g ·····" not in logits and "g ·····" in before.split("attn_logits")[1]
        await press(pilot, "p")
        assert panel.text == before


async def test_picking_an_op_of_an_inner_scope_keeps_the_panel_where_it_is(
    app: DebuggerApp,
) -> None:
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await press(pilot, "b", "v")
        panel = app.debugger.query_one(VectorPanel)
        while panel.scope != "pos4.layer0.attn":  # (the attention block's own ops: W_o…)
            await press(pilot, "s")
        panel.focus()
        at = next(i for i, r in enumerate(panel.rows) if r.kind == OP and r.op.name == "softmax")
        panel.set_cursor(at)
        await settle(pilot)
        inspector = app.debugger.query_one(VectorInspector)
        assert inspector.op.name == "softmax" and inspector.op.scope.endswith("head0.softmax")
        assert panel.scope == "pos4.layer0.attn" and panel.cursor == at


def painted(widget) -> list[str]:
    """The lines a widget paints now (its visible content)."""
    return [widget.render_line(y).text for y in range(widget.scrollable_content_region.height)]


@pytest.mark.parametrize("size", [(120, 40), (80, 24)], ids=["120x40", "80x24"])
async def test_the_vector_inspector_paints_its_lines_whole(app: DebuggerApp, size) -> None:
    """Lines wrap to the width (as the scalar inspector's), never cut; scrolling reaches all."""
    async with app.run_test(size=size) as pilot:
        await in_the_head(pilot, "s", "s")
        inspector = app.debugger.query_one(VectorInspector)
        assert inspector.op.name == "softmax" and inspector.display
        width = inspector.scrollable_content_region.width
        assert all(sum(len(text) for text, _ in row) <= width for row in inspector.rows)
        on_screen = []
        for top in range(0, len(inspector.rows), inspector.scrollable_content_region.height):
            inspector.scroll_to(y=top, animate=False)
            await settle(pilot)
            on_screen += painted(inspector)
        shown = " ".join(" ".join(on_screen).split())
        for line in inspector.lines:  # every number of every line, where it can be read
            assert " ".join("".join(text for text, _ in line).split()) in shown


async def test_root_here_then_the_vector_level_steps_and_paints(app: DebuggerApp) -> None:
    """On a rerooted session (ids with gaps) the panel and inspector show each op."""
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        session = app.session
        node = next(n for n in reversed(session.nodes) if n.scope == "pos3.layer0.attn")
        app.inspect_node(node.id)
        await press(pilot, "r", "v", "s", "s")
        rooted = app.session
        assert rooted is not session and rooted.nodes[-1].id != len(rooted.nodes) - 1
        assert rooted.level == VECTOR and rooted.vectors.current.completed_op is not None
        op = rooted.vectors.current.completed_op
        screen = app.debugger
        panel, inspector = screen.query_one(VectorPanel), screen.query_one(VectorInspector)
        assert panel.display and inspector.display and inspector.op is op
        assert op.name in panel.text and any("✓ done" in line for line in painted(panel))
        assert f"#{op.first_id}…#{op.last_id}" in " ".join(painted(inspector))
        twin = DebugSession(screen.workspace.model, session.tokenizer, session.doc, session.pos)
        twin = twin.rerooted(twin.node(node.id))
        twin.set_phase("backward")
        while twin.backward.position < rooted.backward.position:
            twin.move("step")
        assert [n.grad for n in twin.nodes] == [n.grad for n in rooted.nodes]
