"""microgpt's own backward(), recognised by its code: its grad writes follow from its steps.

A `backward()` whose bytecode is microgpt's (names, comments, blank lines and a
docstring may differ; the compiled code is compared, not the text) makes exactly
these grad writes: `self.grad = 1`, then for each node `v` of `reversed(topo)`,
`child.grad += local_grad * v.grad` for each pair of `zip(v._children,
v._local_grads)`, in order. Logging them one by one through a property (a
Python call per write) makes such a backward about 2.5x slower; here it is
enough to keep `topo` and the grads as they were before the first step. Both are
read once, when the loop first reads the root's `_local_grads`, through a
property that removes itself at once: the rest of backward() runs untouched.
The writes themselves are derived only when the replay needs them
(`RecordedBackward.chain_rule`), by evaluating the same expressions on the same
numbers, and checked against the grads backward() left.

That holds only where nothing else can act on the nodes, so it is used only when:
the names the code calls (`set`, `reversed`, `zip`) are the builtins; and every
value class, and every class in the graph, keeps `grad`, `_children` and
`_local_grads` as plain attributes (slots, or the instance's dict) with the
default attribute access, equality and hashing (`visited` is a set). Otherwise
backward() runs with every write logged (`backward_log`).
"""

from __future__ import annotations
import __future__

import builtins
import sys
import types
from collections.abc import Iterator
from contextlib import contextmanager
from operator import attrgetter

from engine.attach.backward_log import attribute, replaced

MICROGPT_BACKWARD = """
def backward(self):
    topo = []
    visited = set()

    def build_topo(v):
        if v not in visited:
            visited.add(v)
            for child in v._children:
                build_topo(child)
            topo.append(v)

    build_topo(self)
    self.grad = 1
    for v in reversed(topo):
        for child, local_grad in zip(v._children, v._local_grads):
            child.grad += local_grad * v.grad
"""
_CALLED = ("set", "reversed", "zip")  # the builtins the code calls
_ATTRIBUTES = ("grad", "_children", "_local_grads")
SEED = 1  # what `self.grad = 1` writes


def _compiled(source: str) -> types.CodeType:
    namespace: dict = {}
    exec(compile(source, "<microgpt backward>", "exec", dont_inherit=True), namespace)
    return namespace["backward"].__code__


# Without and with a docstring: a docstring takes the first constant's place.
_REFERENCES = (
    _compiled(MICROGPT_BACKWARD),
    _compiled(MICROGPT_BACKWARD.replace("(self):\n", '(self):\n    """-"""\n', 1)),
)
_TOPO = _REFERENCES[0].co_cellvars.index("topo")
# `from __future__` flags (`annotations`...): the same code either way
_FUTURE_FLAGS = sum(getattr(__future__, f).compiler_flag for f in __future__.all_feature_names)


def same_code(a: types.CodeType, b: types.CodeType) -> bool:
    """Do two code objects run alike? Bytecode, constants, names, and locals by position
    (their own names do not matter; which are cells and arguments does)."""
    if (
        a.co_code != b.co_code
        or a.co_names != b.co_names
        or a.co_exceptiontable != b.co_exceptiontable
        or (a.co_flags & ~_FUTURE_FLAGS) != (b.co_flags & ~_FUTURE_FLAGS)
        or _signature(a) != _signature(b)
        or len(a.co_consts) != len(b.co_consts)
    ):
        return False
    for i, (x, y) in enumerate(zip(a.co_consts, b.co_consts)):
        if isinstance(x, types.CodeType) and isinstance(y, types.CodeType):
            if not same_code(x, y):
                return False
        elif i == 0 and type(x) is str and type(y) is str:
            continue  # the docstrings
        elif type(x) is not type(y) or x != y:
            return False
    return True


