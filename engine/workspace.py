"""The model a command works on: a checkpoint, the shipped default, or a fresh microgpt.

A fresh model is made exactly as microgpt makes it: `random.seed(seed)`, read the
documents, `random.shuffle(docs)`, build the tokenizer, initialise the parameters.
The global `random` stream is left where microgpt's would be, so training and
sampling that follow draw the same numbers.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from engine.checkpoint import Checkpoint, load_checkpoint
from engine.config import GPTConfig
from engine.data import Tokenizer, load_docs_noted, read_docs
from engine.errors import InputError
from engine.estimate import check_fits, model_size
from engine.history import History
from engine.model import GPT

DEFAULT_SEED = 42
DEFAULT_MODEL = "default_model.json"  # in engine/data: `train --seed 42 --steps 1000`


@dataclass
class Workspace:
    """A model with its tokenizer, and the documents when they were read."""

    model: GPT
    tokenizer: Tokenizer
    source: str  # what the model is, for the status line: "default model", a path, ...
    docs: list[str] | None = None  # shuffled as microgpt shuffles them
    train_state: dict | None = None  # the checkpoint's "train" section
    history: History | None = None  # the checkpoint's "history": what training did
    checkpoint_path: Path | None = None
    config_overrides: dict = field(default_factory=dict)
    data_note: str = ""  # the names are not microgpt's file (offline): say so wherever used


def default_model_path() -> Path:
    return Path(str(resources.files("engine") / "data" / DEFAULT_MODEL))


def from_checkpoint(path: str | Path, *, source: str | None = None) -> Workspace:
    ckpt = load_checkpoint(path)
    model = GPT.from_floats(ckpt.config, ckpt.state_dict)
    return Workspace(
        model,
        Tokenizer(ckpt.vocab),
        source or str(path),
        train_state=ckpt.train,
        history=ckpt.history,
        checkpoint_path=Path(path),
    )


def fresh(
    *,
    seed: int = DEFAULT_SEED,
    data: str | None = None,
    config: GPTConfig | None = None,
) -> Workspace:
    """A freshly initialised model, exactly as microgpt's script makes it."""
    random.seed(seed)
    docs, note = load_docs_noted(data)
    random.shuffle(docs)
    tokenizer = Tokenizer.from_docs(docs)
    config = config or GPTConfig()
    check_fits(model_size(config, tokenizer.vocab_size), "this model's parameters")
    model = GPT.init(config, tokenizer.vocab_size)
    source = f"fresh model (seed {seed}, {data or 'names'})"
    return Workspace(model, tokenizer, source, docs=docs, data_note=note)


def open_workspace(
    *,
    checkpoint: str | None = None,
    seed: int | None = None,
    data: str | None = None,
    n_layer: int | None = None,
    n_embd: int | None = None,
    n_head: int | None = None,
    block_size: int | None = None,
    fresh_by_default: bool = False,
) -> Workspace:
    """The MODEL options of the command line, resolved.

    `--checkpoint` loads it (size options cannot be combined with it); any of
    `--seed`, `--data` or a size option asks for a fresh model; nothing at all
    means the shipped default model, unless `fresh_by_default` (for `train`).
    """
    sizes = {"n_layer": n_layer, "n_embd": n_embd, "n_head": n_head, "block_size": block_size}
    sizes = {k: v for k, v in sizes.items() if v is not None}
    if checkpoint is not None:
        if sizes:
            names = ", ".join("--" + k.replace("_", "-") for k in sizes)
            raise InputError(f"{names} cannot be combined with --checkpoint (it fixes the sizes)")
        ws = from_checkpoint(checkpoint)
        if data is not None:
            ws.docs = read_docs(data)
        return ws
    if not fresh_by_default and seed is None and data is None and not sizes:
        return from_checkpoint(default_model_path(), source="default model")
    config = GPTConfig(**sizes)
    return fresh(seed=DEFAULT_SEED if seed is None else seed, data=data, config=config)


def to_checkpoint(
    ws: Workspace, train: dict | None = None, history: History | None = None
) -> Checkpoint:
    return Checkpoint(ws.model.config, ws.tokenizer.vocab, ws.model.to_floats(), train, history)
