"""Why this local gradient: words, formulas on the numbers, the node's own floats, the exponent."""

from __future__ import annotations

import math

import pytest
from conftest import VOCAB, make_model
from handmade import capture_of

from engine.config import GPTConfig
from engine.data import Tokenizer
from engine.explain import composites
from engine.explain.final_grads import FinalGrads
from engine.explain.local_grads import explain
from engine.explain.ops import OPS, exponent_of, reproduces
from engine.session import DebugSession
from engine.trace import scope
from engine.value import Value

SMALL = GPTConfig(n_embd=8, n_head=2, block_size=8)


def whole(config: GPTConfig | None = None) -> DebugSession:
    return DebugSession(make_model(config), Tokenizer(VOCAB), "emma", whole_document=True)


def only(made: dict, key: str, build) -> Value:
    capture_of(build)
    return made[key]


# -- every node of a real graph --------------------------------------------------------------


def test_every_local_gradient_shown_is_the_nodes_own_float_and_the_formula_agrees() -> None:
    s = whole()  # the default config: tens of thousands of nodes
    for node in s.nodes:
        e = explain(node, s.consumers_of(node))
        assert e.op == node.op and e.title and e.words and e.forward
        assert len(e.inputs) == len(node._children)
        for i, local in enumerate(e.inputs):
            assert local.slot == i and local.child is node._children[i]
            assert local.stored is node._local_grads[i]  # the very float backward() uses
            assert local.recomputed == local.stored and local.agrees, (node.id, local)
        assert e.numbers["out"] is node.data


def test_the_graphs_exponents_are_derived_exactly() -> None:
    s = whole(SMALL)
    powers = [n for n in s.nodes if n.op == "**"]
    exponents = [exponent_of(n) for n in powers]
    assert {e.value for e in exponents} == {-1, -0.5}  # division, and rmsnorm's 1/sqrt
    assert all(e.candidates[0] == e.value for e in exponents)  # the roundest that fits
    # a float next to −1 can fit a node's two numbers as well; it is named, not hidden
    for e in exponents:
        if len(e.candidates) > 1:
            assert "so do" in e.how and all(abs(c - e.value) < 1e-15 for c in e.candidates)


# -- each op, in words and on the numbers -----------------------------------------------------


def test_product() -> None:
    a, b = Value(2.0), Value(0.31)
    e = explain(a * b)
    assert e.title == "product" and e.forward == "a·b = 2 × 0.31 = 0.62"
    assert [x.text for x in e.inputs] == ["d(a·b)/da = b = 0.31", "d(a·b)/db = a = 2"]
    assert e.numbers == {"a": 2.0, "b": 0.31, "out": 0.62}
    x = Value(3.0)
    assert "same node" in explain(x * x).words


def test_sum() -> None:
    e = explain(Value(0.5) + Value(-0.25))
    assert e.forward == "a + b = 0.5 + −0.25 = 0.25"
    assert [x.text for x in e.inputs] == ["d(a + b)/da = 1", "d(a + b)/db = 1"]
    assert [x.stored for x in e.inputs] == [1, 1] and all(x.agrees for x in e.inputs)


def test_reciprocal_and_inverse_square_root() -> None:
    e = explain(Value(2.0) ** -1)
    assert e.forward == "x⁻¹ = (2)⁻¹ = 0.5"
    assert e.inputs[0].text == "d(x⁻¹)/dx = −x⁻² = −(2)⁻² = −0.25"
    assert e.numbers["p"] == -1 and "not stored" in e.inputs[0].words
    e = explain(Value(4.0) ** -0.5)
    assert e.inputs[0].text == "d(x^(−1/2))/dx = −1/2·x^(−3/2) = −1/2·(4)^(−3/2) = −0.0625"
    assert composites.RSQRT in e.notes
    e = explain(Value(3.0) ** 2)
    assert e.inputs[0].text == "d(x²)/dx = 2·x = 2·(3) = 6"


def test_log_exp_relu() -> None:
    e = explain(Value(4.0).log())
    assert e.inputs[0].text == "d(ln x)/dx = 1/x = 1/4 = 0.25"
    e = explain(Value(0.0).exp())
    assert e.inputs[0].text == "d(eˣ)/dx = eˣ = e^0 = 1" and "own value" in e.inputs[0].words
    on, off = explain(Value(0.3).relu()), explain(Value(-0.12).relu())
    assert on.inputs[0].text == "d relu(x)/dx = [x > 0] = [0.3 > 0] = 1"
    assert "mask is 1" in on.inputs[0].words and "mask is 0" in off.inputs[0].words
    assert off.inputs[0].stored == 0.0 and off.forward == "relu(x) = max(0, −0.12) = 0"


def test_leaves() -> None:
    s = whole(SMALL)
    p = s.model.state_dict["wte"][1][2]
    e = explain(p, s.consumers_of(p))
    assert e.title == "parameter" and e.inputs == () and e.forward.startswith("wte[1][2] = ")
    assert "optimiser" in e.words
    c = explain(Value(0.5))
    assert c.title == "constant" and c.inputs == () and c.notes == (composites.CONSTANT,)


def test_source_line_of_a_model_node() -> None:
    s = whole(SMALL)
    node = s.trace.vector("pos0.layer0.attn", "q")[0]
    assert explain(node).source == "return [sum(wi * xi for wi, xi in zip(wo, x)) for wo in w]"
    assert explain(s.model.state_dict["wte"][0][0]).source is None


