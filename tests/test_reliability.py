"""Faults thrown at `train`, and mutated checkpoints thrown at the loader (issue 13).

The promises tested (the README's "Reliability"): after Ctrl-C, SIGTERM, SIGKILL or
a log that fails mid-run, at any moment, the checkpoint loads and the log agrees
with it step for step (after a SIGKILL, once a resumed run has reconciled it), and
resuming ends exactly as the uninterrupted run; every checkpoint the loader accepts
is one `grads` and `sample` can use, and every one it refuses is one line.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from engine import train as train_module
from engine.checkpoint import load_checkpoint
from microgpt_tui.cli import main

NAMES = "emma olivia ava isabella sophia mia amelia harper evelyn abigail emily ella".split()
TINY = ["--n-embd", "8", "--n-head", "2", "--block-size", "8"]
STEPS = 16  # the run's schedule
BASE = 3  # the faulted runs resume from this step

# A stand-in for pip's console script; with an argument LOG:K, the K-th line written
# to LOG (and every later one) fails after half of it is written, as on a full disk.
DRIVER = """
import builtins, os, sys
if sys.argv[1] != "-":
    log, after = sys.argv[1].rsplit(":", 1)
    real_open, count = builtins.open, [0]

    class Full:
        def __init__(self, f): self.f = f
        def write(self, data):
            count[0] += 1
            if count[0] >= int(after):
                self.f.write(data[: len(data) // 2])
                raise OSError(28, "No space left on device")
            return self.f.write(data)
        def __getattr__(self, name): return getattr(self.f, name)

    def fake_open(file, mode="r", *a, **k):
        f = real_open(file, mode, *a, **k)
        return Full(f) if os.fspath(file) == log and "a" in mode else f

    builtins.open = fake_open
del sys.argv[1]
from microgpt_tui.cli import main
sys.exit(main())
"""


@pytest.fixture(autouse=True)
def _offline(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MICROGPT_TUI_OFFLINE", "1")


def log_lines(log: Path) -> list[dict]:
    """The log's whole lines (a half line at the end, from a SIGKILL, is left out)."""
    text = log.read_text() if log.exists() else ""
    return [json.loads(line) for line in text.splitlines(keepends=True) if line.endswith("\n")]


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> Path:
    """The uninterrupted run (whole.json, whole.jsonl) and the same run at step BASE."""
    folder = tmp_path_factory.mktemp("runs")
    names = folder / "names.txt"
    names.write_text("\n".join(NAMES) + "\n")
    argv = ["train", "--data", str(names), *TINY, "--steps", str(STEPS), "--samples", "0"]
    with pytest.MonkeyPatch.context() as m:
        m.setenv("MICROGPT_TUI_OFFLINE", "1")
        assert (
            main([*argv, "--out", str(folder / "whole.json"), "--log", str(folder / "whole.jsonl")])
            == 0
        )
        real = train_module.Trainer.run

        def first_steps(self, on_step=None, should_stop=None):
            return real(self, on_step, should_stop=lambda: self.step >= BASE)

        m.setattr(train_module.Trainer, "run", first_steps)
        assert (
            main([*argv, "--out", str(folder / "base.json"), "--log", str(folder / "base.jsonl")])
            == 0
        )
    return folder


def resume(runs: Path, ckpt: Path, log: Path, fault: str = "-") -> subprocess.Popen:
    argv = ["train", "--checkpoint", ckpt, "--data", runs / "names.txt", "--out", ckpt,
            "--log", log, "--samples", "0"]  # fmt: skip
    return subprocess.Popen(
        [sys.executable, "-c", DRIVER, fault, *map(str, argv)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "MICROGPT_TUI_OFFLINE": "1"},
    )  # fmt: skip


FAULTS = ["SIGINT", "SIGTERM", "SIGKILL", "log"] * 4


def wait_for_lines(log: Path, n: int, proc: subprocess.Popen) -> None:
    deadline = time.monotonic() + 60
    while len(log_lines(log)) < n and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.002)


@pytest.mark.slow
def test_training_survives_faults_at_random_moments(runs: Path, tmp_path: Path) -> None:
    whole = log_lines(runs / "whole.jsonl")
    final = load_checkpoint(runs / "whole.json")
    rng = random.Random(2026)
    outcomes = []  # (fault, the checkpoint's step, the log's lines) right after the fault
    for trial, fault in enumerate(FAULTS):
        ckpt, log = tmp_path / f"{trial}.json", tmp_path / f"{trial}.jsonl"
        shutil.copy(runs / "base.json", ckpt)
        shutil.copy(runs / "base.jsonl", log)
        what = f"trial {trial} ({fault})"
        # WHEN the resumed run meets its fault
        if fault == "log":
            proc = resume(runs, ckpt, log, f"{log}:{rng.randint(1, STEPS - BASE)}")
        else:
            proc = resume(runs, ckpt, log)
            if trial % 2:  # at a moment of the start: loading, opening the log, the first step
                time.sleep(rng.uniform(0.0, 0.5))
            else:  # in the middle of training: soon after a given step's line
                wait_for_lines(log, rng.randint(BASE + 1, STEPS - 1), proc)
                time.sleep(rng.uniform(0.0, 0.03))
            proc.send_signal(getattr(signal, fault))
        _, err = proc.communicate(timeout=120)
        assert "Traceback" not in err, f"{what}: {err}"
        # THEN the checkpoint loads, and the log is the uninterrupted run's, up to a step
        step = load_checkpoint(ckpt).train["step"]
        lines = log_lines(log)
        outcomes.append((fault, step, len(lines)))
        assert lines == whole[: len(lines)], what
        if fault == "log":
            assert proc.returncode == 0 and step == STEPS, f"{what}: {err}"
            assert err.count("warning: cannot write the log") == 1, what
            assert len(lines) < STEPS, what  # it failed before the end
            continue
        if fault == "SIGKILL":
            assert len(lines) >= step, what  # the log may run ahead; the resume reconciles
        else:
            # (before train handles signals, SIGTERM's default ends it: nothing is lost)
            codes = {"SIGINT": (130, -2), "SIGTERM": (143, -15)}[fault]
            assert proc.returncode in (*codes, 0), f"{what}: {err}"
            assert len(lines) == step, f"{what}: log {len(lines)} lines, checkpoint {step}"
        # AND a resumed run continues the log and ends as the uninterrupted run
        if step < STEPS:
            done = resume(runs, ckpt, log)
            _, err = done.communicate(timeout=120)
            assert done.returncode == 0, f"{what}: {err}"
        assert log_lines(log) == whole, what
        assert log.read_text() == (runs / "whole.jsonl").read_text(), what
        assert load_checkpoint(ckpt).state_dict == final.state_dict, what
    # The moments fell in the middle of training, not only before or after it.
    interrupted = [o for o in outcomes if o[0] in ("SIGINT", "SIGTERM") and BASE < o[1] < STEPS]
    assert len(interrupted) >= 3, outcomes
    assert any(f == "SIGKILL" and lines > step for f, step, lines in outcomes), outcomes


# --- mutated checkpoints: usable, or refused in one line ------------------------------------

from hypothesis import HealthCheck, event, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

ODD_VALUES = [
    None, True, False, 0, -1, 1, 2, 3, 10**30, 1.5, -0.0, 1e-320, 1e200, -1e200, 1e308,
    float("nan"), float("inf"), float("-inf"), "", "a", "abc", "\x00", "\ud800", "é",
    [], [0.5], [[0.5]], {}, {"step": 1}, "adam",
]  # fmt: skip


@pytest.fixture(scope="module")
def valid(runs: Path) -> dict:
    """A valid checkpoint with every section (the base run's), as its JSON object."""
    return json.loads((runs / "base.json").read_text())


def paths(obj, prefix=()):
    """Every place in a JSON tree (long lists sampled at both ends)."""
    yield prefix
    if isinstance(obj, dict):
        for key, value in obj.items():
            yield from paths(value, (*prefix, key))
    elif isinstance(obj, list):
        for i in sorted({0, 1, len(obj) - 1} & set(range(len(obj)))):
            yield from paths(obj[i], (*prefix, i))


@st.composite
def mutations(draw, valid: dict):
    """(a description, a mutated copy of `valid`) with one to three changes."""
    obj = json.loads(json.dumps(valid))
    done = []
    for _ in range(draw(st.integers(1, 3))):
        where = draw(st.sampled_from(list(paths(obj))))
        kind = draw(st.sampled_from(["set", "drop", "add", "grow", "shrink", "scale"]))
        parent = obj
        for key in where[:-1]:
            parent = parent[key]
        if not where:
            continue
        key = where[-1]
        target = parent[key]
        if kind == "set":
            parent[key] = draw(st.sampled_from(ODD_VALUES))
        elif kind == "drop":
            del parent[key]
        elif kind == "add" and isinstance(target, dict):
            target[draw(st.sampled_from(["extra", "step", "m", "lr", "n_layer"]))] = 1
        elif kind == "grow" and isinstance(target, list) and target:
            target.append(json.loads(json.dumps(target[-1])))
        elif kind == "shrink" and isinstance(target, list) and target:
            target.pop()
        elif (
            kind == "scale" and isinstance(target, list) and target and isinstance(target[0], list)
        ):
            factor = draw(st.sampled_from([30.0, 1e100, 1e200, -1e200]))
            parent[key] = [
                [x * factor if isinstance(x, float) else x for x in row] for row in target
            ]
        done.append((kind, where))
    return done, obj


def run_command(capsys, argv: list[str]) -> tuple[int, str]:
    code = main(argv)  # a traceback here fails the test
    return code, capsys.readouterr().err


@pytest.mark.slow
@settings(
    max_examples=150,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_a_mutated_checkpoint_is_usable_or_refused_in_one_line(valid, tmp_path, capsys, data):
    changes, obj = data.draw(mutations(valid))
    path = tmp_path / "mutated.json"
    path.write_text(json.dumps(obj))
    doc = "ava"
    codes = []
    for argv in (
        ["grads", "--checkpoint", str(path), "--doc", doc, "--json"],
        ["grads", "--checkpoint", str(path), "--doc", doc, "--pos", "1"],
        ["sample", "--checkpoint", str(path), "--num", "2"],
    ):
        code, err = run_command(capsys, argv)
        assert code in (0, 2), (changes, argv, err)
        codes.append(code)
        if code == 2:
            assert err.count("\n") == 1 and err.startswith("microgpt-tui: "), (changes, err)
    event(f"exit statuses {codes}")  # --hypothesis-show-statistics: how often each happens


def test_every_test_the_readmes_reliability_section_names_exists() -> None:
    import re

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    section = readme.split("## Reliability", 1)[1].split("\n## ", 1)[0]
    named, file = [], None
    for ref in re.findall(r"`((?:test_\w+\.py)?(?:::\w+)?)`", section):
        if ref.endswith(".py") or ".py::" in ref:
            file = ref.split("::")[0]
        if "::" in ref:
            named.append((file, ref.split("::")[1]))
    assert len(named) >= 12
    for file, name in named:
        source = (Path(__file__).parent / file).read_text()
        assert f"def {name}(" in source, f"{file}::{name}"
