"""DebugSession, the debugger without a screen: defaults, bad input, attention, chain-rule terms."""

from __future__ import annotations

import math

import pytest
import reference_microgpt as ref
from conftest import VOCAB, make_model

from engine.config import GPTConfig
from engine.data import Tokenizer
from engine.errors import InputError
from engine.session import BACKWARD, FORWARD, DebugSession

SMALL = GPTConfig(n_embd=8, n_head=2, block_size=8)


def session(doc: str = "emma", pos: int | None = None, config: GPTConfig | None = None, **kw):
    return DebugSession(make_model(config), Tokenizer(VOCAB), doc, pos, **kw)


# -- defaults and bad input ------------------------------------------------------------------


def test_defaults_to_the_last_position_in_the_forward_phase() -> None:
    s = session()
    assert s.pos == 4  # "emma" has positions 0..4; the last predicts the closing BOS
    assert s.root.scope == "pos4.loss" and s.root is s.nodes[-1]
    assert s.phase == FORWARD and s.walk is s.forward
    assert s.forward.position == 0 and s.backward.position == 0
    assert s.token_text(4) == ("a", "<BOS>") and s.token_text(0) == ("<BOS>", "e")
    # microgpt's loss at position 4, on the same weights
    weights = {
        name: [[ref.Value(p.data) for p in row] for row in mat]
        for name, mat in make_model().state_dict.items()
    }
    tokens = ref.tokenize("emma", list(VOCAB))
    expected = ref.position_losses(weights, 1, 4, 16, tokens, upto=4)[-1].data
    assert s.loss == expected


def test_last_position_honours_block_size() -> None:
    s = session("christopher", config=GPTConfig(block_size=4))
    assert s.pos == 3 and s.root.scope == "pos3.loss"


def test_whole_document() -> None:
    s = session(whole_document=True)
    assert s.pos is None and s.root.scope == "loss"
    assert {s.position_of(n) for n in s.nodes} == {None, 0, 1, 2, 3, 4}


def test_explicit_position() -> None:
    s = session(pos=2)
    assert s.pos == 2 and s.root.scope == "pos2.loss"
    assert max(p for n in s.nodes if (p := s.position_of(n)) is not None) == 2


@pytest.mark.parametrize(
    ("doc", "pos", "config"),
    [
        ("emma", 5, None),  # positions are 0..4
        ("emma", -1, None),
        ("christopher", 4, GPTConfig(block_size=4)),  # truncated to positions 0..3
        ("", None, None),  # empty document
        ("Emma", None, None),  # "E" is not in the vocabulary
    ],
)
def test_bad_input_is_an_input_error(doc: str, pos: int | None, config: GPTConfig | None) -> None:
    with pytest.raises(InputError) as info:
        session(doc, pos, config)
    assert "\n" not in str(info.value) and str(info.value)


def test_bad_node_and_scope_are_input_errors() -> None:
    s = session(config=SMALL)
    with pytest.raises(InputError):
        s.node(len(s.nodes))
    with pytest.raises(InputError):
        s.node(-1)
    assert s.node(3) is s.nodes[3]
    with pytest.raises(InputError):
        s.set_focus("pos9.layer0")
    s.set_focus("pos4.layer0.attn.head1")
    assert s.forward.focus == s.backward.focus == "pos4.layer0.attn.head1"
    s.set_focus("")
    assert s.focus is None and s.backward.focus is None


def test_phase_and_breakpoints_are_shared() -> None:
    s = session(config=SMALL)
    s.set_phase(BACKWARD)
    assert s.walk is s.backward
    assert s.toggle_breakpoint("pos4.lm_head") is True
    assert "pos4.lm_head" in s.forward.breakpoints and "pos4.lm_head" in s.backward.breakpoints
    assert s.toggle_breakpoint("pos4.lm_head") is False
    assert not s.backward.breakpoints
    with pytest.raises(ValueError):
        s.set_phase("sideways")


