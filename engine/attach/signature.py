"""A wrapper around a value class's `__init__` that keeps the original's own signature.

Every node the script makes goes through this wrapper, so its call must be cheap.
Passing arguments on with `*args, **kwargs` costs more than the whole record of a
node (measured: 150-300 ns a node more, about twice the record itself), so the
wrapper is a two-line function with the original's parameter list:

    def __init__(self, data, children=None, local_grads=None):
        original(self, data, children, local_grads)
        after(self)

Only the parameter list and the call's arguments are generated, from
`inspect.signature`; the defaults are copied onto the wrapper afterwards (so any
default object works), and the two names it calls are chosen not to clash with a
parameter. A signature it cannot copy gets the generic `*args, **kwargs` form.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import NamedTuple


class Forwarding(NamedTuple):
    """A wrapper's parameter list, the arguments it passes on, and the name of `self`."""

    params: str
    call: str
    me: str
    names: frozenset[str]  # every parameter name


GENERIC = Forwarding("self, *args, **kwargs", "self, *args, **kwargs", "self", frozenset())


def forwarding(function: Callable) -> Forwarding:
    """How a wrapper with `function`'s signature passes every argument on to it."""
    try:
        parameters = list(inspect.signature(function).parameters.values())
    except (TypeError, ValueError):
        return GENERIC
    if not parameters or parameters[0].kind not in (
        inspect.Parameter.POSITIONAL_ONLY,
        inspect.Parameter.POSITIONAL_OR_KEYWORD,
    ):
        return GENERIC
    params, call = [], []
    star = False
    for p in parameters:
        name = p.name
        default = "=None" if p.default is not p.empty else ""
        if p.kind is p.POSITIONAL_ONLY or p.kind is p.POSITIONAL_OR_KEYWORD:
            params.append(name + default)
            call.append(name)
        elif p.kind is p.VAR_POSITIONAL:
            params.append("*" + name)
            call.append("*" + name)
            star = True
        elif p.kind is p.KEYWORD_ONLY:
            if not star:
                params.append("*")
                star = True
            params.append(name + default)
            call.append(f"{name}={name}")
        else:
            params.append("**" + name)
            call.append("**" + name)
    names = frozenset(p.name for p in parameters)
    return Forwarding(", ".join(params), ", ".join(call), parameters[0].name, names)


def _free_name(base: str, taken: frozenset[str]) -> str:
    name = base
    while name in taken:
        name = "_" + name
    return name


def init_calling(original: Callable, after: Callable[[object], None]) -> Callable:
    """An `__init__` with `original`'s signature: `original(self, ...)`, then `after(self)`."""
    fwd = forwarding(original)
    call_original = _free_name("original", fwd.names)
    call_after = _free_name("after", fwd.names | {call_original})
    source = (
        f"def __init__({fwd.params}):\n"
        f"    {call_original}({fwd.call})\n"
        f"    {call_after}({fwd.me})\n"
    )
    namespace = {call_original: original, call_after: after}
    exec(compile(source, "<microgpt-tui attach>", "exec"), namespace)
    init = namespace["__init__"]
    init.__defaults__ = getattr(original, "__defaults__", None)
    init.__kwdefaults__ = getattr(original, "__kwdefaults__", None)
    init.__wrapped__ = original
    init.__qualname__ = getattr(original, "__qualname__", "__init__")
    return init
