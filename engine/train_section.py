"""A checkpoint's "train" section: what it takes to go on training exactly where a run stopped.

    "train": {"step": 400, "num_steps": 1000, "seed": 42, "data": "names.txt",
              "num_docs": 32033, "docs_sha256": "...", "last_loss": 2.65,
              "optimizer": {"name": "adam", "lr": 0.01, "beta1": 0.85, "beta2": 0.99,
                            "eps": 1e-08, "m": [...], "v": [...]},
              "random_state": {"version": 3, "internal": [...], "gauss_next": null}}

`train_section` writes it from a Trainer; `read_train_section` reads it back,
validated, for resuming.
"""

from __future__ import annotations

import hashlib
import math
import random
from collections.abc import Sequence
from typing import Any

from engine.errors import InputError
from engine.train import Adam, Trainer, TrainState


def encode_random_state(state: tuple | None = None) -> dict[str, Any]:
    """`random.getstate()` (the global stream's, by default) as a JSON object."""
    version, internal, gauss_next = random.getstate() if state is None else state
    return {"version": version, "internal": list(internal), "gauss_next": gauss_next}


def decode_random_state(obj: Any) -> tuple:
    """The inverse of encode_random_state, validated.

    Raises InputError with a message about "its random state", for the caller to
    say whose (see `read_train_section`).
    """
    if not isinstance(obj, dict) or set(obj) != {"version", "internal", "gauss_next"}:
        raise InputError("its random state is not a {version, internal, gauss_next} object")
    internal, gauss_next = obj["internal"], obj["gauss_next"]
    ok = (
        isinstance(internal, list)
        and len(internal) == 625
        and all(isinstance(x, int) and not isinstance(x, bool) for x in internal)
        and all(0 <= x < 2**32 for x in internal[:624])
        and 0 <= internal[624] <= 624
        and (gauss_next is None or (isinstance(gauss_next, float) and math.isfinite(gauss_next)))
    )
    if not ok:
        raise InputError("its random state is damaged")
    state = (obj["version"], tuple(internal), gauss_next)
    probe = random.Random()
    try:
        probe.setstate(state)
    except (TypeError, ValueError) as e:
        raise InputError(f"its random state is unusable: {e}") from None
    return state


def docs_fingerprint(docs: Sequence[str]) -> str:
    """A hash of a dataset that does not depend on the order of its documents."""
    return hashlib.sha256("\n".join(sorted(docs)).encode("utf-8")).hexdigest()


def train_section(
    trainer: Trainer,
    *,
    seed: int | None,
    data: str | None,
    fingerprint: str,
    num_docs: int,
    random_state: tuple | None = None,
    last_loss: float | None = None,
) -> dict[str, Any]:
    """What a checkpoint keeps of a run, so that training and sampling go on exactly.

    `data` is the data file's name only (not its path), or None for the default
    names dataset; `random_state` defaults to the global stream's current state.
    """
    state, adam = trainer.state, trainer.adam
    return {
        "step": state.step,
        "num_steps": state.num_steps,
        "seed": seed,
        "data": data,
        "num_docs": num_docs,
        "docs_sha256": fingerprint,
        "last_loss": last_loss,
        "optimizer": {
            "name": "adam",
            "lr": adam.lr,
            "beta1": adam.beta1,
            "beta2": adam.beta2,
            "eps": adam.eps,
            "m": list(state.m),
            "v": list(state.v),
        },
        "random_state": encode_random_state(random_state),
    }


def _finite_floats(obj: Any, n: int, what: str, *, non_negative: bool = False) -> list[float]:
    if not isinstance(obj, list) or len(obj) != n:
        raise InputError(f"its {what} should be a list of {n} numbers")
    out = []
    for x in obj:
        if isinstance(x, bool) or not isinstance(x, int | float) or not math.isfinite(x):
            raise InputError(f"its {what} holds {x!r}, not a finite number")
        if non_negative and x < 0:
            raise InputError(f"its {what} holds {x!r}, expected >= 0")
        out.append(float(x))
    return out


def _count(obj: Any, what: str, *, positive: bool = False) -> int:
    if isinstance(obj, bool) or not isinstance(obj, int) or obj < (1 if positive else 0):
        kind = "a positive integer" if positive else "an integer >= 0"
        raise InputError(f"its {what} is {obj!r}, expected {kind}")
    return obj