# -- the exponent `**` does not store ------------------------------------------------------------


@pytest.mark.parametrize("p", [-1, -0.5, 2, 3, 0.5, 2.5, -1 / 3, 0.37, 1e-3, -7])
@pytest.mark.parametrize("x", [0.3, 1.7, 12.5])
def test_exponents_are_derived_so_that_they_reproduce_the_node(x: float, p: float) -> None:
    node = Value(x) ** p
    exponent = exponent_of(node)
    assert exponent.derived and reproduces(node, exponent.value)
    assert p in exponent.candidates  # the true one is among those that fit exactly
    e = explain(node)
    assert e.inputs[0].recomputed == e.inputs[0].stored == node._local_grads[0]


def test_an_exponent_that_cannot_be_derived_is_said_so() -> None:
    zero = Value(0.0) ** 2  # 0**2 = 0, slope 2·0 = 0: nothing pins p down
    exponent = exponent_of(zero)
    assert (
        not exponent.derived and exponent.estimate is None and "cannot be derived" in exponent.how
    )
    x = Value(1.5)
    forged = Value(x.data**2, (x,), (1.0,), "**")  # a local gradient no power rule gives
    exponent = exponent_of(forged)
    assert not exponent.derived and exponent.estimate == pytest.approx(2 / 3)
    assert "no exponent" in exponent.how
    local = explain(forged).inputs[0]
    assert local.recomputed is None and not local.agrees and local.stored == 1.0
    assert "?" in local.text


def test_an_op_microgpt_does_not_have() -> None:
    x = Value(0.5)
    node = Value(math.tanh(0.5), (x,), (1 - math.tanh(0.5) ** 2,), "tanh")
    e = explain(node)
    assert "not one of microgpt's ops" in e.words
    assert e.inputs[0].stored == node._local_grads[0] and e.inputs[0].recomputed is None


# -- how microgpt builds the ops it has no node for ---------------------------------------------


def test_negation_subtraction_and_the_loss() -> None:
    made: dict[str, Value] = {}

    def build() -> Value:
        a, b = Value(1.0), Value(0.25)
        out = made["out"] = a - b
        made["neg"] = out._children[1]
        return out

    cap = capture_of(build)
    grads = FinalGrads(cap)
    neg = made["neg"]
    e = explain(neg, grads.consumers_of(neg))
    assert e.notes == (composites.NEGATION, composites.SUBTRACTION)
    minus_one = neg._children[1]
    assert explain(minus_one, grads.consumers_of(minus_one)).notes == (composites.NEGATION,)
    s = whole(SMALL)
    (loss_4,) = s.trace.vector("pos4.loss", "loss")
    assert composites.LOSS in explain(loss_4, s.consumers_of(loss_4)).notes


def test_division() -> None:
    a, b = Value(1.0), Value(4.0)
    q = a / b
    e = explain(q)
    assert composites.DIVISION in e.notes
    assert q._children[1].op == "**"
    assert composites.DIVISION in explain(q._children[1], [q]).notes


def test_the_constants_of_the_model_say_what_they_are() -> None:
    s = whole(SMALL)
    found: dict[str, set] = {}
    for node in s.nodes:
        if node.op == "const":
            (note,) = explain(node, s.consumers_of(node)).notes
            found.setdefault(note, set()).add(node.scope.split(".", 1)[-1])
    assert "layer0.attn.head0.softmax" in found[composites.MAX_VAL]
    assert "loss.softmax" in found[composites.MAX_VAL]
    assert found[composites.EPSILON] == {
        "embed.rmsnorm",
        "layer0.attn.rmsnorm",
        "layer0.mlp.rmsnorm",
    }
    assert found[composites.MEAN] == {"loss"}
    division = composites.DIVISION_BY_NUMBER + " " + composites.CONSTANT
    assert found[division] >= {"layer0.attn.rmsnorm", "layer0.attn.head1"}  # / len(x), / √d
    assert "lm_head" in found[composites.SUM_START]
    assert composites.CONSTANT not in found  # every constant of the model is recognised


def test_sum_starts_from_zero() -> None:
    made: dict[str, Value] = {}

    def build() -> Value:
        with scope("s"):
            out = made["out"] = sum([Value(0.5), Value(0.25)])
        return out

    cap = capture_of(build)
    first = made["out"]._children[0]  # (x0 + 0) + x1
    assert composites.SUM_START in explain(first).notes
    zero = first._children[1]
    assert explain(zero, FinalGrads(cap).consumers_of(zero)).notes == (composites.SUM_START,)


def test_the_max_val_constants_grads_add_up_to_zero() -> None:
    """What the max_val note claims: each −max_val constant has a grad, and they cancel."""
    s = whole(SMALL)
    grads = FinalGrads(s.capture)
    softmax = "pos3.layer0.attn.head1.softmax"
    consts = [n for n in s.nodes if n.scope == softmax and n.op == "const" and n.data != 0]
    assert len(consts) == 4  # one per cached position: `val - max_val` wraps it anew
    assert len({n.data for n in consts}) == 1
    values = [grads[n] for n in consts]
    assert all(v != 0 for v in values)
    assert abs(math.fsum(values)) < 1e-15 * max(map(abs, values)) * 10
    assert all(composites.MAX_VAL in explain(n, s.consumers_of(n)).notes for n in consts)


def test_ops_cover_microgpts() -> None:
    assert set(OPS) == {"+", "*", "**", "log", "exp", "relu"}
