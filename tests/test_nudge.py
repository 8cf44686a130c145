"""Proof by nudging: the replayed forward pass, and gradients checked by central differences."""

from __future__ import annotations

import random
import threading
from decimal import Decimal

import pytest
from conftest import VOCAB, make_model
from handmade import capture_of

from engine.capture import Capture, capture_loss
from engine.config import GPTConfig
from engine.data import Tokenizer
from engine.errors import InputError
from engine.explain import composites
from engine.explain.final_grads import FinalGrads
from engine.explain.nudge import REPLAY, RERUN, Cancelled, check_gradient, find_parameter
from engine.explain.ops import OPS
from engine.explain.replay import Replay
from engine.session import DebugSession
from engine.trace import Trace
from engine.value import Value
from engine.workspace import open_workspace

SMALL = GPTConfig(n_embd=8, n_head=2, block_size=8)


@pytest.fixture(scope="module")
def default() -> DebugSession:
    """The shipped default model on its document "emma", the whole document's loss."""
    ws = open_workspace()
    return DebugSession(ws.model, ws.tokenizer, "emma", whole_document=True)


@pytest.fixture(scope="module")
def default_grads(default: DebugSession) -> FinalGrads:
    return FinalGrads(default.capture)


def snapshot(capture: Capture) -> list:
    return [(n.data, n.grad) for n in capture.nodes]


# -- the replay ---------------------------------------------------------------------------


