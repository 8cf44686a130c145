"""An id means one node for a document and position everywhere (issue 11, defect 10).

A position's graph has the same ids in the debugger, `export --pos` and `grads --pos`;
the document graph is another graph, with its own ids, and says so; Root here keeps
the original ids, so a rerooted graph's ids have gaps, and everything that takes an
id or sizes an array by ids works on it.
"""

from __future__ import annotations

from functools import cache

import pytest
from conftest import VOCAB, make_model

from engine.capture import capture_loss
from engine.config import GPTConfig
from engine.data import Tokenizer
from engine.errors import InputError
from engine.explain.inspector import GradInspector
from engine.export import Selection, export, select
from engine.graph import scope_tree
from engine.session import BACKWARD, DebugSession

SMALL = GPTConfig(n_embd=8, n_head=2, block_size=8)
TOKENIZER = Tokenizer(VOCAB)


def session(pos: int | None = 3, *, whole: bool = False) -> DebugSession:
    return DebugSession(make_model(SMALL), TOKENIZER, "emma", pos, whole_document=whole)


def same_node(a, b) -> bool:
    return (a.id, a.op, a.scope, a.label, a.data) == (b.id, b.op, b.scope, b.label, b.data)


@cache
def rerooted() -> tuple[DebugSession, DebugSession]:
    """Position 3's graph, and the same rooted at a node of layer 0's attention at position 2."""
    s = session()
    node = next(n for n in reversed(s.nodes) if n.scope == "pos2.layer0.attn" and n.op == "+")
    return s, s.rerooted(node)


# -- one graph per document and position --------------------------------------------------------


def test_a_positions_ids_are_the_same_in_debug_export_and_grads() -> None:
    debug = session(3)
    grads_capture = capture_loss(make_model(SMALL), TOKENIZER.encode("emma"), 3)  # `grads --pos 3`
    export_session = session(3)  # `export --pos 3` debugs the same graph
    assert len(debug.nodes) == len(grads_capture.nodes) == len(export_session.nodes)
    for a, b, c in zip(debug.nodes, grads_capture.nodes, export_session.nodes, strict=True):
        assert same_node(a, b) and same_node(a, c)


def test_the_document_graph_is_another_graph_and_says_so() -> None:
    position, document = session(4), session(whole=True)
    assert position.graph_name == "emma@pos4" and document.graph_name == "emma@all"
    differs = next(i for i in range(len(position.nodes)) if not same_node(
        position.node(i), document.node(i)))  # fmt: skip
    assert differs < len(position.nodes)
    with pytest.raises(InputError, match=r"#99999 does not exist in graph emma@pos4.*0\.\."):
        position.node(99999)


# -- Root here keeps the ids ---------------------------------------------------------------------


def test_root_here_keeps_every_nodes_id() -> None:
    s, r = rerooted()
    assert r.rooted_at == r.root.id and r.graph_name == f"emma@pos3 rooted at #{r.root.id}"
    assert len(r.nodes) < len(s.nodes) and not r.trace.dense
    for node in r.nodes:
        assert same_node(node, s.node(node.id)) and r.node(node.id) is node
        assert r.contains(node) and not s.contains(node) and not r.contains(s.node(node.id))
    missing = next(i for i in range(r.root.id) if not r.has_node(i))
    with pytest.raises(InputError, match=rf"#{missing} does not exist in graph emma@pos3 rooted"):
        r.node(missing)
    assert "(with gaps)" in r.id_range
    # rooting again keeps them too
    inner = r.rerooted(r.root._children[0])
    assert all(same_node(n, s.node(n.id)) for n in inner.nodes)


def test_a_rerooted_graph_steps_finds_and_explains_by_the_original_ids() -> None:
    s, r = rerooted()
    r.set_phase(BACKWARD)
    r.backward.run_to_end()
    # its backward pass is the root's backward(), on a fresh copy of the graph
    s2 = session()
    fresh_root = s2.node(r.root.id)
    fresh_root.backward()
    for node in r.nodes:
        assert node.grad == s2.node(node.id).grad
    # consumers, terms, scopes and find speak in the original ids
    some = r.root._children[0]
    assert {c.id for c in r.consumers_of(some)} <= {c.id for c in s.consumers_of(s.node(some.id))}
    assert sum(t.value for t in r.terms(some)) == some.grad
    assert r.scopes.first_id == r.nodes[0].id
    assert scope_tree(r.nodes).total == len(r.nodes)
    assert r.find_labels(f"#{some.id}") == [some.id] and r.find_labels("#0") == (
        [0] if r.has_node(0) else []
    )
    # the forward replay reveals them in order
    r.forward.run_to(len(r.nodes) // 2)
    assert [r.forward.revealed(n) for n in r.nodes] == [
        i < len(r.nodes) // 2 for i in range(len(r.nodes))
    ]
    # the gradient questions, and the nudge check
    why = GradInspector(r)
    param = next(n for n in r.nodes if n.op == "param")
    assert why.grad(param) == param.grad
    assert why.by_position(param).grad == param.grad
    assert why.paths(param, 2) and why.check(param).agrees()


def test_a_rerooted_graph_exports_a_scope_a_node_and_the_overview(tmp_path) -> None:
    _, r = rerooted()
    r.set_phase(BACKWARD)
    r.backward.run_to_end()
    node = r.root._children[0]
    for selection in (
        Selection.of_node(node.id, 2),
        Selection.of_node(node.id, 1, consumers=True),
        Selection.of_scope("pos2.layer0.attn"),
        Selection.overview(),
    ):
        select(r, selection)
    done = export(r, Selection.of_node(node.id, 2), tmp_path / "node.dot")
    source = done.path.read_text()
    assert f"n{node.id} [" in source  # drawn under its own id
