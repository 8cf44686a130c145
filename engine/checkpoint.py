"""JSON checkpoints: never pickle, validated on load, written atomically.

A checkpoint is one JSON object:

    {"format": "microgpt-tui.checkpoint", "version": 2,
     "config": {"n_layer": 1, "n_embd": 16, "n_head": 4, "block_size": 16},
     "vocab": "abcdefghijklmnopqrstuvwxyz",
     "state_dict": {"wte": [[...], ...], ..., "layer0.mlp_fc2": [[...], ...]},
     "train": {...optional...},
     "history": {...optional: each step's loss and lr, parameter snapshots...}}

Version 2 added "history" (`engine.history`); a version 1 file is the same
without it, and still loads. Floats are written with Python's repr, so a
save/load round trip is bit-exact.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.config import GPTConfig
from engine.data import check_vocab
from engine.errors import InputError
from engine.fs import read_regular, write_atomically
from engine.history import History, read_history
from engine.train_section import check_train_section

FORMAT = "microgpt-tui.checkpoint"
VERSION = 2  # what this program writes
READS = (1, 2)  # the versions it reads: 1 is 2 without "history"
CONFIG_KEYS = ("n_layer", "n_embd", "n_head", "block_size")
TOP_LEVEL_KEYS = ("format", "version", "config", "vocab", "state_dict", "train", "history")

# The largest checkpoint read: ample for any model the scalar engine can train
# (a 4-layer, 128-wide one is about 20 MB), and a bound on what a wrong file costs.
MAX_CHECKPOINT_BYTES = 256 * 1024 * 1024

Matrix = list[list[float]]


@dataclass
class Checkpoint:
    """A model's configuration, vocabulary and parameters, plus optional training state."""

    config: GPTConfig
    vocab: str
    state_dict: dict[str, Matrix]
    train: dict[str, Any] | None = None
    history: History | None = None  # what training did (version 2)

    @property
    def vocab_size(self) -> int:
        """Number of token ids: one per vocabulary character, plus BOS."""
        return len(self.vocab) + 1


class _Invalid(Exception):
    """A reason why some data is not a valid checkpoint (wrapped into InputError)."""


# --- saving -------------------------------------------------------------------------------


def save_checkpoint(path: str | os.PathLike[str], ckpt: Checkpoint) -> None:
    """Write `ckpt` to `path` as JSON, atomically.

    The data goes to a temporary file in the same directory, is flushed and fsynced, then
    renamed onto `path`: an interrupted save leaves the previous file (or none) in place,
    and the temporary file is removed on any failure. Raises InputError if the checkpoint
    is invalid or the path cannot be written.
    """
    shown = os.fspath(path)
    try:
        data = _to_json_object(ckpt)
    except _Invalid as e:
        raise InputError(f"cannot write checkpoint to {shown}: {e}") from None

    def fill(tmp: Path) -> None:
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(data, f, allow_nan=False)
            f.write("\n")

    write_atomically(path, fill, "checkpoint")


def _to_json_object(ckpt: Checkpoint) -> dict[str, Any]:
    config = ckpt.config
    if not isinstance(config, GPTConfig):
        raise _Invalid(f"config must be a GPTConfig, got {type(config).__name__}")
    _check_vocab(ckpt.vocab)
    state_dict = _check_state_dict(ckpt.state_dict, config, ckpt.vocab)
    data: dict[str, Any] = {
        "format": FORMAT,
        "version": VERSION,
        "config": config.to_dict(),
        "vocab": ckpt.vocab,
        "state_dict": state_dict,
    }
    if ckpt.train is not None:
        if not isinstance(ckpt.train, dict):
            raise _Invalid(f"train must be a dict, got {type(ckpt.train).__name__}")
        data["train"] = ckpt.train
    if ckpt.history is not None:
        if not isinstance(ckpt.history, History):
            raise _Invalid(f"history must be a History, got {type(ckpt.history).__name__}")
        data["history"] = ckpt.history.to_json()
    return data


