"""What each vector op reads: its scalar nodes' inputs from before it, grouped into vectors.

An op is a contiguous run of nodes in creation order and every input is created
before its consumer, so an op's inputs from outside are exactly its nodes'
children with a smaller id than its first node. Each is a member of another
op's output, a parameter (grouped by matrix and the rows read), or, rarely, a
lone scalar (a constant a script made once, an unnamed intermediate).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from itertools import chain, compress
from operator import attrgetter

from engine.graph import positions as places_in
from engine.value import Value
from engine.vector.graph import COMPUTED, CONST, PARAM, Operand, Vector, VectorGraph, VectorOp

_children = attrgetter("_children")
_id = attrgetter("id")


class ParamIndex:
    """Where each parameter node sits: its matrix, row and column, from a model's state_dict.

    Only parameters that are nodes of this graph count (a capture keeps the ones
    its root uses; the others keep stale ids).
    """

    def __init__(
        self, nodes: Sequence[Value], state_dict: Mapping[str, list[list[Value]]] | None
    ) -> None:
        self.where: dict[int, tuple[str, int, int]] = {}  # by id
        self.matrices = state_dict or {}
        n, at = len(nodes), places_in(nodes)
        for name, matrix in self.matrices.items():
            for r, row in enumerate(matrix):
                for c, p in enumerate(row):
                    i = at(p) if isinstance(getattr(p, "id", None), int) else -1
                    if 0 <= i < n and nodes[i] is p:
                        self.where[p.id] = (name, r, c)


class InputResolver:
    """Resolves `VectorOp.inputs`, making each parameter vector once per matrix and rows."""

    def __init__(self, nodes: Sequence[Value], state_dict: Mapping | None) -> None:
        self.nodes = nodes
        self._state_dict = state_dict
        self._params: ParamIndex | None = None
        self._param_vectors: dict[tuple[str, tuple[int, ...]], Vector] = {}
        self._lone: dict[int, Vector] = {}

    @property
    def params(self) -> ParamIndex:
        if self._params is None:  # built on first use: tracing need not pay for it
            self._params = ParamIndex(self.nodes, self._state_dict)
        return self._params

    def __call__(self, graph: VectorGraph, op: VectorOp) -> list[Operand]:
        outside: dict[int, Value] = {}  # in the order the op first reads them
        children = list(chain.from_iterable(map(_children, self.nodes[op.start : op.stop])))
        # read from outside: made before the op, so a smaller id than its first node's (ids
        # grow in creation order, with gaps after a reroot); the test in C: most children
        # are the op's own nodes, an op has up to 66,000
        for child in compress(children, map(op.first_id.__gt__, map(_id, children))):
            outside.setdefault(child.id, child)
        where = self.params.where
        read: dict[tuple[str, object], set] = {}  # ("v", vector): positions; ("p", matrix): cells
        vectors: dict[int, Vector] = {}
        for i, child in outside.items():
            member = graph.vector_of(child)
            if member is None and i in where:
                matrix, r, c = where[i]
                read.setdefault(("p", matrix), set()).add((r, c))
                continue
            vector, position = member if member is not None else (self._lone_vector(child), 0)
            vectors[id(vector)] = vector
            read.setdefault(("v", id(vector)), set()).add(position)
        operands = []
        for (kind, key), positions in read.items():
            if kind == "v":
                operands.append(Operand(vectors[key], tuple(sorted(positions))))
                continue
            rows = tuple(sorted({r for r, _ in positions}))
            vector = self._param_vector(str(key), rows)
            width = vector.shape[1] if vector.shape else 1
            at = {r: k for k, r in enumerate(rows)}
            operands.append(Operand(vector, tuple(sorted(at[r] * width + c for r, c in positions))))
        return operands

    def _param_vector(self, matrix: str, rows: tuple[int, ...]) -> Vector:
        """The rows `rows` of parameter matrix `matrix` (all of them: the matrix itself)."""
        key = (matrix, rows)
        found = self._param_vectors.get(key)
        if found is None:
            full = self.params.matrices[matrix]
            members = [p for r in rows for p in full[r]]
            if len(rows) == len(full):
                name = matrix
            else:
                name = f"{matrix}[{', '.join(map(str, rows))}]"
            found = Vector(
                name, "params", members, PARAM, shape=(len(rows), len(full[0])), rows=list(rows)
            )
            self._param_vectors[key] = found
        return found

    def _lone_vector(self, node: Value) -> Vector:
        """A scalar read by an op that is no op's output: a one-member vector of its own."""
        found = self._lone.get(node.id)
        if found is None:
            kind = CONST if node.op == "const" else PARAM if node.op == "param" else COMPUTED
            name = node.label or f"#{node.id}"
            found = self._lone[node.id] = Vector(name, node.scope, [node], kind)
        return found
