"""The debugger's screenshots in `screenshots/`, made by driving the app headless.

    .venv/bin/python screenshots/make_screenshots.py [OUTDIR]

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
- `vector-head.svg`: `b`, `v` (the vector level), focus head 1, `s`, `s`: the
  head as vectors at its softmax, the inspector's vector-form gradient beside
  the chain rule's sums;
- `vector-scalars.svg`: the same, then Enter on `attn_weights`: its scalars.

Then the example Graphviz exports, if `screenshots/exports.py` is there.
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
from microgpt_tui.widgets import ParametersView  # noqa: E402
from microgpt_tui.widgets.vector_panel import VectorPanel  # noqa: E402

SIZE = (160, 45)
HEAD = "pos4.layer0.attn.head1"

Journey = Callable[[Pilot], Awaitable[None]]


async def settle(pilot: Pilot) -> None:
    """Wait until every queued move (and a session build) has finished and been painted."""
    app = pilot.app
    for _ in range(10_000):
        if not app.busy:
            break
        with contextlib.suppress(WorkerCancelled):
            await app.workers.wait_for_complete()
        await pilot.pause()
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


JOURNEYS: dict[str, Journey] = {
    "forward-step.svg": forward_step,
    "backward-head.svg": backward_head,
    "parameters-heatmap.svg": parameters_heatmap,
    "attention.svg": attention,
    "help.svg": help_screen,
    "vector-head.svg": vector_head,
    "vector-scalars.svg": vector_scalars,
}


async def screenshot(journey: Journey, path: Path) -> None:
    app = DebuggerApp(open_workspace(), cursor_blink=False)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await journey(pilot)
        await pilot.wait_for_scheduled_animations()
        await pilot.pause()
        path.write_text(app.export_screenshot(title="microgpt-tui"), encoding="utf-8")
    print(f"wrote {path}")


async def main(outdir: Path) -> None:
    outdir.mkdir(parents=True, exist_ok=True)
    for name, journey in JOURNEYS.items():
        await screenshot(journey, outdir / name)
    exports = HERE / "exports.py"
    if exports.exists():
        sys.path.insert(0, str(HERE))
        from exports import make_exports  # noqa: PLC0415

        make_exports(outdir)  # (it says what it wrote)


if __name__ == "__main__":
    asyncio.run(main(Path(sys.argv[1]) if len(sys.argv) > 1 else HERE))
