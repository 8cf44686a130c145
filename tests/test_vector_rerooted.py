"""The vector level on a rerooted session: Root here keeps the nodes' ids, so they have gaps.

Every engine/vector module addresses an op's nodes by place in the node list (`op.start`,
`op.stop`) and the walks' arrays by id (`BackwardPass.index_of`); on a rerooted graph the
two differ, and a vector step must still be a scalar state, an op's sums the terms its
nodes passed on, and an op named by its nodes' own ids.
"""

from __future__ import annotations

from functools import cache

import pytest
from conftest import VOCAB, make_model

from engine.config import GPTConfig
from engine.data import Tokenizer
from engine.session import BACKWARD, DebugSession
from engine.vector import DONE, VECTOR
from engine.vector.gradients import chain_rule_sums, op_gradient, sums_from_terms
from microgpt_tui.widgets.vector_inspector import describe_op, gradient_of

SMALL = GPTConfig(n_embd=8, n_head=2, block_size=8)


def session() -> DebugSession:
    return DebugSession(make_model(SMALL), Tokenizer(VOCAB), "emma", pos=3)


@cache
def root_node_id() -> int:
    """A node of position 2's attention (position 3's graph): its graph has gaps in the ids."""
    s = session()
    return next(n for n in reversed(s.nodes) if n.scope == "pos2.layer0.attn" and n.op == "+").id


def rerooted() -> DebugSession:
    s = session()
    new = s.rerooted(s.node(root_node_id()))
    new.set_phase(BACKWARD)
    return new


def state(s: DebugSession) -> tuple:
    return s.backward.position, [n.grad for n in s.nodes]


def test_the_rerooted_graph_has_gaps_in_its_ids() -> None:
    s = rerooted()
    assert s.nodes[-1].id != len(s.nodes) - 1  # (else this file tests nothing new)
    s.move(VECTOR)
    ops = s.vectors.graph.ops
    assert any(op.first_id != op.start for op in ops)
    for op in ops:
        assert (op.first_id, op.last_id) == (op.nodes[0].id, op.nodes[-1].id)
        assert list(op.steps_in(s.backward.index_of)) == [
            s.backward.index_of[n.id] for n in op.nodes
        ]


@pytest.mark.parametrize("focus", [None, "pos2.layer0.attn"])
def test_every_vector_stop_is_the_scalar_steppers_state_and_completes_its_op(focus) -> None:
    s, twin = rerooted(), rerooted()
    s.set_focus(focus)
    twin.set_focus(focus)
    s.move(VECTOR)
    walk = s.vectors.current
    stops = 0
    while s.move("step").moved:
        op = walk.completed_op
        if op is None:
            assert s.backward.done
            break
        stops += 1
        # every node of the op has passed its grad on, and no node after the stop has
        assert walk.state(op) == DONE
        assert all(s.backward.propagated(n) for n in op.nodes if n._children)
        assert max(s.backward.index_of[n.id] for n in op.nodes) == s.backward.position - 1
        while twin.backward.position < s.backward.position:
            assert twin.move("step").moved
        assert state(twin) == state(s)  # ==, every grad
    assert stops == len(s.vectors.graph.ops_in(focus or ""))


def test_an_ops_sums_are_the_terms_its_nodes_passed_on() -> None:
    s = rerooted()
    s.move(VECTOR)
    walk = s.vectors.current
    seen = 0
    while s.move("step").moved and walk.completed_op is not None:
        op = walk.completed_op
        sums = chain_rule_sums(op, s.backward)
        assert sums == sums_from_terms(op, s.terms)
        gradient = op_gradient(op, sums)
        if gradient.largest_difference() is not None:
            seen += 1
            size = max((abs(x) for side in gradient.sides for x in side.scalar if x), default=1.0)
            assert gradient.largest_difference() <= 1e-14 * size, op
    assert seen > 0


def test_the_inspector_names_an_op_by_its_own_ids() -> None:
    s = rerooted()
    s.move(VECTOR)
    s.move("step")
    op = s.vectors.shown_op()
    text = " ".join(t for line in describe_op(s, op, gradient_of(s, op)) for t, _ in line)
    assert f"#{op.nodes[0].id}…#{op.nodes[-1].id}" in text
