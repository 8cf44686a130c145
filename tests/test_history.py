"""What training did: the history `train` keeps in its checkpoint (format version 2), read back.

Checkpoints with and without a history load, version 1 files too; `train` records
every step's loss and learning rate as the log does, goes on with the history when
resumed, snapshots parameters with --snapshot-every, and ends with a sparkline on
a terminal (plain lines otherwise).
"""

from __future__ import annotations

import copy
import json
import os
import sys
from pathlib import Path

import pytest
import reference_microgpt as ref
from test_checkpoint import load_error, make_checkpoint, write_json
from test_cli import NAMES, TINY_KW, run, train

from engine.checkpoint import VERSION, load_checkpoint, save_checkpoint
from engine.config import GPTConfig
from engine.errors import InputError
from engine.history import History, moving_average, read_history
from engine.workspace import default_model_path
from microgpt_tui.subcommands.train_curve import binned, curve_line, sparkline


@pytest.fixture(autouse=True)
def _offline(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MICROGPT_TUI_OFFLINE", "1")


SMALL = GPTConfig(n_embd=4, n_head=2, block_size=3)  # with vocab "abc": 4 tokens
N_VALID = sum(r * c for r, c in SMALL.matrix_shapes(4).values())  # its parameters


@pytest.fixture
def names_file(tmp_path: Path) -> Path:
    path = tmp_path / "names.txt"
    path.write_text("\n".join(NAMES) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def valid_json() -> dict:
    """A version 1 checkpoint as an older program wrote it (test_checkpoint's fixture)."""
    ckpt = make_checkpoint(SMALL, vocab="abc")
    return {
        "format": "microgpt-tui.checkpoint",
        "version": 1,
        "config": ckpt.config.to_dict(),
        "vocab": ckpt.vocab,
        "state_dict": ckpt.state_dict,
        "train": {"step": 3},
    }


def a_history(n_params: int, steps: int = 4, every: int | None = 2) -> History:
    history = History(snapshot_every=every)
    history.snapshot(0, [0.5] * n_params)
    for step in range(1, steps + 1):
        history.record(step, 3.0 - step / 10, 0.01 * (1 - (step - 1) / steps))
        if history.wants_snapshot(step):
            history.snapshot(step, [0.5 + step] * n_params)
    return history


# --- the History itself -----------------------------------------------------------------


def test_a_history_records_steps_in_order_and_tracks_a_parameter() -> None:
    history = a_history(3, steps=5, every=2)
    assert list(history.steps) == [1, 2, 3, 4, 5] and history.last_step == 5
    assert history.snapshot_steps == [0, 2, 4]
    assert history.wants_snapshot(5, final=True) and not history.wants_snapshot(5)
    history.snapshot(5, [9.0, 8.0, 7.0])
    assert history.track(1) == ([0, 2, 4, 5], [0.5, 2.5, 4.5, 8.0])
    with pytest.raises(ValueError):
        history.record(7, 1.0, 0.1)  # step 6 is missing
    with pytest.raises(ValueError):
        history.snapshot(5, [0.0] * 3)  # not after the last snapshot


def test_without_snapshots_none_is_wanted() -> None:
    history = History()
    history.record(1, 2.0, 0.01)
    assert not history.wants_snapshot(1, final=True)


def test_moving_average_is_trailing() -> None:
    assert moving_average([1.0, 3.0, 5.0, 7.0], 2) == [1.0, 2.0, 4.0, 6.0]
    assert moving_average([4.0, 2.0], 10) == [4.0, 3.0]
    with pytest.raises(ValueError):
        moving_average([1.0], 0)


# --- checkpoints with and without a history -----------------------------------------------


def test_a_checkpoint_with_a_history_round_trips_bit_exactly(tmp_path: Path) -> None:
    ckpt = make_checkpoint(GPTConfig(n_embd=4, n_head=2, block_size=3), vocab="abc")
    n_params = sum(r * c for r, c in ckpt.config.matrix_shapes(4).values())
    ckpt.history = a_history(n_params)
    ckpt.history.loss[0] = 1 / 3  # a float repr must keep
    ckpt.train = {"step": 4}
    path = tmp_path / "c.json"
    save_checkpoint(path, ckpt)
    obj = json.loads(path.read_text())
    assert obj["version"] == VERSION == 2
    assert list(obj) == ["format", "version", "config", "vocab", "state_dict", "train", "history"]
    loaded = load_checkpoint(path)
    assert loaded == ckpt and loaded.history.loss[0] == 1 / 3


def test_a_version_1_checkpoint_still_loads_and_has_no_history(tmp_path, valid_json) -> None:
    assert valid_json["version"] == 1
    loaded = load_checkpoint(write_json(tmp_path / "v1.json", valid_json))
    assert loaded.history is None and loaded.train == {"step": 3}


def test_a_version_2_checkpoint_without_a_history_loads(tmp_path, valid_json) -> None:
    valid_json["version"] = 2
    assert load_checkpoint(write_json(tmp_path / "v2.json", valid_json)).history is None


def history_json(steps: int = 3, **changes) -> dict:
    obj = {
        "first_step": 0,
        "loss": [2.0] * steps,
        "lr": [0.01] * steps,
        "snapshot_every": 2,
        "snapshots": {"steps": [0, 2], "values": [[0.0] * N_VALID, [1.0] * N_VALID]},
    }
    obj.update(changes)
    return obj


@pytest.mark.parametrize(
    "history, version, expected",
    [
        (history_json(), 1, '"history" needs version 2'),
        (history_json(steps=2), 2, "it ends at step 2, but the model is at step 3"),
        (history_json(lr=[0.01]), 2, "its loss has 3 steps but its lr 1"),
        (history_json(loss=[2.0, float("nan"), 1.0]), 2, "its loss holds nan"),
        (history_json(first_step=-1), 2, "its first_step is -1"),
        (history_json(snapshot_every=0), 2, "its snapshot_every is 0"),
        (history_json(extra=1), 2, "unexpected key(s) 'extra'"),
        (
            history_json(snapshots={"steps": [0], "values": [[1.0]]}),
            2,
            "its snapshot at step 0 has 1 values for",
        ),
        (
            history_json(snapshots={"steps": [2, 0], "values": [[0.0] * N_VALID] * 2}),
            2,
            "its snapshot steps are not increasing",
        ),
        (
            history_json(snapshots={"steps": [9], "values": [[0.0] * N_VALID]}),
            2,
            "a snapshot at step 9, after its last step",
        ),
        ([1, 2], 2, '"history": it is not an object'),
    ],
)
def test_a_bad_history_is_refused_in_one_line(tmp_path, valid_json, history, version, expected):
    valid_json["version"] = version
    valid_json["history"] = history
    assert expected in load_error(write_json(tmp_path / "c.json", valid_json))


def test_a_good_history_in_the_fixture_loads(tmp_path, valid_json) -> None:
    valid_json["version"] = 2
    valid_json["history"] = history_json()
    history = load_checkpoint(write_json(tmp_path / "c.json", valid_json)).history
    assert history.last_step == 3 and history.track(5) == ([0, 2], [0.0, 1.0])


def test_read_history_needs_its_lists() -> None:
    with pytest.raises(InputError, match="it has no 'loss', 'lr'"):
        read_history({"first_step": 0}, 1)


def test_the_shipped_model_carries_its_1000_steps() -> None:
    ckpt = load_checkpoint(default_model_path())
    history = ckpt.history
    assert history is not None and history.first_step == 0 and len(history.loss) == 1000
    assert f"{history.loss[0]:.4f}" == "3.3660"  # microgpt's step 1
    assert history.loss[-1] == ckpt.train["last_loss"]
    assert history.lr == [0.01 * (1 - s / 1000) for s in range(1000)]
    assert history.snapshot_steps[0] == 0 and history.snapshot_steps[-1] == 1000
    final = [x for name in ckpt.state_dict for row in ckpt.state_dict[name] for x in row]
    assert history.snapshot_values[-1] == final  # the last snapshot is the model itself


# --- train keeps it -----------------------------------------------------------------------


def test_train_keeps_every_steps_loss_and_lr_and_goes_on_with_them(
    capsys, names_file, tmp_path
) -> None:
    # GIVEN 5 of 12 steps, with a snapshot every 2 steps
    ckpt, log = tmp_path / "c.json", tmp_path / "log.jsonl"
    code, _, err = train(capsys, names_file, ckpt, "--log", log, "--snapshot-every", 2, steps=12)
    assert code == 0
    full = load_checkpoint(ckpt).history
    logged = [json.loads(line) for line in log.read_text().splitlines()]
    # THEN the history is the log's numbers, exactly, and microgpt's losses
    assert full.loss == [line["loss"] for line in logged]
    assert full.lr == [line["lr"] for line in logged]
    losses, *_ = ref.train(NAMES, seed=42, num_steps=12, num_samples=0, **TINY_KW)
    assert full.loss == losses
    assert full.snapshot_steps == [0, 2, 4, 6, 8, 10, 12]
    assert "loss ▁" not in err and "loss █" not in err  # no sparkline without a terminal
    # WHEN a run of 5 steps is trained further, to 12
    part = tmp_path / "p.json"
    assert train(capsys, names_file, part, "--snapshot-every", 2, steps=5)[0] == 0
    first = load_checkpoint(part).history
    assert first.snapshot_steps == [0, 2, 4, 5]
    code, *_ = run(
        capsys, "train", "--data", names_file, "--checkpoint", part, "--out", part, "--steps", 12
    )
    resumed = load_checkpoint(part).history
    # THEN the history goes on from the first run's, with its snapshot cadence
    assert code == 0 and list(resumed.steps) == list(range(1, 13))
    assert resumed.loss[:5] == first.loss and resumed.lr[:5] == first.lr
    assert resumed.lr[5:] == [0.01 * (1 - s / 12) for s in range(5, 12)]  # stretched schedule
    assert resumed.snapshot_steps == [0, 2, 4, 5, 6, 8, 10, 12]
    assert resumed.snapshot_values[:4] == first.snapshot_values


def test_a_run_from_a_version_1_checkpoint_starts_its_history_there(
    capsys, names_file, tmp_path
) -> None:
    # GIVEN a version 1 checkpoint at step 5 (no history), as an older program wrote it
    ckpt = tmp_path / "c.json"
    assert train(capsys, names_file, ckpt, steps=5)[0] == 0
    obj = json.loads(ckpt.read_text())
    del obj["history"]
    obj["version"] = 1
    ckpt.write_text(json.dumps(obj))
    assert load_checkpoint(ckpt).history is None
    # WHEN it is trained further
    code, *_ = run(
        capsys, "train", "--data", names_file, "--checkpoint", ckpt, "--out", ckpt, "--steps", 8
    )
    # THEN the history covers the new steps only, and says where it begins
    history = load_checkpoint(ckpt).history
    assert code == 0 and history.first_step == 5 and list(history.steps) == [6, 7, 8]
    assert history.snapshot_every is None and history.snapshot_steps == []


def test_train_ends_with_a_sparkline_on_a_terminal(capsys, names_file, tmp_path, monkeypatch):
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True, raising=False)
    monkeypatch.setattr("microgpt_tui.subcommands.train.progress_for", lambda *a: _Quiet())
    monkeypatch.setattr("shutil.get_terminal_size", lambda *a: os.terminal_size((100, 24)))
    code, _, err = train(capsys, names_file, tmp_path / "c.json", steps=12)
    history = load_checkpoint(tmp_path / "c.json").history
    line = next(line for line in err.splitlines() if line.startswith("loss "))
    assert code == 0 and line == curve_line(history, 99)
    assert f"{history.loss[0]:.4f} → {history.loss[-1]:.4f}  steps 1..12" in line


class _Quiet:
    def update(self, result) -> None:
        pass

    def finish(self) -> None:
        pass


def test_the_sparkline_bins_means_and_scales_low_to_high() -> None:
    assert binned([1.0, 3.0, 5.0, 7.0], 2) == [2.0, 6.0]
    assert binned([1.0, 2.0], 10) == [1.0, 2.0]
    assert sparkline([1.0, 2.0, 3.0]) == "▁▅█"
    assert sparkline([2.0, 2.0]) == "▁▁"
    history = History()
    for step, loss in enumerate([4.0, 3.0, 2.0, 1.0], 1):
        history.record(step, loss, 0.01)
    assert curve_line(history, 80) == "loss █▆▃▁  4.0000 → 1.0000  steps 1..4"
    long = copy.deepcopy(history)
    for step in range(5, 1001):
        long.record(step, 1.0, 0.01)
    assert len(curve_line(long, 60)) <= 60 and "mean of" in curve_line(long, 60)
    assert curve_line(History(), 80) == ""
