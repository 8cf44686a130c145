"""The replay of a recorded backward(): the script's own grad writes, one step at a time.

`ReplayWalk` (engine/recorded_backward.py) has the stepper's moves over what a script's
backward() actually did. Run to its end it leaves every grad as the script's own
backward() did (==); random sequences of moves and undos restore exact states
(hypothesis, derandomized); the terms it lists are the script's, and agree with
microgpt's stepper where the script's backward is microgpt's.
"""

from __future__ import annotations

from functools import cache

from attach_reference import SCRIPTS
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.attach import AttachResult, attach_script
from engine.recorded_backward import ReplayWalk
from engine.session import DebugSession
from engine.stepper import BackwardPass, terms_received


@cache
def accumulated() -> AttachResult:
    """Grads accumulated over two documents, captured at the second backward()."""
    return attach_script(str(SCRIPTS / "gpt_accumulate.py"), [], backward=2)


def grads(result: AttachResult) -> list:
    return [n.grad for n in result.capture.nodes] + [
        p.grad for rows in result.state_dict.values() for row in rows for p in row
    ]


def test_the_walk_is_the_sessions_backward_phase_and_ends_as_the_script() -> None:
    result = accumulated()
    session = result.session()
    assert isinstance(session.backward, ReplayWalk) and session.script == result.script
    session.set_phase("backward")
    assert session.walk.position == 0 and session.walk.current is None
    while not session.walk.done:
        assert session.walk.step() == 1
    assert [n.grad for n in session.nodes] == [u.grad for u in result.script_nodes]
    assert session.has_final_grad(session.nodes[0]) and session.walk.can_go_back


SCOPES = ["pos1", "pos2.layer0.head1", "pos0.softmax", "params", "document_loss"]
MOVES = ["step", "step_over", "step_out", "cont", "run_to_end"]
ACTIONS = st.one_of(
    st.sampled_from(MOVES + ["back", "back"]),
    st.tuples(st.just("focus"), st.sampled_from([None, *SCOPES])),
)


@settings(
    max_examples=60, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)
@given(
    breakpoints=st.sets(st.sampled_from(SCOPES), max_size=2),
    actions=st.lists(ACTIONS, max_size=20),
)
def test_random_moves_and_undos_restore_exact_states(breakpoints: set[str], actions: list) -> None:
    result = accumulated()
    walk = result.replay()
    for bp in breakpoints:
        walk.toggle_breakpoint(bp)
    initial = grads(result)
    undo: list[tuple[int, list]] = []  # (position, grads) before each recorded move
    for action in actions:
        before = (walk.position, grads(result))
        if isinstance(action, tuple):
            walk.focus = action[1]
            assert (walk.position, grads(result)) == before
        elif action == "back":
            assert walk.back() == bool(undo)
            if undo:
                assert (walk.position, grads(result)) == undo.pop()
        else:
            moved = getattr(walk, action)()
            assert moved == walk.position - before[0] >= 0
            if moved:
                undo.append(before)
            else:
                assert (walk.position, grads(result)) == before
    # the state depends only on the position: replaying to it from the start agrees
    position, now = walk.position, grads(result)
    while walk.back():
        pass
    assert walk.position == 0 and grads(result) == initial
    walk.run_to(position)
    assert grads(result) == now
    walk.run_to_end()
    assert [n.grad for n in result.capture.nodes] == [u.grad for u in result.script_nodes]


def test_terms_are_microgpts_where_the_script_runs_microgpts_backward() -> None:
    result = attach_script(str(SCRIPTS / "microgpt_relu.py"), ["1"])
    session = result.session()
    nodes = result.capture.nodes
    watched = [nodes[i] for i in range(0, len(nodes), 997)] + [nodes[-2]]
    position = len(nodes) // 3
    session.backward.run_to(position)
    replayed = {
        n.id: [
            (t.consumer.id, t.local_grad, t.consumer_grad, t.value, t.exact)
            for t in session.terms(n)
        ]
        for n in watched
    }
    # microgpt's own stepper at the same place, over the same nodes
    stepper = BackwardPass(result.capture.root, nodes)
    assert list(stepper.order) == list(session.backward.order)
    stepper.run_to(position)
    for n in watched:
        consumers = session.consumers_of(n)
        expected = [
            (c.id, lg, cg, v, True) for c, lg, cg, v in terms_received(n, consumers, stepper)
        ]
        assert replayed[n.id] == expected
    assert any(replayed.values())


def test_closure_terms_multiply_out_exactly() -> None:
    result = attach_script(str(SCRIPTS / "gpt_closures.py"))
    session = DebugSession.from_capture(result.capture, backward=result.replay())
    session.backward.run_to_end()
    terms = [t for n in result.capture.nodes[::50] for t in session.terms(n)]
    assert terms and all(t.exact for t in terms)
    assert all(t.local_grad * t.consumer_grad == t.value for t in terms)
    # the local gradients read out of the closures are microgpt's: `x * y` has (y, x)
    products = [n for n in result.capture.nodes if n.op == "*"]
    assert all(n._local_grads == (n._children[1].data, n._children[0].data) for n in products[:200])


def test_a_write_that_is_not_local_grad_times_grad_is_shown_as_made(tmp_path) -> None:
    # GIVEN a backward() that scales each term by 0.5 after the product (not a chain rule)
    script = tmp_path / "halved.py"
    script.write_text(
        "class Value:\n"
        "    def __init__(self, data, children=(), local_grads=()):\n"
        "        self.data, self.grad = data, 0\n"
        "        self._children, self._local_grads = children, local_grads\n"
        "    def __mul__(self, other):\n"
        "        return Value(self.data * other.data, (self, other), (other.data, self.data))\n"
        "    def backward(self):\n"
        "        self.grad = 1\n"
        "        for child, local_grad in zip(self._children, self._local_grads):\n"
        "            child.grad += local_grad * self.grad * 0.3\n"
        "a, b = Value(0.1), Value(0.7)\n"
        "loss = a * b\n"
        "loss.backward()\n"
    )
    result = attach_script(str(script))
    session = result.session()
    a, b, loss = result.capture.nodes
    assert not session.has_final_grad(a)  # a leaf never propagates: final after its write
    session.backward.run_to_end()
    assert session.has_final_grad(a) and session.has_final_grad(b)
    (term,) = session.terms(a)
    assert (term.consumer, term.local_grad, term.consumer_grad) == (loss, 0.7, 1)
    assert term.exact is False and term.value == a.grad - 0  # the write as it was made
    assert a.grad == 0.7 * 1 * 0.3


def test_grads_are_the_replays_end_whatever_a_walk_did() -> None:
    result = attach_script(str(SCRIPTS / "gpt_kahn.py"))
    final = result.grads()  # as converted: the script's grads
    walk = result.replay()
    walk.run_to(10)
    assert walk.final_grads() == [u.grad for u in result.script_nodes]
    assert result.grads() == final
    assert any(g != 0 for row in final["wte"] for g in row)
