"""The top-k paths from the loss to a node: products as shown, and the true top (brute force)."""

from __future__ import annotations

import math
import random
from functools import cache

import pytest
from conftest import VOCAB, make_model
from handmade import capture_of, random_graph

from engine.config import GPTConfig
from engine.data import Tokenizer
from engine.errors import InputError
from engine.explain.final_grads import FinalGrads
from engine.explain.paths import GradPath, count_paths, dependents, top_paths
from engine.session import DebugSession
from engine.value import Value

TINY = GPTConfig(n_layer=1, n_embd=2, n_head=1, block_size=3)


def all_paths(start: Value, target: Value, upstream: float) -> list[tuple[float, list]]:
    """Every path start → target by plain recursion: (product, [(node id, slot)]), the
    product taken from the start down (`x * x` has two edges, slots 0 and 1)."""

    @cache
    def reaches(node: Value) -> bool:
        return node is target or any(reaches(c) for c in node._children)

    out: list[tuple[float, list]] = []

    def walk(node: Value, product: float, edges: list) -> None:
        if node is target:
            out.append((product, edges))
            return
        for slot, (child, local_grad) in enumerate(zip(node._children, node._local_grads)):
            if reaches(child):
                walk(child, product * local_grad, edges + [(child.id, slot)])

    if reaches(start):
        walk(start, upstream, [(start.id, -1)])
    return out


def check_path(path: GradPath, start: Value, target: Value, upstream: float) -> None:
    """Each edge is a real input slot, each local gradient the node's own, each product as shown."""
    steps = path.steps
    assert steps[0].node is start and steps[-1].node is target
    assert steps[0].product == upstream == path.upstream and steps[0].local_grad is None
    product = upstream
    for before, step in zip(steps, steps[1:]):
        assert before.node._children[step.slot] is step.node
        assert step.local_grad == before.node._local_grads[step.slot]
        product = product * step.local_grad
        assert step.product == product
    assert path.product == product
    assert path.local_grads == [s.local_grad for s in steps[1:]]


def check_top(grads: FinalGrads, target: Value, k: int, start: Value | None = None) -> None:
    start = grads.root if start is None else start
    upstream = grads[start]
    brute = all_paths(start, target, upstream)
    found = top_paths(grads, target, k, start=start)
    assert len(found) == min(k, len(brute))
    # the true top: the same k magnitudes, largest first
    assert [abs(p.product) for p in found] == sorted((abs(p) for p, _ in brute), reverse=True)[:k]
    # each one a real path, listed with the product brute force gives it, and no repeats
    by_edges = {tuple(edges): p for p, edges in brute}
    found_edges = [tuple((s.node.id, s.slot) for s in path.steps) for path in found]
    assert len(set(found_edges)) == len(found)
    for path, edges in zip(found, found_edges):
        check_path(path, start, target, upstream)
        assert by_edges[edges] == path.product
    assert count_paths(grads, target, start=start) == len(brute)


@pytest.mark.parametrize("seed", range(60))
def test_top_paths_are_the_true_top_on_random_graphs(seed: int) -> None:
    rng = random.Random(seed)
    cap = capture_of(random_graph(rng, size=rng.randint(6, 18)))
    grads = FinalGrads(cap)
    for target in cap.nodes:
        check_top(grads, target, rng.choice([1, 2, 3, 5, 8]))


def test_top_paths_are_the_true_top_on_a_tiny_gpt() -> None:
    s = DebugSession(make_model(TINY), Tokenizer(VOCAB), "ab", whole_document=True)
    grads = FinalGrads(s.capture, s.consumers)
    checked = 0
    for node in s.nodes[::3]:
        if count_paths(grads, node) <= 3000:
            check_top(grads, node, 5)
            checked += 1
    assert checked > 300
    assert any(node.op == "param" for node in s.nodes[::3] if count_paths(grads, node) <= 3000)


def test_paths_from_one_positions_loss() -> None:
    s = DebugSession(make_model(TINY), Tokenizer(VOCAB), "ab", whole_document=True)
    grads = FinalGrads(s.capture)
    (loss_1,) = s.trace.vector("pos1.loss", "loss")
    assert grads[loss_1] == 1 / 3  # the mean's 1/n is this start's upstream
    target = s.trace.vector("pos1.layer0.attn", "q")[0]
    check_top(grads, target, 4, start=loss_1)
    # position 0's query does not feed position 1's loss
    assert top_paths(grads, s.trace.vector("pos0.layer0.attn", "q")[0], 3, start=loss_1) == []


