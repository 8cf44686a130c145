"""The vector graph: the traced scalar graph seen as the vectors a teacher draws.

Nothing here is computed again. A `Vector` is a list of the scalar nodes
themselves (q, the head's weights, a parameter matrix or the rows of it that
one token uses), so its values and grads are read live from those nodes: as a
walk steps the backward pass, the vector's grads change with it. A `VectorOp`
is one operation between vectors (`linear W_q`, `softmax`, `Σ w·v`): the
contiguous run of scalar nodes (in creation order) that computed its output.
Every scalar node that is not a leaf belongs to exactly one op.

Which ops a graph has is found by `engine.vector.derive` (from the model's
labels, or from a script's statements); what an op reads (`VectorOp.inputs`)
is worked out the first time it is asked, from the scalar edges.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cached_property

from engine.graph import in_scope, positions
from engine.value import Value

COMPUTED, PARAM, CONST = "computed", "param", "const"


@dataclass(eq=False)
class Vector:
    """A vector (or matrix) of scalar nodes: an op's output, or parameters.

    `members` are the scalar nodes in index order; `index[i]` is member i's
    index in the whole vector (`probs` keeps only the target's probability:
    one member, whose index is the target). A matrix (parameters) has `shape`
    (rows, columns) and its members row after row; `rows` names the matrix
    rows they are (all of them, or the one a token uses).
    """

    name: str  # `q`, `attn_weights`, `layer0.attn_wq`, `wte[4]`
    scope: str  # where its members were computed ("params" for parameters)
    members: list[Value]
    kind: str = COMPUTED  # COMPUTED, PARAM or CONST
    index: list[int] = field(default_factory=list)
    shape: tuple[int, int] | None = None  # (rows, columns) of a matrix, else None
    rows: list[int] = field(default_factory=list)  # a matrix's row numbers
    producer: VectorOp | None = None  # the op that computed it (None for parameters)
    indexed: bool = False  # its entries are named `name[i]` (a one-entry vector too)

    def __post_init__(self) -> None:
        if not self.index:
            self.index = list(range(len(self.members)))
        self.indexed = self.indexed or len(self.members) > 1

    @property
    def values(self) -> list[float]:
        """The members' values (their own floats)."""
        return [m.data for m in self.members]

    @property
    def grads(self) -> list[float]:
        """The members' grads, as they are now (they change as the backward pass runs)."""
        return [m.grad for m in self.members]

    @property
    def partial(self) -> bool:
        """True if only some of the vector's entries are in the graph (`probs`: the target's).

        (Entries missing after the last one kept cannot be told: the full length
        is not recorded.)
        """
        return self.index != list(range(len(self.members)))

    def title(self) -> str:
        """`q`; `probs[3]` (the one entry the graph kept); `layer0.attn_wq`."""
        if self.indexed and len(self.members) == 1:
            return f"{self.name}[{self.index[0]}]"
        if self.partial:
            return f"{self.name}[{', '.join(map(str, self.index))}]"
        return self.name


@dataclass(frozen=True)
class Operand:
    """What an op reads of one vector: the members at `positions` (all of them, or a slice)."""

    vector: Vector
    positions: tuple[int, ...]

    @property
    def whole(self) -> bool:
        return len(self.positions) == len(self.vector.members)

    @property
    def members(self) -> list[Value]:
        return [self.vector.members[i] for i in self.positions]

    def title(self) -> str:
        """`q`, or the slice read: `q[4:8]`, `k[4:8]`."""
        if self.whole:
            return self.vector.title()
        first, last = self.positions[0], self.positions[-1]
        if self.vector.shape is None and self.positions == tuple(range(first, last + 1)):
            return f"{self.vector.name}[{first}:{last + 1}]"
        return f"{self.vector.name}[{len(self.positions)} of {len(self.vector.members)}]"


