"""JSON checkpoints: bit-exact round trips, atomic saves, and a clear error for every bad file."""

from __future__ import annotations

import copy
import json
import math
import os
import pickle
import random
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from engine import checkpoint as checkpoint_module
from engine.checkpoint import Checkpoint, load_checkpoint, save_checkpoint
from engine.config import GPTConfig
from engine.errors import InputError

VOCAB = "abcdefghijklmnopqrstuvwxyz"
TRICKY_FLOATS = [0.1, -0.0, 5e-324, 1.7976931348623157e308, -2.2250738585072014e-308, 1 / 3]


def make_checkpoint(
    config: GPTConfig | None = None, vocab: str = VOCAB, seed: int = 0
) -> Checkpoint:
    """Weights from random.gauss(0, 0.08), as microgpt initialises them, plus tricky floats."""
    config = config or GPTConfig()
    rng = random.Random(seed)
    state_dict = {
        name: [[rng.gauss(0, 0.08) for _ in range(cols)] for _ in range(rows)]
        for name, (rows, cols) in config.matrix_shapes(len(vocab) + 1).items()
    }
    row = state_dict["wte"][0]
    n = min(len(row), len(TRICKY_FLOATS))
    row[:n] = TRICKY_FLOATS[:n]
    return Checkpoint(config=config, vocab=vocab, state_dict=state_dict)


def bits(state_dict: dict[str, list[list[float]]]) -> dict[str, list[list[str]]]:
    return {k: [[float.hex(v) for v in row] for row in m] for k, m in state_dict.items()}


@pytest.fixture
def valid_json() -> dict[str, Any]:
    """A valid checkpoint as the JSON object on disk, small enough to mutate freely."""
    ckpt = make_checkpoint(GPTConfig(n_layer=1, n_embd=4, n_head=2, block_size=3), vocab="abc")
    return {
        "format": "microgpt-tui.checkpoint",
        "version": 1,
        "config": ckpt.config.to_dict(),
        "vocab": ckpt.vocab,
        "state_dict": ckpt.state_dict,
        "train": {"step": 3},
    }


def write_json(path: Path, obj: Any) -> Path:
    path.write_text(json.dumps(obj))  # json.dumps writes NaN/Infinity literals, as a file might
    return path


def load_error(path: Path) -> str:
    with pytest.raises(InputError) as e:
        load_checkpoint(path)
    message = str(e.value)
    assert "\n" not in message, "one line"
    assert str(path) in message, "names the file"
    return message


# --- round trips --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "config",
    [GPTConfig(), GPTConfig(n_layer=2, n_embd=8, n_head=2, block_size=5)],
)
def test_round_trip_is_bit_exact(tmp_path: Path, config: GPTConfig) -> None:
    ckpt = make_checkpoint(config)
    # (a key "m" here was made up; the train section's unknown keys are refused now)
    ckpt.train = {"step": 1000, "seed": 42, "last_loss": -1e-9, "data": "names.txt"}
    path = tmp_path / "model.json"
    save_checkpoint(path, ckpt)
    loaded = load_checkpoint(path)
    assert loaded == ckpt
    assert bits(loaded.state_dict) == bits(ckpt.state_dict)  # -0.0 and subnormals included
    assert math.copysign(1.0, loaded.state_dict["wte"][0][1]) == -1.0
    assert list(loaded.state_dict) == list(config.matrix_shapes(27))
    assert loaded.vocab_size == 27


def test_file_layout(tmp_path: Path) -> None:
    path = tmp_path / "model.json"
    save_checkpoint(str(path), make_checkpoint())
    obj = json.loads(path.read_text())
    assert list(obj) == ["format", "version", "config", "vocab", "state_dict"]  # no train
    assert obj["format"] == "microgpt-tui.checkpoint"
    assert obj["version"] == 2  # (version 2 added the optional "history"; 1 still loads)
    assert obj["config"] == {"n_layer": 1, "n_embd": 16, "n_head": 4, "block_size": 16}
    assert obj["vocab"] == VOCAB
    assert load_checkpoint(path).train is None


