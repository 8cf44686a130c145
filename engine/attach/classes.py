"""Which classes are value classes, wherever they are defined, and watching for them.

A value class has a `backward()` method and one of two shapes:

- microgpt's: instances keep `_children` and `_local_grads` (the local gradients
  as data); a propagation step reads `_local_grads`;
- micrograd's: instances keep `_prev` (a set or tuple of children) and a
  `_backward` closure; a propagation step calls `_backward()`.

The shape is read from the class itself (its `__slots__`, and the attribute names
its methods use), so the class may live in the script, in a module beside it or
in an installed package. While the script runs, `ClassWatch` sees every class
created (`builtins.__build_class__`) and every module imported (`__import__`,
for classes already loaded before the run) and hands value classes to the
recorder. Classes of the standard library and of this project are never touched.
"""

from __future__ import annotations

import builtins
import os
import sys
import sysconfig
import types
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache


@dataclass(frozen=True)
class ValueShape:
    """How a value class keeps its graph."""

    children: str  # the attribute holding a node's children
    step: str  # the attribute a propagation step reads: once per node, as it passes its grad on
    closures: bool  # micrograd-style: local gradients live in `_backward` closures


MICROGPT = ValueShape("_children", "_local_grads", closures=False)
MICROGRAD = ValueShape("_prev", "_backward", closures=True)

SUPPORTED = (
    "attach supports a value class with backward() whose instances keep `_children` and "
    "`_local_grads` (microgpt) or `_prev` and a `_backward` closure (micrograd)"
)


def _code_names(code: types.CodeType) -> Iterator[str]:
    yield from code.co_names
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            yield from _code_names(const)


def attribute_names(cls: type) -> set[str]:
    """The attribute names a class and its bases declare or use: slots, and names in methods."""
    names: set[str] = set()
    for klass in cls.__mro__[:-1]:
        slots = vars(klass).get("__slots__", ())
        names.update([slots] if isinstance(slots, str) else slots)
        for attr in vars(klass).values():
            for fn in (attr, getattr(attr, "__func__", None), getattr(attr, "fget", None)):
                code = getattr(fn, "__code__", None)
                if isinstance(code, types.CodeType):
                    names.update(_code_names(code))
    return names


def shape_of(cls: object) -> ValueShape | None:
    """The class's value shape, or None if it is not a value class."""
    try:  # any class the script imports is looked at: its metaclass may do anything
        if not isinstance(cls, type) or not callable(getattr(cls, "backward", None)):
            return None
        names = attribute_names(cls)
    except Exception:  # noqa: BLE001 - not a class attach can use, whatever went wrong
        return None
    if "_children" in names and "_local_grads" in names:
        return MICROGPT
    if "_prev" in names and "_backward" in names:
        return MICROGRAD
    return None


@cache
def _library_dirs() -> tuple[str, ...]:
    """The standard library's folders and this project's packages (`engine`, `microgpt_tui`)."""
    paths = sysconfig.get_paths()
    ours = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # engine/
    tui = os.path.join(os.path.dirname(ours), "microgpt_tui")
    found = {paths.get("stdlib"), paths.get("platstdlib"), ours, tui}
    return tuple(os.path.join(os.path.realpath(p), "") for p in found if p)


_SITE = (os.sep + "site-packages" + os.sep, os.sep + "dist-packages" + os.sep)


def is_protected(cls: type) -> bool:
    """A class of the standard library or of this project: never instrumented."""
    module = sys.modules.get(getattr(cls, "__module__", None) or "")
    filename = getattr(module, "__file__", None)
    if not filename:
        return True  # built in, frozen, or made where no file says what it is
    path = os.path.realpath(filename)
    if any(part in path for part in _SITE):
        return False
    return path.startswith(_library_dirs())


def has_backward(cls: object) -> bool:
    """A class with a backward() method, of any shape (for the refusal message)."""
    return isinstance(cls, type) and callable(vars(cls).get("backward"))


class ClassWatch:
    """Hands every value class the script creates or imports to `found(cls, shape)`."""

    def __init__(self, found: Callable[[type, ValueShape], None]) -> None:
        self.found = found
        self.seen: set[int] = set()  # ids of the classes and modules looked at
        self.refused: list[type] = []  # classes with backward() but neither shape

    def look_at(self, cls: object) -> None:
        if not isinstance(cls, type) or id(cls) in self.seen:
            return
        self.seen.add(id(cls))
        shape = shape_of(cls)
        if shape is None:
            if has_backward(cls) and not is_protected(cls):
                self.refused.append(cls)
        elif not is_protected(cls):
            self.found(cls, shape)

    def look_in(self, module: object) -> None:
        """The classes a module (one the script imports) holds."""
        if not isinstance(module, types.ModuleType) or id(module) in self.seen:
            return
        self.seen.add(id(module))
        for obj in list(vars(module).values()):
            if isinstance(obj, type):
                self.look_at(obj)

    @contextmanager
    def watching(self) -> Iterator[None]:
        """Watch class creation and imports until the block ends."""
        real_build_class, real_import = builtins.__build_class__, builtins.__import__

        def build_class(func, name, *bases, **kwargs):
            cls = real_build_class(func, name, *bases, **kwargs)
            self.look_at(cls)
            return cls

        def import_(name, globals=None, locals=None, fromlist=(), level=0):
            module = real_import(name, globals, locals, fromlist, level)
            if level == 0:
                self.look_in(sys.modules.get(name))
            self.look_in(module)
            for item in fromlist or ():
                obj = getattr(module, item, None)
                self.look_in(obj) if isinstance(obj, types.ModuleType) else self.look_at(obj)
            return module

        builtins.__build_class__, builtins.__import__ = build_class, import_
        try:
            yield
        finally:
            builtins.__build_class__, builtins.__import__ = real_build_class, real_import