@dataclass(eq=False)
class VectorOp:
    """One operation between vectors: the scalar nodes at places `start <= i < stop` of the
    graph's node list that made `output` (their ids, unless a reroot left gaps in them)."""

    name: str  # what it computes: `linear W_q`, `q·k/√d`, `softmax`, `+ residual`
    scope: str
    start: int
    stop: int
    output: Vector
    number: int = 0  # its place among the graph's ops (creation order)
    graph: VectorGraph | None = field(default=None, repr=False)

    @property
    def nodes(self) -> list[Value]:
        """Its scalar nodes, in creation order (constants it made included)."""
        assert self.graph is not None
        return self.graph.nodes[self.start : self.stop]

    @property
    def first_id(self) -> int:
        """The id of its first node: every node it reads from outside has a smaller id (ids
        grow in creation order, with gaps after a reroot), every node of its own not."""
        assert self.graph is not None
        return self.graph.nodes[self.start].id

    @property
    def last_id(self) -> int:
        """The id of its last node."""
        assert self.graph is not None
        return self.graph.nodes[self.stop - 1].id

    def steps_in(self, index_of: Sequence[int]) -> Sequence[int]:
        """Where its nodes are in a walk's order, from the walk's `index_of` (by node id)."""
        assert self.graph is not None
        nodes = self.graph.nodes
        first, last = nodes[self.start].id, nodes[self.stop - 1].id
        if last - first == self.stop - 1 - self.start:  # (its ids have no gaps: a slice)
            return index_of[first : last + 1]
        return [index_of[node.id] for node in nodes[self.start : self.stop]]

    @cached_property
    def inputs(self) -> list[Operand]:
        """The vectors it reads (parameters included), in the order it first reads them."""
        assert self.graph is not None
        return self.graph.resolve_inputs(self)

    def __repr__(self) -> str:
        if self.graph is None:
            return f"VectorOp({self.name!r}, {self.scope!r}, [{self.start}:{self.stop}])"
        return f"VectorOp({self.name!r}, {self.scope!r}, #{self.first_id}..#{self.last_id})"


class VectorGraph:
    """The vectors and ops of a scalar graph, and lookups between the two levels.

    `ops` are in creation order and cover every computed scalar node once;
    `outputs` are their output vectors. Parameter vectors are made as ops are
    found to read them (`VectorOp.inputs`), once per matrix and set of rows.
    """

    def __init__(
        self,
        nodes: Sequence[Value],
        ops: list[VectorOp],
        resolver: Callable[[VectorGraph, VectorOp], list[Operand]],
    ) -> None:
        self.nodes = nodes
        self.ops = ops
        self._resolver = resolver
        self._place = positions(nodes)  # a node's place in `nodes` (ids may have gaps)
        self._starts = [op.start for op in ops]
        for i, op in enumerate(ops):
            op.number, op.graph = i, self
            op.output.producer = op

    # -- lookups ----------------------------------------------------------------------

    @property
    def outputs(self) -> list[Vector]:
        """Every op's output vector, in creation order."""
        return [op.output for op in self.ops]

    def op_of(self, node: Value) -> VectorOp | None:
        """The op that computed `node` (None for a parameter or a leaf outside every op)."""
        place = self._place(node)
        i = bisect_right(self._starts, place) - 1
        if i >= 0 and 0 <= place < self.ops[i].stop and self.nodes[place] is node:
            return self.ops[i]
        return None

    def vector_of(self, node: Value) -> tuple[Vector, int] | None:
        """The output vector `node` is a member of, and its position there (None: it is not)."""
        return self._member_of.get(node.id)

    def ops_in(self, scope: str) -> list[VectorOp]:
        """The ops computed in `scope` or inside it ("" is every op), in creation order."""
        return [op for op in self.ops if in_scope(op.scope, scope)]

    @cached_property
    def _member_of(self) -> dict[int, tuple[Vector, int]]:
        found: dict[int, tuple[Vector, int]] = {}
        for op in self.ops:
            for i, m in enumerate(op.output.members):
                found[m.id] = (op.output, i)
        return found

    # -- what an op reads ---------------------------------------------------------------

    def resolve_inputs(self, op: VectorOp) -> list[Operand]:
        return self._resolver(self, op)
