"""Where a gradient came from: final grads on the side, and grads split by position and by scope."""

from __future__ import annotations

import math
import random
from fractions import Fraction

import pytest
from conftest import VOCAB, make_model
from handmade import capture_of, random_graph

from engine.capture import reroot
from engine.config import GPTConfig
from engine.data import Tokenizer
from engine.explain.final_grads import FinalGrads
from engine.explain.shares import (
    BY_CONSUMER_SCOPE,
    BY_POSITION,
    SEED,
    GradSplit,
    PositionShares,
    scope_key,
    split_by_consumer_scope,
)
from engine.session import DebugSession
from engine.trace import scope
from engine.value import Value, ancestors

SMALL = GPTConfig(n_embd=8, n_head=2, block_size=8)


def whole(doc: str = "emma", config: GPTConfig = SMALL) -> DebugSession:
    return DebugSession(make_model(config), Tokenizer(VOCAB), doc, whole_document=True)


def added_up(values) -> float:
    total = 0
    for v in values:
        total += v
    return total


def check_adds_up(split: GradSplit) -> None:
    """The split's own promises: its total, its exact remainder, exactness when in order."""
    assert split.total == added_up(s.value for s in split.shares)
    assert split.remainder_exact
    assert Fraction(split.total) + Fraction(split.remainder) == Fraction(split.grad)
    if split.same_order_as_backward:
        assert split.total == split.grad and split.remainder == 0


# -- final grads, computed on the side ----------------------------------------------------------


def test_final_grads_are_backwards_grads_bit_for_bit_and_leave_the_nodes_alone() -> None:
    s = whole()
    grads = FinalGrads(s.capture)
    assert all(n.grad == 0 for n in s.nodes if n is not s.root)  # untouched
    s.capture.backward()
    assert [grads[n] for n in s.nodes] == [n.grad for n in s.nodes]
    assert [type(grads[n]) for n in s.nodes] == [type(n.grad) for n in s.nodes]


def test_terms_add_up_to_the_grad_in_backwards_order_and_match_the_stepper() -> None:
    s = whole()
    grads = FinalGrads(s.capture, s.consumers)
    s.set_phase("backward")
    s.backward.run_to_end()
    for node in s.nodes:
        if node is s.root:
            continue
        terms = grads.terms(node)
        assert added_up(t.value for t in terms) == grads[node] == node.grad
        assert terms == s.terms(node)  # the debugger's own chain-rule terms, same order


def test_a_node_used_twice_by_one_consumer_gets_two_terms() -> None:
    cap = capture_of(lambda: (lambda x: x * x)(Value(3.0)))
    x = cap.root._children[0]
    terms = FinalGrads(cap).terms(x)
    assert [t.value for t in terms] == [3.0, 3.0]


# -- by position ----------------------------------------------------------------------------


def test_position_shares_add_up_exactly_in_order_and_within_the_stated_remainder() -> None:
    s = whole("christopher")
    shares = PositionShares(FinalGrads(s.capture))
    in_order = regrouped = 0
    for node in s.nodes:
        split = shares.split(node)
        assert split.by == BY_POSITION
        check_adds_up(split)
        scale = math.fsum(abs(x.value) for x in split.shares)
        assert abs(split.remainder) <= 1e-12 * scale  # rounding, not a lost share
        if split.same_order_as_backward:
            in_order += 1
        elif split.remainder != 0:
            regrouped += 1
    # both cases occur: the exact one, and shares regrouped with a nonzero remainder
    assert in_order > len(s.nodes) / 2 and regrouped > 10


def test_each_positions_loss_receives_one_nth_and_the_mean_is_above_every_position() -> None:
    s = whole()
    grads = FinalGrads(s.capture)
    shares = PositionShares(grads)
    n = len("emma") + 1
    assert shares.shares(s.root) == {None: 1}
    for t in range(n):
        (loss_t,) = s.trace.vector(f"pos{t}.loss", "loss")
        assert grads[loss_t] == 1 / n
        assert shares.shares(loss_t) == {t: 1 / n}