def test_integers_load_as_floats(tmp_path: Path, valid_json: dict[str, Any]) -> None:
    valid_json["state_dict"]["wte"][0][0] = 1
    loaded = load_checkpoint(write_json(tmp_path / "c.json", valid_json))
    assert type(loaded.state_dict["wte"][0][0]) is float


def test_new_file_is_readable_and_existing_mode_is_kept(tmp_path: Path) -> None:
    path = tmp_path / "model.json"
    save_checkpoint(path, make_checkpoint())
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
    path.chmod(0o600)
    save_checkpoint(path, make_checkpoint(seed=1))
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


# --- atomic saves -------------------------------------------------------------------------


def test_failed_save_keeps_previous_file_and_leaves_no_temp(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "model.json"
    original = make_checkpoint(seed=1)
    save_checkpoint(path, original)
    before = path.read_bytes()

    def dump_then_fail(obj: Any, f: Any, **kwargs: Any) -> None:
        f.write('{"format": "microgpt-tui.checkpoint", "version": 1, "state_dict": {"wte": [[')
        f.flush()
        raise RuntimeError("interrupted mid-write")

    monkeypatch.setattr(checkpoint_module.json, "dump", dump_then_fail)
    with pytest.raises(RuntimeError, match="interrupted"):
        save_checkpoint(path, make_checkpoint(seed=2))
    assert path.read_bytes() == before
    assert load_checkpoint(path) == original
    assert os.listdir(tmp_path) == ["model.json"]


def test_interrupted_first_save_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def interrupt(obj: Any, f: Any, **kwargs: Any) -> None:
        f.write("{" * 1000)
        raise KeyboardInterrupt

    monkeypatch.setattr(checkpoint_module.json, "dump", interrupt)
    with pytest.raises(KeyboardInterrupt):
        save_checkpoint(tmp_path / "model.json", make_checkpoint())
    assert os.listdir(tmp_path) == []


def test_os_error_during_save_is_input_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "model.json"
    save_checkpoint(path, make_checkpoint(seed=1))
    before = path.read_bytes()

    def no_space(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(checkpoint_module.os, "fsync", no_space)
    with pytest.raises(InputError, match="cannot write checkpoint to .*No space left on device"):
        save_checkpoint(path, make_checkpoint(seed=2))
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["model.json"]


def test_save_to_missing_directory(tmp_path: Path) -> None:
    path = tmp_path / "missing" / "model.json"
    with pytest.raises(InputError) as e:
        save_checkpoint(path, make_checkpoint())
    assert str(e.value).startswith(f"cannot write checkpoint to {path}: ")
    assert "No such file or directory" in str(e.value)
    assert os.listdir(tmp_path) == []


def test_save_onto_a_directory(tmp_path: Path) -> None:
    (tmp_path / "model.json").mkdir()
    with pytest.raises(InputError, match="cannot write checkpoint to"):
        save_checkpoint(tmp_path / "model.json", make_checkpoint())
    assert os.listdir(tmp_path) == ["model.json"]


@pytest.mark.parametrize(
    ("mutate", "match"),
    [
        (lambda c: c.state_dict["wte"][2].__setitem__(3, math.nan), r"wte\[2\]\[3\] is nan"),
        (lambda c: c.state_dict["wpe"][0].__setitem__(0, math.inf), r"wpe\[0\]\[0\] is inf"),
        (lambda c: c.state_dict.pop("lm_head"), "missing matrix 'lm_head'"),
        (lambda c: c.state_dict["wte"].pop(), "shape 27x16 but has 26 rows"),
        (lambda c: setattr(c, "vocab", "abca"), "repeated"),
        (lambda c: setattr(c, "train", [1]), "train must be a dict"),
    ],
)
def test_invalid_checkpoint_is_not_saved(
    tmp_path: Path, mutate: Callable[[Checkpoint], Any], match: str
) -> None:
    ckpt = make_checkpoint()
    mutate(ckpt)
    with pytest.raises(InputError, match=match):
        save_checkpoint(tmp_path / "model.json", ckpt)
    assert os.listdir(tmp_path) == []


# --- load errors --------------------------------------------------------------------------


def test_missing_file(tmp_path: Path) -> None:
    assert "does not exist" in load_error(tmp_path / "nope.json")


def test_directory(tmp_path: Path) -> None:
    assert "is a directory" in load_error(tmp_path)


def test_pickle_file(tmp_path: Path) -> None:
    path = tmp_path / "model.pkl"
    path.write_bytes(pickle.dumps({"state_dict": {"wte": [[0.1]]}}))
    assert "not a JSON checkpoint (pickle files are not supported)" in load_error(path)


def test_binary_file(tmp_path: Path) -> None:
    path = tmp_path / "model.bin"
    path.write_bytes(bytes(range(256)))
    assert "binary, not UTF-8" in load_error(path)


def test_zip_file(tmp_path: Path) -> None:
    path = tmp_path / "model.pt"
    path.write_bytes(b"PK\x03\x04" + b"\x00" * 20)
    assert "zip archive" in load_error(path)


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.json"
    path.write_text("")
    assert "empty" in load_error(path)


def test_truncated_json(tmp_path: Path) -> None:
    path = tmp_path / "model.json"
    save_checkpoint(path, make_checkpoint())
    text = path.read_text()
    path.write_text(text[: len(text) // 2])
    assert "truncated" in load_error(path)


def test_invalid_json(tmp_path: Path) -> None:
    path = tmp_path / "model.json"
    path.write_text('{"format": "microgpt-tui.checkpoint",\n "version": 1,, }')
    assert "invalid JSON at line 2" in load_error(path)


def test_deeply_nested_json(tmp_path: Path) -> None:
    path = tmp_path / "model.json"
    path.write_text("[" * 100_000 + "]" * 100_000)
    assert "nested too deeply" in load_error(path)


@pytest.mark.parametrize(("obj", "kind"), [([1, 2], "a list"), ("x", "a string"), (3, "number")])
def test_not_an_object(tmp_path: Path, obj: Any, kind: str) -> None:
    message = load_error(write_json(tmp_path / "c.json", obj))
    assert kind in message and "expected an object" in message


def mutation_cases() -> list[Any]:
    def set_(path: tuple[Any, ...], value: Any) -> Callable[[dict[str, Any]], None]:
        def mutate(obj: dict[str, Any]) -> None:
            for key in path[:-1]:
                obj = obj[key]
            obj[path[-1]] = value

        return mutate

    def delete(path: tuple[Any, ...]) -> Callable[[dict[str, Any]], None]:
        def mutate(obj: dict[str, Any]) -> None:
            for key in path[:-1]:
                obj = obj[key]
            del obj[path[-1]]

        return mutate

    def call(fn: Callable[[dict[str, Any]], Any]) -> Callable[[dict[str, Any]], None]:
        def mutate(obj: dict[str, Any]) -> None:
            fn(obj)

        return mutate

    cases = [
        # format and version
        (delete(("format",)), 'no "format" field'),
        (set_(("format",), "other.checkpoint"), "\"format\" is 'other.checkpoint', expected"),
        (set_(("version",), 3), "version 3 is not supported"),
        (set_(("version",), "1"), "version '1' is not supported"),
        (set_(("version",), True), "version True is not supported"),
        (delete(("version",)), "version None is not supported"),
        (set_(("extra",), 1), "unexpected field(s) 'extra'"),
        # config
        (delete(("config",)), 'the "config" field is missing'),
        (set_(("config",), [1, 1, 1, 1]), '"config" is a list, expected an object'),
        (delete(("config", "n_head")), "config is missing 'n_head'"),
        (set_(("config", "dropout"), 0.1), "config has unexpected key(s) 'dropout'"),
        (set_(("config", "n_layer"), 0), "n_layer must be a positive integer, got 0"),
        (set_(("config", "n_embd"), -4), "n_embd must be a positive integer, got -4"),
        (set_(("config", "n_head"), True), "n_head must be a positive integer, got True"),
        (set_(("config", "block_size"), 3.0), "block_size must be a positive integer, got 3.0"),
        (set_(("config", "n_head"), 3), "n_embd (4) must be divisible by n_head (3)"),
        # vocab
        (delete(("vocab",)), 'the "vocab" field is missing'),
        (set_(("vocab",), ""), "vocab must be a non-empty string"),
        (set_(("vocab",), ["a", "b", "c"]), "vocab must be a non-empty string"),
        (set_(("vocab",), "abb"), "vocab has repeated characters 'b'"),
        (set_(("vocab",), "a\nb"), "vocab must not contain a newline"),
        # state_dict structure
        (delete(("state_dict",)), 'the "state_dict" field is missing'),
        (set_(("state_dict",), []), '"state_dict" is a list, expected an object'),
        (delete(("state_dict", "layer0.attn_wk")), "state_dict is missing matrix 'layer0.attn_wk'"),
        (
            set_(("state_dict", "layer1.attn_wq"), [[0.0]]),
            "state_dict has unexpected matrix 'layer1.attn_wq'",
        ),
        (set_(("state_dict", "wte"), {"0": [0.0]}), "matrix 'wte' is an object, expected a list"),
        (
            call(lambda o: o["state_dict"]["wte"].pop()),
            "matrix 'wte' should have shape 4x4 but has 3 rows",
        ),
        (
            call(lambda o: o["state_dict"]["layer0.mlp_fc2"][2].append(0.5)),
            "matrix 'layer0.mlp_fc2' should have shape 4x16 but row 2 has 17 columns",
        ),
        (set_(("state_dict", "wpe", 1), 0.5), "wpe[1] is the number 0.5, expected a list"),
        (set_(("vocab",), "abcd"), "matrix 'wte' should have shape 5x4 but has 4 rows"),
        # state_dict values
        (set_(("state_dict", "wte", 1, 2), math.nan), "wte[1][2] is nan, expected a finite"),
        (
            set_(("state_dict", "lm_head", 0, 3), math.inf),
            "lm_head[0][3] is inf, expected a finite",
        ),
        (
            set_(("state_dict", "layer0.attn_wv", 3, 0), -math.inf),
            "layer0.attn_wv[3][0] is -inf, expected a finite",
        ),
        (set_(("state_dict", "wte", 0, 0), True), "wte[0][0] is true, expected a number"),
        (set_(("state_dict", "wte", 0, 1), None), "wte[0][1] is null, expected a number"),
        (set_(("state_dict", "wte", 0, 2), "0.1"), "wte[0][2] is a string ('0.1'), expected"),
        (set_(("state_dict", "wte", 0, 3), [0.1]), "wte[0][3] is a list, expected a number"),
        (set_(("state_dict", "wte", 0, 3), 10**400), "wte[0][3] is an integer too large"),
        # train
        (set_(("train",), [1, 2]), '"train" is a list, expected an object'),
        (set_(("train",), None), '"train" is null, expected an object'),
    ]
    return [pytest.param(m, expected, id=expected[:50]) for m, expected in cases]


@pytest.mark.parametrize(("mutate", "expected"), mutation_cases())
def test_invalid_checkpoint(
    tmp_path: Path,
    valid_json: dict[str, Any],
    mutate: Callable[[dict[str, Any]], None],
    expected: str,
) -> None:
    obj = copy.deepcopy(valid_json)
    mutate(obj)
    path = write_json(tmp_path / "c.json", obj)
    message = load_error(path)
    assert message.startswith(f"{path} is not a valid checkpoint: ")
    assert expected in message


def test_nan_and_infinity_literals(tmp_path: Path, valid_json: dict[str, Any]) -> None:
    text = json.dumps(valid_json)
    for literal, shown in [("NaN", "nan"), ("Infinity", "inf"), ("1e400", "inf")]:
        first = repr(valid_json["state_dict"]["wpe"][2][1])
        path = tmp_path / "c.json"
        path.write_text(text.replace(first, literal, 1))
        assert f"wpe[2][1] is {shown}, expected a finite number" in load_error(path)


def test_valid_fixture_loads(tmp_path: Path, valid_json: dict[str, Any]) -> None:
    loaded = load_checkpoint(write_json(tmp_path / "c.json", valid_json))
    assert loaded.config == GPTConfig(n_layer=1, n_embd=4, n_head=2, block_size=3)
    assert loaded.train == {"step": 3}


# --- the train section (issue 13 item 7) --------------------------------------------------


def n_params(obj: dict[str, Any]) -> int:
    return sum(len(row) for matrix in obj["state_dict"].values() for row in matrix)


def with_adam(obj: dict[str, Any], **hyper: Any) -> dict[str, Any]:
    """`obj` with a whole, valid Adam state in its train section, `hyper` overriding."""
    n = n_params(obj)
    optimizer = {"name": "adam", "lr": 0.01, "beta1": 0.85, "beta2": 0.99, "eps": 1e-8}
    optimizer.update(m=[0.0] * n, v=[0.0] * n)
    obj["train"] = {"step": 3, "num_steps": 10, "optimizer": {**optimizer, **hyper}}
    return obj


TRAIN_CASES = {
    "beta2 1": ({"beta2": 1.0}, "beta2 is 1.0, expected a number in [0, 1)"),
    "beta1 2": ({"beta1": 2.0}, "beta1 is 2.0, expected a number in [0, 1)"),
    "beta1 negative": ({"beta1": -0.1}, "beta1 is -0.1, expected a number in [0, 1)"),
    "eps 0": ({"eps": 0}, "eps is 0, expected a number > 0"),
    "eps negative": ({"eps": -1e-8}, "eps is -1e-08, expected a number > 0"),
    "lr negative": ({"lr": -1}, "lr is -1, expected a number > 0"),
    "lr 0": ({"lr": 0.0}, "lr is 0.0, expected a number > 0"),
    "lr nan": ({"lr": math.nan}, "lr is nan, not a finite number"),
    "lr infinite": ({"lr": math.inf}, "lr is inf, not a finite number"),
    "unknown Adam key": ({"amsgrad": True}, "optimizer has unexpected key(s) 'amsgrad'"),
    "short moments": ({"m": [0.0]}, "Adam m should be a list of 236 numbers"),
}


@pytest.mark.parametrize("case", list(TRAIN_CASES))
def test_a_bad_adam_state_is_refused_on_load(tmp_path, valid_json, case) -> None:
    hyper, expected = TRAIN_CASES[case]
    path = write_json(tmp_path / "c.json", with_adam(valid_json, **hyper))
    message = load_error(path)
    assert message.startswith(f"{path} is not a valid checkpoint: ")
    assert expected in message


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("extra", 1, "train section has unexpected key(s) 'extra'"),
        ("step", -1, "its step is -1, expected an integer >= 0"),
        ("step", 11, "its step 11 is past its num_steps 10"),
        ("num_steps", 0, "its num_steps is 0, expected a positive integer"),
        ("seed", "42", "its seed is '42', expected an integer"),
        ("last_loss", math.nan, "its last_loss is nan, not a finite number"),
        ("random_state", {"version": 3}, "its random state is not a"),
    ],
)
def test_a_bad_train_section_is_refused_on_load(tmp_path, valid_json, key, value, expected):
    obj = with_adam(valid_json)
    obj["train"][key] = value
    message = load_error(write_json(tmp_path / "c.json", obj))
    assert expected in message


def test_version_must_be_the_integer_1(tmp_path, valid_json) -> None:
    valid_json["version"] = 1.0
    assert "version 1.0 is not supported" in load_error(write_json(tmp_path / "c.json", valid_json))


def test_a_whole_adam_state_and_the_shipped_model_load(tmp_path, valid_json) -> None:
    from engine.workspace import default_model_path

    assert load_checkpoint(write_json(tmp_path / "c.json", with_adam(valid_json))).train
    assert load_checkpoint(default_model_path()).train["step"] == 1000
