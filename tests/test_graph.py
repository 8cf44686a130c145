"""Graph queries against brute force: consumers, neighbourhoods, scopes and the scope tree."""

from __future__ import annotations

from collections import Counter, deque

import pytest
from conftest import make_model

from engine.capture import Capture, capture_loss
from engine.config import GPTConfig
from engine.data import Tokenizer
from engine.graph import (
    Consumers,
    ScopeNode,
    find_scope,
    in_scope,
    neighbourhood,
    nodes_in_scope,
    scope_tree,
)
from engine.value import Value


@pytest.fixture(scope="module")
def capture() -> Capture:
    """Position 10's loss of an 11-character name: scopes pos0..pos10, so pos2 and pos10."""
    tokens = Tokenizer("abcdefghijklmnopqrstuvwxyz").encode("christopher")
    return capture_loss(make_model(GPTConfig(n_embd=8, n_head=2)), tokens, pos=10)


def reverse_edges(nodes: list[Value]) -> list[list[int]]:
    """Brute force: for each node id, the ids of its consumers, one per use, by creation."""
    out: list[list[int]] = [[] for _ in nodes]
    for node in nodes:
        for child in node._children:
            out[child.id].append(node.id)
    return out


def distances(start: Value, step) -> dict[int, int]:
    """Brute force BFS: shortest number of edges from start to every reachable node id."""
    dist = {start.id: 0}
    queue = deque([start])
    while queue:
        node = queue.popleft()
        for nxt in step(node):
            if nxt.id not in dist:
                dist[nxt.id] = dist[node.id] + 1
                queue.append(nxt)
    return dist


# -- consumers ---------------------------------------------------------------------------


def test_consumers_equal_brute_force_reverse_edges(capture: Capture) -> None:
    consumers = Consumers(capture.nodes)
    expected = reverse_edges(capture.nodes)
    for node_id, ids in enumerate(expected):
        assert consumers.of(node_id) == ids
        assert consumers.count(node_id) == len(ids)
    assert consumers.of(capture.root.id) == []


def test_a_node_used_twice_is_listed_twice(capture: Capture) -> None:
    consumers = Consumers(capture.nodes)
    square = next(n for n in capture.nodes if n.op == "*" and n._children[0] is n._children[1])
    x = square._children[0]
    assert consumers.of(x.id).count(square.id) == 2


def test_every_node_but_the_root_has_a_consumer(capture: Capture) -> None:
    consumers = Consumers(capture.nodes)
    assert [n.id for n in capture.nodes if consumers.count(n.id) == 0] == [capture.root.id]


# -- neighbourhoods ----------------------------------------------------------------------


@pytest.mark.parametrize("depth", [0, 1, 2, 3])
def test_neighbourhood_below_is_every_input_within_depth(capture: Capture, depth: int) -> None:
    for node in capture.nodes[-1::-997]:  # a spread of nodes, the root first
        dist = distances(node, lambda n: n._children)
        expected = sorted(i for i, d in dist.items() if d <= depth)
        assert [n.id for n in neighbourhood(node, depth)] == expected


@pytest.mark.parametrize("depth", [0, 1, 2, 3])
def test_neighbourhood_above_is_every_consumer_within_depth(capture: Capture, depth: int) -> None:
    nodes = capture.nodes
    consumers = Consumers(nodes)
    reverse = reverse_edges(nodes)
    for node in nodes[::997]:  # a spread of nodes, parameters first
        dist = distances(node, lambda n: [nodes[i] for i in reverse[n.id]])
        expected = sorted(i for i, d in dist.items() if d <= depth)
        above = neighbourhood(node, depth, consumers, nodes)
        assert [n.id for n in above] == expected
        assert all(nodes[i] is n for i, n in zip(expected, above, strict=True))


def test_neighbourhood_of_depth_one_is_the_node_and_its_inputs(capture: Capture) -> None:
    root = capture.root
    assert neighbourhood(root, 1) == sorted([root, *root._children], key=lambda n: n.id)


# -- scopes ------------------------------------------------------------------------------


def test_in_scope_respects_dotted_boundaries() -> None:
    assert in_scope("pos1.layer0", "pos1") and in_scope("pos1", "pos1")
    assert not in_scope("pos10.layer0", "pos1") and not in_scope("pos1", "pos1.layer0")
    assert in_scope("anything", "")


@pytest.mark.parametrize(
    "prefix", ["pos1", "pos10", "pos10.layer0.attn", "pos10.layer0.attn.head1", "params", ""]
)
def test_nodes_in_scope_equal_brute_force(capture: Capture, prefix: str) -> None:
    expected = [n for n in capture.nodes if in_scope(n.scope, prefix)]
    assert nodes_in_scope(capture.nodes, prefix) == expected
    assert expected  # every prefix above is a real scope


def test_nodes_in_scope_does_not_mix_pos1_and_pos10(capture: Capture) -> None:
    assert not any(n.scope.startswith("pos10") for n in nodes_in_scope(capture.nodes, "pos1"))


def walk_tree(node: ScopeNode):
    yield node
    for child in node.children.values():
        yield from walk_tree(child)


def test_scope_tree_counts_are_sums(capture: Capture) -> None:
    nodes = capture.nodes
    tree = scope_tree(nodes)
    own = Counter(n.scope for n in nodes)
    assert tree.total == len(nodes) and tree.path == ""
    paths = set()
    for node in walk_tree(tree):
        paths.add(node.path)
        assert node.own == own.get(node.path, 0)
        assert node.total == node.own + sum(c.total for c in node.children.values())
        assert node.total == len(nodes_in_scope(nodes, node.path)), node.path
        for name, child in node.children.items():
            assert child.name == name
            assert child.path == (f"{node.path}.{name}" if node.path else name)
    assert set(own) <= paths


def test_scope_tree_children_are_in_order_of_first_appearance(capture: Capture) -> None:
    tree = scope_tree(capture.nodes)
    for node in walk_tree(tree):
        firsts = [
            min(n.id for n in nodes_in_scope(capture.nodes, c.path)) for c in node.children.values()
        ]
        assert [c.first_id for c in node.children.values()] == firsts
        assert firsts == sorted(firsts)
    top = list(tree.children)
    assert top == ["params", *(f"pos{t}" for t in range(11))]
    assert top.index("pos2") < top.index("pos10")
    assert list(tree.children["pos10"].children) == ["embed", "layer0", "lm_head", "loss"]


def test_find_scope(capture: Capture) -> None:
    tree = scope_tree(capture.nodes)
    head = find_scope(tree, "pos10.layer0.attn.head1")
    assert head is not None and head.path == "pos10.layer0.attn.head1"
    assert head.total == len(nodes_in_scope(capture.nodes, head.path)) > 0
    assert find_scope(tree, "") is tree
    assert find_scope(tree, "pos11") is None
    assert find_scope(tree, "pos1.layer0.attn.head0") is None  # dropped: pos 1 only gives k, v
