"""No import circle in `engine` or `microgpt_tui`; the engine imports no UI; commands start light.

A circle shows up as an ImportError (or a missing name) for some order of first
imports, so every module is imported first in turn, in a fresh set of our modules,
then all the others, in sorted and in reverse order.
"""

from __future__ import annotations

import json
import os
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

import engine
import microgpt_tui

ROOT = Path(__file__).resolve().parents[1]


def our_modules() -> list[str]:
    """Every module of both packages, subpackages included."""
    names = []
    for package in (engine, microgpt_tui):
        prefix = package.__name__ + "."
        names += [m.name for m in pkgutil.walk_packages(package.__path__, prefix)]
    return sorted(set(names) - {"microgpt_tui.__main__"})


def fresh(code: str) -> str:
    env = {**os.environ, "MICROGPT_TUI_OFFLINE": "1"}
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=env, cwd=ROOT
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


ORDERS = """
import importlib, json, sys
names = {names!r}
failures = []
for order in {orders!r}:
    for first in {firsts!r}:
        for loaded in [m for m in sys.modules if m.split(".")[0] in ("engine", "microgpt_tui")]:
            del sys.modules[loaded]
        rest = [n for n in names if n != first]
        for name in [first, *(rest if order == "sorted" else rest[::-1])]:
            try:
                importlib.import_module(name)
            except Exception as e:
                failures.append(f"{{first}} first ({{order}}): {{name}}: {{e!r}}")
                break
print(json.dumps(failures))
"""


def orders(names: list[str], firsts: list[str], kinds=("sorted", "reversed")) -> str:
    return ORDERS.format(names=names, firsts=firsts, orders=kinds)


@pytest.mark.slow  # (a fresh interpreter for each order)
def test_the_command_line_and_the_app_import_first_in_any_order() -> None:
    names = our_modules()
    firsts = [n for n in names if n.startswith("microgpt_tui.") and "widgets." not in n]
    assert "microgpt_tui.cli" in firsts and "microgpt_tui.subcommands.train" in firsts
    assert json.loads(fresh(orders(names, firsts, ["sorted"]))) == []


@pytest.mark.slow
def test_every_module_imports_first_in_any_order() -> None:
    names = our_modules()
    assert json.loads(fresh(orders(names, names))) == []


def test_the_order_check_finds_a_circle(tmp_path: Path) -> None:
    """The check above can fail: two modules importing names from each other do."""
    (tmp_path / "circle").mkdir()
    (tmp_path / "circle" / "__init__.py").write_text("")
    (tmp_path / "circle" / "a.py").write_text("from circle.b import B\nA = 1\n")
    (tmp_path / "circle" / "b.py").write_text("from circle.a import A\nB = 2\n")
    names = ["circle.a", "circle.b"]
    code = f"import sys; sys.path.insert(0, {str(tmp_path)!r})\n" + orders(names, names).replace(
        '("engine", "microgpt_tui")', '("circle",)'
    )
    assert len(json.loads(fresh(code))) == 4  # each first, in both orders


LOADED = """
import importlib, sys
for name in {names!r}:
    importlib.import_module(name)
print(" ".join(sorted({{m.split(".")[0] for m in sys.modules}})))
"""


def test_the_engine_imports_neither_textual_nor_rich() -> None:
    names = [n for n in our_modules() if n.split(".")[0] == "engine"]
    loaded = set(fresh(LOADED.format(names=names)).split())
    assert "engine" in loaded and not loaded & {"textual", "rich"}


def test_the_command_line_loads_no_ui_until_a_command_needs_it() -> None:
    """Parsing any command line (and `train`, `sample`, `grads`, `export` running) needs no UI."""
    code = (
        "import sys; from microgpt_tui import cli; cli.build_parser(); "
        "print(' '.join(sorted({m.split('.')[0] for m in sys.modules})))"
    )
    loaded = set(fresh(code).split())
    assert "microgpt_tui" in loaded and not loaded & {"textual", "rich"}
