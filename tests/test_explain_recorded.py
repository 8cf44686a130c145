"""The gradient explanations on a script's own backward() (`attach`): the script's grads, honestly.

GIVEN a session whose backward walk replays a script's recorded backward() (a Kahn
sort, one that steps only the inner nodes in its own order, grads accumulated over
two calls without zeroing, one graph's backward() called twice), WHEN the
inspector is asked about a node, THEN the grad it reports is the one the script's
backward() left (`==` the node's grad at the walk's end), what the node held before
the call is its own part of every split (never in the remainder), and the remainder
left is rounding, stated.
"""

from __future__ import annotations

import math
import shutil
from fractions import Fraction
from pathlib import Path

import pytest
from attach_reference import SCRIPTS, plain_run, state_dict_grads

from engine.attach import attach_script
from engine.explain.final_grads import FinalGrads
from engine.explain.inspector import GradInspector
from engine.explain.shares import HELD_ABOVE, GradSplit
from engine.session import DebugSession

# A Kahn sort whose ready queue takes only inner nodes: its steps are not every node,
# so the graph's order is microgpt's depth-first one, and the script's sums differ.
KAHN_INNER = ("consumers[child] == 0:", "consumers[child] == 0 and child._children:")
BOUND = 1e-12  # a remainder is rounding: within 1e-12 of the magnitudes added (as test_shares)


def session_of(name: str, *args: str, backward: int = 1) -> DebugSession:
    return attach_script(str(SCRIPTS / name), list(args), backward=backward).session()


def kahn_inner(tmp_path: Path) -> DebugSession:
    source = (SCRIPTS / "gpt_kahn.py").read_text()
    assert KAHN_INNER[0] in source
    (tmp_path / "gpt_kahn_inner.py").write_text(source.replace(*KAHN_INNER))
    shutil.copy(SCRIPTS / "input.txt", tmp_path)
    return attach_script(str(tmp_path / "gpt_kahn_inner.py")).session()


def backward_twice(tmp_path: Path) -> DebugSession:
    """One graph's backward() called twice: its inner nodes hold grads at the second."""
    script = tmp_path / "twice.py"
    script.write_text(
        "from tiny_autograd import Value\n"
        "w, x = Value(0.3), Value(-1.7)\n"
        "for t in range(3):\n"
        "    h = (w * x + w).exp()\n"
        "loss = h * h + h * w\n"
        "loss.backward()\n"
        "loss.backward()\n"
    )
    shutil.copy(SCRIPTS / "tiny_autograd.py", tmp_path)
    return attach_script(str(script), backward=2).session()


def sample(session: DebugSession) -> list:
    """Every parameter and every 23rd node: a few hundred, the same each run."""
    nodes = session.nodes
    return [n for n in nodes if n.op == "param" or n.id % 23 == 0]


def at_the_start(session: DebugSession) -> list:
    """By node id, the grads as the recorded backward() began propagating."""
    walk = session.backward
    walk.reset()
    return [n.grad for n in session.nodes]


def assert_adds_up(split: GradSplit) -> None:
    """held + the shares (left to right, from held) + the remainder is the grad, exactly;
    and the remainder is rounding."""
    total = split.held
    for share in split.shares:
        total += share.value
    assert split.total == total
    assert split.remainder_exact
    assert Fraction(split.total) + Fraction(split.remainder) == Fraction(split.grad)
    scale = abs(split.held) + math.fsum(abs(s.value) for s in split.shares)
    assert abs(split.remainder) <= BOUND * scale, (split.node, split.remainder, scale)
    if split.same_order_as_backward:
        assert split.remainder == 0


# -- the grad is the script's --------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "backward"), [("gpt_kahn.py", 1), ("gpt_accumulate.py", 2), ("microgpt_relu.py", 1)]
)
def test_the_grad_reported_is_the_one_the_scripts_backward_left(name, backward) -> None:
    s = session_of(name, backward=backward)
    assert s.script_backward is s.backward
    why = GradInspector(s)
    reported = [why.grad(n) for n in s.nodes]  # asked before the walk moves
    s.backward.run_to_end()
    assert reported == [n.grad for n in s.nodes]


