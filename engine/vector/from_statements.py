"""The vector ops of a script's graph (`attach`), from the statements that created its nodes.

A script has no labels, but every node knows its scope (`pos3.layer0.head1`),
its source line and its call chain (`gpt › softmax`). An op is then:

- a run of consecutive nodes made by one statement in one scope (`attn_logits =
  [...]`, `x = [a + b for ...]`); or
- one call of a helper function (`rmsnorm`, `softmax`, `linear`): the runs made
  inside a scope named after the function (attach appends the names of the
  functions called below the scope variables' frame), split where a call
  starts reading another parameter matrix (`q`, `k` and `v` are three calls
  of `linear` in a row).

Its output is what later ops (or the root) read of it. Names follow the
script: the variable a statement assigns, the function called, the matrix a
linear layer reads; microgpt's own statements get the model's names.
"""

from __future__ import annotations

import ast
import linecache
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from engine.capture import Capture
from engine.graph import positions
from engine.value import Value
from engine.vector.graph import Vector, VectorOp
from engine.vector.inputs import ParamIndex
from engine.vector.naming import (
    OP_FOR_LABEL,
    OP_FOR_VARIABLE,
    linear_output_name,
    matrix_symbol,
)

SEPARATOR = " › "  # between the function names of a call chain (engine.attach)
HELPER_OUTPUT = {"rmsnorm": "x_norm", "softmax": "probs"}
MODEL_NAME_OF_OP = {op: name for name, op in OP_FOR_LABEL.items() if op not in ("softmax",)}


@dataclass
class _Run:
    """Consecutive nodes `start <= id < stop` made in one scope (by one statement or helper)."""

    start: int
    stop: int
    scope: str
    line: int
    filename: str | None
    helper: str | None  # the helper function the scope is named after, if any


def ops_from_statements(capture: Capture) -> list[VectorOp]:
    """The ops of a script's graph, each with its output and its name."""
    nodes = capture.nodes
    params = ParamIndex(nodes, capture.model.state_dict if capture.model else None)
    runs = _split_by_matrix(_merge_helper_calls(_runs(nodes, capture.chains)), nodes, params)
    owner = [-1] * len(nodes)  # by place in `nodes`
    for k, run in enumerate(runs):
        owner[run.start : run.stop] = [k] * (run.stop - run.start)
    at = positions(nodes)  # (a node's place: its id, unless a reroot left gaps in the ids)
    read_outside: list[list[Value]] = [[] for _ in runs]
    seen: set[int] = set()
    for node in nodes:
        mine = owner[at(node)]
        for child in node._children:
            k = owner[at(child)]
            if k >= 0 and k != mine and child.id not in seen:
                seen.add(child.id)
                read_outside[k].append(child)
    root = capture.root
    if owner[at(root)] >= 0 and root.id not in seen:
        read_outside[owner[at(root)]].append(root)
    namer = _Namer(nodes, params)
    ops = []
    for run, outputs in zip(runs, read_outside, strict=True):
        outputs.sort(key=lambda n: n.id)
        op_name, vector_name = namer.name(run, outputs)
        vector = Vector(vector_name, run.scope, outputs or [nodes[run.stop - 1]])
        ops.append(VectorOp(op_name, run.scope, run.start, run.stop, vector))
    return ops


def _runs(nodes: Sequence[Value], chains: list[str] | None) -> list[_Run]:
    """Maximal runs of computed nodes (and the constants among them) with one scope and line.

    Parameters end a run: an op never holds one (each is its own leaf).
    """
    runs: list[_Run] = []
    last = None
    for i, node in enumerate(nodes):  # (by place: a reroot keeps ids, with gaps)
        if node.op == "param":
            last = None
            continue
        filename = node.code.co_filename if node.code is not None else None
        key = (node.scope, filename, node.line)
        if key == last:
            runs[-1].stop = i + 1
            continue
        last = key
        chain = chains[i] if chains else ""
        function = chain.rpartition(SEPARATOR)[2]
        helper = function if function and node.scope.rpartition(".")[2] == function else None
        runs.append(_Run(i, i + 1, node.scope, node.line, filename, helper))
    return runs