def test_a_parameter_used_at_every_position_is_split_over_them() -> None:
    s = whole()
    shares = PositionShares(FinalGrads(s.capture))
    p = s.model.state_dict["lm_head"][0][0]
    split = shares.split(p)
    assert [x.key for x in split.shares] == [0, 1, 2, 3, 4]
    assert all(x.value != 0 for x in split.shares)


def test_position_shares_are_each_positions_loss_backpropagated_from_one_nth() -> None:
    """Rerooting at position t's loss and running backward() from its 1/n gives the share.

    Bit for bit where only position t's gradient reaches a node (then the additions are
    the same); elsewhere only the order of additions differs: within rounding.
    """
    s = whole()
    grads = FinalGrads(s.capture)
    shares = PositionShares(grads)
    exact_nodes = 0
    for t in range(5):
        (loss_t,) = s.trace.vector(f"pos{t}.loss", "loss")
        sub = reroot(s.capture, loss_t)
        for v in sub.order:
            v.grad = 0
        sub.root.grad = grads[loss_t]  # 1/n, as the mean passes it on
        for v in sub.order:
            for child, local_grad in zip(v._children, v._local_grads):
                child.grad += local_grad * v.grad
        originals = sorted(ancestors(loss_t)[1], key=lambda n: n.id)  # reroot keeps this order
        for original, copy in zip(originals, sub.nodes, strict=True):
            share = shares.shares(original)[t]
            if shares.split(original).same_order_as_backward:
                assert share == copy.grad
                exact_nodes += 1
            else:
                assert share == pytest.approx(copy.grad, rel=1e-12, abs=1e-15)
    assert exact_nodes > 1000


def test_nodes_below_a_mixed_one_are_not_claimed_exact() -> None:
    """c (no position) gets 1 from the mean and 0.1 from position 0. d and x below it are
    position 0's only, yet d's share 0.3·1 + 0.3·0.1 is not backward()'s 0.3·(1 + 0.1),
    and x's share inherits the difference."""
    made: dict[str, Value] = {}

    def build() -> Value:
        with scope("pos0"):
            x = made["x"] = Value(2.0) * 1.0
            d = made["d"] = x * 1.5
        c = d * 0.3
        with scope("pos0"):
            z = c * 0.1
        with scope("loss"):
            return c + z

    cap = capture_of(build)
    grads = FinalGrads(cap)
    shares = PositionShares(grads)
    d, x = shares.split(made["d"]), shares.split(made["x"])
    assert d.grad == 0.3 * (1 + 0.1) != d.total == 0.3 + 0.3 * 0.1
    assert x.grad == 1.5 * d.grad != x.total == 1.5 * d.total
    for split in (d, x):
        assert [s.key for s in split.shares] == [0]
        assert not split.same_order_as_backward
        check_adds_up(split)


def test_a_single_position_session_has_one_share_per_node() -> None:
    s = DebugSession(make_model(SMALL), Tokenizer(VOCAB), "emma", 3)
    shares = PositionShares(FinalGrads(s.capture))
    for node in s.nodes:
        split = shares.split(node)
        assert [x.key for x in split.shares] == [3]
        assert split.total == split.grad and split.same_order_as_backward


def test_a_wrong_seed_would_be_caught() -> None:
    """The remainder check above fails if a share is off by more than rounding."""
    s = whole()
    grads = FinalGrads(s.capture)
    shares = PositionShares(grads)
    p = s.model.state_dict["lm_head"][0][0]
    split = shares.split(p)
    wrong = [x.value * (1.0 if x.key else 1.001) for x in split.shares]
    assert abs(grads[p] - added_up(wrong)) > 1e-12 * math.fsum(map(abs, wrong))


# -- by consumer scope ----------------------------------------------------------------------


def test_scope_keys() -> None:
    assert scope_key("pos3.layer0.attn.head1") == "layer0.attn.head1"
    assert scope_key("pos3.layer0.attn.head1", keep_position=True) == "pos3.layer0.attn.head1"
    assert scope_key("pos3.layer0.attn.head1.softmax", depth=2) == "layer0.attn"
    assert scope_key("loss") == "loss" and scope_key("") == "(top level)"
    assert scope_key("position.x") == "position.x"  # not a position scope


