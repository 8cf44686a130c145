"""Shared fixtures: a lowercase tokenizer and small models made exactly as microgpt makes them."""

from __future__ import annotations

import os
import random
import shutil

import pytest

from engine.config import GPTConfig
from engine.data import Tokenizer
from engine.model import GPT

VOCAB = "abcdefghijklmnopqrstuvwxyz"  # BOS is 26, vocab_size 27

# Rendering needs Graphviz's `dot`; CI installs it, so under CI=true these tests must run.
needs_dot = pytest.mark.skipif(
    shutil.which("dot") is None and os.environ.get("CI") != "true",
    reason="Graphviz's dot is not installed (CI=true makes this a failure)",
)


def make_model(config: GPTConfig | None = None, seed: int = 42) -> GPT:
    """A fresh model: `random.seed(seed)`, then microgpt's parameter initialisation."""
    random.seed(seed)
    return GPT.init(config or GPTConfig(), len(VOCAB) + 1)


@pytest.fixture(scope="session")
def tokenizer() -> Tokenizer:
    return Tokenizer(VOCAB)


@pytest.fixture
def model() -> GPT:
    """The default config (1 layer, n_embd 16, 4 heads, block_size 16), seed 42."""
    return make_model()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark the tests that drive the app (a coroutine test runs it under Pilot; `snap_compare`
    takes a snapshot) as `app`, so the fast loop can leave them out: `-m "not slow and not app"`."""
    import inspect

    for item in items:
        function = getattr(item, "function", None)
        if inspect.iscoroutinefunction(function) or "snap_compare" in getattr(
            item, "fixturenames", ()
        ):
            item.add_marker(pytest.mark.app)
