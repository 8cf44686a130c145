"""Trace and capture: scopes, labels, source sites and ids, as DESIGN.md names them."""

from __future__ import annotations

import inspect
import linecache
import math

import pytest
from conftest import make_model

from engine import model as model_module
from engine.capture import Capture, capture_loss
from engine.config import GPTConfig
from engine.data import Tokenizer
from engine.model import GPT, forward_document
from engine.trace import Trace, label, scope
from engine.value import Value, topological_order

PLAIN_INIT = Value.__init__
FINER = ("softmax", "rmsnorm")  # the finer scopes the model opens below DESIGN.md's


def expected_scopes(config: GPTConfig, n_pos: int) -> set[str]:
    """Every scope of a document-loss capture, DESIGN.md's and the finer ones below them."""
    scopes = {"params", "loss"}
    for t in range(n_pos):
        p = f"pos{t}"
        scopes |= {f"{p}.embed", f"{p}.embed.rmsnorm", f"{p}.lm_head"}
        scopes |= {f"{p}.loss", f"{p}.loss.softmax"}
        for i in range(config.n_layer):
            layer = f"{p}.layer{i}"
            scopes |= {f"{layer}.attn", f"{layer}.attn.rmsnorm", f"{layer}.mlp"}
            scopes |= {f"{layer}.mlp.rmsnorm"}
            for h in range(config.n_head):
                scopes |= {f"{layer}.attn.head{h}", f"{layer}.attn.head{h}.softmax"}
    return scopes


@pytest.fixture
def doc_capture(tokenizer: Tokenizer) -> Capture:
    """The document loss of "emma" (positions 0..4) on a fresh default model."""
    return capture_loss(make_model(), tokenizer.encode("emma"))


@pytest.fixture
def pos_capture(tokenizer: Tokenizer) -> Capture:
    """Position 3's loss of "emma" (input "m", target "a") on a fresh default model."""
    return capture_loss(make_model(), tokenizer.encode("emma"), pos=3)


def by_label(capture: Capture, label: str, scope: str | None = None) -> Value:
    found = [n for n in capture.nodes if n.label == label and (scope is None or n.scope == scope)]
    assert len(found) == 1, (label, scope, len(found))
    return found[0]


# -- scopes ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "config", [GPTConfig(), GPTConfig(n_layer=2, n_embd=8, n_head=2)], ids=["default", "2 layers"]
)
def test_scopes_are_exactly_designs(config: GPTConfig, tokenizer: Tokenizer) -> None:
    capture = capture_loss(make_model(config), tokenizer.encode("emma"))
    assert {n.scope for n in capture.nodes} == expected_scopes(config, n_pos=5)


def test_what_each_scope_holds(doc_capture: Capture) -> None:
    nodes = doc_capture.nodes
    assert all((n.op == "param") == (n.scope == "params") for n in nodes)
    assert doc_capture.root.scope == "loss"
    # the document mean is one multiply by 1/n of a sum of the five positions' losses
    in_loss = [n for n in nodes if n.scope == "loss"]
    assert sum(n.op == "+" for n in in_loss) == 5
    assert sorted(n.op for n in in_loss if not n._children) == ["const", "const"]  # 0 and 1/n
    # relu only in the MLP, exp only in softmaxes, log only in the loss
    assert {n.scope.split(".", 1)[1] for n in nodes if n.op == "relu"} == {"layer0.mlp"}
    assert all(n.scope.endswith(".softmax") for n in nodes if n.op == "exp")
    assert {n.scope.split(".", 1)[1] for n in nodes if n.op == "log"} == {"loss"}


# -- labels ------------------------------------------------------------------------------


def test_parameters_are_labelled_by_matrix_row_and_column(doc_capture: Capture) -> None:
    params = [n for n in doc_capture.nodes if n.op == "param"]
    node = by_label(doc_capture, "layer0.attn_wq[3][7]")
    assert node.scope == "params" and node.op == "param"
    state_dict = make_model().state_dict
    assert node.data == state_dict["layer0.attn_wq"][3][7].data
    labels = {n.label for n in params}
    assert "wte[4][0]" in labels and "layer0.mlp_fc2[15][63]" in labels
    assert len(labels) == len(params)


def test_parameters_come_first_in_state_dict_order(doc_capture: Capture) -> None:
    params = [n for n in doc_capture.nodes if n.op == "param"]
    assert doc_capture.nodes[: len(params)] == params
    order = list(make_model().state_dict)
    names = [n.label.split("[")[0] for n in params]
    assert names == sorted(names, key=order.index)


