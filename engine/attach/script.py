"""Reading the user's script: its source, its parsed tree, its value classes and its loops.

The script is read as Python would read it (its coding cookie honoured) and parsed
with `ast`. The tree tells which classes are microgpt-style value classes, and
where each `for` loop or comprehension binds a name (the line spans that scope
variables count in). The only rewrite of the tree: right after each value class,
a call hands the class to the recorder (`Instrument`).
"""

from __future__ import annotations

import ast
import importlib.util
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import NamedTuple

from engine.errors import InputError

SUPPORTED = (
    "attach supports a microgpt-style value class: one with backward() whose instances keep "
    "`_children` and `_local_grads` (in __slots__ or set in __init__)"
)

# The name the rewritten module calls after each value class: `__microgpt_tui_attach__(Value)`.
HOOK_NAME = "__microgpt_tui_attach__"

# Line ranges, first and last line included, where a loop or comprehension binds a name.
Spans = dict[str, list[tuple[int, int]]]


class Script(NamedTuple):
    """A script as read from disk: where it is, its text and its parsed tree."""

    path: str  # absolute
    source: str
    tree: ast.Module


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
    return Script(str(p.resolve()), source, tree)


def syntax_error_message(path: str, e: SyntaxError) -> str:
    """`script.py:3: SyntaxError: ...` and the offending line, as one or two lines."""
    where = f"{path}:{e.lineno}" if e.lineno else path
    text = (e.text or "").strip()
    message = f"{where}: {type(e).__name__}: {e.msg}"
    return f"{message}\n    {text}" if text else message


def instance_attributes(cls: ast.ClassDef) -> set[str]:
    """Attributes a class's instances keep: `__slots__`, annotations, `self.x =` in __init__."""
    names: set[str] = set()
    for stmt in cls.body:
        if isinstance(stmt, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "__slots__" for t in stmt.targets
        ):
            for const in ast.walk(stmt.value):
                if isinstance(const, ast.Constant) and isinstance(const.value, str):
                    names.add(const.value)
        elif isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name):
            names.add(stmt.target.id)
        elif isinstance(stmt, ast.FunctionDef) and stmt.name == "__init__" and stmt.args.args:
            names |= _assigned_to_self(stmt)
    return names


def _assigned_to_self(init: ast.FunctionDef) -> set[str]:
    """The attributes `__init__` assigns on its first parameter (`self.x = ...`)."""
    me = init.args.args[0].arg
    names: set[str] = set()
    for node in ast.walk(init):
        targets: list[ast.expr] = []
        if isinstance(node, ast.Assign):
            targets = list(node.targets)
        elif isinstance(node, (ast.AnnAssign, ast.AugAssign)):
            targets = [node.target]
        for target in targets:
            for t in ast.walk(target):
                if (
                    isinstance(t, ast.Attribute)
                    and isinstance(t.value, ast.Name)
                    and t.value.id == me
                ):
                    names.add(t.attr)
    return names


def _has_method(cls: ast.ClassDef, name: str) -> bool:
    return any(
        isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef)) and s.name == name for s in cls.body
    )


def find_value_classes(tree: ast.Module, path: str) -> list[ast.ClassDef]:
    """The script's microgpt-style value classes; InputError if it has none.

    A class with `backward()` that keeps no `_local_grads` (micrograd's `_backward`
    closures) is named in the message, since its graph cannot be walked as data.
    """
    found, refused = [], []
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef) and _has_method(node, "backward"):
            attrs = instance_attributes(node)
            if "_children" in attrs and "_local_grads" in attrs:
                found.append(node)
            else:
                refused.append(node)
    if found:
        return found
    if refused:
        cls = refused[0]
        keeps = instance_attributes(cls)
        how = (
            "micrograd-style `_backward` closures"
            if "_backward" in keeps or "_prev" in keeps
            else "no `_children` and `_local_grads`"
        )
        raise InputError(
            f"{path}:{cls.lineno}: class {cls.name} keeps no local gradients ({how}); {SUPPORTED}"
        )
    raise InputError(f"{path} defines no value class with backward(); {SUPPORTED}")


class Instrument(ast.NodeTransformer):
    """Insert `__microgpt_tui_attach__(Name)` right after each chosen class definition."""

    def __init__(self, classes: Sequence[ast.ClassDef]) -> None:
        self.classes = set(map(id, classes))

    def visit_ClassDef(self, node: ast.ClassDef):
        self.generic_visit(node)
        if id(node) not in self.classes:
            return node
        call = ast.Expr(
            ast.Call(
                ast.Name(HOOK_NAME, ast.Load()),
                [ast.Name(node.name, ast.Load())],
                [],
            )
        )
        line = node.end_lineno or node.lineno
        for n in ast.walk(call):
            n.lineno, n.end_lineno, n.col_offset, n.end_col_offset = line, line, 0, 0
        return [node, call]


def binding_spans(tree: ast.Module, names: Sequence[str]) -> Spans:
    """For each name, the line ranges where a `for` loop or comprehension binds it."""
    spans: Spans = {name: [] for name in names}

    def bound(target: ast.expr) -> Iterator[str]:
        for t in ast.walk(target):
            if isinstance(t, ast.Name) and t.id in spans:
                yield t.id

    for node in ast.walk(tree):
        if isinstance(node, (ast.For, ast.AsyncFor)):
            start, end = node.body[0].lineno, node.body[-1].end_lineno or node.body[-1].lineno
            for name in bound(node.target):
                spans[name].append((start, end))
        elif isinstance(node, (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)):
            for gen in node.generators:
                for name in bound(gen.target):
                    spans[name].append((node.lineno, node.end_lineno or node.lineno))
    return spans