# -- attention ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "config", [GPTConfig(), GPTConfig(n_layer=2, n_embd=8, n_head=2)], ids=["default", "2 layers"]
)
def test_attention_has_a_weight_per_cached_position_summing_to_one(config: GPTConfig) -> None:
    s = session(config=config)
    attention = s.attention()
    assert len(attention) == config.n_layer
    for layer in attention:
        assert len(layer) == config.n_head
        for head in layer:
            assert len(head) == 5  # positions 0..4 are cached at position 4
            assert all(0 < w.data < 1 for w in head)
            assert math.fsum(w.data for w in head) == pytest.approx(1, abs=1e-12)


def test_attention_of_each_position_in_a_document_session() -> None:
    s = session(config=SMALL, whole_document=True)
    for pos in range(5):
        heads = s.attention(pos)[0]
        assert [len(h) for h in heads] == [pos + 1, pos + 1]
        assert all(math.fsum(w.data for w in h) == pytest.approx(1, abs=1e-12) for h in heads)
    assert [len(h) for h in s.attention()[0]] == [5, 5]  # the last position by default


# -- chain-rule terms --------------------------------------------------------------------------


def assert_terms_make_the_grads(s: DebugSession) -> None:
    for node in s.nodes:
        if node is s.root:
            assert s.terms(node) == [] and node.grad == 1
            continue
        terms = s.terms(node)
        total = 0
        for term in terms:
            assert term.consumer in s.consumers_of(node)
            assert s.backward.propagated(term.consumer)
            assert term.consumer_grad == term.consumer.grad
            assert term.value == term.local_grad * term.consumer_grad
            total += term.value  # in the order backward() added them, from 0
        assert total == node.grad, node.label or node.id
        # oldest first: in the order the consumers propagated
        order = [s.backward.index_of[t.consumer.id] for t in terms]
        assert order == sorted(order)


def test_terms_sum_to_the_grad_after_the_full_backward_pass() -> None:
    s = session(config=SMALL)
    s.set_phase(BACKWARD)
    s.backward.run_to_end()
    assert_terms_make_the_grads(s)
    some = next(n for n in s.nodes if n.op == "param" and len(s.terms(n)) > 1)
    assert some.grad != 0
    # a node used twice by one consumer (x * x) gets one term per use
    square = next(n for n in s.nodes if n.op == "*" and n._children[0] is n._children[1])
    terms = s.terms(square._children[0])
    assert sum(t.consumer is square for t in terms) == 2


def test_terms_so_far_sum_to_the_grad_mid_walk() -> None:
    s = session(config=SMALL)
    for position in (1, 50, 777, 2000):
        s.backward.run_to(position)
        assert_terms_make_the_grads(s)
    assert any(not s.has_final_grad(n) for n in s.nodes)


def test_final_grads_and_revealed_values() -> None:
    s = session(config=SMALL)
    assert s.has_final_grad(s.root) and not s.has_final_grad(s.nodes[-2])
    assert not s.is_computed(s.nodes[0])
    s.forward.run_to(10)
    assert [s.is_computed(n) for n in s.nodes[:12]] == [True] * 10 + [False] * 2
    s.backward.run_to_end()
    assert all(s.has_final_grad(n) for n in s.nodes)


def test_session_backward_equals_backward() -> None:
    s = session(config=SMALL, whole_document=True)
    s.backward.run_to_end()
    ours = [n.grad for n in s.nodes]
    twin = session(config=SMALL, whole_document=True)
    twin.root.backward()
    assert ours == [n.grad for n in twin.nodes]


