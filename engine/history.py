"""What training did: each step's loss and learning rate, and snapshots of the parameters.

A checkpoint (format version 2) may carry it as its "history" section:

    "history": {"first_step": 0,
                "loss": [3.366, 3.24, ...],      # step first_step + 1, + 2, ...
                "lr": [0.01, 0.00999, ...],
                "snapshot_every": 100,           # or null: no snapshots taken
                "snapshots": {"steps": [0, 100, ..., 1000],
                              "values": [[...one float per parameter...], ...]}}

`loss[i]` and `lr[i]` are global step `first_step + i + 1`'s (1-based, as `train`
prints them); `first_step` is the step the history begins after (0 for a run from
a fresh model; a run that went on from a checkpoint without a history starts its
history there). A snapshot is every parameter's value after that many completed
steps (0: the initial weights), in the model's parameter order (`GPT.params`, the
order of Adam's moments). The history of a checkpoint with a "train" section ends
at its step: `first_step + len(loss) == train["step"]`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from engine.errors import InputError

HISTORY_KEYS = ("first_step", "loss", "lr", "snapshot_every", "snapshots")


@dataclass
class History:
    """Each completed step's loss and learning rate, and parameter snapshots now and then."""

    first_step: int = 0  # completed steps before the history begins
    loss: list[float] = field(default_factory=list)  # step first_step + i + 1's loss
    lr: list[float] = field(default_factory=list)  # the learning rate of that step's update
    snapshot_every: int | None = None  # take a snapshot every so many steps (None: never)
    snapshot_steps: list[int] = field(default_factory=list)  # after how many completed steps
    snapshot_values: list[list[float]] = field(default_factory=list)  # one per snapshot

    @property
    def last_step(self) -> int:
        """The global step the history ends at (completed steps)."""
        return self.first_step + len(self.loss)

    @property
    def steps(self) -> range:
        """The global (1-based) step of each loss, in order."""
        return range(self.first_step + 1, self.last_step + 1)

    def record(self, step: int, loss: float, lr: float) -> None:
        """Step `step` (1-based, the next one) is done with this loss and learning rate."""
        if step != self.last_step + 1:
            raise ValueError(f"step {step} does not follow the history's {self.last_step}")
        self.loss.append(float(loss))
        self.lr.append(float(lr))

    def wants_snapshot(self, step: int, *, final: bool = False) -> bool:
        """Should the parameters be kept after `step` completed steps? (The first and last
        steps of a run are always kept when snapshots are on, so a value's track has ends.)"""
        if self.snapshot_every is None or step in self.snapshot_steps[-1:]:
            return False
        return final or step % self.snapshot_every == 0 or not self.snapshot_steps

    def snapshot(self, step: int, values: Sequence[float]) -> None:
        """Keep every parameter's value after `step` completed steps."""
        if self.snapshot_steps and step <= self.snapshot_steps[-1]:
            raise ValueError(f"snapshot at step {step} is not after {self.snapshot_steps[-1]}")
        self.snapshot_steps.append(step)
        self.snapshot_values.append([float(x) for x in values])

    def track(self, index: int) -> tuple[list[int], list[float]]:
        """How parameter `index` moved: the snapshots' steps and its value at each."""
        return list(self.snapshot_steps), [values[index] for values in self.snapshot_values]

    def to_json(self) -> dict[str, Any]:
        return {
            "first_step": self.first_step,
            "loss": list(self.loss),
            "lr": list(self.lr),
            "snapshot_every": self.snapshot_every,
            "snapshots": {"steps": list(self.snapshot_steps), "values": self.snapshot_values},
        }


def moving_average(values: Sequence[float], window: int) -> list[float]:
    """The mean of each value and up to `window − 1` before it (a trailing average)."""
    if window < 1:
        raise ValueError(f"the window must be at least 1, got {window}")
    out, total = [], 0.0
    for i, x in enumerate(values):
        total += x
        if i >= window:
            total -= values[i - window]
        out.append(total / min(i + 1, window))
    return out


_LABEL = re.compile(r"\s*([\w.]+)\[(\d+)\]\[(\d+)\]\s*")  # wte[4][0]