def test_attention_vectors_are_labelled_and_hold_what_the_head_computes(
    pos_capture: Capture,
) -> None:
    trace, t, head_dim = pos_capture.trace, 3, 4
    for h in range(4):
        head = f"pos{t}.layer0.attn.head{h}"
        q = trace.vector(f"pos{t}.layer0.attn", "q")
        logits = trace.vector(head, "attn_logits")
        weights = trace.vector(head, "attn_weights")
        assert [n.label for n in q] == [f"q[{i}]" for i in range(16)]
        assert [n.label for n in logits] == [f"attn_logits[{i}]" for i in range(t + 1)]
        assert [n.label for n in weights] == [f"attn_weights[{i}]" for i in range(t + 1)]
        assert all(n.scope == head for n in logits)
        assert all(n.scope == head + ".softmax" for n in weights)
        # attn_logits[s] is q_h . k_h[s] / sqrt(head_dim), float for float
        for s in range(t + 1):
            k = trace.vector(f"pos{s}.layer0.attn", "k")
            dot = 0
            for j in range(h * head_dim, (h + 1) * head_dim):
                dot = dot + q[j].data * k[j].data
            assert logits[s].data == dot * (head_dim**0.5) ** -1
        # attn_weights is the softmax of attn_logits
        top = max(n.data for n in logits)
        total = sum(math.exp(n.data - top) for n in logits)
        for w, lg in zip(weights, logits, strict=True):
            assert w.data == pytest.approx(math.exp(lg.data - top) / total, rel=1e-12)
        head_out = trace.vector(head, "head_out")
        assert [n.label for n in head_out] == [f"head_out[{j}]" for j in range(head_dim)]


def test_logits_probs_and_loss_are_labelled(pos_capture: Capture, tokenizer: Tokenizer) -> None:
    target = tokenizer.encode("emma")[4]  # position 3's target: "a"
    logits = pos_capture.trace.vector("pos3.lm_head", "logits")
    assert [n.label for n in logits] == [f"logits[{i}]" for i in range(27)]
    assert by_label(pos_capture, "logits[7]") is logits[7]
    root = pos_capture.root  # -probs[target].log() is log(probs[target]) * -1
    assert root.label == "loss" and root.scope == "pos3.loss"
    log = root._children[0]
    prob = log._children[0]
    assert log.op == "log" and prob.label == f"probs[{target}]"
    assert prob.scope == "pos3.loss.softmax"
    assert by_label(pos_capture, f"probs[{target}]") is prob
    top = max(n.data for n in logits)
    total = sum(math.exp(n.data - top) for n in logits)
    assert prob.data == pytest.approx(math.exp(logits[target].data - top) / total, rel=1e-12)


def test_document_loss_root_is_labelled(doc_capture: Capture) -> None:
    assert doc_capture.root.label == "loss" and doc_capture.root.scope == "loss"
    assert [by_label(doc_capture, "loss", f"pos{t}.loss").scope for t in range(5)] == [
        f"pos{t}.loss" for t in range(5)
    ]


# -- source sites ------------------------------------------------------------------------


def source_line(node: Value) -> str:
    site = Trace.site_of(node)
    assert site is not None
    assert site.filename == model_module.__file__
    return linecache.getline(site.filename, site.lineno).strip()


def inside_function(node: Value, function) -> bool:
    lines, start = inspect.getsourcelines(function)
    return start <= Trace.site_of(node).lineno < start + len(lines)


def test_every_computed_node_points_into_the_model_file(doc_capture: Capture) -> None:
    for node in doc_capture.nodes:
        if node.op == "param":
            assert Trace.site_of(node) is None
        else:
            assert Trace.site_of(node).filename == model_module.__file__


def test_source_sites_are_the_lines_that_made_the_nodes(pos_capture: Capture) -> None:
    weight = by_label(pos_capture, "attn_weights[2]", "pos3.layer0.attn.head1.softmax")
    assert source_line(weight).startswith("return [e / total for e in exps]")
    assert inside_function(weight, model_module.softmax)

    # q[5] is the last `+` of a sum inside linear(), called from `q = linear(...)`
    q = by_label(pos_capture, "q[5]", "pos3.layer0.attn")
    assert "sum(wi * xi" in source_line(q)
    assert inside_function(q, model_module.linear)

    logit = by_label(pos_capture, "attn_logits[1]", "pos3.layer0.attn.head2")
    assert source_line(logit).startswith("sum(q_h[j] * k_h[t][j]")
    assert inside_function(logit, GPT.gpt)

    relu = next(n for n in pos_capture.nodes if n.op == "relu")
    assert source_line(relu) == "x = [xi.relu() for xi in x]"

    assert source_line(pos_capture.root) == "loss_t = -probs[target_id].log()"
    minus_one = pos_capture.root._children[1]  # the constant of `-x`, wrapped by __mul__
    assert minus_one.op == "const" and source_line(minus_one) == source_line(pos_capture.root)

    eps = next(n for n in pos_capture.nodes if n.op == "const" and n.data == 1e-5)
    assert source_line(eps) == "scale = (ms + 1e-5) ** -0.5"