# --- loading ------------------------------------------------------------------------------


def load_checkpoint(path: str | os.PathLike[str]) -> Checkpoint:
    """Read and validate a checkpoint written by save_checkpoint.

    Raises InputError with one line naming the file and the problem: missing file, not
    JSON (binary, pickle, truncated), wrong format or version, a bad config or vocab, a
    missing, extra or misshapen matrix, a non-finite or non-numeric weight, a bad `train`.
    """
    shown = os.fspath(path)
    raw = read_regular(shown, limit=MAX_CHECKPOINT_BYTES, what="checkpoint")
    try:
        return _parse(raw)
    except _Invalid as e:
        raise InputError(f"{shown} is not a valid checkpoint: {e}") from None
    except InputError as e:  # from GPTConfig's own validation
        raise InputError(f"{shown} is not a valid checkpoint: {e}") from None


def _parse(raw: bytes) -> Checkpoint:
    if raw.startswith(b"\x80"):
        raise _Invalid("not a JSON checkpoint (pickle files are not supported)")
    if raw.startswith(b"PK\x03\x04"):
        raise _Invalid("not a JSON checkpoint (it is a zip archive, e.g. a PyTorch file)")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise _Invalid("not a JSON checkpoint (the file is binary, not UTF-8 text)") from None
    if not text.strip():
        raise _Invalid("the file is empty")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        if e.pos >= len(text.rstrip()):
            raise _Invalid("the JSON ends early (the file is truncated)") from None
        raise _Invalid(f"invalid JSON at line {e.lineno} column {e.colno}: {e.msg}") from None
    except RecursionError:
        raise _Invalid("invalid JSON: nested too deeply") from None
    except ValueError as e:  # e.g. an integer literal with too many digits
        raise _Invalid(f"invalid JSON: {e}") from None

    if not isinstance(data, dict):
        raise _Invalid(f"the JSON is {_kind(data)}, expected an object")
    if "format" not in data:
        raise _Invalid(f'no "format" field (expected "format": "{FORMAT}")')
    if data["format"] != FORMAT:
        raise _Invalid(f'"format" is {data["format"]!r}, expected {FORMAT!r}')
    version = data.get("version")
    if type(version) is not int or version not in READS:  # not 1.0, not true
        reads = " and ".join(map(str, READS))
        raise _Invalid(f"version {version!r} is not supported (this program reads {reads})")
    extra = [k for k in data if k not in TOP_LEVEL_KEYS]
    if extra:
        raise _Invalid(f"unexpected field(s) {_names(extra)}")
    for key in ("config", "vocab", "state_dict"):
        if key not in data:
            raise _Invalid(f'the "{key}" field is missing')

    config = _parse_config(data["config"])
    vocab = data["vocab"]
    _check_vocab(vocab)
    state_dict = _check_state_dict(data["state_dict"], config, vocab)
    train = data.get("train")
    if "train" in data:
        if not isinstance(train, dict):
            raise _Invalid(f'"train" is {_kind(train)}, expected an object')
        _check_train(train, config, vocab)
    history = None
    if "history" in data:
        if version < 2:
            raise _Invalid('"history" needs version 2 (version 1 has none)')
        step = train.get("step") if isinstance(train, dict) else None
        history = _read_history(data["history"], config, vocab, step)
    return Checkpoint(config, vocab, state_dict, train, history)


def _parse_config(config: Any) -> GPTConfig:
    if not isinstance(config, dict):
        raise _Invalid(f'"config" is {_kind(config)}, expected an object')
    missing = [k for k in CONFIG_KEYS if k not in config]
    if missing:
        raise _Invalid(f"config is missing {_names(missing)}")
    extra = [k for k in config if k not in CONFIG_KEYS]
    if extra:
        raise _Invalid(f"config has unexpected key(s) {_names(extra)}")
    return GPTConfig(**config)  # validates the values itself, raising InputError


