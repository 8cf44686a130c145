"""GradInspector: one session's gradient questions, answered from the final grads mid-walk."""

from __future__ import annotations

from conftest import VOCAB, make_model

from engine.config import GPTConfig
from engine.data import Tokenizer
from engine.explain.inspector import GradInspector
from engine.session import BACKWARD, DebugSession

SMALL = GPTConfig(n_embd=8, n_head=2, block_size=8)


def test_answers_are_about_final_grads_and_leave_the_walk_as_it_is() -> None:
    s = DebugSession(make_model(SMALL), Tokenizer(VOCAB), "emma", whole_document=True)
    s.set_phase(BACKWARD)
    for _ in range(40):
        s.backward.step()  # mid-walk: most grads are partial or still 0
    before = ([n.grad for n in s.nodes], s.backward.position)
    why = GradInspector(s)
    p = s.model.state_dict["lm_head"][3][1]
    split = why.by_position(p)
    assert split.grad == why.grad(p) != p.grad
    assert why.by_scope(p).grad == split.grad
    paths = why.paths(p, 4)
    assert len(paths) == 4 and why.count_paths(p) >= 4
    assert why.explain(p).title == "parameter"
    check = why.check(p)
    assert check.analytic == why.grad(p) and check.agrees()
    assert ([n.grad for n in s.nodes], s.backward.position) == before
    s.backward.run_to_end()
    assert why.grad(p) == p.grad  # the same float a full backward gives
    assert why.grads is why.grads  # computed once


def test_threads_asking_at_once_compute_the_final_grads_once(monkeypatch) -> None:
    import threading
    import time

    from engine.explain import inspector as inspector_module

    s = DebugSession(make_model(SMALL), Tokenizer(VOCAB), "emma", whole_document=True)
    made = []
    real = inspector_module.FinalGrads

    def slow_final_grads(*args):
        made.append(1)
        time.sleep(0.2)  # long enough for the other threads to ask meanwhile
        return real(*args)

    monkeypatch.setattr(inspector_module, "FinalGrads", slow_final_grads)
    why = GradInspector(s)
    got = []
    threads = [threading.Thread(target=lambda: got.append(why.grads)) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(made) == 1 and all(g is why.grads for g in got)
