"""The app never dies of a bad model: a checkpoint that loads but cannot be computed is a toast.

Checkpoints pass validation with any finite weights, yet weights drawn from
N(0, 30) make a probability underflow to 0 (then `log` fails), and weights of
1e200 overflow. Opening one with `d` must leave the app running on the session
it had, with one error notification.
"""

from __future__ import annotations

import contextlib
import random
from pathlib import Path

import pytest
from textual.worker import WorkerCancelled

from engine.checkpoint import save_checkpoint
from engine.config import GPTConfig
from engine.workspace import fresh, to_checkpoint
from microgpt_tui.app import DebuggerApp

SIZES = GPTConfig(n_embd=8, n_head=2, block_size=8)


@pytest.fixture
def data(tmp_path: Path) -> Path:
    path = tmp_path / "names.txt"
    path.write_text("\n".join(["emma", "olivia", "ava", "mia", "zoe"] * 4) + "\n")
    return path


def _checkpoint(data: Path, path: Path, weight) -> Path:
    ws = fresh(seed=3, data=str(data), config=SIZES)
    rng = random.Random(0)
    for p in ws.model.params:
        p.data = weight(rng)
    save_checkpoint(path, to_checkpoint(ws))
    return path


async def _settle(pilot) -> None:
    app = pilot.app
    for _ in range(1000):
        if not app.busy:
            return
        with contextlib.suppress(WorkerCancelled):
            await app.workers.wait_for_complete()
        await pilot.pause()
    raise AssertionError("the app never became idle")


@pytest.mark.parametrize(
    ("weight", "fails"),
    [(lambda rng: rng.gauss(0, 30), True), (lambda rng: 1e200 * rng.choice((-1, 1)), False)],
    ids=["underflow", "overflow"],
)
async def test_a_checkpoint_whose_numbers_fail_is_a_toast_not_a_crash(
    data: Path, tmp_path: Path, weight, fails: bool
) -> None:
    bad = _checkpoint(data, tmp_path / "bad.json", weight)
    app = DebuggerApp(fresh(seed=3, data=str(data), config=SIZES), doc="emma", cursor_blink=False)
    errors: list[str] = []
    async with app.run_test(size=(120, 40)) as pilot:
        await _settle(pilot)
        original = app.notify

        def notify(message, *args, severity="information", **kwargs):
            if severity == "error":
                errors.append(message)
            return original(message, *args, severity=severity, **kwargs)

        app.notify = notify  # type: ignore[method-assign]
        old = app.session
        await pilot.press("d")
        await _settle(pilot)
        app.screen.query_one("#doc").value = "olivia"
        app.screen.query_one("#checkpoint").value = str(bad)
        await pilot.press("enter")
        await _settle(pilot)
        # THEN log(0) is one error line and the old session stays; an overflow gives
        # inf and nan without raising, and the debugger shows those floats
        if fails:
            assert app.session is old
            assert errors and "\n" not in errors[-1] and "numbers fail" in errors[-1]
        else:
            assert app.session is not old and not errors
        await pilot.press("s")
        await _settle(pilot)
        assert app.is_running