def test_document_mean_points_at_its_line(doc_capture: Capture) -> None:
    assert source_line(doc_capture.root).startswith("loss = (1 / n) * sum(losses)")


# -- ids and what a capture keeps ----------------------------------------------------------


def test_ids_are_creation_indices(doc_capture: Capture) -> None:
    nodes = doc_capture.nodes
    assert [n.id for n in nodes] == list(range(len(nodes)))
    assert all(doc_capture.trace[i] is n for i, n in enumerate(nodes))
    # a node is created after its inputs
    assert all(c.id < n.id for n in nodes for c in n._children)
    assert doc_capture.root is nodes[-1]


def test_a_position_capture_keeps_exactly_the_roots_ancestors(
    pos_capture: Capture, tokenizer: Tokenizer
) -> None:
    nodes = pos_capture.nodes
    assert {id(n) for n in nodes} == {id(n) for n in topological_order(pos_capture.root)}
    assert [n.id for n in nodes] == list(range(len(nodes)))
    scopes = {n.scope for n in nodes}
    # earlier positions contribute only their keys and values
    for t in range(3):
        assert {s for s in scopes if s.startswith(f"pos{t}.")} == {
            f"pos{t}.embed",
            f"pos{t}.embed.rmsnorm",
            f"pos{t}.layer0.attn",
            f"pos{t}.layer0.attn.rmsnorm",
        }
    assert not any(s.startswith("pos4") for s in scopes)
    # ... and the capture is what a full recording holds of those ancestors, in its order
    model = make_model()
    full = Trace()
    with full.recording():
        root = forward_document(model, tokenizer.encode("emma"), upto=3)[-1]
    assert len(full.nodes) > len(nodes) - len(model.params)
    kept = {id(n) for n in topological_order(root)}
    expected = [(n.op, n.scope, n.label, n.data) for n in full.nodes if id(n) in kept]
    got = [(n.op, n.scope, n.label, n.data) for n in nodes if n.op != "param"]
    assert got == expected
    assert any(n.scope == "pos0.lm_head" for n in full.nodes)  # computed, but not kept


def test_only_parameters_the_loss_uses_are_kept(pos_capture: Capture) -> None:
    labels = {n.label for n in pos_capture.nodes if n.op == "param"}
    assert "wpe[3][0]" in labels and "wpe[4][0]" not in labels
    assert "wte[12][0]" in labels  # "m", the input at position 3
    assert "wte[25][0]" not in labels  # "z" is nowhere in "emma"


# -- recording -----------------------------------------------------------------------------


def test_recording_swaps_init_in_and_back_out() -> None:
    trace = Trace()
    with trace.recording():
        assert Value.__init__ is not PLAIN_INIT
        a = Value(2.0)
        b = a * 3
    assert Value.__init__ is PLAIN_INIT
    assert [n.id for n in trace.nodes] == [0, 1, 2]
    assert trace.nodes == [a, trace.nodes[1], b] and trace.nodes[1].data == 3
    plain = Value(1.0)
    assert not hasattr(plain, "id") and not hasattr(plain, "scope")


def test_recording_restores_init_after_an_exception() -> None:
    trace = Trace()
    with pytest.raises(ZeroDivisionError), trace.recording():
        Value(0.0) ** -1
    assert Value.__init__ is PLAIN_INIT
    assert not hasattr(Value(1.0), "id")
    # and a new recording can start
    with Trace().recording() as again:
        Value(1.0)
    assert len(again) == 1


def test_recordings_do_not_nest() -> None:
    outer = Trace()
    with outer.recording():
        Value(1.0)
        with pytest.raises(RuntimeError), Trace().recording():
            pass
        Value(2.0)  # the outer trace still records
        assert Value.__init__ is not PLAIN_INIT
    assert Value.__init__ is PLAIN_INIT
    assert [n.data for n in outer.nodes] == [1.0, 2.0]


def test_scope_and_label_do_nothing_without_a_recording() -> None:
    with scope("pos0"):
        v = Value(1.0)
    label([v], "q")
    assert not hasattr(v, "label") and not hasattr(v, "scope")


def test_scopes_nest_and_unwind() -> None:
    trace = Trace()
    with trace.recording():
        a = Value(1.0)
        with scope("pos3"), scope("layer0.attn"):
            with scope("head1"):
                b = a * 2
            c = b + 1
        d = c.relu()
    assert a.scope == "" and d.scope == ""
    assert b.scope == "pos3.layer0.attn.head1" and c.scope == "pos3.layer0.attn"
    assert trace.nodes[2] is b and trace.nodes[1].scope == "pos3.layer0.attn.head1"  # const 2