TRAIN_KEYS = (
    "step", "num_steps", "seed", "data", "num_docs", "docs_sha256", "last_loss",
    "optimizer", "random_state",
)  # fmt: skip
OPTIMIZER_KEYS = ("name", "lr", "beta1", "beta2", "eps", "m", "v")


def read_train_section(train: Any, n_params: int) -> tuple[TrainState, Adam]:
    """The TrainState and Adam settings saved in a checkpoint's "train" section.

    Raises InputError with a message saying what is wrong with "it" (the section),
    for the caller to prefix with the checkpoint's name.
    """
    if not isinstance(train, dict):
        raise InputError("it is not an object")
    for key in ("step", "num_steps", "optimizer"):
        if key not in train:
            raise InputError(f'it has no "{key}"')
    check_train_section(train, n_params)
    opt = train["optimizer"]
    hyper = {key: float(opt[key]) for key in ("lr", "beta1", "beta2", "eps")}
    m = [float(x) for x in opt["m"]]
    v = [float(x) for x in opt["v"]]
    return TrainState(train["step"], train["num_steps"], m, v), Adam(**hyper)


def check_train_section(train: dict[str, Any], n_params: int) -> None:
    """Check every field the section has (a partial one, e.g. only a step, is fine).

    What a resumed run or the sampler reads must be usable: counts are counts, Adam
    can divide by what it divides by, the random state can be restored. Unknown
    keys are refused, as a checkpoint's unknown top-level keys are.
    """
    extra = [k for k in train if k not in TRAIN_KEYS]
    if extra:
        raise InputError(f"the train section has unexpected key(s) {_names(extra)}")
    step = _count(train["step"], "step") if "step" in train else None
    if "num_steps" in train:
        num_steps = _count(train["num_steps"], "num_steps", positive=True)
        if step is not None and step > num_steps:
            raise InputError(f"its step {step} is past its num_steps {num_steps}")
    if train.get("num_docs") is not None:
        _count(train["num_docs"], "num_docs")
    seed = train.get("seed")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
        raise InputError(f"its seed is {seed!r}, expected an integer")
    for key in ("data", "docs_sha256"):
        if train.get(key) is not None and not isinstance(train[key], str):
            raise InputError(f"its {key} is {train[key]!r}, expected a string")
    if train.get("last_loss") is not None:
        _finite(train["last_loss"], "last_loss")
    if "optimizer" in train:
        _check_adam(train["optimizer"], n_params)
    if "random_state" in train:
        decode_random_state(train["random_state"])


def _check_adam(opt: Any, n_params: int) -> None:
    """Adam's state: the hyper-parameters it can divide by, one moment per parameter."""
    if not isinstance(opt, dict) or opt.get("name") != "adam":
        raise InputError("its optimizer state is not Adam's")
    extra = [k for k in opt if k not in OPTIMIZER_KEYS]
    if extra:
        raise InputError(f"its optimizer has unexpected key(s) {_names(extra)}")
    lr = _finite(opt.get("lr"), "Adam lr")
    if lr <= 0:
        raise InputError(f"its Adam lr is {opt['lr']!r}, expected a number > 0")
    for key in ("beta1", "beta2"):  # 1 - beta**t is a divisor
        if not 0 <= _finite(opt.get(key), f"Adam {key}") < 1:
            raise InputError(f"its Adam {key} is {opt[key]!r}, expected a number in [0, 1)")
    if _finite(opt.get("eps"), "Adam eps") <= 0:  # keeps sqrt(v_hat) + eps above 0
        raise InputError(f"its Adam eps is {opt['eps']!r}, expected a number > 0")
    _finite_floats(opt.get("m"), n_params, "Adam m")
    _finite_floats(opt.get("v"), n_params, "Adam v", non_negative=True)


def _finite(x: Any, what: str) -> float:
    if isinstance(x, bool) or not isinstance(x, int | float) or not math.isfinite(x):
        raise InputError(f"its {what} is {x!r}, not a finite number")
    return float(x)


def _names(names: list[str]) -> str:
    return ", ".join(repr(n) for n in names)
