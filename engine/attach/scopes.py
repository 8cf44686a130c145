"""Scopes from the script's own variables: which count where, and the path they make.

A scope variable (default `pos_id -> pos`, `li -> layer`, `h -> head`) counts in a
frame while it is a parameter of that frame's function, or while the frame runs a
line inside a `for` loop or a comprehension that binds it (so `pos_id` no longer
counts on the line after microgpt's module-level `for pos_id in range(n)` loop).
The scope path of a node is

    the scope variables, outermost frame first (within a frame in the mapping's
    order; a prefix set again in an inner frame keeps its place and takes the
    inner value), then the names of the script's functions called below the
    innermost frame that set one (the module level, lambdas and comprehensions
    have no name),

so a node made in `softmax`, called by `gpt` while `li == 0` and `h == 1`, for
`pos_id == 3`, has the scope `pos3.layer0.head1.softmax`; one made in `gpt` itself
there has `pos3.layer0.head1`; one made at module level with no scope variable
has `<module>`, as Python's tracebacks name that level. The full chain of function
names (`gpt › softmax`, outermost first) is kept per node as well.
"""

from __future__ import annotations

import types
from typing import NamedTuple

from engine.attach.script import Spans
from engine.errors import InputError

DEFAULT_SCOPE_VARS: dict[str, str] = {"pos_id": "pos", "li": "layer", "h": "head"}

SEPARATOR = " › "  # between function names in a call chain: `gpt › softmax`
MODULE_SCOPE = "<module>"  # the scope of nodes made at module level outside the loops


def parse_scope_vars(text: str) -> dict[str, str]:
    """`--scope-vars NAME=PREFIX,...` -> {NAME: PREFIX}, in order; "" is no variables."""
    mapping: dict[str, str] = {}
    for item in text.split(","):
        item = item.strip()
        if not item:
            continue
        name, eq, prefix = item.partition("=")
        name, prefix = name.strip(), prefix.strip()
        if not eq or not name.isidentifier() or not prefix or "." in prefix or " " in prefix:
            raise InputError(
                f"bad --scope-vars item {item!r}: expected NAME=PREFIX "
                "(a variable name and a scope prefix without dots), e.g. pos_id=pos,li=layer,h=head"
            )
        mapping[name] = prefix
    return mapping


# (prefix, value text) pairs of the scope variables set, outermost first
Levels = tuple[tuple[str, str], ...]


class ScopeParts(NamedTuple):
    """What a frame contributes to the scope of the nodes made below it."""

    levels: Levels  # the scope variables set so far
    names: tuple[str, ...]  # function names below the innermost frame that set one
    chain: tuple[str, ...]  # every script function on the stack, outermost first

    def scope(self) -> str:
        """The scope path: `pos3.layer0.head1.softmax`, or `<module>` when empty."""
        return ".".join([p + t for p, t in self.levels] + list(self.names)) or MODULE_SCOPE


NO_PARTS = ScopeParts((), (), ())


class CodeInfo:
    """What a script code object contributes to scopes: its name and its scope variables."""

    __slots__ = ("code", "name", "is_module", "params", "locals", "mapping", "spans", "by_line")

    def __init__(self, code: types.CodeType, mapping: dict[str, str], spans: Spans) -> None:
        self.code = code  # kept alive: infos are found by id(code)
        name = code.co_name
        self.is_module = name == "<module>"
        self.name = None if name.startswith("<") else name  # module, lambda, comprehension
        nargs = code.co_argcount + code.co_kwonlyargcount
        self.params = set(code.co_varnames[:nargs])
        self.locals = set(code.co_varnames) | set(code.co_cellvars) | set(code.co_freevars)
        self.mapping = mapping
        self.spans = spans
        self.by_line: dict[int, tuple[tuple[str, str], ...]] = {}

    def vars_at(self, line: int) -> tuple[tuple[str, str], ...]:
        """The (variable, prefix) pairs that count in a frame of this code at `line`."""
        found = self.by_line.get(line)
        if found is None:
            found = tuple(
                (var, prefix)
                for var, prefix in self.mapping.items()
                if var in self.params
                or (
                    (self.is_module or var in self.locals)
                    and any(a <= line <= b for a, b in self.spans.get(var, ()))
                )
            )
            self.by_line[line] = found
        return found


def value_text(value: object) -> str:
    """A scope variable's value as it appears in a path (`3`; `0_5` for 0.5)."""
    text = str(value)
    return text.replace(".", "_").replace(" ", "") if not isinstance(value, int) else text


def extend(parts: ScopeParts, info: CodeInfo, own: Levels) -> ScopeParts:
    """The parts of a frame: its caller's parts, then its own variables or its name."""
    levels, names, chain = parts
    if info.name is not None:
        chain = (*chain, info.name)
    if own:
        merged = list(levels)
        for prefix, text in own:
            for i, (p, _) in enumerate(merged):
                if p == prefix:
                    merged[i] = (prefix, text)
                    break
            else:
                merged.append((prefix, text))
        return ScopeParts(tuple(merged), (), chain)
    if info.name is not None:
        names = (*names, info.name)
    return ScopeParts(levels, names, chain)