def _signature(code: types.CodeType) -> tuple:
    cells_as_args = tuple(
        code.co_varnames.index(c) if c in code.co_varnames else -1 for c in code.co_cellvars
    )
    return (
        code.co_argcount,
        code.co_posonlyargcount,
        code.co_kwonlyargcount,
        code.co_nlocals,
        len(code.co_cellvars),
        len(code.co_freevars),
        cells_as_args,
    )


def topo_name(function: object) -> str | None:
    """The name `function` gives microgpt's `topo`, if it is microgpt's backward(); else None."""
    code = getattr(function, "__code__", None)
    if not isinstance(code, types.CodeType) or not any(same_code(code, r) for r in _REFERENCES):
        return None
    if function.__defaults__ or function.__kwdefaults__ or function.__closure__:  # type: ignore[attr-defined]
        return None
    called = getattr(function, "__globals__", {})
    their_builtins = getattr(function, "__builtins__", {})
    for name in _CALLED:
        if name in called or their_builtins.get(name) is not getattr(builtins, name):
            return None
    return code.co_cellvars[_TOPO]


def is_plain(cls: type) -> bool:
    """Does `cls` keep grad, children and local grads as plain attributes, with the
    default attribute access, equality and hashing?"""
    try:
        if (
            cls.__getattribute__ is not object.__getattribute__
            or cls.__setattr__ is not object.__setattr__
            or cls.__eq__ is not object.__eq__
            or cls.__hash__ is not object.__hash__
            or hasattr(cls, "__getattr__")
        ):
            return False
        return all(_plain_attribute(cls, name) for name in _ATTRIBUTES)
    except Exception:  # noqa: BLE001 - a metaclass that fails on lookup: not plain
        return False


def _plain_attribute(cls: type, name: str) -> bool:
    for klass in cls.__mro__:
        if name in vars(klass):
            found = vars(klass)[name]
            if isinstance(found, types.MemberDescriptorType):
                return True  # a slot
            kind = type(found)  # a class default (`grad = 0`) is plain; a descriptor is not
            return not any(hasattr(kind, m) for m in ("__get__", "__set__", "__delete__"))
    return cls.__dictoffset__ != 0  # kept in the instance's dict


class TextbookRun:
    """microgpt's backward() on `root`: its `topo` and every grad as before its first step.

    `before[i]` is `topo[i]`'s grad before the call (the root's before its seed). The
    value classes were checked before the call; any other class in the graph is
    checked after it (`unfollowable`): its writes are then refused, not derived.
    """

    def __init__(self, root: object) -> None:
        self.root = root
        self.root_grad = root.grad  # type: ignore[attr-defined]
        self.topo: list = []
        self.before: list = []
        self.seen = False  # the first step was reached

    def unfollowable(self) -> str | None:
        """Why the writes cannot be derived, if a node's class is not plain (else None)."""
        for kind in set(map(type, self.topo)):
            if not is_plain(kind):
                return (
                    f"the graph holds a {kind.__name__} whose attributes attach cannot "
                    "follow (a property, or its own equality or attribute access)"
                )
        return None

    @contextmanager
    def hook(self, name: str) -> Iterator[None]:
        """For the block: the first read of the root's `_local_grads` takes `topo` and the
        grads from the backward() frame (its local `name`), then reads as usual."""
        step = attribute(type(self.root), "_local_grads")
        restore: list = []

        def first_step(obj: object) -> object:
            restore.pop().__exit__(None, None, None)  # every later read is the class's own
            topo = sys._getframe(1).f_locals.get(name)
            if obj is self.root and type(topo) is list and topo and topo[-1] is obj:
                self.topo = topo  # (else `seen` stays False: nothing can be derived)
                self.before = list(map(attrgetter("grad"), topo))
                self.before[-1] = self.root_grad
                self.seen = True
            return step.get(obj)

        installed = replaced([(step, "_local_grads", property(first_step, step.set))])
        installed.__enter__()
        restore.append(installed)
        try:
            yield
        finally:
            if restore:
                restore.pop().__exit__(None, None, None)
