"""Recording what the script's own backward() does: every grad write, and whose step it is.

While the chosen `backward()` call runs, the value classes' `grad` attribute is a
property that logs each write (the node, its grad before, its grad after) and the
attribute a propagation step reads (`_local_grads` for microgpt's shape,
`_backward` for micrograd's) is a property that logs the start of a step (the
node, and how many writes came before). Nothing else changes: the script's own code computes every
value, and the properties store exactly what it assigns. They are installed only
for that call and removed after it, so the forward pass never pays for them.
(A backward() that is microgpt's own is not logged write by write: `textbook`.)

Micrograd-style local gradients live in closures. `probe_local_grads` reads them
out after the run: it calls a node's `_backward()` once more with its grad seen
as 1.0 and its children's as 0.0, writes logged but not stored, so each write is
one local gradient. The script's grads are untouched.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import NamedTuple

from engine.attach.classes import ValueShape

_ABSENT = object()


class WriteLog:
    """Every grad write one backward() call made, in order, and where each step began."""

    def __init__(self) -> None:
        self.targets: list = []  # the script's node each write changed
        self.olds: list = []  # its grad before
        self.news: list = []  # its grad after
        self.steps: list = []  # the node passing its grad on, at each step
        self.step_starts: list[int] = []  # the index of the step's first write


class Attribute(NamedTuple):
    """How instances of a class keep one attribute, and where a property would go."""

    owner: type  # the class whose __dict__ holds it (or would hold the property)
    original: object  # what that __dict__ had under the name (_ABSENT if nothing)
    get: Callable[[object], object]
    set: Callable[[object, object], None]


def attribute(cls: type, name: str) -> Attribute:
    """Read and write `name` on instances without going through a property installed later."""
    for klass in cls.__mro__:
        if name in vars(klass):
            found = vars(klass)[name]
            kind = type(found)
            if hasattr(kind, "__get__") and hasattr(kind, "__set__"):  # a slot, or a property
                return Attribute(klass, found, found.__get__, found.__set__)
            return _in_instance_dict(klass, name, found)  # a class default, e.g. `grad = 0`
    return _in_instance_dict(cls, name, _ABSENT)


def _in_instance_dict(owner: type, name: str, default: object) -> Attribute:
    def get(obj: object) -> object:
        value = obj.__dict__.get(name, default)
        if value is _ABSENT:
            raise AttributeError(name)
        return value

    def set_(obj: object, value: object) -> None:
        obj.__dict__[name] = value

    return Attribute(owner, default, get, set_)


@contextmanager
def replaced(attrs: list[tuple[Attribute, str, object]]) -> Iterator[None]:
    """Install each property on its owner class for the block, then put back what was there."""
    done = []
    try:
        for attr, name, prop in attrs:
            setattr(attr.owner, name, prop)
            done.append((attr, name))
        yield
    finally:
        for attr, name in reversed(done):
            if attr.original is _ABSENT:
                delattr(attr.owner, name)
            else:
                setattr(attr.owner, name, attr.original)


class _LoggedWrites:
    """`grad` of a class whose instances keep it in their `__dict__`: writes are logged,
    reads (twice as many) go straight to the instance dict, since this has no `__get__`."""

    __slots__ = ("write",)

    def __init__(self, write: Callable[[object, object], None]) -> None:
        self.write = write

    def __set__(self, obj: object, value: object) -> None:
        self.write(obj, value)


def _logging_grad(grad: Attribute, log: WriteLog) -> object:
    get, set_ = grad.get, grad.set
    targets, olds, news = log.targets.append, log.olds.append, log.news.append

    def write(obj: object, value: object) -> None:
        try:
            old = get(obj)
        except AttributeError:  # a grad the class never set before: shown as 0
            old = 0
        targets(obj)
        olds(old)
        news(value)
        set_(obj, value)

    if grad.original is _ABSENT:
        return _LoggedWrites(write)  # kept in the instance dict, no class default
    return property(get, write)


def _logging_step(step: Attribute, log: WriteLog) -> property:
    get = step.get
    steps, starts, targets = log.steps, log.step_starts, log.targets
    add_step, add_start = steps.append, starts.append

    def read(obj: object) -> object:
        # read again within the same step (no write since): still that step
        if not steps or steps[-1] is not obj or starts[-1] != len(targets):
            add_step(obj)
            add_start(len(targets))
        return get(obj)

    return property(read, step.set)


@contextmanager
def logging_backward(classes: dict[type, ValueShape], log: WriteLog) -> Iterator[None]:
    """Log every grad write and every step start of the classes' instances, for the block."""
    installs = []
    for cls, shape in classes.items():
        if any(base in classes for base in cls.__mro__[1:]):
            continue  # a subclass: its base's properties serve it
        grad = attribute(cls, "grad")
        installs.append((grad, "grad", _logging_grad(grad, log)))
        step = attribute(cls, shape.step)
        installs.append((step, shape.step, _logging_step(step, log)))
    with replaced(installs):
        yield


def probe_local_grads(nodes: list, cls: type) -> list[tuple[tuple, tuple]]:
    """Each micrograd-style node's `_backward()` read out as (targets, local gradients).

    The grad of the node being probed reads as 1.0, every other grad as 0.0, and
    writes are kept aside, not stored: the k-th write is `target.grad += local_grad
    * 1.0`. A closure that fails, or that writes nothing while the node has
    children, gives no local gradients ((), ()).
    """
    grad = attribute(cls, "grad")
    backward = attribute(cls, "_backward")
    current: list = [None]
    writes: list = []

    def read(obj: object) -> float:
        return 1.0 if obj is current[0] else 0.0

    def write(obj: object, value: object) -> None:
        writes.append((obj, value))

    probes = []
    with replaced([(grad, "grad", property(read, write))]):
        for node in nodes:
            writes.clear()
            current[0] = node
            try:
                backward.get(node)()
            except Exception:  # noqa: BLE001 - the script's closure: no local gradients then
                writes.clear()
            probes.append((tuple(t for t, _ in writes), tuple(g for _, g in writes)))
    return probes


NOT_DERIVED = math.nan  # the local gradient of a closure that could not be read out