def _merge_helper_calls(runs: list[_Run]) -> list[_Run]:
    """Runs in a row inside one helper's scope are one call (rmsnorm's three lines)."""
    merged: list[_Run] = []
    for run in runs:
        prev = merged[-1] if merged else None
        if prev and run.helper and prev.helper == run.helper and prev.scope == run.scope:
            if prev.stop == run.start:
                prev.stop = run.stop
                continue
        merged.append(run)
    return merged


def _split_by_matrix(runs: list[_Run], nodes: Sequence[Value], params: ParamIndex) -> list[_Run]:
    """Split a helper's run before the first node that reads a matrix new to it (q, then k)."""
    where = params.where
    out: list[_Run] = []
    for run in runs:
        begin, read = run.start, set()
        for i in range(run.start, run.stop) if run.helper else ():
            matrices = {where[c.id][0] for c in nodes[i]._children if c.id in where}
            if read and matrices - read:
                out.append(_Run(begin, i, run.scope, run.line, run.filename, run.helper))
                begin, read = i, set()
            read |= matrices
        out.append(_Run(begin, run.stop, run.scope, run.line, run.filename, run.helper))
    return out


class _Namer:
    """Names an op and its output from the script: the helper, the matrix, the variable."""

    def __init__(self, nodes: Sequence[Value], params: ParamIndex) -> None:
        self.nodes = nodes
        self.params = params
        self._targets: dict[str, dict[int, str]] = {}

    def name(self, run: _Run, outputs: list[Value]) -> tuple[str, str]:
        nodes = self.nodes[run.start : run.stop]
        matrices = Counter(
            self.params.where[c.id][0]
            for n in nodes
            for c in n._children
            if c.id in self.params.where
        )
        if run.helper is not None:
            return self._helper(run, matrices)
        kinds = {n.op for n in nodes if n._children}
        target = self.target(run.filename, run.line)
        op = self._statement_op(kinds, target, bool(matrices))
        return op, MODEL_NAME_OF_OP.get(op) or target or op

    def _helper(self, run: _Run, matrices: Counter) -> tuple[str, str]:
        if run.helper == "linear" or (matrices and run.helper not in HELPER_OUTPUT):
            if len(matrices) == 1:
                (matrix,) = matrices
                return f"linear {matrix_symbol(matrix)}", linear_output_name(matrix)
        if run.helper == "softmax" and any(p.startswith("head") for p in run.scope.split(".")):
            return "softmax", "attn_weights"
        return run.helper or "?", HELPER_OUTPUT.get(run.helper or "", f"{run.helper}_out")

    @staticmethod
    def _statement_op(kinds: set[str], target: str | None, reads_params: bool) -> str:
        if target in OP_FOR_VARIABLE:
            return OP_FOR_VARIABLE[target]
        if len(kinds) == 1 and kinds <= {"relu", "tanh", "exp", "sigmoid", "gelu"}:
            return next(iter(kinds))  # an activation, elementwise
        if "log" in kinds:
            return "−log p[target]"
        if kinds == {"+"}:
            return "tok + pos" if reads_params else "+ residual"
        if target == "loss":
            return "mean"
        return f"{target} =" if target else "?"

    def target(self, filename: str | None, line: int) -> str | None:
        """The variable assigned by the statement at `line` of `filename` (None: no one name)."""
        if filename is None:
            return None
        targets = self._targets.get(filename)
        if targets is None:
            targets = self._targets[filename] = _assignment_targets(filename)
        return targets.get(line)


def _assignment_targets(filename: str) -> dict[int, str]:
    """For each line of a script, the name the innermost statement holding it assigns."""
    source = "".join(linecache.getlines(filename))
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return {}
    targets: dict[int, str] = {}
    for node in ast.walk(tree):  # outer statements before inner ones: inner ones win
        if isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign)):
            names = node.targets if isinstance(node, ast.Assign) else [node.target]
            if len(names) == 1 and isinstance(names[0], ast.Name):
                for line in range(node.lineno, (node.end_lineno or node.lineno) + 1):
                    targets[line] = names[0].id
    return targets