def test_scope_shares_add_up_exactly_in_order_and_within_the_stated_remainder() -> None:
    s = whole()
    grads = FinalGrads(s.capture)
    in_order = regrouped = 0
    for node in s.nodes:
        split = split_by_consumer_scope(grads, node)
        assert split.by == BY_CONSUMER_SCOPE
        check_adds_up(split)
        terms = grads.terms(node)
        assert sum(x.terms for x in split.shares) == len(terms) or node is s.root
        scale = math.fsum(abs(t.value) for t in terms)
        assert abs(split.remainder) <= 1e-12 * scale
        in_order += split.same_order_as_backward
        regrouped += not split.same_order_as_backward and split.remainder != 0
    assert in_order > len(s.nodes) / 2 and regrouped > 0


def test_scope_shares_of_a_query_weight_are_its_position_shares() -> None:
    """A query weight reaches the loss only through its own position's attention."""
    s = whole()
    grads = FinalGrads(s.capture)
    by_position = PositionShares(grads)
    for p in s.model.state_dict["layer0.attn_wq"][3]:
        split = split_by_consumer_scope(grads, p, keep_position=True)
        assert {x.key: x.value for x in split.shares} == {
            f"pos{t}.layer0.attn": v for t, v in by_position.shares(p).items()
        }
        assert [x.key for x in split_by_consumer_scope(grads, p).shares] == ["layer0.attn"]


def test_value_vectors_are_shared_by_the_heads_of_later_positions() -> None:
    s = whole()
    grads = FinalGrads(s.capture)
    v = s.trace.vector("pos1.layer0.attn", "v")[0]  # head 0's first value at position 1
    split = split_by_consumer_scope(grads, v, keep_position=True)
    assert [x.key for x in split.shares] == [f"pos{t}.layer0.attn.head0" for t in (4, 3, 2, 1)]


def test_scope_split_exact_when_in_order_and_regrouped_otherwise() -> None:
    """x's terms arrive as 1, u, u (u = 2⁻⁵³): backward() adds 1 + u + u = 1 (each rounds).

    Grouped A, A, B the group sums repeat those additions; grouped A, B, B they add
    1 + (u + u) = 1 + 2u instead: a remainder of one ulp, stated.
    """
    u = 2.0**-53

    def split_for(scopes: list[str]) -> GradSplit:
        made: dict[str, Value] = {}

        def build() -> Value:
            x = made["x"] = Value(1.0)
            outs = []
            for name, factor in zip(scopes, [1.0, u, u]):
                with scope(name):
                    outs.append(x * factor)
            with scope("top"):
                return outs[2] + (outs[1] + outs[0])  # backward() reaches outs[0] first

        cap = capture_of(build)
        grads = FinalGrads(cap)
        assert [t.value for t in grads.terms(made["x"])] == [1.0, u, u]
        return split_by_consumer_scope(grads, made["x"])

    split = split_for(["A", "A", "B"])
    assert split.same_order_as_backward and split.remainder == 0 and split.total == split.grad

    split = split_for(["A", "B", "B"])
    assert [(s.key, s.value, s.terms) for s in split.shares] == [("A", 1.0, 1), ("B", 2 * u, 2)]
    assert not split.same_order_as_backward
    assert split.grad == 1.0 and split.total == 1.0 + 2 * u
    assert split.remainder == -2 * u and split.remainder_ulps == 1
    check_adds_up(split)


def test_the_root_has_one_share_the_seed() -> None:
    s = whole()
    split = split_by_consumer_scope(FinalGrads(s.capture), s.root)
    assert [(x.key, x.value) for x in split.shares] == [(SEED, 1)]
    assert split.total == 1 and split.same_order_as_backward


@pytest.mark.parametrize("seed", range(40))
def test_random_graphs_add_up(seed: int) -> None:
    cap = capture_of(random_graph(random.Random(seed)))
    grads = FinalGrads(cap)
    shares = PositionShares(grads)
    cap.backward()
    for node in cap.nodes:
        assert grads[node] == node.grad
        for split in (shares.split(node), split_by_consumer_scope(grads, node)):
            check_adds_up(split)
