"""Scopes from the script's own variables: which count where, and the path they make.

By default the scope variables are the integer counters of the script's `for`
loops over `range()` (or `enumerate()`), whatever they are called, each naming its
level after itself (`t` -> `t3`), except microgpt's own: `pos_id -> pos`, `li ->
layer`, `h -> head`. A counter counts in a frame while it is a parameter of that
frame's function, or while the frame runs a line inside such a loop that binds it
(so `pos_id` no longer counts on the line after microgpt's module-level `for
pos_id in range(n)` loop). `--scope-vars NAME=PREFIX,...` names the variables
instead; they then also count inside comprehensions that bind them. Only an
integer value makes a level: a name bound to anything else (a comprehension's
`t` running over Values) makes none.

A loop around the `backward()` call (the training step) whose counter has one
value across the captured graph names no level: every node would carry it.

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

# The levels microgpt's own counters name; any other counter names its level after itself.
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


def counter_prefixes(counters: Spans) -> dict[str, str]:
    """The default mapping: each loop counter names its level, microgpt's as microgpt's."""
    return {name: DEFAULT_SCOPE_VARS.get(name, name) for name in counters}


# (prefix, value text) pairs of the scope variables a frame sets
Levels = tuple[tuple[str, str], ...]


class ScopeParts(NamedTuple):
    """What the script's frames on the stack contribute to the scope of a node made below."""

    frames: tuple[tuple[str | None, Levels], ...]  # outermost first: a frame's name, its levels
    chain: tuple[str, ...]  # every named script function on the stack, outermost first

    @property
    def levels(self) -> Levels:
        """Every scope variable set, outermost frame first."""
        return tuple(level for _, own in self.frames for level in own)

    def scope(self, dropped: frozenset[str] = frozenset()) -> str:
        """The scope path (`pos3.layer0.head1.softmax`; `<module>` when empty).

        `dropped` prefixes count as unset: a frame whose levels are all dropped
        adds its name, as a frame without levels does.
        """
        merged: dict[str, str] = {}  # a prefix keeps its first place, takes the inner value
        names: list[str] = []
        for name, own in self.frames:
            kept = [(p, t) for p, t in own if p not in dropped]
            if kept:
                merged.update(kept)
                names = []
            elif name is not None:
                names.append(name)
        return ".".join([p + t for p, t in merged.items()] + names) or MODULE_SCOPE


NO_PARTS = ScopeParts((), ())


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


def level_text(value: object) -> str | None:
    """A scope variable's value as it appears in a path (`3`), or None: not an integer."""
    if isinstance(value, int) and not isinstance(value, bool):
        return str(int(value))
    return None


def extend(parts: ScopeParts, info: CodeInfo, own: Levels) -> ScopeParts:
    """The parts of a frame: its caller's, then its own name and the levels it sets."""
    chain = parts.chain if info.name is None else (*parts.chain, info.name)
    if not own and info.name is None:
        return ScopeParts(parts.frames, chain)
    return ScopeParts((*parts.frames, (info.name, own)), chain)