def test_a_float_replay_with_the_nodes_own_value_gives_back_every_value_bit_for_bit() -> None:
    s = DebugSession(make_model(SMALL), Tokenizer(VOCAB), "emma", whole_document=True)
    for node in [s.nodes[0], s.model.state_dict["wpe"][0][0], s.nodes[len(s.nodes) // 2]]:
        replay = Replay(s.capture, node)
        assert replay.steps and all(v.id > node.id for v in replay.steps)
        out = replay.run(node.data, keep_values=True)
        for v in replay.steps:
            assert out.values[v.id] == v.data and type(out.values[v.id]) is type(v.data)
        assert out.root == s.root.data and out.flipped == ()


def test_a_decimal_replay_agrees_with_the_floats_to_rounding() -> None:
    s = DebugSession(make_model(SMALL), Tokenizer(VOCAB), "emma", whole_document=True)
    p = s.model.state_dict["wte"][4][1]
    out = Replay(s.capture, p).run(p.data, digits=50)
    assert isinstance(out.root, Decimal)
    assert float(out.root) == pytest.approx(s.root.data, rel=1e-14)


def test_a_replay_creates_no_value_so_it_may_run_while_a_trace_records() -> None:
    s = DebugSession(make_model(SMALL), Tokenizer(VOCAB), "emma")
    p = s.model.state_dict["lm_head"][3][3]
    other = Trace()
    with other.recording():
        check_gradient(s.capture, p)
        with pytest.raises(RuntimeError):  # the re-run builds Values: refused meanwhile
            check_gradient(s.capture, p, method=RERUN)
    assert other.nodes == []


def test_a_replay_refuses_what_it_cannot_recompute() -> None:
    def forged() -> Value:
        x = Value(1.5)
        return Value(x.data**2, (x,), (1.0,), "**") * 2.0  # no exponent reproduces it

    cap = capture_of(forged)
    with pytest.raises(InputError, match="exponent"):
        Replay(cap, cap.nodes[0])
    cap = capture_of(lambda: Value(0.3, (Value(0.2),), (1.0,), "tanh") * 2.0)
    with pytest.raises(InputError, match="tanh"):
        Replay(cap, cap.nodes[0])


# -- the check, op by op and parameter by parameter ---------------------------------------------


@pytest.mark.parametrize("op", [*OPS, "param", "const"])
def test_every_op_agrees_with_finite_differences(
    op: str, default: DebugSession, default_grads: FinalGrads
) -> None:
    rng = random.Random(12)
    nodes = [n for n in default.nodes if n.op == op and default_grads[n] != 0]
    before = snapshot(default.capture)
    for node in rng.sample(nodes, min(8, len(nodes))):
        check = check_gradient(default.capture, node, grads=default_grads)
        assert check.kinks == 0 and check.tries == 1
        assert check.rel_error < 1e-6, check
        assert check.analytic == default_grads[node] and check.x == node.data
        assert check.loss_minus < check.loss < check.loss_plus or check.numeric <= 0
    assert snapshot(default.capture) == before  # nothing in the graph was touched


def test_every_kind_of_constant_agrees(default: DebugSession, default_grads: FinalGrads) -> None:
    """sum()'s 0, negation's −1, softmax's −max_val, rmsnorm's ε and 1/len, 1/√d, the mean's 1/n."""
    kinds: dict[str, Value] = {}
    for node in default.nodes:
        if node.op == "const" and default_grads[node] != 0:
            (note,) = composites.notes(node, default.consumers_of(node))
            kinds.setdefault(note, node)
    assert len(kinds) == 6  # (1/len and 1/√d share the division-by-a-number note)
    for node in kinds.values():
        check = check_gradient(default.capture, node, grads=default_grads)
        assert check.rel_error < 1e-6, check


def test_a_sample_of_the_default_models_parameters(
    default: DebugSession, default_grads: FinalGrads
) -> None:
    rng = random.Random(7)
    params = [p for mat in default.model.state_dict.values() for row in mat for p in row]
    sample = rng.sample(params, 25)
    for p in sample:
        check = check_gradient(default.capture, p, grads=default_grads)
        assert check.method == REPLAY and check.h == 1e-8 * max(1.0, abs(p.data))
        assert check.rel_error < 1e-6, check
    assert any(abs(default_grads[p]) < 1e-3 for p in sample if default_grads[p])  # small too


def test_rerunning_the_model_agrees_for_gradients_it_can_resolve(
    default: DebugSession, default_grads: FinalGrads
) -> None:
    """In float64 the loss's own rounding (~1e-16) divided by 2h bounds what is seen:
    gradients above 1e-3 check to 1e-6 (smaller ones need the replay)."""
    rng = random.Random(3)
    params = [p for p in default.nodes if p.op == "param" and abs(default_grads[p]) > 1e-3]
    for p in rng.sample(params, 8):
        check = check_gradient(default.capture, p, grads=default_grads, method=RERUN)
        assert check.method == RERUN and check.rel_error < 1e-6, check
        assert 5e-6 < check.h < 7e-6 * max(1.0, abs(p.data))


def test_the_rerun_and_the_replay_see_the_same_loss(default: DebugSession) -> None:
    """The replay keeps softmax's max_val as captured; the model recomputes it. The
    loss is the same function either way, up to rounding."""
    p = find_parameter(default.capture, "layer0.attn_wq[2][5]")
    nudged = p.data + 1e-3
    replayed = Replay(default.capture, p).run(nudged).root
    model = default.capture.model.copy()
    model.state_dict["layer0.attn_wq"][2][5].data = nudged
    rerun = capture_loss(model, default.tokens).root.data
    assert replayed == pytest.approx(rerun, rel=1e-14) and replayed != default.root.data


def test_a_wrong_local_gradient_is_caught() -> None:
    """The check can fail: a product whose stored local gradients are swapped."""
    made: dict[str, Value] = {}

    def build() -> Value:
        a, b = Value(0.7), Value(-1.3)
        made["a"] = a
        return Value(a.data * b.data, (a, b), (a.data, b.data), "*").exp()  # should be (b, a)

    cap = capture_of(build)
    check = check_gradient(cap, made["a"])
    assert check.rel_error > 0.5 and not check.agrees()


def test_a_kink_makes_h_smaller_and_is_reported_if_it_stays() -> None:
    made: dict[str, Value] = {}

    def near() -> Value:  # relu's input 1e-12: h = 1e-8 crosses 0, then 1e-11, then 1e-14 not
        x = made["x"] = Value(0.0)
        return (x + 1e-12).relu() * 3.0

    check = check_gradient(capture_of(near), made["x"])
    assert check.tries == 3 and check.kinks == 0 and check.h == pytest.approx(1e-14)
    assert check.numeric == pytest.approx(3.0, rel=1e-12) and check.agrees()

    def at() -> Value:  # relu's input exactly 0: every h crosses
        x = made["x"] = Value(0.0)
        return x.relu() * 3.0

    check = check_gradient(capture_of(at), made["x"])
    assert check.kinks == 1 and check.tries == 4 and "kink" in check.note
    assert check.analytic == 0.0 and check.numeric == pytest.approx(1.5)


def test_a_parameter_the_loss_does_not_use() -> None:
    s = DebugSession(make_model(SMALL), Tokenizer(VOCAB), "emma", 0)
    unused = find_parameter(s.capture, "wpe[7][0]")  # position 7 is never reached
    check = check_gradient(s.capture, unused)
    assert check.analytic == 0 and check.numeric == 0 and check.rel_error == 0
    assert "does not use" in check.note
    rerun = check_gradient(s.capture, unused, method=RERUN)
    assert rerun.numeric == 0 and rerun.rel_error == 0


def test_find_parameter_and_bad_requests() -> None:
    s = DebugSession(make_model(SMALL), Tokenizer(VOCAB), "emma")
    assert find_parameter(s.capture, "layer0.attn_wq[3][7]").label == "layer0.attn_wq[3][7]"
    for bad in ["nope[0][0]", "wte[0]", "wte[27][0]", "wte[0][8]", ""]:
        with pytest.raises(InputError) as info:
            find_parameter(s.capture, bad)
        assert "\n" not in str(info.value)
    inner = s.trace.vector("pos4.layer0.attn", "q")[0]
    with pytest.raises(InputError):
        check_gradient(s.capture, inner, method=RERUN)  # only parameters re-run
    with pytest.raises(InputError):
        check_gradient(s.capture, inner, method="guess")
    with pytest.raises(InputError):
        check_gradient(s.capture, Value(1.0))  # not in this graph
    rerooted = s.rerooted(inner)
    with pytest.raises(InputError):  # a rerooted graph is not the model's loss
        check_gradient(rerooted.capture, rerooted.nodes[0], method=RERUN)
    assert check_gradient(rerooted.capture, rerooted.nodes[0]).agrees()


# -- in a worker ------------------------------------------------------------------------------


def test_it_runs_in_a_worker_thread_reporting_progress(default: DebugSession) -> None:
    p = find_parameter(default.capture, "wte[26][3]")  # BOS: feeds every position
    reports: list[tuple[int, int]] = []
    result: list = []
    worker = threading.Thread(
        target=lambda: result.append(
            check_gradient(default.capture, p, progress=lambda d, t: reports.append((d, t)))
        )
    )
    worker.start()
    worker.join(timeout=60)
    assert result and result[0].agrees()
    total = reports[-1][1]
    assert reports[-1] == (total, total) and total > 10_000
    assert [d for d, _ in reports] == sorted(d for d, _ in reports)  # never backwards
    assert len(reports) > 10 and {t for _, t in reports} == {total}


def test_it_stops_when_asked(default: DebugSession) -> None:
    p = find_parameter(default.capture, "wte[26][3]")
    calls = []

    def should_stop() -> bool:
        calls.append(1)
        return len(calls) > 3

    with pytest.raises(Cancelled):
        check_gradient(default.capture, p, should_stop=should_stop)
    with pytest.raises(Cancelled):
        check_gradient(default.capture, p, method=RERUN, should_stop=lambda: True)