def test_two_sessions_of_one_model_do_not_disturb_each_other() -> None:
    # GIVEN two sessions on the same model (the app builds the next while showing the first)
    model, tokenizer = make_model(), Tokenizer(VOCAB)
    first = DebugSession(model, tokenizer, "emma", 4)
    ids = [n.id for n in first.nodes]
    first.set_phase(BACKWARD)
    first.walk.run_to_end()
    grads = [n.grad for n in first.nodes]
    # WHEN a second session of another position is built and run
    second = DebugSession(model, tokenizer, "emma", 2)
    second.set_phase(BACKWARD)
    second.walk.run_to_end()
    # THEN the first one's ids and grads are as they were, and the model holds no grads
    assert [n.id for n in first.nodes] == ids
    assert [n.grad for n in first.nodes] == grads
    assert all(p.grad == 0 for p in model.params)
    assert first.model is not second.model


# -- what the panels ask ----------------------------------------------------------------------


def test_moves_by_name_report_what_moved() -> None:
    s = session(config=SMALL)
    assert s.cursor_node() is s.nodes[0] and s.where() == "params"  # before any step: the next
    step = s.move("step")
    assert (step.name, step.phase, step.nodes, step.moved) == ("step", FORWARD, 1, True)
    assert s.cursor_node() is s.nodes[0]
    out = s.move("step_out")  # the rest of the parameters, and the first node after them
    params = s.find_scope("params").total
    assert out.nodes == params and s.walk.position == params + 1
    assert s.cursor_node() is s.nodes[params] and s.where() != "params"
    back = s.move("back")  # undoes the whole step out
    assert back.nodes == out.nodes and s.walk.position == 1
    switched = s.move(BACKWARD)
    assert switched.is_phase_switch and switched.moved and s.phase == BACKWARD
    assert not s.move(BACKWARD).moved  # already there
    assert s.move("run_to_end").nodes == len(s.nodes)
    at_end = s.move("cont")
    assert not at_end.moved and at_end.phase == BACKWARD
    assert s.move("back").nodes == len(s.nodes) and not s.move("back").moved
    with pytest.raises(ValueError):
        s.move("sideways")


def test_where_skips_parameters_in_the_backward_order() -> None:
    s = session(config=SMALL)
    s.set_phase(BACKWARD)
    while s.walk.next_node is None or s.walk.next_node.op != "param":
        s.move("step")
    scope = s.where()
    s.move("step")  # onto a parameter: still in the scope it was in
    assert s.cursor_node().op == "param" and s.where() == scope != "params"


def test_value_known_contains_and_parameter() -> None:
    s = session(config=SMALL, pos=1)
    late = s.nodes[-2]
    assert not s.value_known(late)
    s.set_phase(BACKWARD)
    assert s.value_known(late)
    assert all(s.contains(n) for n in s.nodes)
    unused = next(p for row in s.model.state_dict["wte"] for p in row if not s.contains(p))
    assert s.parameter(unused.label) is None  # in the model, but not in this graph
    used = s.nodes[0]
    assert s.parameter(used.label) is used and s.parameter("nothing[0][0]") is None
    twin = session(config=SMALL, pos=1)  # the same ids, other Values
    assert not s.contains(twin.nodes[5]) and twin.contains(twin.nodes[5])


def test_find_call_chain_and_position_text() -> None:
    s = session(config=SMALL)
    # (earlier positions feed position 4's loss keys and values only: no heads of theirs)
    assert [x.path for x in s.find_scopes("HEAD1")] == [
        "pos4.layer0.attn.head1",
        "pos4.layer0.attn.head1.softmax",
    ]
    assert s.all_scopes()[0].path == "params"
    found = s.find_labels("probs")
    assert found and all("probs" in s.node(i).label for i in found)
    assert s.find_labels("#12") == [12] and s.find_labels(f"#{len(s.nodes)}") == []
    assert s.call_chain(s.nodes[-1]) == ""  # the built-in model keeps no call chains
    assert s.script is None
    assert s.position_text(4) == ("a", "<BOS>") and s.position_text(5) is None
    assert s.source_site(s.nodes[0]) is None  # a parameter: no line made it
    assert s.source_site(s.root).function == "position_loss"
