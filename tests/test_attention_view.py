"""The attention view: per layer, each head's weights over positions 0..pos as labelled bars,
pending in the forward phase until the replay reveals them; driven through Pilot."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from textual.app import App, ComposeResult

from engine.session import DebugSession
from engine.workspace import open_workspace
from microgpt_tui.messages import NodeSelected
from microgpt_tui.widgets.attention import LABEL_WIDTH, AttentionView

NAMES = "emma\nolivia\nava\nisabella\nsophia\nmia\ncharlotte\namelia\nharper\nevelyn\n"
SIZE = (130, 50)


@pytest.fixture
def data(tmp_path: Path) -> str:
    path = tmp_path / "names.txt"
    path.write_text(NAMES)
    return str(path)


def make_session(data: str, doc: str = "emma", **kw) -> DebugSession:
    """A fresh two-layer model, so that "per layer" means something."""
    ws = open_workspace(seed=42, data=data, n_layer=2)
    return DebugSession(ws.model, ws.tokenizer, doc, **kw)


class Host(App):
    """Just the attention view, fed one session; records what it posts."""

    def __init__(self, session: DebugSession) -> None:
        super().__init__()
        self.session = session
        self.selected: list[int] = []

    def compose(self) -> ComposeResult:
        yield AttentionView()

    def on_mount(self) -> None:
        self.query_one(AttentionView).show(self.session)

    def on_node_selected(self, message: NodeSelected) -> None:
        self.selected.append(message.node_id)


def parse(view: AttentionView) -> dict[int, list[tuple[int, str, list[str]]]]:
    """The screen read back: layer -> rows of (position, character, one cell per head)."""
    layers: dict[int, list[tuple[int, str, list[str]]]] = {}
    layer = None
    for y in range(1, view.size.height):
        text = view.render_line(y).text
        if text.startswith("layer "):
            layer = int(text.split()[1])
            layers[layer] = []
        elif text.strip() and layer is not None:
            label, cells = text[:LABEL_WIDTH], text[LABEL_WIDTH:]
            t, char = label.removeprefix("▸").split()
            # each head's cell starts with its weight (or the pending dot) before the bar
            weights = [cell.split()[0] for cell in cells.split("  ") if cell.strip()]
            weights = [w for w in weights if w[0].isdigit() or w == "·"]
            layers[layer].append((int(t), char, weights))
    return layers


async def test_each_layer_shows_every_head_over_positions_0_to_pos(data: str) -> None:
    # GIVEN a session at the last position of "emma", forward pass computed
    session = make_session(data)
    session.walk.run_to_end()
    pos = session.pos
    config = session.model.config
    app = Host(session)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        view = app.query_one(AttentionView)
        layers = parse(view)
        # THEN one block per layer, pos + 1 rows, one bar per head in each row
        assert sorted(layers) == list(range(config.n_layer))
        expected = session.attention(pos)
        for li, rows in layers.items():
            assert [t for t, _, _ in rows] == list(range(pos + 1))
            for t, char, weights in rows:
                # labelled with the input character at t
                assert char == session.tokenizer.token_text(session.tokens[t])
                assert len(weights) == config.n_head
                for h, shown in enumerate(weights):
                    assert shown == f"{expected[li][h][t].data:.3f}"
            # each head's weights over the cached positions sum to 1
            for h in range(config.n_head):
                shown_sum = sum(float(weights[h]) for _, _, weights in rows)
                assert math.isclose(shown_sum, 1.0, abs_tol=0.0005 * (pos + 1))
                assert math.isclose(sum(w.data for w in expected[li][h]), 1.0, rel_tol=1e-12)
        # the query row is marked, and the title says which characters these are
        assert view.render_line(1 + 1 + pos).text.startswith("▸")
        here, target = session.token_text(pos)
        assert f"position {pos}: {here} → {target}" in view.render_line(0).text


async def test_bars_grow_with_the_weights(data: str) -> None:
    session = make_session(data)
    session.walk.run_to_end()
    app = Host(session)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        view = app.query_one(AttentionView)
        head = session.attention()[0][0]
        lengths = []
        for t, weight in enumerate(head):
            text = view.render_line(2 + t).text[LABEL_WIDTH:]
            bar = text.split(" ", 1)[1][: view._bar_width()]
            lengths.append((weight.data, len(bar.rstrip())))
        lengths.sort()
        assert [n for _, n in lengths] == sorted(n for _, n in lengths)


async def test_forward_phase_shows_unrevealed_weights_as_pending(data: str) -> None:
    session = make_session(data)
    pos = session.pos
    first = session.attention(pos)[0][0]  # layer 0, head 0
    app = Host(session)
    async with app.run_test(size=SIZE) as pilot:
        view = app.query_one(AttentionView)
        await pilot.pause()
        # before the replay: everything pending
        layers = parse(view)
        assert all(w == "·" for rows in layers.values() for _, _, ws in rows for w in ws)
        assert "0/" in view.render_line(0).text
        # WHEN the replay reveals layer 0 head 0's weights up to position 1
        session.walk.run_to(first[1].id + 1)
        view.refresh_state()
        await pilot.pause()
        layers = parse(view)
        head0 = [ws[0] for _, _, ws in layers[0]]
        # THEN exactly those show, the rest stay pending
        assert head0[:2] == [f"{first[0].data:.3f}", f"{first[1].data:.3f}"]
        assert all(w == "·" for w in head0[2:])
        assert all(w == "·" for _, _, ws in layers[1] for w in ws)
        # and once the forward pass is done, none is pending
        session.walk.run_to_end()
        view.refresh_state()
        await pilot.pause()
        assert all(w != "·" for rows in parse(view).values() for _, _, ws in rows for w in ws)


async def test_set_position_follows_another_position(data: str) -> None:
    # a whole-document session has every position's attention
    session = make_session(data, whole_document=True)
    session.walk.run_to_end()
    app = Host(session)
    async with app.run_test(size=SIZE) as pilot:
        view = app.query_one(AttentionView)
        await pilot.pause()
        last = len(session.tokens) - 2
        assert view.shown_position == last
        view.set_position(1)
        await pilot.pause()
        layers = parse(view)
        assert [[t for t, _, _ in rows] for rows in layers.values()] == [[0, 1], [0, 1]]
        assert layers[0][1][1] == "e"
        view.set_position(None)
        await pilot.pause()
        assert view.shown_position == last


async def test_attention_outside_the_graph_says_so(data: str) -> None:
    # position 4's loss uses position 1's layer-0 attention (through the layer-1 keys
    # and values at 1) but none of its last layer's
    session = make_session(data)
    session.walk.run_to_end()
    app = Host(session)
    async with app.run_test(size=SIZE) as pilot:
        view = app.query_one(AttentionView)
        view.set_position(1)
        await pilot.pause()
        layers = parse(view)
        assert [t for t, _, _ in layers[0]] == [0, 1]
        assert layers[1] == []
        heading = next(
            view.render_line(y).text
            for y in range(view.size.height)
            if view.render_line(y).text.startswith("layer 1")
        )
        assert "not in this graph" in heading
    # with one layer, nothing at position 1 feeds position 4's loss
    ws = open_workspace(seed=42, data=data)
    one_layer = DebugSession(ws.model, ws.tokenizer, "emma")
    app = Host(one_layer)
    async with app.run_test(size=SIZE) as pilot:
        view = app.query_one(AttentionView)
        view.set_position(1)
        await pilot.pause()
        assert not view.available
        assert "not in this graph" in view.render_line(0).text


async def test_clicking_a_weight_selects_its_node(data: str) -> None:
    session = make_session(data)
    session.walk.run_to_end()
    app = Host(session)
    async with app.run_test(size=SIZE) as pilot:
        view = app.query_one(AttentionView)
        await pilot.pause()
        column = view._bar_width() + 6 + 2  # a head's width: weight, bar, gap
        # head 2 of layer 0, position 3 (line 0 title, line 1 heading, then positions)
        await pilot.click(AttentionView, offset=(LABEL_WIDTH + 2 * column + 1, 2 + 3))
        await pilot.pause()
        assert app.selected == [session.attention()[0][2][3].id]


@pytest.mark.slow
async def test_random_keys_clicks_and_positions_never_raise(data: str) -> None:
    import random

    session = make_session(data, whole_document=True)
    rng = random.Random(5)
    app = Host(session)
    async with app.run_test(size=(90, 24)) as pilot:
        view = app.query_one(AttentionView)
        view.focus()
        for i in range(60):
            if i % 8 == 0:
                view.set_position(rng.choice([None, 0, 1, 2, 3, 4]))
                session.walk.run_to(session.walk.position + 400)
                view.refresh_state()
            if rng.random() < 0.4:
                await pilot.click(AttentionView, offset=(rng.randrange(90), rng.randrange(24)))
            else:
                await pilot.press(rng.choice(["up", "down", "pagedown", "home", "end", "right"]))
        assert all(node_id < len(session.nodes) for node_id in app.selected)
