"""Issue 11, defects 2 and 14 (Pilot): keys that arrive together, as a fast typist's or a
pasted burst's do, are neither lost nor able to crash the app."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from pilot import make_app, send_keys, settle

from microgpt_tui.screens.choose import ChooseScreen


@pytest.fixture(autouse=True)
def offline(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("MICROGPT_TUI_OFFLINE", "1")
    monkeypatch.setenv("MICROGPT_TUI_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.chdir(tmp_path)  # (the export dialog may write a file)


@pytest.mark.parametrize("second", ["e", "d", "g", "slash", "question_mark", "ctrl+p", "s"])
async def test_a_key_queued_behind_quit_does_nothing(tmp_path: Path, second: str) -> None:
    """Defect 2: `q` and `e` in one read raised NoMatches on the export dialog (exit 1)."""
    app = make_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        send_keys(app, "q", second)
        for _ in range(40):
            if not app.is_running:
                break
            await asyncio.sleep(0.05)
    assert app._exception is None
    assert app.return_code == 0


async def test_keys_typed_fast_into_the_choose_dialog_all_arrive(tmp_path: Path) -> None:
    """Defect 14: End, ctrl+u, `olivia`, Tab, ctrl+u, `2` typed fast after `d`."""
    app = make_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        for _ in range(3):  # it lost keys only sometimes: the same burst a few times
            send_keys(app, "d", "end", "ctrl+u", *"olivia", "tab", "ctrl+u", "2")
            await settle(pilot)
            assert isinstance(app.screen, ChooseScreen)
            assert app.screen.query_one("#doc").value == "olivia"
            assert app.screen.query_one("#pos").value == "2"
            send_keys(app, "escape")
            await settle(pilot)
            assert not isinstance(app.screen, ChooseScreen)


async def test_keys_typed_fast_into_go_to_and_find_all_arrive(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        send_keys(app, "g", *"1234", "enter")
        await settle(pilot)
        assert app.inspected == 1234
        send_keys(app, "escape", "slash", *"#77", "enter")
        await settle(pilot)
        assert app.inspected == 77


@pytest.mark.parametrize("then", ["pagedown", "pageup", "down", "end"])
async def test_the_palette_with_a_page_key_in_the_same_read_never_raises(
    tmp_path: Path, then: str
) -> None:
    """Reliability item 11: `ctrl+p` then `PageDown` at once raised KeyError in Textual's
    OptionList (exit 1); the palette now holds the keys typed while it opens."""
    from textual.command import CommandPalette

    app = make_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        for _ in range(3):
            send_keys(app, "ctrl+p", then, then)
            await settle(pilot)
            assert CommandPalette.is_open(app)
            send_keys(app, "escape")
            await settle(pilot)
            assert not CommandPalette.is_open(app)
    assert app._exception is None
