"""The vector graph: vectors are the scalar nodes themselves, ops cover every computed node once.

Checked on the built-in model (its labels) and on attached microgpt scripts (their
statements): the same ops with the same names, read live from the scalar graph.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import VOCAB, make_model

from engine.capture import capture_loss, reroot
from engine.config import GPTConfig
from engine.data import Tokenizer
from engine.session import DebugSession
from engine.vector import PARAM, VectorGraph, vector_graph

SCRIPTS = Path(__file__).resolve().parent / "attach_scripts"
HEAD = "pos4.layer0.attn.head1"
HEAD_OPS = ["q·k/√d", "softmax", "Σ w·v"]


@pytest.fixture(scope="module")
def session() -> DebugSession:
    """`emma` at its last position (4) with the default config, as the debugger opens it."""
    return DebugSession(make_model(), Tokenizer(VOCAB), "emma")


@pytest.fixture(scope="module")
def graph(session) -> VectorGraph:
    return vector_graph(session.capture)


@pytest.fixture(scope="module")
def script_graph():
    from engine.attach import attach_script

    result = attach_script(str(SCRIPTS / "microgpt_relu.py"), ["1"])
    return result.capture, vector_graph(result.capture)


def every_vector(graph: VectorGraph):
    """Each op's output, and every vector an op reads (parameters included), once."""
    seen = {}
    for op in graph.ops:
        seen[id(op.output)] = op.output
        for operand in op.inputs:
            seen[id(operand.vector)] = operand.vector
    return list(seen.values())


def check_partition(nodes, graph: VectorGraph) -> None:
    """Ops are disjoint runs in creation order, one scope each, covering every computed node."""
    place = {n.id: i for i, n in enumerate(nodes)}  # (ids have gaps in a rerooted graph)
    covered = [None] * len(nodes)
    last_stop = 0
    for op in graph.ops:
        assert last_stop <= op.start < op.stop
        last_stop = op.stop
        assert {n.scope for n in op.nodes} == {op.scope}
        assert all(n.op != "param" for n in op.nodes)
        for n in op.nodes:
            covered[place[n.id]] = op
        assert all(op.start <= place[m.id] < op.stop for m in op.output.members)
    for node in nodes:
        if node._children:  # every computed node is in exactly one op
            assert covered[place[node.id]] is not None, node
            assert graph.op_of(node) is covered[place[node.id]]


def check_reads_are_outputs(nodes, graph: VectorGraph) -> None:
    """Whatever an op reads from another op is a member of that op's output vector."""
    for node in nodes:
        mine = graph.op_of(node)
        for child in node._children:
            theirs = graph.op_of(child)
            if theirs is not None and theirs is not mine:
                assert graph.vector_of(child) is not None, (child, child.scope)
                assert graph.vector_of(child)[0] is theirs.output


# -- the built-in model ------------------------------------------------------------------


def test_ops_cover_every_computed_node_once_in_one_scope(session, graph):
    check_partition(session.nodes, graph)
    check_reads_are_outputs(session.nodes, graph)  # every vector the model makes is labelled


def test_vectors_are_their_members_floats_read_live(session, graph):
    walk = session.backward
    walk.reset()
    for _ in range(3):
        walk.step()
        for vector in every_vector(graph):
            assert vector.values == [m.data for m in vector.members]
            assert vector.grads == [m.grad for m in vector.members]
            assert all(session.nodes[m.id] is m for m in vector.members)  # the nodes themselves
    walk.run_to_end()
    for vector in every_vector(graph):
        assert vector.grads == [m.grad for m in vector.members]
    assert any(g != 0 for g in graph.ops[-1].output.grads)


def test_one_token_reads_as_microgpt_draws_it(graph):
    ops = [op for op in graph.ops if op.scope.startswith("pos4")]
    names = [op.name for op in ops]
    attn = ["rmsnorm", "linear W_q", "linear W_k", "linear W_v", *HEAD_OPS * 4]
    mlp = ["rmsnorm", "linear W_fc1", "relu", "linear W_fc2", "+ residual"]
    assert names == [
        "tok + pos",
        "rmsnorm",
        *attn,
        "linear W_o",
        "+ residual",
        *mlp,
        "linear lm_head",
        "softmax",
        "−log p[target]",
    ]
    outputs = [op.output.name for op in ops]
    assert outputs[:6] == ["x_embed", "x_norm", "x_norm", "q", "k", "v"]
    assert outputs[-3:] == ["logits", "probs", "loss"]


