"""The engine never imports the UI: a fresh interpreter importing it all has no textual, no rich."""

from __future__ import annotations

import pkgutil
import subprocess
import sys

import engine


def engine_modules() -> list[str]:
    return sorted(f"engine.{m.name}" for m in pkgutil.iter_modules(engine.__path__) if not m.ispkg)


def loaded_after_importing(modules: list[str]) -> set[str]:
    """The top-level packages in sys.modules after a fresh interpreter imports `modules`."""
    code = "\n".join(
        [
            "import importlib, sys",
            f"for name in {modules!r}:",
            "    importlib.import_module(name)",
            "print(' '.join(sorted({m.split('.')[0] for m in sys.modules})))",
        ]
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    return set(out.stdout.split())


def test_there_is_an_engine_to_import() -> None:
    names = engine_modules()
    for core in ("value", "trace", "model", "capture", "graph", "stepper", "session"):
        assert f"engine.{core}" in names


def test_engine_imports_neither_textual_nor_rich() -> None:
    loaded = loaded_after_importing(["engine", *engine_modules()])
    assert "engine" in loaded
    assert "textual" not in loaded
    assert "rich" not in loaded


def test_the_check_sees_a_ui_import() -> None:
    """The check above can fail: an import of textual does show up."""
    assert "textual" in loaded_after_importing(["textual"])
