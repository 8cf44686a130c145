"""A graph's size is known before it is built: the count is exact; what cannot fit is refused."""

from __future__ import annotations

import json
import time

import pytest
from conftest import VOCAB, make_model
from hypothesis import given, settings
from hypothesis import strategies as st

from engine import estimate
from engine.capture import capture_loss
from engine.config import GPTConfig
from engine.errors import InputError
from engine.estimate import GraphSize, check_fits, graph_nodes, graph_size, model_size
from microgpt_tui.cli import main

configs = st.builds(
    lambda n_layer, n_head, head_dim, block_size: GPTConfig(
        n_layer=n_layer, n_embd=n_head * head_dim, n_head=n_head, block_size=block_size
    ),
    st.integers(1, 3),
    st.integers(1, 3),
    st.integers(1, 3),
    st.integers(1, 6),
)


@settings(max_examples=40, deadline=None, derandomize=True)
@given(config=configs, doc=st.text(alphabet="abcz", min_size=1, max_size=7), data=st.data())
def test_the_node_count_is_exact(config: GPTConfig, doc: str, data) -> None:
    model = make_model(config, seed=3)
    tokens = [len(VOCAB)] + [VOCAB.index(ch) for ch in doc] + [len(VOCAB)]
    n = config.positions(tokens)
    pos = data.draw(st.one_of(st.none(), st.integers(0, n - 1)))
    captured = len(capture_loss(model, tokens, pos).nodes)
    assert graph_nodes(config, model.vocab_size, tokens, pos) == captured


def test_the_default_model_counts_are_known_figures() -> None:
    # the figures the README and benchmarks quote, counted by tracing
    tokens = [26, 4, 12, 12, 0, 26]  # emma
    assert graph_nodes(GPTConfig(), 27, tokens, 4) == len(
        capture_loss(make_model(), tokens, 4).nodes
    )
    big = GPTConfig(n_layer=4, n_embd=64)
    assert graph_nodes(big, 27, tokens, 2) == 1_239_935


def test_a_graph_too_large_for_memory_is_refused_in_one_line_before_building() -> None:
    big = GPTConfig(n_layer=8, n_embd=128, block_size=16)
    size = graph_size(big, 27, [26, *range(16), 26], 15)
    assert size.nodes > 40_000_000
    with pytest.raises(InputError) as e:
        check_fits(size, available=2 * 1024**3)
    message = str(e.value)
    assert "\n" not in message and f"{size.nodes:,} nodes" in message and "position" in message


def test_capture_refuses_before_recording(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(estimate, "available_memory", lambda: 1000)
    model = make_model(GPTConfig(n_embd=8, n_head=2, block_size=8))
    started = time.perf_counter()
    with pytest.raises(InputError, match="more than the 1000 B of memory available"):
        capture_loss(model, [26, 0, 1, 26], None)
    assert time.perf_counter() - started < 0.5


def test_a_fresh_model_too_large_is_refused_before_initialising(capsys) -> None:
    assert main(["grads", "--doc", "ab", "--n-layer", "1000000"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "parameters would have" in err
    assert model_size(GPTConfig(n_layer=1_000_000), 27).nodes == 12 * 256 * 1_000_000 + 70 * 16
    small = GPTConfig(n_layer=2, n_embd=8, n_head=2)
    shapes = small.matrix_shapes(27).values()
    assert model_size(small, 27).nodes == sum(rows * cols for rows, cols in shapes)


def test_a_checkpoint_claiming_a_million_layers_is_refused_fast_and_short(tmp_path, capsys) -> None:
    path = tmp_path / "ckpt.json"
    assert (
        main(
            ["train", "--steps", "1", "--n-embd", "8", "--n-head", "2", "--block-size", "4"]
            + ["--out", str(path), "--samples", "0"]
        )
        == 0
    )
    data = json.loads(path.read_text())
    data["config"]["n_layer"] = 1_000_000
    path.write_text(json.dumps(data))
    capsys.readouterr()
    started = time.perf_counter()
    assert main(["grads", "--checkpoint", str(path), "--doc", "ab"]) == 2
    err = capsys.readouterr().err
    assert time.perf_counter() - started < 2
    assert err.count("\n") == 1 and len(err) < 300 and "1,000,000 layers" in err


def test_size_descriptions_are_human() -> None:
    assert GraphSize(1_239_935, 1_239_935 * 420).describe() == "1,239,935 nodes (about 496.6 MB)"


def test_weights_that_make_a_probability_underflow_are_one_line(capsys) -> None:
    # GIVEN weights drawn from N(0, 30): logits so far apart that a probability is 0
    import random

    from engine.capture import capture_loss
    from engine.errors import ArithmeticFailure

    model = make_model(GPTConfig(n_embd=8, n_head=2, block_size=8))
    rng = random.Random(0)
    for p in model.params:
        p.data = rng.gauss(0, 30)
    failures = []
    for doc in ["ab", "cab", "zzz", "hello", "abc"]:
        tokens = [26] + [VOCAB.index(c) for c in doc] + [26]
        try:
            capture_loss(model, tokens, None)
        except ArithmeticFailure as e:
            failures.append(str(e))
    # THEN at least one document's loss fails, as a one-line input error naming where
    assert failures, "the weights were meant to make log(0) happen"
    assert all("\n" not in m and "underflowed to 0" in m and " in pos" in m for m in failures)


def test_a_large_trace_is_announced_with_its_size(monkeypatch, capsys) -> None:
    monkeypatch.setenv("MICROGPT_TUI_OFFLINE", "1")
    monkeypatch.setattr(estimate, "WARN_NODES", 1000)
    size = ["--n-embd", "8", "--n-head", "2", "--block-size", "8", "--seed", "1"]
    assert main(["grads", *size, "--doc", "abc", "--json"]) == 0
    err = capsys.readouterr().err
    expected = graph_nodes(GPTConfig(n_embd=8, n_head=2, block_size=8), 27, [26, 0, 1, 2, 26], None)
    assert f"tracing {expected:,} nodes" in err and "this takes a while" in err


def test_progress_counts_recorded_nodes_on_a_terminal(monkeypatch) -> None:
    import io

    from microgpt_tui.subcommands import tracing

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.setattr(estimate, "WARN_NODES", 1000)
    monkeypatch.setattr(tracing, "TICK", 0.001)
    stream = Terminal()
    model = make_model(GPTConfig(n_layer=2, n_embd=16, block_size=8))
    tokens = [26, 0, 1, 2, 3, 4, 5, 6, 26]
    with tracing.announced(model, tokens, None, stream):
        capture_loss(model, tokens, None)
    assert "nodes recorded; the graph keeps" in stream.getvalue()