def test_a_head_reads_its_slices_of_q_k_and_v(graph):
    logits, weights, out = graph.ops_in(HEAD)
    assert [logits.name, weights.name, out.name] == HEAD_OPS
    q, *keys = logits.inputs
    assert (q.vector.name, q.vector.scope, q.title()) == ("q", "pos4.layer0.attn", "q[4:8]")
    assert [k.vector.scope for k in keys] == [f"pos{t}.layer0.attn" for t in range(5)]
    assert all(k.title() == "k[4:8]" for k in keys)
    assert [o.vector for o in weights.inputs] == [logits.output]
    assert out.inputs[0].vector is weights.output
    assert [v.vector.name for v in out.inputs[1:]] == ["v"] * 5
    assert len(out.output.members) == 4 and out.output.title() == "head_out"


def test_parameters_are_matrices_or_the_rows_a_token_uses(session, graph):
    embed = graph.ops_in("pos4.embed")[0]
    wte, wpe = (o.vector for o in embed.inputs)
    token = session.tokens[4]
    assert (wte.name, wte.kind, wte.shape, wte.rows) == (f"wte[{token}]", PARAM, (1, 16), [token])
    assert wpe.name == "wpe[4]" and wpe.members == session.model.state_dict["wpe"][4]
    wq = next(o for o in graph.ops_in("pos4.layer0.attn") if o.name == "linear W_q").inputs[0]
    assert (wq.vector.name, wq.vector.shape, wq.whole) == ("layer0.attn_wq", (16, 16), True)
    assert wq.vector.members[17] is session.model.state_dict["layer0.attn_wq"][1][1]


def test_the_loss_keeps_only_the_targets_probability(session, graph):
    softmax, loss = graph.ops[-2:]
    target = session.tokens[5]
    assert softmax.output.title() == f"probs[{target}]" and softmax.output.partial is (target != 0)
    assert loss.output.members == [session.root]


def test_the_document_graph_ends_in_the_mean(tokenizer):
    s = DebugSession(make_model(), tokenizer, "emma", whole_document=True)
    g = vector_graph(s.capture)
    check_partition(s.nodes, g)
    assert g.ops[-1].name == "mean" and g.ops[-1].output.members == [s.root]
    assert [o.vector.scope for o in g.ops[-1].inputs] == [f"pos{t}.loss" for t in range(5)]


def test_a_rerooted_graph_has_vectors_too(session):
    node = session.trace.vector(HEAD, "attn_weights")[2]
    capture = reroot(session.capture, node, session.model)
    g = vector_graph(capture)
    check_partition(capture.nodes, g)
    assert g.ops[-1].output.members[-1] is capture.root


def test_a_larger_model_has_every_layer(tokenizer):
    model = make_model(GPTConfig(n_layer=2, n_embd=8, n_head=2))
    capture = capture_loss(model, tokenizer.encode("olivia"), 3)
    g = vector_graph(capture)
    check_partition(capture.nodes, g)
    check_reads_are_outputs(capture.nodes, g)
    assert [op.name for op in g.ops_in("pos3.layer1.attn")][:4] == [
        "rmsnorm",
        "linear W_q",
        "linear W_k",
        "linear W_v",
    ]


# -- a script's graph (attach) -------------------------------------------------------------


def test_a_scripts_graph_gets_the_same_ops_from_its_statements(script_graph, graph):
    capture, g = script_graph
    check_partition(capture.nodes, g)
    check_reads_are_outputs(capture.nodes, g)
    last = max(int(op.scope.split(".")[0][3:]) for op in g.ops if op.scope.startswith("pos"))
    mine = [op.name for op in g.ops if op.scope.split(".")[0] == f"pos{last}"]
    builtin = [op.name for op in graph.ops if op.scope.startswith("pos4")]
    # the script has 2 heads (the model 4) and no attn/mlp scopes; the ops are the same
    assert builtin[6:18] == HEAD_OPS * 4
    assert mine == builtin[:6] + HEAD_OPS * 2 + builtin[18:]
    head = [op for op in g.ops if op.scope == f"pos{last}.layer0.head1"]
    assert [op.output.name for op in head] == ["attn_logits", "head_out"]


def test_a_scripts_vectors_are_its_members_floats(script_graph):
    capture, g = script_graph
    capture.backward()
    for vector in every_vector(g):
        assert vector.values == [m.data for m in vector.members]
        assert vector.grads == [m.grad for m in vector.members]
    names = {o.vector.name for op in g.ops for o in op.inputs if o.vector.kind == PARAM}
    assert {"layer0.attn_wq", "lm_head"} <= names
