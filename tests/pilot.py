"""What the lecture tests share: a small app on six names, and waiting for it to settle.

(The older app tests have their own copies; these are for the tests of issue 11.)
"""

from __future__ import annotations

import contextlib
from pathlib import Path

from textual import events
from textual.worker import WorkerCancelled

from engine.workspace import Workspace, open_workspace
from microgpt_tui.app import DebuggerApp
from microgpt_tui.widgets import Inspector, StatusLine

NAMES = "emma\nolivia\nava\nisabella\nsophia\nmia\n"
HEAD = "pos4.layer0.attn.head1"


def data_file(tmp_path: Path) -> Path:
    path = tmp_path / "names.txt"
    if not path.exists():
        path.write_text(NAMES)
    return path


def workspace(tmp_path: Path, **sizes: int) -> Workspace:
    return open_workspace(seed=42, data=str(data_file(tmp_path)), **sizes)


def make_app(tmp_path: Path, sizes: dict | None = None, **kwargs) -> DebuggerApp:
    return DebuggerApp(workspace(tmp_path, **(sizes or {})), cursor_blink=False, **kwargs)


def snapshot_app(tmp_path: Path) -> DebuggerApp:
    """`make_app`, its model named without the temporary path (a snapshot must not vary)."""
    ws = workspace(tmp_path)
    ws.source = "fresh model (seed 42, names.txt)"
    return DebuggerApp(ws, cursor_blink=False)


async def settle(pilot) -> None:
    """Wait until the session is built, every queued move has run and been painted, and
    every event sent straight to the driver has been handled."""
    app = pilot.app
    for _ in range(1000):
        if not app.busy and app._message_queue.empty():
            await pilot.pause()
            if not app.busy and app._message_queue.empty():
                return
        with contextlib.suppress(WorkerCancelled):  # a search superseded by the next
            await app.workers.wait_for_complete()
        await pilot.pause()
    raise AssertionError("the app never became idle")


async def press(pilot, *keys: str) -> None:
    """Press each key, waiting for the app to settle after each."""
    for key in keys:
        await pilot.press(key)
        await settle(pilot)


def send_keys(app: DebuggerApp, *keys: str) -> None:
    """Keys as one read from the terminal: all queued before the app handles the first."""
    for key in keys:
        character = key if len(key) == 1 else None
        app._driver.send_message(events.Key(key, character))


def status(app: DebuggerApp) -> str:
    return app.query_one(StatusLine).text


def inspector(app: DebuggerApp) -> str:
    return app.query_one(Inspector).text


def grads(app: DebuggerApp) -> list:
    assert app.session is not None
    return [n.grad for n in app.session.nodes]