def test_the_paths_add_up_to_the_grad() -> None:
    """The chain rule: a node's grad is the sum of every path's product (up to rounding)."""
    s = DebugSession(make_model(TINY), Tokenizer(VOCAB), "ab", whole_document=True)
    grads = FinalGrads(s.capture)
    node = s.trace.vector("pos0.layer0.attn", "v")[1]
    n = count_paths(grads, node)
    paths = top_paths(grads, node, n)
    assert len(paths) == n > 10
    assert math.fsum(p.product for p in paths) == pytest.approx(grads[node], rel=1e-12)


def test_a_node_used_twice_has_two_paths_through_that_consumer() -> None:
    made: dict[str, Value] = {}

    def build() -> Value:
        x = made["x"] = Value(3.0)
        return (x * x) * 0.5

    cap = capture_of(build)
    grads = FinalGrads(cap)
    paths = top_paths(grads, made["x"], 5)
    assert [p.product for p in paths] == [1.5, 1.5]
    assert sorted(p.steps[-1].slot for p in paths) == [0, 1]
    assert math.fsum(p.product for p in paths) == grads[made["x"]] == 3.0


def test_the_search_goes_on_past_a_path_that_rounding_ranked_first() -> None:
    """Two 3-edge routes whose bounds (multiplied bottom-up) rank B first, while their
    products (top-down, as shown) rank A first by one ulp: the top path is A."""
    a = [0.6086544300013141, 1.3038230064600338, 1.0485333753688784]
    b = [1.96438265838938, 0.5698740209266344, 0.7433044547911596]
    assert a[0] * (a[1] * a[2]) < (a[0] * a[1]) * a[2] == b[0] * (b[1] * b[2])
    assert (b[0] * b[1]) * b[2] == a[0] * (a[1] * a[2])
    made: dict[str, Value] = {}

    def build() -> Value:
        x = made["x"] = Value(1.0)
        route_a = ((x * a[2]) * a[1]) * a[0]
        route_b = ((x * b[2]) * b[1]) * b[0]
        return route_a + route_b

    cap = capture_of(build)
    (best,) = top_paths(FinalGrads(cap), made["x"], 1)
    assert best.product == (a[0] * a[1]) * a[2]
    assert best.local_grads == [1, a[0], a[1], a[2]]


def test_the_root_and_unreachable_and_bad_requests() -> None:
    s = DebugSession(make_model(TINY), Tokenizer(VOCAB), "ab", whole_document=True)
    grads = FinalGrads(s.capture)
    (only,) = top_paths(grads, s.root, 3)
    assert only.nodes == [s.root] and only.product == 1 and only.local_grads == []
    assert count_paths(grads, s.root) == 1
    with pytest.raises(InputError):
        top_paths(grads, s.root, 0)
    with pytest.raises(InputError):
        top_paths(grads, Value(1.0), 3)  # not a node of this graph


def test_dependents_are_the_nodes_computed_from_the_target() -> None:
    s = DebugSession(make_model(TINY), Tokenizer(VOCAB), "ab", whole_document=True)
    grads = FinalGrads(s.capture)
    target = s.trace.vector("pos0.layer0.attn", "k")[0]
    mask = dependents(grads, target)

    @cache
    def depends(node: Value) -> bool:
        return node is target or any(depends(c) for c in node._children)

    assert [bool(m) for m in mask] == [depends(n) for n in s.nodes]


def test_on_the_default_model_the_largest_path_of_a_weight() -> None:
    """The default session's graph (tens of thousands of nodes): paths to a busy weight."""
    s = DebugSession(make_model(), Tokenizer(VOCAB), "emma")
    grads = FinalGrads(s.capture)
    p = s.model.state_dict["wte"][26][0]  # BOS's embedding feeds every position
    paths = top_paths(grads, p, 5)
    assert len(paths) == 5 and count_paths(grads, p) > 10**9
    for path in paths:
        check_path(path, s.root, p, 1)
    mags = [abs(x.product) for x in paths]
    assert mags == sorted(mags, reverse=True)
