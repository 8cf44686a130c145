"""Reading the user's script: its source, its parsed tree, and the loops that make scopes.

The script is read as Python would read it (its coding cookie honoured), parsed
with `ast` and compiled unchanged under its real file name. The tree tells where
each loop binds a name: the line spans in which a scope variable counts, and,
by default, which variables are scope levels at all (those of `for` loops over
`range()` or `enumerate()`: integer counters such as microgpt's `pos_id`, `li`, `h`).
"""

from __future__ import annotations

import ast
import importlib.util
import types
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import NamedTuple

from engine.errors import InputError

# Line ranges, first and last line included, where a loop or comprehension binds a name.
Spans = dict[str, list[tuple[int, int]]]


class Script(NamedTuple):
    """A script as read from disk: where it is, its text and its parsed tree."""

    path: str  # absolute
    source: str
    tree: ast.Module
    nodes: list[ast.AST]  # every node of the tree (`ast.walk` once: it is slow)


def load_script(path: str) -> Script:
    """The script at `path`, read and parsed; InputError if unreadable or not Python."""
    p = Path(path)
    if not p.exists():
        raise InputError(f"no such script: {path}")
    if p.is_dir():
        raise InputError(f"{path} is a directory, not a Python script")
    try:
        source = importlib.util.decode_source(p.read_bytes())  # honours a coding cookie
    except (UnicodeDecodeError, SyntaxError):
        raise InputError(
            f"{path} is not text in its declared encoding (UTF-8 by default)"
        ) from None
    except OSError as e:
        raise InputError(f"cannot read {path}: {e.strerror or e}") from None
    try:
        tree = ast.parse(source, filename=str(p.resolve()))
    except SyntaxError as e:
        raise InputError(syntax_error_message(path, e)) from None
    return Script(str(p.resolve()), source, tree, list(ast.walk(tree)))


def syntax_error_message(path: str, e: SyntaxError) -> str:
    """`script.py:3: SyntaxError: ...` and the offending line, as one or two lines."""
    where = f"{path}:{e.lineno}" if e.lineno else path
    text = (e.text or "").strip()
    message = f"{where}: {type(e).__name__}: {e.msg}"
    return f"{message}\n    {text}" if text else message


def binding_spans(
    tree: ast.Module, names: Sequence[str], nodes: Sequence[ast.AST] | None = None
) -> Spans:
    """For each name, the line ranges where a `for` loop or comprehension binds it.

    `nodes`: every node of `tree`, if walked already."""
    spans: Spans = {name: [] for name in names}

    def bound(target: ast.expr) -> Iterator[str]:
        for t in ast.walk(target):
            if isinstance(t, ast.Name) and t.id in spans:
                yield t.id

    for node in ast.walk(tree) if nodes is None else nodes:
        if isinstance(node, (ast.For, ast.AsyncFor)):
            start, end = node.body[0].lineno, node.body[-1].end_lineno or node.body[-1].lineno
            for name in bound(node.target):
                spans[name].append((start, end))
        elif isinstance(node, (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)):
            for gen in node.generators:
                for name in bound(gen.target):
                    spans[name].append((node.lineno, node.end_lineno or node.lineno))
    return spans


def _counter(loop: ast.For | ast.AsyncFor) -> str | None:
    """The integer counter a loop binds: `for i in range(...)`, `for i, x in enumerate(...)`."""
    call = loop.iter
    if not isinstance(call, ast.Call) or not isinstance(call.func, ast.Name):
        return None
    target = loop.target
    if call.func.id == "range" and isinstance(target, ast.Name):
        return target.id
    if (
        call.func.id == "enumerate"
        and isinstance(target, ast.Tuple)
        and target.elts
        and isinstance(target.elts[0], ast.Name)
    ):
        return target.elts[0].id
    return None


def counter_loops(tree: ast.Module, nodes: Sequence[ast.AST] | None = None) -> Spans:
    """The integer counters of the script's `for` loops and the line spans of their bodies.

    In the order the script first uses each name. Comprehensions are left out: their
    counters index vector elements (`for j in range(head_dim)`), not places to stop.
    `nodes`: every node of `tree`, if walked already.
    """
    loops = [n for n in (nodes or ast.walk(tree)) if isinstance(n, (ast.For, ast.AsyncFor))]
    spans: Spans = {}
    for loop in sorted(loops, key=lambda n: (n.lineno, n.col_offset)):
        name = _counter(loop)
        if name is not None:
            end = loop.body[-1].end_lineno or loop.body[-1].lineno
            spans.setdefault(name, []).append((loop.body[0].lineno, end))
    return spans


def compile_script(script: Script, display: str) -> types.CodeType:
    """The script's code, compiled from its tree under its real file name.

    `dont_inherit`: not with this module's `from __future__ import annotations`.
    """
    try:
        return compile(script.tree, script.path, "exec", dont_inherit=True)
    except SyntaxError as e:  # e.g. a `return` outside a function: the compiler, not the parser
        raise InputError(syntax_error_message(display, e)) from None


def loops_around(
    tree: ast.Module, name: str, nodes: Sequence[ast.AST] | None = None
) -> list[list[tuple[int, int]]]:
    """For each statement that binds `name`, the line spans of the `for` loops around it
    (a `for` loop that binds it counts as around it: each iteration binds it anew).
    `nodes`: every node of `tree`, if walked already."""
    nodes = list(ast.walk(tree)) if nodes is None else nodes
    loops = [n for n in nodes if isinstance(n, (ast.For, ast.AsyncFor))]
    spans = [(n.lineno, n.end_lineno or n.lineno) for n in loops]
    found = []
    for node in nodes:
        targets: list[ast.expr] = []
        if isinstance(node, ast.Assign):
            targets = list(node.targets)
        elif isinstance(node, (ast.AnnAssign, ast.AugAssign, ast.For, ast.AsyncFor)):
            targets = [node.target]
        if any(isinstance(t, ast.Name) and t.id == name for tt in targets for t in ast.walk(tt)):
            found.append([(a, b) for a, b in spans if a <= node.lineno <= b])
    return found
