"""The engine's model against an independent plain microgpt: the same floats, node for node.

Both initialise from the same seed, so they hold the same weights; the loss, every
parameter gradient and the number of nodes must be equal (==), not approximately equal.
"""

from __future__ import annotations

import random

import pytest
import reference_microgpt as ref
from conftest import VOCAB, make_model

from engine.capture import capture_loss
from engine.config import GPTConfig
from engine.model import GPT, document_loss
from engine.value import backward_order

CONFIGS = {
    "default": GPTConfig(),
    "2 layers, n_embd 8, 2 heads": GPTConfig(n_layer=2, n_embd=8, n_head=2),
    "block_size 4": GPTConfig(block_size=4),
}
DOCS = ["a", "emma", "christopher"]  # 1 character; the usual; longer than block_size 4
SEED = 1337


def reference_state_dict(config: GPTConfig, seed: int = SEED) -> dict:
    random.seed(seed)
    return ref.init_state_dict(len(VOCAB) + 1, config.n_layer, config.n_embd, config.block_size)


def reference_loss(state_dict: dict, config: GPTConfig, tokens: list[int], pos: int | None):
    args = (state_dict, config.n_layer, config.n_head, config.block_size, tokens)
    if pos is None:
        return ref.doc_loss(*args)
    return ref.position_losses(*args, upto=pos)[-1]


def positions(config: GPTConfig, doc: str) -> list[int | None]:
    last = min(config.block_size, len(doc) + 1) - 1
    return sorted({0, last}) + [None]


def assert_same_grads(model: GPT, state_dict: dict) -> None:
    assert list(model.state_dict) == list(state_dict)
    for name, mat in model.state_dict.items():
        ours = [[p.grad for p in row] for row in mat]
        theirs = [[p.grad for p in row] for row in state_dict[name]]
        assert ours == theirs, f"{name} gradients differ"


def test_same_seed_gives_the_same_weights() -> None:
    for config in CONFIGS.values():
        model = make_model(config, SEED)
        state_dict = reference_state_dict(config)
        assert model.to_floats() == {
            name: [[p.data for p in row] for row in mat] for name, mat in state_dict.items()
        }


def test_the_tokenizer_encodes_as_microgpt() -> None:
    from engine.data import Tokenizer

    for doc in DOCS:
        assert Tokenizer(VOCAB).encode(doc) == ref.tokenize(doc, list(VOCAB))


@pytest.mark.parametrize("doc", DOCS)
@pytest.mark.parametrize("config_name", CONFIGS)
def test_traced_loss_grads_and_node_count_equal_reference(config_name: str, doc: str) -> None:
    config = CONFIGS[config_name]
    tokens = ref.tokenize(doc, list(VOCAB))
    for pos in positions(config, doc):
        model = make_model(config, SEED)
        state_dict = reference_state_dict(config)

        capture = capture_loss(model, tokens, pos)
        capture.root.backward()
        loss = reference_loss(state_dict, config, tokens, pos)
        loss.backward()

        assert capture.root.data == loss.data, f"pos {pos}"
        assert_same_grads(capture.model, state_dict)  # the capture's own parameter nodes
        topo = loss.topo()
        assert len(capture.nodes) == len(topo), f"pos {pos}"
        # node for node: backward visits the same values and ends with the same grads
        order = backward_order(capture.root)
        assert all(v is w for v, w in zip(order, capture.order, strict=True))
        assert [v.data for v in order] == [v.data for v in reversed(topo)]
        assert [v.grad for v in order] == [v.grad for v in reversed(topo)]


@pytest.mark.parametrize("config_name", CONFIGS)
def test_untraced_document_loss_equals_reference(config_name: str) -> None:
    """The untraced model (what training runs) is microgpt too."""
    config = CONFIGS[config_name]
    tokens = ref.tokenize("emma", list(VOCAB))
    model = make_model(config, SEED)
    state_dict = reference_state_dict(config)
    loss = document_loss(model, tokens)
    loss.backward()
    ref_loss = ref.doc_loss(state_dict, config.n_layer, config.n_head, config.block_size, tokens)
    ref_loss.backward()
    assert loss.data == ref_loss.data
    assert_same_grads(model, state_dict)


def test_a_document_longer_than_block_size_is_truncated() -> None:
    config = CONFIGS["block_size 4"]
    model = make_model(config, SEED)
    capture = capture_loss(model, ref.tokenize("christopher", list(VOCAB)))
    assert {n.scope.split(".")[0] for n in capture.nodes} == {"params", "loss"} | {
        f"pos{t}" for t in range(4)
    }
    # only the first 4 targets (c, h, r, i) count: "chris" gives the same loss, "chr" not
    same = capture_loss(model, ref.tokenize("chris", list(VOCAB))).root.data
    other = capture_loss(model, ref.tokenize("chr", list(VOCAB))).root.data
    assert capture.root.data == same != other


def test_a_different_seed_gives_a_different_loss() -> None:
    """The equality checks above are not vacuous."""
    config = GPTConfig()
    tokens = ref.tokenize("emma", list(VOCAB))
    ours = capture_loss(make_model(config, SEED), tokens).root.data
    theirs = reference_loss(reference_state_dict(config, SEED + 1), config, tokens, None).data
    assert ours != theirs


# -- finite differences on the model ----------------------------------------------------


@pytest.mark.parametrize("config_name", ["default", "2 layers, n_embd 8, 2 heads"])
def test_model_gradients_match_central_differences(config_name: str) -> None:
    config = CONFIGS[config_name]
    tokens = ref.tokenize("emma", list(VOCAB))
    model = make_model(config, SEED)
    document_loss(model, tokens).backward()
    grads = {id(p): p.grad for p in model.params}
    # a few parameters from different matrices, each with the largest gradient there
    names = [
        "wte",
        "wpe",
        "lm_head",
        "layer0.attn_wq",
        "layer0.mlp_fc1",
        f"layer{config.n_layer - 1}.attn_wv",
    ]
    h = 1e-5
    for name in names:
        p = max((p for row in model.state_dict[name] for p in row), key=lambda p: abs(p.grad))
        assert abs(grads[id(p)]) > 1e-4, name  # a gradient big enough to check
        x = p.data
        p.data = x + h
        up = document_loss(model, tokens).data
        p.data = x - h
        down = document_loss(model, tokens).data
        p.data = x
        assert grads[id(p)] == pytest.approx((up - down) / (2 * h), rel=1e-5, abs=1e-9), name
