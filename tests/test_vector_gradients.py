"""The inspector's vector-form gradients agree with the sums of the scalar chain-rule terms."""

from __future__ import annotations

from conftest import VOCAB, make_model

from engine.config import GPTConfig
from engine.data import Tokenizer
from engine.session import BACKWARD, DebugSession
from engine.vector import DONE, PENDING, VECTOR
from engine.vector.gradients import chain_rule_sums, op_gradient, sums_from_terms

SMALL = GPTConfig(n_embd=8, n_head=2, block_size=8)
# one chain-rule term makes each entry of these: the vector form is the very same product
ONE_TERM = {
    ("relu", "g ⊙ [x > 0]"),
    ("+ residual", "g"),
    ("tok + pos", "g"),
    ("−log p[target]", "−g / p"),
    ("Σ w·v", "w[t] g"),
}


def backward_at_vector_level(session: DebugSession):
    """Each op as the vector-level backward completes it, with the session standing there."""
    session.move(BACKWARD)
    session.move(VECTOR)
    walk = session.vectors.current
    while session.move("step").moved and walk.completed_op is not None:
        yield walk.completed_op


def test_every_ops_vector_form_agrees_with_the_chain_rule_once_the_op_is_done() -> None:
    session = DebugSession(make_model(), Tokenizer(VOCAB), "emma")
    names = set()
    for op in backward_at_vector_level(session):
        gradient = op_gradient(op, chain_rule_sums(op, session.backward))
        assert gradient.sides and all(side.complete for side in gradient.sides)
        for side in gradient.sides:
            assert side.vector_form is not None, (op, side.name)  # every op of the model has one
            names.add(op.name)
            size = max(abs(s) for s in side.scalar) or 1.0
            assert side.largest_difference() <= 1e-14 * size, (op, side.name)
            if (op.name, side.formula) in ONE_TERM or side.formula.startswith("g "):
                assert side.vector_form == side.scalar, (op, side.name)  # bit for bit
            if op.name.startswith("linear") and side.shape is not None:
                assert side.vector_form == side.scalar  # g xᵀ: one term per weight
    assert {
        "softmax",
        "q·k/√d",
        "Σ w·v",
        "rmsnorm",
        "relu",
        "linear W_q",
        "linear lm_head",
    } <= names


def test_the_sums_are_the_terms_the_inspector_lists() -> None:
    session = DebugSession(make_model(SMALL), Tokenizer(VOCAB), "emma", pos=3)
    for op in backward_at_vector_level(session):
        assert chain_rule_sums(op, session.backward) == sums_from_terms(op, session.terms)


def test_before_the_backward_reaches_an_op_there_is_nothing_to_compare() -> None:
    session = DebugSession(make_model(SMALL), Tokenizer(VOCAB), "emma", pos=3)
    session.move(BACKWARD)
    session.move(VECTOR)
    walk = session.vectors.current
    (softmax,) = session.vectors.graph.ops_in("pos3.layer0.attn.head1.softmax")
    gradient = op_gradient(softmax, chain_rule_sums(softmax, session.backward))
    assert all(s is None for side in gradient.sides for s in side.scalar)
    assert gradient.largest_difference() is None
    while walk.completed_op is not softmax:
        session.move("step")
    assert walk.state(softmax) == DONE and chain_rule_sums(softmax, session.backward)
    while walk.state(softmax) != PENDING:
        session.move("back")
    assert chain_rule_sums(softmax, session.backward) == {}


def test_a_wrong_grad_shows_as_a_difference() -> None:
    """The check is not vacuous: a grad that is off shows up in the largest difference."""
    session = DebugSession(make_model(SMALL), Tokenizer(VOCAB), "emma", pos=3)
    for op in backward_at_vector_level(session):
        if op.name == "softmax" and "head" in op.scope:
            break
    sums = chain_rule_sums(op, session.backward)
    sums[next(iter(sums))] += 1e-6
    assert op_gradient(op, sums).largest_difference() >= 1e-6 - 1e-12


def test_the_document_loss_and_a_scripts_ops_get_their_sums() -> None:
    session = DebugSession(make_model(SMALL), Tokenizer(VOCAB), "ava", whole_document=True)
    (op,) = [op for op in backward_at_vector_level(session) if op.name == "mean"]
    mean = op_gradient(op, chain_rule_sums(op, session.backward))
    assert mean.sides and mean.largest_difference() == 0.0
    from pathlib import Path

    from engine.attach import attach_script

    script = str(Path(__file__).resolve().parent / "attach_scripts" / "microgpt_relu.py")
    attached = attach_script(script, ["1"]).session()
    for op in backward_at_vector_level(attached):
        gradient = op_gradient(op, sums_from_terms(op, attached.terms))
        assert all(side.complete for side in gradient.sides)
        difference = gradient.largest_difference()
        assert difference is None or difference < 1e-12
