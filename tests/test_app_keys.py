"""The keys are defined once (microgpt_tui/keys.py): the footer, the command palette, the help
screen and the README's key table all say the same."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from engine.workspace import open_workspace
from microgpt_tui.app import DebuggerApp
from microgpt_tui.commands import DebuggerCommands
from microgpt_tui.keys import APP_KEYS, DEBUGGER_KEYS, Key
from microgpt_tui.screens.help import HELP, HelpScreen, HelpText, key_line

README = Path(__file__).resolve().parent.parent / "README.md"
KEYS = DEBUGGER_KEYS + APP_KEYS
NAMES = "emma\nolivia\nava\nisabella\nsophia\nmia\n"


@pytest.fixture(autouse=True)
def offline(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("MICROGPT_TUI_OFFLINE", "1")
    monkeypatch.setenv("MICROGPT_TUI_CACHE_DIR", str(tmp_path / "cache"))


def readme_keys(text: str) -> dict[str, str]:
    """The README's "## Keys" table: each key (as written in backticks) -> its row's text."""
    section = text.split("## Keys", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("|")][2:]  # no header
    keys: dict[str, str] = {}
    for row in rows:
        cells = [cell.strip() for cell in row.strip("|").split("|")]
        for key_cell, text in zip(cells[0::2], cells[1::2], strict=True):
            for key in re.findall(r"`([^`]+)`", key_cell):
                assert key not in keys, f"{key} twice in the README's key table"
                keys[key] = text
    return keys


def words(text: str) -> set[str]:
    return {w for w in re.findall(r"[a-z]+", text.lower()) if len(w) >= 4}


def test_the_readme_key_table_agrees_with_the_keys() -> None:
    table = readme_keys(README.read_text())
    by_key = {key.shown_key: key for key in KEYS}
    assert set(table) == set(by_key)  # every key listed, and nothing that is not a key
    for shown, text in table.items():
        key = by_key[shown]
        # the README's words for it are the key's own (not, say, a neighbour's)
        said = words(f"{key.description} {key.tooltip} {key.command}")
        assert words(text) & said, (shown, text, said)


def test_the_readme_check_catches_a_swapped_row() -> None:
    table = "| `g` | find by label or scope |\n| `/` | go to a node by id |\n"
    swapped = readme_keys("## Keys\n\n| key | |\n|---|---|\n" + table)
    by_key = {key.shown_key: key for key in KEYS}
    key = by_key["g"]
    assert not words(swapped["g"]) & words(f"{key.description} {key.tooltip} {key.command}")


def test_the_help_screen_lists_every_key_with_its_description() -> None:
    for key in KEYS:
        assert key.section and key_line(key) in HELP
        assert f"**{key.description}**" in key_line(key) and key.shown_key in key_line(key)


async def test_footer_palette_and_help_render_the_keys(tmp_path: Path) -> None:
    data = tmp_path / "names.txt"
    data.write_text(NAMES)
    app = DebuggerApp(open_workspace(seed=42, data=str(data)), cursor_blink=False)
    async with app.run_test(size=(160, 40)) as pilot:
        while app.busy:
            await pilot.pause()
        await pilot.pause()
        footer = {(k.key, k.description) for k in app.screen.query("FooterKey")}
        shown = [key for key in KEYS if key.show]
        assert {(key.key, key.description) for key in shown} <= footer
        assert not {key.key for key in KEYS if not key.show} & {k for k, _ in footer}
        provider = DebuggerCommands(app.screen)
        commands = {name: help_text for name, _, help_text in provider._actions()}
        for key in KEYS:
            if key.command and key.id != "debugger.root_back":  # (only after a Root here)
                assert commands[key.command] == f"{key.tooltip} ({key.shown_key})"
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        assert app.screen.query_one(HelpText).source == HELP


def test_keys_are_bindings_with_their_own_ids() -> None:
    ids = [key.id for key in KEYS]
    assert all(isinstance(key, Key) for key in KEYS) and len(set(ids)) == len(ids)
    assert len({key.key for key in KEYS}) == len(KEYS)
