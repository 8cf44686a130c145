"""Names from the script's own variables: its parameters, wherever kept, and other nodes' labels.

Parameters are leaves the script keeps in a structure, found in the namespaces of
the `backward()` call (its module's globals and the locals of the functions on
the stack):

- dicts of values, vectors, matrices or deeper nested lists (microgpt's
  `state_dict`, a norm gain beside the matrices): named `wte[3][7]`, `ln_gain[3]`;
- objects with a `parameters()` method (micrograd's `MLP`), walked through their
  attributes: `model.layers[0].neurons[1].w[2]`, `model.layers[0].neurons[1].b`.

Each keeps its shape (`ScriptParameters.shaped`); the debugger's views, which show
matrices, get each as rows (`state_dict`: a vector is one row, a scalar one cell).
"""

from __future__ import annotations

import types
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from engine.capture import Parameters
from engine.value import Value

Nest = object  # a value, or a list or tuple of nests
_MAX_DEPTH = 8  # how deep nests and attribute walks go
# objects with a __dict__ that hold no parameters of their own
_NOT_HOLDERS = (type, types.ModuleType, types.FunctionType, types.MethodType)


@dataclass
class ScriptParameters(Parameters):
    """A script's parameters: by name as matrices (`state_dict`), and in their own shapes."""

    shaped: dict[str, Nest] = field(default_factory=dict)  # name -> Value or nested lists

    def grads(self) -> dict[str, object]:
        """Every parameter's grad as a float, in the shape the script keeps it."""
        return {name: map_nest(nest, lambda p: float(p.grad)) for name, nest in self.shaped.items()}


def map_nest(nest: Nest, f: Callable[[object], object]) -> object:
    """`nest` with every leaf `x` replaced by `f(x)`, lists for lists and tuples."""
    if isinstance(nest, (list, tuple)):
        return [map_nest(item, f) for item in nest]
    return f(nest)


def as_rows(nest: Nest) -> list[list]:
    """A nest as the rows of a matrix: a scalar is one cell, a vector one row."""
    if not isinstance(nest, (list, tuple)):
        return [[nest]]
    if all(not isinstance(item, (list, tuple)) for item in nest):
        return [list(nest)]
    return [row for item in nest for row in as_rows(item)]


def leaves_of(nest: Nest) -> Iterator[tuple[object, str]]:
    """(leaf, index suffix) in order: `[3][7]` in a matrix, `` for a scalar."""
    stack: list[tuple[Nest, str]] = [(nest, "")]
    while stack:
        item, suffix = stack.pop()
        if isinstance(item, (list, tuple)):
            stack.extend((x, f"{suffix}[{i}]") for i, x in reversed(list(enumerate(item))))
        else:
            yield item, suffix