def parameter_index(state_dict: Mapping[str, Sequence[Sequence]], label: str) -> int:
    """Where parameter `label` (`wte[4][0]`) is in a snapshot: its index in `GPT.params`,
    the matrices' rows one after another; InputError if the model has no such parameter."""
    m = _LABEL.fullmatch(label)
    if m is None or m.group(1) not in state_dict:
        raise InputError(f"no parameter {label!r}: expected MATRIX[ROW][COL], e.g. wte[4][0]")
    name, row, col = m.group(1), int(m.group(2)), int(m.group(3))
    offset = 0
    for other, matrix in state_dict.items():
        if other == name:
            if row >= len(matrix) or col >= len(matrix[0]):
                raise InputError(
                    f"no parameter {label!r}: {name} is {len(matrix)}×{len(matrix[0])}"
                )
            return offset + row * len(matrix[0]) + col
        offset += len(matrix) * len(matrix[0])
    raise AssertionError("unreachable")  # (the name is in the state_dict)


# --- reading, validated -------------------------------------------------------------------


def read_history(obj: Any, n_params: int, *, train_step: int | None = None) -> History:
    """A checkpoint's "history" section, validated; InputError says what is wrong with "its" part.

    `train_step`: the checkpoint's train step, where the history must end.
    """
    if not isinstance(obj, dict):
        raise InputError("it is not an object")
    extra = [k for k in obj if k not in HISTORY_KEYS]
    if extra:
        raise InputError(f"it has unexpected key(s) {', '.join(map(repr, extra))}")
    missing = [k for k in ("first_step", "loss", "lr") if k not in obj]
    if missing:
        raise InputError(f"it has no {', '.join(map(repr, missing))}")
    first = _count(obj["first_step"], "first_step")
    loss = _floats(obj["loss"], "loss")
    lr = _floats(obj["lr"], "lr")
    if len(lr) != len(loss):
        raise InputError(f"its loss has {len(loss)} steps but its lr {len(lr)}")
    if train_step is not None and first + len(loss) != train_step:
        raise InputError(
            f"it ends at step {first + len(loss)}, but the model is at step {train_step}"
        )
    every = obj.get("snapshot_every")
    if every is not None:
        every = _count(every, "snapshot_every", positive=True)
    history = History(first, loss, lr, every)
    _read_snapshots(obj.get("snapshots"), history, n_params)
    return history


def _read_snapshots(obj: Any, history: History, n_params: int) -> None:
    if obj is None:
        return
    if not isinstance(obj, dict) or set(obj) != {"steps", "values"}:
        raise InputError("its snapshots are not a {steps, values} object")
    steps, values = obj["steps"], obj["values"]
    if not isinstance(steps, list) or not isinstance(values, list) or len(steps) != len(values):
        raise InputError("its snapshots need as many lists of values as steps")
    for step, row in zip(steps, values):
        step = _count(step, "snapshot step")
        if step > history.last_step:
            raise InputError(f"it has a snapshot at step {step}, after its last step")
        row = _floats(row, f"snapshot at step {step}")
        if len(row) != n_params:
            raise InputError(
                f"its snapshot at step {step} has {len(row)} values for {n_params} parameters"
            )
        if history.snapshot_steps and step <= history.snapshot_steps[-1]:
            raise InputError("its snapshot steps are not increasing")
        history.snapshot_steps.append(step)
        history.snapshot_values.append(row)


def _count(x: Any, what: str, *, positive: bool = False) -> int:
    if isinstance(x, bool) or not isinstance(x, int) or x < (1 if positive else 0):
        kind = "a positive integer" if positive else "an integer >= 0"
        raise InputError(f"its {what} is {x!r}, expected {kind}")
    return x


def _floats(obj: Any, what: str) -> list[float]:
    if not isinstance(obj, list):
        raise InputError(f"its {what} is not a list of numbers")
    if all(type(x) is float for x in obj) and all(map(math.isfinite, obj)):
        return obj  # the common case, quickly (a snapshot has thousands)
    out = []
    for x in obj:
        if isinstance(x, bool) or not isinstance(x, int | float) or not math.isfinite(x):
            raise InputError(f"its {what} holds {x!r}, not a finite number")
        out.append(float(x))
    return out