# --- shared validation --------------------------------------------------------------------


def _n_params(config: GPTConfig, vocab: str) -> int:
    return sum(rows * cols for rows, cols in config.matrix_shapes(len(vocab) + 1).values())


def _read_history(obj: Any, config: GPTConfig, vocab: str, step: int | None) -> History:
    try:
        return read_history(obj, _n_params(config, vocab), train_step=step)
    except InputError as e:
        raise _Invalid(f'"history": {e}') from None


def _check_train(train: dict[str, Any], config: GPTConfig, vocab: str) -> None:
    n_params = _n_params(config, vocab)
    try:
        check_train_section(train, n_params)
    except InputError as e:
        raise _Invalid(f'"train": {e}') from None


def _check_vocab(vocab: Any) -> None:
    try:
        check_vocab(vocab, "vocab")
    except InputError as e:
        raise _Invalid(str(e)) from None


def _check_state_dict(state_dict: Any, config: GPTConfig, vocab: str) -> dict[str, Matrix]:
    """Check names, shapes and numbers; return a fresh copy with every weight a float."""
    if not isinstance(state_dict, dict):
        raise _Invalid(f'"state_dict" is {_kind(state_dict)}, expected an object')
    expected = 3 + 6 * config.n_layer  # wte, wpe, lm_head, then six per layer
    if expected > len(state_dict) + 1000:  # do not list a million missing names
        raise _Invalid(
            f"config has {config.n_layer:,} layers ({expected:,} matrices) "
            f"but state_dict has {len(state_dict):,} matrices"
        )
    shapes = config.matrix_shapes(len(vocab) + 1)
    missing = [name for name in shapes if name not in state_dict]
    if missing:
        raise _Invalid(f"state_dict is missing matrix {_names(missing)}")
    extra = [name for name in state_dict if name not in shapes]
    if extra:
        raise _Invalid(f"state_dict has unexpected matrix {_names(extra)}")
    return {name: _check_matrix(name, state_dict[name], shape) for name, shape in shapes.items()}


def _check_matrix(name: str, matrix: Any, shape: tuple[int, int]) -> Matrix:
    rows, cols = shape
    if not isinstance(matrix, list):
        raise _Invalid(f"matrix {name!r} is {_kind(matrix)}, expected a list of rows")
    if len(matrix) != rows:
        raise _Invalid(
            f"matrix {name!r} should have shape {rows}x{cols} but has {len(matrix)} rows"
        )
    out: Matrix = []
    for i, row in enumerate(matrix):
        if not isinstance(row, list):
            raise _Invalid(f"{name}[{i}] is {_kind(row)}, expected a list of numbers")
        if len(row) != cols:
            raise _Invalid(
                f"matrix {name!r} should have shape {rows}x{cols} "
                f"but row {i} has {len(row)} columns"
            )
        values: list[float] = []
        for j, v in enumerate(row):
            if isinstance(v, bool) or not isinstance(v, int | float):
                raise _Invalid(f"{name}[{i}][{j}] is {_kind(v)}, expected a number")
            try:
                f = float(v)
            except OverflowError:
                f = math.inf
            if not math.isfinite(f):
                shown = repr(v) if isinstance(v, float) else "an integer too large for a float"
                raise _Invalid(f"{name}[{i}][{j}] is {shown}, expected a finite number")
            values.append(f)
        out.append(values)
    return out


def _kind(value: Any) -> str:
    """How a JSON value is described in messages: 'a string ('x')', 'null', 'true'..."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        shown = value if len(value) <= 20 else value[:20] + "..."
        return f"a string ({shown!r})"
    if isinstance(value, int | float):
        return f"the number {value!r}"
    return f"a {type(value).__name__}"


def _names(names: list[str], most: int = 5) -> str:
    """Names for a one-line message: the first few, then how many more."""
    shown = ", ".join(repr(n) for n in names[:most])
    return shown if len(names) <= most else f"{shown} and {len(names) - most:,} more"
