"""The routes that carry most of a node's gradient, merged for a slide (`export --paths-to`)."""

from __future__ import annotations

import pytest
from conftest import VOCAB, make_model

from engine.config import GPTConfig
from engine.data import Tokenizer
from engine.errors import InputError
from engine.explain.final_grads import FinalGrads
from engine.explain.paths import top_paths
from engine.explain.routes import condensed, routes, target_node
from engine.export import fmt4
from engine.export.routes import route_digraph
from engine.session import DebugSession

SMALL = GPTConfig(n_embd=8, n_head=2, block_size=8)


@pytest.fixture(scope="module")
def session() -> DebugSession:
    return DebugSession(make_model(SMALL), Tokenizer(VOCAB), "emma", 2)


def test_routes_merge_the_top_paths_into_nodes_and_edges(session) -> None:
    grads = FinalGrads(session.capture)
    target = session.parameter("wte[4][1]")
    found = routes(grads, target, 3)
    paths = top_paths(grads, target, 3)
    assert [p.node_ids for p in found.paths] == [p.node_ids for p in paths]
    assert found.grad == grads[target] and found.count >= 3
    # every node on a path, once, in creation order; the loss and the target among them
    ids = [n.id for n in found.nodes]
    assert ids == sorted({i for p in paths for i in p.node_ids})
    assert ids[0] == target.id and ids[-1] == session.root.id
    # every edge a path takes, once, with the consumer's own local gradient and its ranks
    for rank, path in enumerate(paths, 1):
        for above, below in zip(path.steps, path.steps[1:]):
            (edge,) = [e for e in found.edges if e.consumer is above.node and e.slot == below.slot]
            assert edge.node is below.node and rank in edge.ranks
            assert edge.local_grad == above.node._local_grads[below.slot] == below.local_grad
    used = {(e.consumer.id, e.slot) for e in found.edges}
    assert (
        len(used)
        == len(found.edges)
        == len({(a.node.id, b.slot) for p in paths for a, b in zip(p.steps, p.steps[1:])})
    )
    assert found.ranks_of(session.root) == (1, 2, 3) and found.ranks_of(target) == (1, 2, 3)


def test_a_node_is_named_by_id_or_parameter(session) -> None:
    p = session.parameter("lm_head[0][0]")
    assert target_node(session, "lm_head[0][0]") is p
    assert target_node(session, f"#{p.id}") is p and target_node(session, str(p.id)) is p
    with pytest.raises(InputError, match="does not exist"):
        target_node(session, str(len(session.nodes)))
    with pytest.raises(InputError, match="give a node id or a parameter"):
        target_node(session, "wte[25][0]")  # 'z': not in this document


def test_condensed_routes_keep_every_product_and_drop_only_straight_sums(session) -> None:
    grads = FinalGrads(session.capture)
    found = routes(grads, session.parameter("wte[4][1]"), 3)
    kept, edges = condensed(found)
    kept_ids = {v.id for v in kept}
    assert len(kept) < len(found.nodes)  # sum() makes long runs of sums
    assert found.target.id in kept_ids and session.root.id in kept_ids
    dropped = [v for v in found.nodes if v.id not in kept_ids]
    assert dropped and all(v.op == "+" for v in dropped)
    assert sum(e.sums for e in edges) >= len(dropped)
    # along each route, the drawn edges multiply (from the loss down) to its product, exactly
    by_ends = {(e.node.id, e.consumer.id): e for e in edges}
    for rank, path in enumerate(found.paths, 1):
        on = [s.node for s in path.steps if s.node.id in kept_ids]
        product = path.upstream
        for above, below in zip(on, on[1:]):
            edge = by_ends[(below.id, above.id)]
            assert rank in edge.ranks
            product = product * edge.local_grad
        assert product == path.product


def test_the_routes_digraph_has_a_legend_line_per_route_and_the_target_lit(session) -> None:
    grads = FinalGrads(session.capture)
    target = session.parameter("wte[4][1]")
    found = routes(grads, target, 2)
    source = route_digraph(found, grads.values, "dark").source
    assert "The 2 routes carrying most of wte[4][1]" in source
    for rank, path in enumerate(found.paths, 1):
        assert f"{'①②'[rank - 1]} {fmt4(path.product)}" in source
    assert f"n{target.id} [label=" in source and "penwidth=3" in source
    kept, edges = condensed(found)
    assert source.count(" -> ") == len(edges)
    assert sum(f"\tn{v.id} [label=" in source for v in kept) == len(kept)
