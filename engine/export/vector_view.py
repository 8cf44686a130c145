"""What a vector-level picture shows: boxes for vectors, nodes for the ops between them.

A scope shows its ops, their outputs, and what they read from outside the scope
(dashed boxes: `q[4:8]`, the parameters). The keys and values a head reads
from every position are stacked into one box, a row per position. The
overview is one token's forward pass: that position's ops, each head's three
ops drawn as one `attention` op, parameters left out (each op names its matrix).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from engine.errors import InputError
from engine.export.selection import Selection, check_scope
from engine.graph import scope_position
from engine.value import Value
from engine.vector import Operand, VectorGraph, VectorOp, vector_graph
from engine.vector.naming import matrix_symbol

if TYPE_CHECKING:
    from engine.session import DebugSession

_POSITION = re.compile(r"^pos\d+\.")


@dataclass(eq=False)
class VectorBox:
    """One box: a vector (a row of cells), or a matrix or a stack of vectors (rows of cells)."""

    key: str
    title: str  # `q[4:8]`, `k[4:8] · pos 0–4`, `attn_weights`
    where: str  # the scope it was computed in, or `params`
    rows: list[list[Value]]  # the members drawn, row by row
    row_names: list[str] = field(default_factory=list)  # `pos0`... for a stack
    outside: bool = False  # read from outside the selection: drawn dashed
    param: bool = False
    note: str = ""  # shown beside the title: where it is, relative to the picture

    @property
    def members(self) -> list[Value]:
        return [m for row in self.rows for m in row]

    @property
    def width(self) -> int:
        return max(len(row) for row in self.rows)


@dataclass(eq=False)
class OpNode:
    """One op between boxes (or several drawn as one: a layer's attention heads)."""

    key: str
    name: str
    inputs: list[str]  # box keys, in the order the op reads them
    output: str  # box key
    ops: list[VectorOp]  # the vector ops it stands for


@dataclass
class VectorView:
    """Everything a vector-level picture draws, in reading order."""

    boxes: dict[str, VectorBox]
    ops: list[OpNode]
    graph: VectorGraph
    what: str  # `scope pos4.layer0.attn.head1`, `position 4`

    @property
    def drawn(self) -> int:
        return len(self.boxes) + len(self.ops)

    @property
    def nodes(self) -> int:
        """Scalar nodes the picture stands for (the ops' own)."""
        return sum(op.stop - op.start for node in self.ops for op in node.ops)

    def op_node_of(self, op: VectorOp | None) -> OpNode | None:
        """The drawn op that stands for `op` (None if it is not in the picture)."""
        return next((n for n in self.ops if op is not None and op in n.ops), None)


def vector_view(
    session: DebugSession, selection: Selection, graph: VectorGraph | None = None
) -> VectorView:
    """The vector-level view of a scope or of the overview (one token's forward pass)."""
    graph = graph or vector_graph(session.capture)
    if selection.kind == "scope":
        check_scope(session, selection.scope)
        ops = graph.ops_in(selection.scope)
        if not ops:
            raise InputError(f"scope {selection.scope} computes no vector (it holds parameters)")
        return _ScopeBuilder(graph, f"scope {selection.scope}", selection.scope).build(ops)
    if selection.kind == "overview":
        pos = token_position(session)
        ops = graph.ops_in(f"pos{pos}") if pos is not None else graph.ops
        base = f"pos{pos}" if pos is not None else ""
        return _ScopeBuilder(graph, f"position {pos}", base, overview=True).build(ops)
    raise InputError("a node selection is drawn at scalar level; use a scope or the overview")


def token_position(session: DebugSession) -> int | None:
    """The position whose forward pass the overview shows: the captured one, or the last."""
    if session.pos is not None:
        return session.pos
    found = [scope_position(c.path) for c in session.scopes.children.values()]
    known = [p for p in found if p is not None]
    return max(known) if known else None


class _ScopeBuilder:
    """Collects boxes and op nodes for a list of ops (each op once, inputs shared)."""

    def __init__(self, graph: VectorGraph, what: str, base: str, *, overview: bool = False) -> None:
        self.graph = graph
        self.what = what
        self.base = base  # the scope the picture is of: notes are relative to it
        self.overview = overview
        self.boxes: dict[str, VectorBox] = {}
        self.nodes: list[OpNode] = []
        self._stack_keys: dict[tuple, str] = {}  # (name, scope without position, slice) -> key

    def build(self, ops: list[VectorOp]) -> VectorView:
        groups = _attention_groups(ops) if self.overview else [[op] for op in ops]
        box_of: dict[int, str] = {}  # id(vector) -> the box drawing it, for ops inside
        for group in groups:
            output = self._output_box(group)
            for op in group:
                box_of[id(op.output)] = output.key
            made = {id(op.output) for op in group}
            reads = [o for op in group for o in op.inputs if id(o.vector) not in made]
            inputs = []
            for key in self._input_boxes(reads, box_of):
                if key not in inputs:
                    inputs.append(key)
            name = _group_name(group) if len(group) > 1 else group[0].name
            self.nodes.append(OpNode(f"op{group[-1].number}", name, inputs, output.key, group))
        return VectorView(self.boxes, self.nodes, self.graph, self.what)

    def _output_box(self, group: list[VectorOp]) -> VectorBox:
        if len(group) == 1:
            vector = group[0].output
            key = f"v{group[0].number}"
            box = VectorBox(key, vector.title(), vector.scope, [vector.members])
        else:  # the heads of one layer: their outputs side by side (microgpt's x_attn)
            outs = [op.output for op in group if op.name == "Σ w·v"]
            scope = outs[0].scope.rsplit(".", 1)[0]
            members = [m for v in outs for m in v.members]
            box = VectorBox(f"v{group[-1].number}", "heads' outputs", scope, [members])
        box.note = self._note(box.where)
        self.boxes[box.key] = box
        return box

    def _note(self, scope: str) -> str:
        """A scope as a box shows it: relative to the picture's scope, else without its position."""
        base = self.base
        if base and (scope == base or scope.startswith(base + ".")):
            return scope[len(base) + 1 :]
        position = self.base.split(".", 1)[0]
        if position.startswith("pos") and scope.startswith(position + "."):
            return scope[len(position) + 1 :]
        return scope

    def _input_boxes(self, reads: list[Operand], box_of: dict[int, str]) -> list[str]:
        """Box keys for what an op reads: boxes drawn already, or outside boxes (stacked).

        The overview leaves out what a token's pass reads from outside it: the
        parameters (each op names its matrix) and earlier positions' keys and values.
        """
        keys: list[str] = []
        stacks: dict[tuple, list[Operand]] = {}
        for operand in reads:
            vector = operand.vector
            if id(vector) in box_of:
                keys.append(box_of[id(vector)])
            elif not self.overview:
                stack = (vector.name, _POSITION.sub("", vector.scope), operand.positions)
                key = self._stack_keys.setdefault(stack, f"in{len(self._stack_keys)}")
                if stack not in stacks:
                    keys.append(key)
                stacks.setdefault(stack, []).append(operand)
        for stack, operands in stacks.items():
            self._outside_box(self._stack_keys[stack], operands)
        return keys

    def _outside_box(self, key: str, operands: list[Operand]) -> None:
        if key in self.boxes:
            return
        first = operands[0]
        vector = first.vector
        if vector.shape is not None:  # a parameter matrix, or the rows a token uses
            width = vector.shape[1]
            members = first.members
            rows = [members[i : i + width] for i in range(0, len(members), width)]
            whole = "[" not in vector.name  # the whole matrix, not the rows a token uses
            title = matrix_symbol(vector.name) if whole else vector.title()
            box = VectorBox(key, title, "params", rows, outside=True, param=True)
            box.note = vector.name if whole else ""
            self.boxes[key] = box
            return
        elif len(operands) == 1:
            box = VectorBox(key, first.title(), vector.scope, [first.members], outside=True)
        else:
            positions = [scope_position(o.vector.scope) for o in operands]
            names = [f"pos{p}" if p is not None else "?" for p in positions]
            title = f"{first.title()} · {_span(positions)}"
            rows = [o.members for o in operands]
            where = _POSITION.sub("", vector.scope)
            box = VectorBox(key, title, where, rows, names, outside=True)
        box.note = self._note(box.where)
        self.boxes[key] = box


def _span(positions: list[int | None]) -> str:
    known = [p for p in positions if p is not None]
    if known and known == list(range(known[0], known[-1] + 1)):
        return f"pos {known[0]}–{known[-1]}"
    return ", ".join(f"pos {p}" for p in known)


def _attention_groups(ops: list[VectorOp]) -> list[list[VectorOp]]:
    """Each op alone, except a layer's heads: all their ops as one group."""
    groups: list[list[VectorOp]] = []
    for op in ops:
        head = _head_layer(op.scope)
        if head is not None and groups and _head_layer(groups[-1][-1].scope) == head:
            groups[-1].append(op)
        else:
            groups.append([op])
    return groups


def _head_layer(scope: str) -> str | None:
    """`pos4.layer0.attn` for an op inside one of its heads, else None."""
    parts = scope.split(".")
    for i, part in enumerate(parts):
        if part.startswith("head") and part[4:].isdigit():
            return ".".join(parts[:i])
    return None


def _group_name(group: list[VectorOp]) -> str:
    heads = sum(1 for op in group if op.name == "Σ w·v")
    return f"{heads} heads\nq·k/√d → softmax → Σ w·v"
