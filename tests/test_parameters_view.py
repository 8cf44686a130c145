"""The parameters view: a virtual list sortable by |grad| and by name, filterable by matrix,
with a heatmap of one matrix's gradient, driven through Pilot in a tiny host app."""

from __future__ import annotations

import random
from pathlib import Path
from types import SimpleNamespace

import pytest
from rich.style import Style
from textual.app import App, ComposeResult
from textual.strip import Strip
from textual.widgets import Select

from engine.config import GPTConfig
from engine.model import GPT
from engine.session import DebugSession
from engine.workspace import open_workspace
from microgpt_tui.messages import NodeSelected
from microgpt_tui.widgets.heatmap import HEADER_LINES, GradHeatmap
from microgpt_tui.widgets.parameters import LARGE_VIEW, ParameterList, ParametersView

NAMES = "emma\nolivia\nava\nisabella\nsophia\nmia\ncharlotte\namelia\nharper\nevelyn\n"
SIZE = (140, 44)


@pytest.fixture
def session(tmp_path: Path) -> DebugSession:
    data = tmp_path / "names.txt"
    data.write_text(NAMES)
    ws = open_workspace(seed=42, data=str(data))
    return DebugSession(ws.model, ws.tokenizer, "emma")


@pytest.fixture
def backward_done(session: DebugSession) -> DebugSession:
    session.set_phase("backward")
    session.walk.run_to_end()
    return session


class Host(App):
    """Just the parameters view, fed one session; records what it posts."""

    def __init__(self, session) -> None:
        super().__init__()
        self.session = session
        self.selected: list[int] = []

    def compose(self) -> ComposeResult:
        yield ParametersView()

    def on_mount(self) -> None:
        view = self.query_one(ParametersView)
        view.show(self.session)
        view.focus()  # hands focus to the list

    def on_node_selected(self, message: NodeSelected) -> None:
        self.selected.append(message.node_id)


def names_and_params(session) -> list[tuple[str, object]]:
    """Every parameter with its name, computed straight from the state_dict."""
    return [
        (f"{name}[{i}][{j}]", p)
        for name, mat in session.model.state_dict.items()
        for i, row in enumerate(mat)
        for j, p in enumerate(row)
    ]


def screen_text(widget) -> list[str]:
    return [widget.render_line(y).text for y in range(widget.size.height)]


def cells(line: str) -> list[str]:
    """A list line's columns: name, value, grad, [bar,] node (the current-node mark dropped)."""
    return line.removeprefix("▸").split()


def row_names(plist: ParameterList) -> list[str]:
    return [plist.index.name(k) for k in plist.order]


def in_graph(session, p) -> bool:
    pid = getattr(p, "id", None)
    return isinstance(pid, int) and 0 <= pid < len(session.nodes) and session.nodes[pid] is p


# -- sorting ------------------------------------------------------------------------------


async def test_sorting_by_grad_puts_the_largest_grad_first(backward_done: DebugSession) -> None:
    # GIVEN the grads of the whole backward pass
    expected = max(names_and_params(backward_done), key=lambda np: abs(np[1].grad))
    app = Host(backward_done)
    async with app.run_test(size=SIZE) as pilot:
        view = app.query_one(ParametersView)
        plist = view.parameter_list
        assert app.focused is plist
        assert view.sort_key == "model"
        # WHEN the user cycles the sort to |grad|
        await pilot.press("S", "S")
        assert view.sort_key == "grad"
        # THEN the first row is the parameter with the largest |grad|, and |grad| never grows
        first = plist.index.params[plist.order[0]]
        assert first is expected[1]
        assert row_names(plist)[0] == expected[0]
        magnitudes = [abs(plist.index.params[k].grad) for k in plist.order]
        assert magnitudes == sorted(magnitudes, reverse=True)
        assert len(plist.order) == len(names_and_params(backward_done))
        # and the screen shows it on the first row, with its grad
        lines = screen_text(plist)
        assert cells(lines[1])[0] == expected[0]
        assert f"{expected[1].grad:+.3e}" in lines[1]
        assert "|grad| ↓" in str(view.query_one("#parameters-header").render())