class ParameterFinder:
    """Finds the script's parameters: nests of leaf values, named by where they are kept."""

    def __init__(self, is_value: Callable[[object], bool], is_leaf: Callable[[object], bool]):
        self.is_value = is_value
        self.is_leaf = is_leaf
        self.found: dict[str, Nest] = {}
        self._named: set[int] = set()

    def is_nest(self, obj: object, depth: int = 0) -> bool:
        """A value, or a non-empty list or tuple of nests, every value a leaf of the graph."""
        if self.is_value(obj):
            return self.is_leaf(obj)
        if not isinstance(obj, (list, tuple)) or not obj or depth > _MAX_DEPTH:
            return False
        if all(map(self.is_value, obj)):  # a vector (a matrix's row): two calls an item
            return all(map(self.is_leaf, obj))
        return all(self.is_nest(item, depth + 1) for item in obj)

    def add(self, name: str, nest: Nest) -> None:
        """Keep `nest` under `name` unless every value in it already has a name."""
        leaves, stack = [], [nest]  # (in any order: only which they are counts here)
        while stack:
            item = stack.pop()
            if isinstance(item, (list, tuple)):
                stack.extend(item)
            else:
                leaves.append(id(item))
        if not self._named.issuperset(leaves):
            self.found[name] = nest
            self._named.update(leaves)

    def find(self, spaces: list[dict]) -> dict[str, Nest]:
        """The parameters in the namespaces (innermost locals first, the globals last)."""
        outermost_first = [
            (name, obj)
            for space in reversed(spaces)
            for name, obj in list(space.items())
            if not name.startswith("__")
        ]
        for _, obj in outermost_first:
            if isinstance(obj, dict) and obj and all(isinstance(k, str) for k in obj):
                if all(self.is_nest(m) for m in obj.values()):
                    for key, nest in obj.items():
                        self.add(key, nest)
        for name, obj in outermost_first:
            if callable(getattr(type(obj), "parameters", None)) and not self.is_value(obj):
                self._walk(obj, name, 0, set())
        return self.found

    def _walk(self, obj: object, path: str, depth: int, seen: set[int]) -> None:
        """Nests in an object's attributes, and in the objects, lists and dicts it holds."""
        if depth > _MAX_DEPTH or id(obj) in seen:
            return
        seen.add(id(obj))
        if self.is_nest(obj):
            self.add(path, obj)
        elif isinstance(obj, (list, tuple)):
            for i, item in enumerate(obj):
                self._walk(item, f"{path}[{i}]", depth + 1, seen)
        elif isinstance(obj, dict):
            for key, item in obj.items():
                if isinstance(key, str):
                    self._walk(item, f"{path}[{key!r}]", depth + 1, seen)
        elif hasattr(obj, "__dict__") and not isinstance(obj, _NOT_HOLDERS):
            for attr, item in list(vars(obj).items()):
                if not attr.startswith("_"):
                    self._walk(item, f"{path}.{attr}", depth + 1, seen)


def parameter_nodes(
    found: dict[str, Nest],
    node_of: Callable[[object], Value | None],
    lend: Callable[[object, Value], None],
) -> ScriptParameters:
    """The parameters as engine nodes: the graph's leaves, or fresh ones it does not use.

    A fresh node (id -1) keeps the script's grad (what backward() leaves it), and is
    lent to its object like the graph's (a write of backward() to it is replayed too).
    """
    shaped: dict[str, Nest] = {}
    for name, nest in found.items():

        def node_for(p: object) -> Value:
            node = node_of(p)
            if node is None:
                node = Value(p.data, (), (), "param")  # type: ignore[attr-defined]
                node.id, node.code, node.line = -1, None, 0
                lend(p, node)
            node.op, node.scope = "param", "params"
            return node

        shaped[name] = map_nest(nest, node_for)
        for node, suffix in leaves_of(shaped[name]):
            node.label = f"{name}{suffix}"  # type: ignore[attr-defined]
    state_dict = {name: as_rows(nest) for name, nest in shaped.items()}
    return ScriptParameters(state_dict, None, shaped)


def named_values(
    spaces: list[dict], is_value: Callable[[object], bool]
) -> Iterator[tuple[object, str]]:
    """(value, name) for the script's variables holding a value, or lists of them."""
    for space in spaces:  # innermost first
        for name, obj in list(space.items()):
            if not name.startswith("__") and is_value(obj):
                yield obj, name
    for space in spaces:
        for name, obj in list(space.items()):
            if name.startswith("__") or not isinstance(obj, (list, tuple)):
                continue
            stack = [(obj, name, 0)]
            while stack:
                seq, label, depth = stack.pop()
                if not seq:
                    continue
                first = seq[0]
                if is_value(first):
                    for i, x in enumerate(seq):
                        if is_value(x):
                            yield x, f"{label}[{i}]"
                elif isinstance(first, (list, tuple)) and depth < 3:
                    stack.extend(
                        (x, f"{label}[{i}]", depth + 1)
                        for i, x in reversed(list(enumerate(seq)))
                        if isinstance(x, (list, tuple))
                    )