def test_a_script_order_microgpts_would_round_differently_is_still_the_scripts(tmp_path) -> None:
    s = kahn_inner(tmp_path)
    why = GradInspector(s)
    reported = [why.grad(n) for n in s.nodes]
    # microgpt's order over the same graph gives other bits: the case this guards
    microgpts = FinalGrads(s.capture, s.consumers).values
    s.backward.run_to_end()
    theirs = [n.grad for n in s.nodes]
    assert reported == theirs and microgpts != theirs
    # the shares are the graph's, the remainder rounding, stated
    for node in sample(s):
        for split in (why.by_position(node), why.by_scope(node)):
            assert split.grad == theirs[node.id] and split.held == 0
            assert_adds_up(split)


def test_a_built_in_session_has_no_script_backward_and_nothing_held() -> None:
    from conftest import VOCAB, make_model

    from engine.config import GPTConfig
    from engine.data import Tokenizer

    s = DebugSession(
        make_model(GPTConfig(n_embd=8, n_head=2, block_size=8)), Tokenizer(VOCAB), "emma"
    )
    assert s.script_backward is None
    why = GradInspector(s)
    p = s.model.state_dict["wte"][2][0]
    assert why.held(p) == 0 and why.by_position(p).held == 0 and why.by_scope(p).held == 0


# -- grads accumulated over two calls ------------------------------------------------------


def test_accumulated_grads_split_into_held_before_and_this_calls_shares() -> None:
    s = session_of("gpt_accumulate.py", backward=2)
    why = GradInspector(s)
    start = at_the_start(s)
    first = state_dict_grads(plain_run(SCRIPTS / "gpt_accumulate.py", backward=1))
    # the embeddings this graph uses hold what the first backward() left them
    used = [
        (why.held(p), first["wte"][i][j])
        for i, row in enumerate(s.model.state_dict["wte"])
        for j, p in enumerate(row)
        if s.contains(p)
    ]
    assert len(used) > 20 and all(held == theirs for held, theirs in used)
    held = 0
    for node in sample(s):
        if node is s.root:
            continue
        for split in (why.by_position(node), why.by_scope(node)):
            assert split.held == start[node.id] == why.held(node)
            assert split.grad == why.grad(node)
            assert_adds_up(split)
        held += why.held(node) != 0
    assert held > 50  # the parameters the first document used


def test_the_check_compares_the_slope_with_what_this_backward_added() -> None:
    s = session_of("gpt_accumulate.py", backward=2)
    why = GradInspector(s)
    p = next(p for row in s.model.state_dict["wte"] for p in row if why.held(p) != 0)
    check = why.check(p)
    assert check.analytic == why.grad(p) - why.held(p) and check.agrees()
    assert "held before" in check.note


# -- a graph whose inner nodes held grads --------------------------------------------------


def test_grads_held_above_pass_down_as_a_share_of_their_own(tmp_path) -> None:
    s = backward_twice(tmp_path)
    why = GradInspector(s)
    start = at_the_start(s)
    s.backward.run_to_end()
    w = s.nodes[0]
    assert w.label == "w" and why.grad(w) == w.grad
    for node in s.nodes:
        if node is s.root:
            continue
        position, by_scope = why.by_position(node), why.by_scope(node)
        assert position.held == by_scope.held == start[node.id]
        assert_adds_up(position)
        assert_adds_up(by_scope)
    # w's inputs' consumers held grads: they passed them down again, a share of its own
    above = {share.key: share.value for share in why.by_position(w).shares}
    assert above.get(HELD_ABOVE, 0) != 0
    # the scope terms are the script's writes: its own additions, the grad exactly
    assert why.by_scope(s.nodes[1]).remainder == 0


def test_a_paths_upstream_is_the_grad_the_script_passed_on(tmp_path) -> None:
    s = backward_twice(tmp_path)
    why = GradInspector(s)
    s.backward.run_to_end()
    inner = max((n for n in s.nodes if n.op == "exp"), key=lambda n: n.id)
    paths = why.paths(s.nodes[0], 3, start=inner)
    assert paths and all(path.upstream == inner.grad for path in paths)