async def test_sorting_by_name_orders_matrices_alphabetically_and_indices_numerically(
    backward_done: DebugSession,
) -> None:
    app = Host(backward_done)
    async with app.run_test(size=SIZE) as pilot:
        view = app.query_one(ParametersView)
        await pilot.press("S")
        assert view.sort_key == "name"
        names = row_names(view.parameter_list)

        def natural(name: str) -> tuple:
            matrix, rest = name.split("[", 1)
            i, j = rest.rstrip("]").split("][")
            return matrix, int(i), int(j)

        assert names == sorted(names, key=natural)
        assert names[0].startswith("layer0.attn_wk[0][0]")
        # after |grad|, the cycle comes back to model order
        await pilot.press("S", "S")
        assert view.sort_key == "model"
        assert row_names(view.parameter_list) == [n for n, _ in names_and_params(backward_done)]


async def test_grad_order_follows_the_backward_pass(session: DebugSession) -> None:
    # GIVEN the list sorted by |grad| at the start of the backward pass (all grads 0)
    session.set_phase("backward")
    app = Host(session)
    async with app.run_test(size=SIZE) as pilot:
        view = app.query_one(ParametersView)
        view.sort_by("grad")
        await pilot.pause()
        plist = view.parameter_list
        assert all(plist.index.params[k].grad == 0 for k in plist.order)
        # WHEN the backward pass runs and the app refreshes
        session.walk.run_to_end()
        view.refresh_state()
        await pilot.pause()
        # THEN the order is redone with the new grads (a small view re-sorts at once)
        expected = max(names_and_params(session), key=lambda np: abs(np[1].grad))[1]
        assert plist.index.params[plist.order[0]] is expected
        assert not view.stale


# -- grads filling in ------------------------------------------------------------------------


