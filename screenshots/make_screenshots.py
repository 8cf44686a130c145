"""The debugger's screenshots in `screenshots/`, made by driving the app headless.

    .venv/bin/python screenshots/make_screenshots.py [OUTDIR] [NAME.svg ...]

Each journey starts the app on the shipped trained model (document `emma`, its
last position), presses the keys a user would, waits for every move to finish,
and saves an SVG of the screen:

- `forward-step.svg`: a breakpoint on head 1 of position 4, `c` to it, then `s`;
- `backward-head.svg`: `b`, focus head 1 (`F`), `s` several times: only the
  head's nodes, each with the chain-rule terms its grad received;
- `parameters-heatmap.svg`: the whole backward pass, then the parameters tab
  sorted by |grad|, with the heatmap of `layer0.attn_wq`'s gradient;
- `attention.svg`: the attention tab at position 4;
- `help.svg`: the help screen;
- `gradient.svg`: on `emma`'s whole-document loss, `b`, `c`, then
  `layer0.attn_wq[3][7]` inspected, `x`: the gradient tab with the check by nudging, the shares by
  position and by scope, and the first of the top paths;
- `gradient-paths.svg`: then `1`: the graph panel, the top paths marked ①②③ and
  path ① opened towards the loss;
- `gradient-why.svg`: `#16451`'s (a product) gradient tab scrolled to why its local
  gradient is what it is;
- `training.svg`: the training tab, with `wte[4][0]`'s value over training;
- `vector-head.svg`: `b`, `v` (the vector level), focus head 1, `s`, `s`: the
  head as vectors at its softmax, the inspector's vector-form gradient beside
  the chain rule's sums;
- `vector-scalars.svg`: the same, then Enter on `attn_weights`: its scalars;
- `small-terminal.svg`: the head journey of `backward-head.svg` on an 80×24
  terminal, where the panels take turns: the inspector, then `.` for the graph;
- `small-terminal-vectors.svg`: the journey of `vector-head.svg` on an 80×24
  terminal, `.` from the vector inspector to the vectors (the graph's turn).

Then the example Graphviz exports, if `screenshots/exports.py` is there. Given
NAMEs, only those screenshots are made (and no exports).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
os.environ.setdefault("MICROGPT_TUI_OFFLINE", "1")

from textual.pilot import Pilot  # noqa: E402
from textual.worker import WorkerCancelled  # noqa: E402

from engine.workspace import open_workspace  # noqa: E402
from microgpt_tui.app import DebuggerApp  # noqa: E402
from microgpt_tui.widgets import GradientView, ParametersView  # noqa: E402
from microgpt_tui.widgets.vector_panel import VectorPanel  # noqa: E402

SIZE = (160, 45)
HEAD = "pos4.layer0.attn.head1"

Journey = Callable[[Pilot], Awaitable[None]]


async def settle(pilot: Pilot) -> None:
    """Wait until every queued move, session build and worker has finished and been painted."""
    app = pilot.app
    for _ in range(10_000):
        with contextlib.suppress(WorkerCancelled):
            await app.workers.wait_for_complete()
        await pilot.pause()
        if not app.busy and not any(worker.is_running for worker in app.workers):
            break
    await pilot.pause()


async def press(pilot: Pilot, *keys: str) -> None:
    for key in keys:
        await pilot.press(key)
        await settle(pilot)


async def forward_step(pilot: Pilot) -> None:
    app: DebuggerApp = pilot.app  # type: ignore[assignment]
    app.select_scope(HEAD)
    await press(pilot, "B", "c", "s", "s", "s", "s")


async def backward_head(pilot: Pilot) -> None:
    app: DebuggerApp = pilot.app  # type: ignore[assignment]
    await press(pilot, "b")
    app.select_scope(HEAD)
    await press(pilot, "F", *"ssssss")


async def parameters_heatmap(pilot: Pilot) -> None:
    app: DebuggerApp = pilot.app  # type: ignore[assignment]
    await press(pilot, "b", "c")
    app.show_parameters("layer0.attn_wq")
    app.query_one(ParametersView).sort_by("grad")
    await settle(pilot)


async def attention(pilot: Pilot) -> None:
    await press(pilot, "b", "3")


async def help_screen(pilot: Pilot) -> None:
    await press(pilot, "question_mark")


WEIGHT = "layer0.attn_wq[3][7]"


async def gradient(pilot: Pilot) -> None:
    app: DebuggerApp = pilot.app  # type: ignore[assignment]
    await press(pilot, "b", "c")  # the whole backward pass: every grad in the graph panel
    app.inspect_node(app.session.parameter(WEIGHT).id)
    await press(pilot, "x")


async def gradient_paths(pilot: Pilot) -> None:
    await gradient(pilot)
    await press(pilot, "1")


async def gradient_why(pilot: Pilot) -> None:
    app: DebuggerApp = pilot.app  # type: ignore[assignment]
    app.inspect_node(16451)  # probs[26] of the last position: a product
    await press(pilot, "4")
    view = app.screen.query_one(GradientView)
    start = next(i for i, line in enumerate(view.lines) if line and "why this" in line[0][0])
    view.scroll_to(y=start - 1, animate=False)
    await settle(pilot)


async def training(pilot: Pilot) -> None:
    app: DebuggerApp = pilot.app  # type: ignore[assignment]
    app.inspect_node(app.session.parameter("wte[4][0]").id)
    await press(pilot, "5")


async def vector_head(pilot: Pilot) -> None:
    app: DebuggerApp = pilot.app  # type: ignore[assignment]
    await press(pilot, "b", "v")
    app.select_scope(HEAD)
    await press(pilot, "F", "s", "s")


async def vector_scalars(pilot: Pilot) -> None:
    await vector_head(pilot)
    panel = pilot.app.query_one(VectorPanel)
    panel.focus()
    rows = panel.rows
    panel.set_cursor(next(i for i, r in enumerate(rows) if r.box and r.box.title == "attn_weights"))
    await press(pilot, "enter")


async def small_terminal(pilot: Pilot) -> None:
    await backward_head(pilot)


async def small_terminal_vectors(pilot: Pilot) -> None:
    await vector_head(pilot)
    await press(pilot, "full_stop")


JOURNEYS: dict[str, Journey] = {
    "forward-step.svg": forward_step,
    "backward-head.svg": backward_head,
    "parameters-heatmap.svg": parameters_heatmap,
    "attention.svg": attention,
    "help.svg": help_screen,
    "gradient.svg": gradient,
    "gradient-paths.svg": gradient_paths,
    "gradient-why.svg": gradient_why,
    "training.svg": training,
    "vector-head.svg": vector_head,
    "vector-scalars.svg": vector_scalars,
    "small-terminal.svg": small_terminal,
    "small-terminal-vectors.svg": small_terminal_vectors,
}
WHOLE_DOCUMENT = {"gradient.svg", "gradient-paths.svg"}  # shares from every position
SIZES = {"small-terminal.svg": (80, 24), "small-terminal-vectors.svg": (80, 24)}  # the others: SIZE


async def screenshot(journey: Journey, path: Path) -> None:
    whole = path.name in WHOLE_DOCUMENT
    app = DebuggerApp(open_workspace(), whole_document=whole, cursor_blink=False)
    async with app.run_test(size=SIZES.get(path.name, SIZE)) as pilot:
        await settle(pilot)
        await journey(pilot)
        await pilot.wait_for_scheduled_animations()
        await pilot.pause()
        path.write_text(app.export_screenshot(title="microgpt-tui"), encoding="utf-8")
    print(f"wrote {path}")


async def main(outdir: Path, only: list[str]) -> None:
    outdir.mkdir(parents=True, exist_ok=True)
    unknown = sorted(set(only) - set(JOURNEYS))
    if unknown:
        sys.exit(f"no screenshot {', '.join(unknown)}: one of {', '.join(JOURNEYS)}")
    for name, journey in JOURNEYS.items():
        if not only or name in only:
            await screenshot(journey, outdir / name)
    exports = HERE / "exports.py"
    if exports.exists() and not only:
        sys.path.insert(0, str(HERE))
        from exports import make_exports  # noqa: PLC0415

        make_exports(outdir)  # (it says what it wrote)


if __name__ == "__main__":
    args = sys.argv[1:]
    out = Path(args.pop(0)) if args and not args[0].endswith(".svg") else HERE
    asyncio.run(main(out, args))