async def test_grads_are_dots_in_forward_and_fill_in_during_backward(session: DebugSession) -> None:
    app = Host(session)
    async with app.run_test(size=SIZE) as pilot:
        view = app.query_one(ParametersView)
        plist = view.parameter_list
        # forward: every grad is shown as a dot
        rows = screen_text(plist)[1:10]
        assert all(cells(row)[2] == "·" for row in rows)
        # backward, before any step: grads are 0
        session.set_phase("backward")
        view.refresh_state()
        await pilot.pause()
        assert all(cells(row)[2] == "0" for row in screen_text(plist)[1:10])
        # halfway: some used parameter has a partial grad, drawn as such
        walk = session.walk
        walk.run_to(len(walk.order) // 2)
        view.refresh_state()
        await pilot.pause()
        for row, k in enumerate(plist.order[: plist.size.height - 1]):
            p = plist.index.params[k]
            shown = cells(plist.render_line(row + 1).text)[2]
            assert shown == (f"{p.grad:+.3e}" if p.grad else "0")
        # to the end: every grad shown equals backward()'s
        walk.run_to_end()
        view.refresh_state()
        await pilot.pause()
        for row, k in enumerate(plist.order[: plist.size.height - 1]):
            p = plist.index.params[k]
            assert cells(plist.render_line(row + 1).text)[2] == (
                f"{p.grad:+.3e}" if p.grad else "0"
            )


# -- filtering --------------------------------------------------------------------------------


async def test_filtering_by_matrix_shows_only_that_matrix(backward_done: DebugSession) -> None:
    state_dict = backward_done.model.state_dict
    matrices = list(state_dict)
    app = Host(backward_done)
    async with app.run_test(size=SIZE) as pilot:
        view = app.query_one(ParametersView)
        plist = view.parameter_list
        heatmap = view.heatmap
        assert not heatmap.display or view.matrix is None
        # ] twice: the second matrix
        await pilot.press("right_square_bracket", "right_square_bracket")
        assert view.matrix == matrices[1]
        rows, cols = len(state_dict[matrices[1]]), len(state_dict[matrices[1]][0])
        names = row_names(plist)
        assert len(names) == rows * cols
        assert all(name.startswith(matrices[1] + "[") for name in names)
        shown = [cells(line)[0] for line in screen_text(plist)[1:] if line.strip()]
        assert len(shown) == min(rows * cols, plist.size.height - 1)
        assert all(name.startswith(matrices[1] + "[") for name in shown)
        assert heatmap.display and heatmap.matrix_name == matrices[1]
        # the Select picks another; the sort is kept within the filter
        await pilot.press("S", "S")
        view.query_one(Select).value = "layer0.attn_wq"
        await pilot.pause()
        assert view.matrix == "layer0.attn_wq"
        params = [plist.index.params[k] for k in plist.order]
        wq = [p for row in state_dict["layer0.attn_wq"] for p in row]
        assert {id(p) for p in params} == {id(p) for p in wq}
        assert abs(params[0].grad) == max(abs(p.grad) for p in wq)
        # [ back to the previous one, and past the first: all parameters, no heatmap
        await pilot.press("left_square_bracket")
        assert view.matrix == matrices[matrices.index("layer0.attn_wq") - 1]
        view.set_matrix(None)
        await pilot.pause()
        assert len(plist.order) == len(names_and_params(backward_done))
        assert not heatmap.display


# -- picking a parameter ----------------------------------------------------------------------


async def test_enter_posts_node_selected_with_the_parameter_id(backward_done: DebugSession) -> None:
    app = Host(backward_done)
    async with app.run_test(size=SIZE) as pilot:
        view = app.query_one(ParametersView)
        view.sort_by("grad")
        await pilot.pause()
        await pilot.press("down", "down", "enter")
        await pilot.pause()
        plist = view.parameter_list
        param = plist.index.params[plist.order[2]]
        assert app.selected == [param.id]
        assert backward_done.nodes[param.id] is param


async def test_click_posts_node_selected_for_the_clicked_row(backward_done: DebugSession) -> None:
    app = Host(backward_done)
    async with app.run_test(size=SIZE) as pilot:
        plist = app.query_one(ParameterList)
        await pilot.click(ParameterList, offset=(4, 3))  # line 3: row 2, under the header
        await pilot.pause()
        assert plist.cursor == 2
        assert app.selected == [plist.index.params[plist.order[2]].id]


async def test_a_parameter_the_loss_does_not_use_is_not_posted(
    backward_done: DebugSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    unused = [(n, p) for n, p in names_and_params(backward_done) if not in_graph(backward_done, p)]
    assert unused, "a one-position loss leaves most token embeddings unused"
    name, param = unused[0]
    app = Host(backward_done)
    async with app.run_test(size=SIZE) as pilot:
        view = app.query_one(ParametersView)
        notes: list[str] = []
        monkeypatch.setattr(view.parameter_list, "notify", lambda text, **kw: notes.append(text))
        assert view.move_cursor_to(param)
        await pilot.press("enter")
        await pilot.pause()
        assert app.selected == []
        assert notes and name in notes[0] and "not used" in notes[0]
        line = view.parameter_list.cursor - round(view.parameter_list.scroll_y) + 1
        assert view.parameter_list.render_line(line).text.split()[-1] == "unused"


# -- the heatmap ------------------------------------------------------------------------------


def style_at(strip: Strip, x: int) -> Style:
    """The style of the cell at column x of a rendered line."""
    at = 0
    for segment in strip:
        if at <= x < at + segment.cell_length:
            return segment.style
        at += segment.cell_length
    raise IndexError(x)


def sign_of(color) -> int:
    """+1 for a reddish cell, -1 for a bluish one, 0 for the neutral grey."""
    r, _, b = color.triplet
    return (r > b + 20) - (b > r + 20)


def extreme_cells(matrix) -> list[tuple[int, int]]:
    """The cells with the largest positive and negative grads, and a few strong others."""
    cells = [(i, j) for i, row in enumerate(matrix) for j, _ in enumerate(row)]
    cells.sort(key=lambda c: matrix[c[0]][c[1]].grad)
    return cells[:3] + cells[-3:]


async def test_heatmap_colours_follow_the_sign_of_the_grads(backward_done: DebugSession) -> None:
    name = "layer0.attn_wq"
    matrix = backward_done.model.state_dict[name]
    app = Host(backward_done)
    async with app.run_test(size=SIZE) as pilot:
        view = app.query_one(ParametersView)
        view.set_matrix(name)
        await pilot.pause()
        heatmap = view.heatmap
        layout = heatmap._layout
        assert layout.rows_per_line == 1  # 16 rows fit: one line per row
        checked = 0
        for i, j in extreme_cells(matrix):
            grad = matrix[i][j].grad
            assert grad != 0
            strip = heatmap.render_line(HEADER_LINES + i)
            style = style_at(strip, layout.gutter + j * layout.cell_width)
            assert sign_of(style.bgcolor) == (1 if grad > 0 else -1), (i, j, grad)
            checked += 1
        assert checked == 6
        # the strongest cell has the full colour: the legend's scale is the max |grad|
        assert heatmap.scale == max(abs(p.grad) for row in matrix for p in row)
        assert f"+{heatmap.scale:.1e}" in heatmap.render_line(1).text


async def test_tall_matrix_heatmap_packs_two_rows_per_line(backward_done: DebugSession) -> None:
    name = "layer0.mlp_fc1"  # 64 × 16: taller than the pane, so half blocks
    matrix = backward_done.model.state_dict[name]
    app = Host(backward_done)
    async with app.run_test(size=SIZE) as pilot:
        view = app.query_one(ParametersView)
        view.set_matrix(name)
        await pilot.pause()
        heatmap = view.heatmap
        layout = heatmap._layout
        assert layout.rows_per_line == 2
        for i, j in extreme_cells(matrix):
            grad = matrix[i][j].grad
            line = i // 2
            heatmap.scroll_to(y=line, animate=False, immediate=True)
            await pilot.pause()
            top = round(heatmap.scroll_y)
            strip = heatmap.render_line(HEADER_LINES + line - top)
            style = style_at(strip, layout.gutter + j)
            color = style.color if i % 2 == 0 else style.bgcolor  # ▀: upper row is foreground
            assert sign_of(color) == (1 if grad > 0 else -1), (i, j, grad)


async def test_heatmap_is_neutral_in_the_forward_phase(session: DebugSession) -> None:
    app = Host(session)
    async with app.run_test(size=SIZE) as pilot:
        view = app.query_one(ParametersView)
        view.set_matrix("layer0.attn_wq")
        await pilot.pause()
        heatmap = view.heatmap
        assert "no grads in the forward phase" in heatmap.render_line(1).text
        strip = heatmap.render_line(HEADER_LINES)
        colours = {style_at(strip, heatmap._layout.gutter + 2 * j).bgcolor for j in range(16)}
        assert len(colours) == 1 and sign_of(colours.pop()) == 0


async def test_heatmap_click_moves_the_list_cursor(backward_done: DebugSession) -> None:
    app = Host(backward_done)
    async with app.run_test(size=SIZE) as pilot:
        view = app.query_one(ParametersView)
        view.set_matrix("layer0.attn_wq")
        await pilot.pause()
        layout = view.heatmap._layout
        await pilot.click(
            GradHeatmap, offset=(layout.gutter + 3 * layout.cell_width, HEADER_LINES + 5)
        )
        await pilot.pause()
        plist = view.parameter_list
        assert plist.index.name(plist.current_row) == "layer0.attn_wq[5][3]"
        assert view.heatmap.marker == (5, 3)


async def test_wide_heatmap_scrolls_sideways_with_its_labels_in_place() -> None:
    big = big_session()
    name = "layer0.mlp_fc2"  # 64 × 256
    matrix = big.model.state_dict[name]
    app = Host(big)
    async with app.run_test(size=SIZE) as pilot:
        view = app.query_one(ParametersView)
        view.set_matrix(name)
        await pilot.pause()
        heatmap = view.heatmap
        layout = heatmap._layout
        assert (layout.rows_per_line, layout.cell_width) == (2, 1)
        assert heatmap.virtual_size.width == layout.gutter + 256
        assert heatmap.size.width < heatmap.virtual_size.width  # it has to scroll
        heatmap.scroll_to(x=100, animate=False, immediate=True)
        await pilot.pause()
        scroll_x = round(heatmap.scroll_x)
        assert scroll_x > 0
        line = 5  # rows 10 and 11
        strip = heatmap.render_line(HEADER_LINES + line)
        checked = 0
        for x in range(heatmap.size.width - layout.gutter - 1):
            col = scroll_x + x
            style = style_at(strip, layout.gutter + x)
            for row, color in ((10, style.color), (11, style.bgcolor)):
                grad = matrix[row][col].grad
                if abs(grad) > heatmap.scale / 4:
                    assert sign_of(color) == (1 if grad > 0 else -1), (row, col)
                    checked += 1
        assert checked > 10
        # the row labels stay in place (rows 8 and 9 share a labelled line)
        assert heatmap.render_line(HEADER_LINES + 4).text[: layout.gutter].split() == ["8"]
        # the column labels scroll with the grid, the row labels stay
        labels = heatmap.render_line(HEADER_LINES - 1).text[layout.gutter :]
        first_label = next(col for col in range(scroll_x, scroll_x + 16) if col % 8 == 0)
        assert labels[first_label - scroll_x :].startswith(str(first_label))


# -- scale -------------------------------------------------------------------------------------


def big_session() -> SimpleNamespace:
    """A 4-layer, 64-wide model (~200k parameters) with made-up grads and no capture.

    The list needs only the state_dict, the phase and which parameters are nodes
    of the graph, so the parameters themselves stand in for the graph.
    """
    random.seed(7)
    model = GPT.init(GPTConfig(n_layer=4, n_embd=64), 27)
    for i, p in enumerate(model.params):
        p.id = i
        p.grad = random.gauss(0, 1e-3)
    backward = SimpleNamespace(propagated=lambda node: True)
    return SimpleNamespace(
        model=model,
        nodes=model.params,
        phase="backward",
        backward=backward,
        walk=SimpleNamespace(current=None),
        has_final_grad=lambda node: True,
        contains=lambda node: True,  # every parameter is a node of this stand-in graph
    )


async def until(pilot, condition, seconds: float = 10.0) -> bool:
    """Poll `condition` while the app runs (a timer's work lands when the machine lets it)."""
    for _ in range(int(seconds / 0.05)):
        if condition():
            return True
        await pilot.pause(0.05)
    return condition()


@pytest.mark.slow
async def test_two_hundred_thousand_parameters_mount_sort_and_scroll() -> None:
    # How fast this is belongs to benchmarks/bench_app.py; here, what it does at scale.
    big = big_session()
    n = len(big.model.params)
    assert n > 200_000
    app = Host(big)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        view = app.query_one(ParametersView)
        plist = view.parameter_list
        assert len(plist.order) == n
        assert cells(screen_text(plist)[1])[0] == "wte[0][0]"
        # sorting by |grad| puts the largest first
        view.sort_by("grad")
        await pilot.pause()
        assert plist.index.params[plist.order[0]] is max(
            big.model.params, key=lambda p: abs(p.grad)
        )
        # scrolling to the end shows the smallest |grad|
        for _ in range(10):
            await pilot.press("pagedown")
        await pilot.press("end")
        await pilot.pause()
        assert plist.cursor == n - 1
        last = plist.index.params[plist.order[-1]]
        visible = screen_text(plist)
        assert plist.index.name(plist.order[-1]) in visible[-1]
        assert abs(last.grad) == min(abs(p.grad) for p in big.model.params)
        # a step does not re-sort 200k rows at once: it marks the order stale ...
        view.refresh_state()
        assert n > LARGE_VIEW and view.stale
        assert "re-sorts when stepping pauses" in str(view.query_one("#parameters-header").render())
        # ... and re-sorts once stepping pauses
        assert await until(pilot, lambda: not view.stale)
        # hidden (another tab), it waits until it is shown again
        view.display = False
        await pilot.pause()
        view.refresh_state()
        await pilot.pause(0.6)
        assert view.stale
        view.display = True
        assert await until(pilot, lambda: not view.stale)


@pytest.mark.slow
async def test_random_keys_and_clicks_never_raise(session: DebugSession) -> None:
    keys = ["S", "R", "enter", "up", "down", "pageup", "pagedown", "home", "end"]
    keys += ["left_square_bracket", "right_square_bracket", "left", "right"]
    rng = random.Random(3)
    app = Host(session)
    async with app.run_test(size=(100, 30)) as pilot:
        view = app.query_one(ParametersView)
        for i in range(60):
            if i == 20:
                session.set_phase("backward")
            if i % 10 == 0:
                session.walk.step()
                view.refresh_state()
            if rng.random() < 0.2:
                targets = [view.parameter_list] + ([view.heatmap] if view.matrix else [])
                target = rng.choice(targets)
                width, height = target.size
                await pilot.click(
                    target, offset=(rng.randrange(max(width, 1)), rng.randrange(max(height, 1)))
                )
            else:
                await pilot.press(rng.choice(keys))
        assert view.parameter_list.cursor < max(len(view.parameter_list.order), 1)
