"""The command line's train, sample and grads: microgpt's numbers, resuming, Ctrl-C, bad input."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import reference_microgpt as ref

from engine import train as train_module
from engine.checkpoint import load_checkpoint, save_checkpoint
from engine.workspace import default_model_path
from microgpt_tui.cli import main
from microgpt_tui.subcommands import progress

REPO = Path(__file__).resolve().parents[1]
NAMES = """emma olivia ava isabella sophia mia amelia harper evelyn abigail emily ella
elizabeth camila luna sofia avery mila aria scarlett penelope layla chloe victoria
madison eleanor grace nora riley zoey hannah hazel lily ellie violet lillian zoe
stella aurora natalie emilia everly leah aubrey willow addison lucy audrey bella
nova brooklyn paisley savannah claire skylar isla genesis naomi elena caroline
quinn piper josephine xavier""".split()
TINY = ["--n-embd", "8", "--n-head", "2", "--block-size", "8"]
TINY_KW = {"n_layer": 1, "n_embd": 8, "n_head": 2, "block_size": 8}
# microgpt's own 20 samples after its 1000 steps with seed 42 on its names file
MICROGPT_SAMPLES = """kamon ann karai jaire vialan karia yeran anna areli kaina konna keylen
liole alerin earan lenne kana lara alela anton""".split()


@pytest.fixture(autouse=True)
def _offline(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MICROGPT_TUI_OFFLINE", "1")


@pytest.fixture
def names_file(tmp_path: Path) -> Path:
    path = tmp_path / "names.txt"
    path.write_text("\n".join(NAMES) + "\n", encoding="utf-8")
    return path


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def train(capsys, names_file: Path, out: Path, *extra: str, steps: int = 12):
    return run(capsys, "train", "--data", names_file, *TINY, "--steps", steps, "--out", out, *extra)


def sample_lines(out: str) -> list[str]:
    return [line.split(": ", 1)[1] if ": " in line else "" for line in out.splitlines()]


# --- train --------------------------------------------------------------------------------


def test_train_prints_microgpts_samples_and_logs_its_losses(capsys, names_file, tmp_path):
    # GIVEN a small microgpt run
    ckpt, log = tmp_path / "c.json", tmp_path / "log.jsonl"
    # WHEN training from the command line
    code, out, err = train(capsys, names_file, ckpt, "--seed", "3", "--log", log, "--samples", 7)
    # THEN it prints microgpt's samples, in microgpt's format
    losses, samples, state_dict, uchars = ref.train(
        NAMES, seed=3, num_steps=12, num_samples=7, **TINY_KW
    )
    assert code == 0
    assert out.splitlines() == [f"sample {i + 1:2d}: {s}" for i, s in enumerate(samples)]
    # AND logs every step's loss and learning rate, exactly
    lines = [json.loads(line) for line in log.read_text().splitlines()]
    assert lines == [
        {"step": s + 1, "loss": loss, "lr": 0.01 * (1 - s / 12)} for s, loss in enumerate(losses)
    ]
    # AND saves microgpt's final weights, with what it takes to go on
    saved = load_checkpoint(ckpt)
    assert saved.vocab == "".join(uchars)
    assert saved.state_dict == {
        name: [[p.data for p in row] for row in mat] for name, mat in state_dict.items()
    }
    assert saved.train["step"] == saved.train["num_steps"] == 12
    assert saved.train["seed"] == 3 and saved.train["data"] == "names.txt"
    assert saved.train["last_loss"] == losses[-1]
    assert f"saved step 12/12 to {ckpt}" in err
    assert "step 12/12 | loss" in err and "steps/s" in err and "ETA" in err
    assert "Traceback" not in err


def test_the_log_is_appended_to(capsys, names_file, tmp_path):
    log = tmp_path / "log.jsonl"
    log.write_text('{"step": 0}\n')
    code, _, _ = train(capsys, names_file, tmp_path / "c.json", "--log", log, steps=3)
    assert code == 0
    assert [json.loads(line)["step"] for line in log.read_text().splitlines()] == [0, 1, 2, 3]


def test_the_default_out_is_in_the_current_directory(capsys, names_file, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, _, err = run(capsys, "train", "--data", names_file, *TINY, "--steps", 2)
    assert code == 0
    assert (tmp_path / "microgpt.ckpt.json").is_file()
    assert "microgpt.ckpt.json" in err


def test_sample_on_a_trained_checkpoint_repeats_trains_samples(capsys, names_file, tmp_path):
    ckpt = tmp_path / "c.json"
    _, trained, _ = train(capsys, names_file, ckpt, "--samples", 9)
    code, out, _ = run(capsys, "sample", "--checkpoint", ckpt, "--num", 9)
    assert code == 0 and out == trained
    code, again, _ = run(capsys, "sample", "--checkpoint", ckpt, "--num", 9)
    assert again == out  # sampling does not change the checkpoint's stream


def test_sample_with_a_seed_reseeds_the_stream(capsys, names_file, tmp_path):
    ckpt = tmp_path / "c.json"
    train(capsys, names_file, ckpt, steps=2)
    _, a, _ = run(capsys, "sample", "--checkpoint", ckpt, "--seed", 1, "--num", 30)
    _, b, _ = run(capsys, "sample", "--checkpoint", ckpt, "--seed", 1, "--num", 30)
    _, c, _ = run(capsys, "sample", "--checkpoint", ckpt, "--seed", 2, "--num", 30)
    assert a == b != c


def test_sample_on_a_fresh_model_is_microgpt_with_no_training(capsys, names_file):
    code, out, _ = run(capsys, "sample", "--data", names_file, *TINY, "--seed", 4, "--num", 5)
    _, samples, _, _ = ref.train(NAMES, seed=4, num_steps=0, num_samples=5, **TINY_KW)
    assert code == 0 and sample_lines(out) == samples


def test_sample_temperature_is_microgpts(capsys, names_file):
    code, out, _ = run(
        capsys, "sample", "--data", names_file, *TINY, "--seed", 4, "--temperature", 1.3
    )
    _, samples, _, _ = ref.train(NAMES, seed=4, num_steps=0, temperature=1.3, **TINY_KW)
    assert code == 0 and sample_lines(out) == samples


# --- resuming -----------------------------------------------------------------------------


def interrupt_forward_pass(monkeypatch: pytest.MonkeyPatch, at_call: int) -> None:
    """Ctrl-C in the middle of the `at_call`-th forward pass."""
    real, calls = train_module.document_loss, []

    def document_loss(model, tokens):
        calls.append(1)
        if len(calls) == at_call:
            raise KeyboardInterrupt
        return real(model, tokens)

    monkeypatch.setattr(train_module, "document_loss", document_loss)


def test_ctrl_c_saves_the_last_completed_step(capsys, names_file, tmp_path, monkeypatch):
    # GIVEN a run interrupted during step 5
    ckpt, log = tmp_path / "c.json", tmp_path / "log.jsonl"
    interrupt_forward_pass(monkeypatch, 5)
    code, out, err = train(capsys, names_file, ckpt, "--log", log)
    # THEN step 4 is saved, intact, and the user is told so
    assert code == 130
    assert out == ""  # no samples from an interrupted run
    assert load_checkpoint(ckpt).train["step"] == 4
    assert "interrupted: saved step 4/12" in err and "--checkpoint" in err
    assert "Traceback" not in err
    assert len(log.read_text().splitlines()) == 4
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.json", "log.jsonl", "names.txt"]


def test_ctrl_c_after_a_step_saves_that_step(capsys, names_file, tmp_path, monkeypatch):
    def update(self, result):
        if result.step == 3:
            raise KeyboardInterrupt

    monkeypatch.setattr(progress.PlainProgress, "update", update)
    code, _, err = train(capsys, names_file, tmp_path / "c.json")
    assert code == 130
    assert load_checkpoint(tmp_path / "c.json").train["step"] == 3


def test_ctrl_c_before_any_step_saves_nothing(capsys, names_file, tmp_path, monkeypatch):
    # GIVEN an earlier checkpoint at --out
    ckpt = tmp_path / "c.json"
    train(capsys, names_file, ckpt, steps=2)
    before = ckpt.read_bytes()
    interrupt_forward_pass(monkeypatch, 1)
    code, _, err = train(capsys, names_file, ckpt, "--force")  # (--force: issue 13's refusal)
    assert code == 130
    assert "nothing saved" in err
    assert ckpt.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.json", "names.txt"]


def test_resuming_an_interrupted_run_ends_as_the_uninterrupted_one(
    capsys, names_file, tmp_path, monkeypatch
):
    # GIVEN an uninterrupted run and one interrupted during step 8
    whole, part, resumed = tmp_path / "whole.json", tmp_path / "part.json", tmp_path / "r.json"
    _, whole_out, _ = train(capsys, names_file, whole, "--log", tmp_path / "whole.jsonl")
    with monkeypatch.context() as m:
        interrupt_forward_pass(m, 8)
        train(capsys, names_file, part, "--log", tmp_path / "part.jsonl")
    assert load_checkpoint(part).train["step"] == 7
    # WHEN resuming it (no --steps: the run's own 12)
    code, out, err = run(
        capsys, "train", "--checkpoint", part, "--data", names_file,
        "--out", resumed, "--log", tmp_path / "part.jsonl",
    )  # fmt: skip
    # THEN weights, optimizer state, log and samples are the uninterrupted run's
    assert code == 0, err
    assert "training steps 8..12" in err
    assert out == whole_out
    a, b = load_checkpoint(whole), load_checkpoint(resumed)
    assert a.state_dict == b.state_dict
    assert a.train == b.train
    assert (tmp_path / "part.jsonl").read_text() == (tmp_path / "whole.jsonl").read_text()


def test_training_further_stretches_the_schedule(capsys, names_file, tmp_path):
    ckpt, log = tmp_path / "c.json", tmp_path / "log.jsonl"
    train(capsys, names_file, ckpt, steps=4)
    code, _, _ = run(capsys, "train", "--checkpoint", ckpt, "--data", names_file,
                     "--steps", 6, "--out", ckpt, "--log", log)  # fmt: skip
    assert code == 0
    lines = [json.loads(line) for line in log.read_text().splitlines()]
    assert [(d["step"], d["lr"]) for d in lines] == [
        (5, 0.01 * (1 - 4 / 6)),
        (6, 0.01 * (1 - 5 / 6)),
    ]
    assert load_checkpoint(ckpt).train["step"] == 6


def test_resuming_on_other_documents_says_so(capsys, names_file, tmp_path):
    ckpt = tmp_path / "c.json"
    train(capsys, names_file, ckpt, steps=2)
    other = tmp_path / "other.txt"
    other.write_text("anna\nbob\n")
    code, _, err = run(capsys, "train", "--checkpoint", ckpt, "--data", other, "--steps", 3,
                       "--out", ckpt, "--samples", 0)  # fmt: skip
    assert code == 0
    assert "differ from the ones" in err
    assert load_checkpoint(ckpt).train["data"] == "other.txt"


# --- grads --------------------------------------------------------------------------------


@pytest.fixture
def trained(capsys, names_file, tmp_path) -> Path:
    ckpt = tmp_path / "c.json"
    code, _, _ = train(capsys, names_file, ckpt, steps=5)
    assert code == 0
    return ckpt


def reference_grads(ckpt: Path, doc: str, pos: int | None):
    saved = load_checkpoint(ckpt)
    sd = {n: [[ref.Value(x) for x in row] for row in m] for n, m in saved.state_dict.items()}
    c = saved.config
    tokens = ref.tokenize(doc, list(saved.vocab))
    if pos is None:
        loss = ref.doc_loss(sd, c.n_layer, c.n_head, c.block_size, tokens)
    else:
        loss = ref.position_losses(sd, c.n_layer, c.n_head, c.block_size, tokens, upto=pos)[-1]
    loss.backward()
    grads = {n: [[p.grad for p in row] for row in m] for n, m in sd.items()}
    return loss.data, len(loss.topo()), grads


@pytest.mark.parametrize(("doc", "pos"), [("emma", None), ("emma", 2), ("christopherson", 7)])
def test_grads_json_equals_the_reference(capsys, trained, doc, pos):
    argv = ["grads", "--checkpoint", trained, "--doc", doc, "--json"]
    code, out, err = run(capsys, *argv, *([] if pos is None else ["--pos", pos]))
    assert code == 0, err
    report = json.loads(out)
    loss, nodes, grads = reference_grads(trained, doc, pos)
    assert list(report) == ["loss", "doc", "pos", "nodes", "grads"]
    assert report["loss"] == loss
    assert report["doc"] == doc and report["pos"] == pos
    assert report["nodes"] == nodes
    assert report["grads"] == grads
    assert any(g != 0 for row in report["grads"]["layer0.attn_wq"] for g in row)


def test_grads_summary_names_the_largest_gradients(capsys, trained):
    code, out, _ = run(capsys, "grads", "--checkpoint", trained, "--doc", "emma", "--pos", 1)
    _, json_out, _ = run(
        capsys, "grads", "--checkpoint", trained, "--doc", "emma", "--pos", 1, "--json"
    )
    report = json.loads(json_out)
    flat = sorted(
        ((abs(g), f"{n}[{i}][{j}]") for n, m in report["grads"].items()
         for i, row in enumerate(m) for j, g in enumerate(row)),
        reverse=True,
    )  # fmt: skip
    assert code == 0
    assert f"loss    {report['loss']:.6f}" in out
    assert f"nodes   {report['nodes']} " in out
    assert "position 1's loss (e -> m)" in out
    assert f"   1  {flat[0][1]} " in out
    assert "layer0.mlp_fc2" in out


# --- bad input ----------------------------------------------------------------------------


def _bad_cases(tmp: Path, names: Path, ckpt: Path) -> dict[str, list]:
    empty = tmp / "empty.txt"
    empty.write_text("\n \n")
    garbage = tmp / "garbage.json"
    garbage.write_text('{"format": "microgpt-tui.checkpoint", "vers')
    done = load_checkpoint(ckpt)
    bad_random = tmp / "bad_random.json"
    save_checkpoint(
        bad_random,
        done.__class__(
            **{
                **done.__dict__,
                "train": {
                    **done.train,
                    "random_state": {"version": 3, "internal": [1, 2], "gauss_next": None},
                },
            }
        ),
    )
    bad_moments = tmp / "bad_moments.json"
    opt = {**done.train["optimizer"], "m": [0.0]}
    save_checkpoint(bad_moments, done.__class__(**{**done.__dict__, "train": {
        **done.train, "step": 1, "optimizer": opt}}))  # fmt: skip
    data = ["--data", names, *TINY]
    return {
        "zero steps": ["train", *data, "--steps", "0"],
        "negative steps": ["train", *data, "--steps", "-3"],
        "steps not a number": ["train", *data, "--steps", "many"],
        "out in a missing directory": ["train", *data, "--out", tmp / "no" / "c.json"],
        "out is a directory": ["train", *data, "--out", tmp],
        "log in a missing directory": ["train", *data, "--log", tmp / "no" / "l.jsonl"],
        "log is a directory": [
            "train",
            *data,
            "--steps",
            "1",
            "--out",
            tmp / "x.json",
            "--log",
            tmp,
        ],  # fmt: skip
        "empty data file": ["train", "--data", empty, "--out", tmp / "x.json"],
        "missing data file": ["train", "--data", tmp / "nope.txt", "--out", tmp / "x.json"],
        "impossible config": ["train", "--data", names, "--n-embd", "10", "--n-head", "4"],
        "missing checkpoint": ["train", "--checkpoint", tmp / "nope.json"],
        "truncated checkpoint": ["train", "--checkpoint", garbage, "--out", tmp / "x.json"],
        "finished checkpoint": [
            "train",
            "--checkpoint",
            ckpt,
            "--data",
            names,
            "--out",
            tmp / "x.json",
        ],  # fmt: skip
        "another seed": [
            "train",
            "--checkpoint",
            ckpt,
            "--data",
            names,
            "--seed",
            "7",
            "--steps",
            "9",
            "--out",
            tmp / "x.json",
        ],  # fmt: skip
        "damaged moments": [
            "train",
            "--checkpoint",
            bad_moments,
            "--data",
            names,
            "--out",
            tmp / "x.json",
        ],  # fmt: skip
        "damaged random state": ["sample", "--checkpoint", bad_random],
        "sizes with a checkpoint": ["train", "--checkpoint", ckpt, "--n-layer", "2"],
        "zero temperature": ["sample", "--checkpoint", ckpt, "--temperature", "0"],
        "negative temperature": ["sample", "--checkpoint", ckpt, "--temperature", "-1"],
        "nan temperature": ["sample", "--checkpoint", ckpt, "--temperature", "nan"],
        "infinite temperature": ["sample", "--checkpoint", ckpt, "--temperature", "inf"],
        "temperature not a number": ["sample", "--checkpoint", ckpt, "--temperature", "hot"],
        "negative num": ["sample", "--checkpoint", ckpt, "--num", "-1"],
        "sample missing checkpoint": ["sample", "--checkpoint", tmp / "nope.json"],
        "grads without doc": ["grads", "--checkpoint", ckpt],
        "grads empty doc": ["grads", "--checkpoint", ckpt, "--doc", ""],
        "grads chars outside vocab": ["grads", "--checkpoint", ckpt, "--doc", "Emma!"],
        "grads pos out of range": ["grads", "--checkpoint", ckpt, "--doc", "emma", "--pos", "5"],
        "grads negative pos": ["grads", "--checkpoint", ckpt, "--doc", "emma", "--pos", "-1"],
        "grads pos not a number": ["grads", "--checkpoint", ckpt, "--doc", "emma", "--pos", "x"],
        "grads truncated checkpoint": ["grads", "--checkpoint", garbage, "--doc", "emma"],
        "unknown option": ["train", "--stpes", "3"],
    }


BAD_CASE_NAMES = [
    "zero steps", "negative steps", "steps not a number", "out in a missing directory",
    "out is a directory", "log in a missing directory", "log is a directory", "empty data file",
    "missing data file", "impossible config", "missing checkpoint", "truncated checkpoint",
    "finished checkpoint", "another seed", "damaged moments", "damaged random state",
    "sizes with a checkpoint", "zero temperature", "negative temperature", "nan temperature",
    "infinite temperature", "temperature not a number", "negative num",
    "sample missing checkpoint", "grads without doc", "grads empty doc",
    "grads chars outside vocab", "grads pos out of range", "grads negative pos",
    "grads pos not a number", "grads truncated checkpoint", "unknown option",
]  # fmt: skip


@pytest.mark.parametrize("case", BAD_CASE_NAMES)
def test_bad_input_exits_2_with_one_line(capsys, names_file, tmp_path, case):
    ckpt = tmp_path / "done.json"
    code, _, _ = train(capsys, names_file, ckpt, "--samples", 0, steps=2)
    assert code == 0
    before = sorted(p.name for p in tmp_path.iterdir())
    code, out, err = run(capsys, *_bad_cases(tmp_path, names_file, ckpt)[case])
    assert code == 2, err
    assert out == ""
    assert len(err.strip().splitlines()) == 1, err
    assert err.startswith("microgpt-tui: ")
    assert "Traceback" not in err
    created = set(p.name for p in tmp_path.iterdir()) - set(before)
    assert created <= {"empty.txt", "garbage.json", "bad_random.json", "bad_moments.json"}


def test_every_bad_case_is_tested(tmp_path, names_file, capsys):
    ckpt = tmp_path / "done.json"
    train(capsys, names_file, ckpt, "--samples", 0, steps=2)
    assert sorted(_bad_cases(tmp_path, names_file, ckpt)) == sorted(BAD_CASE_NAMES)


# --- the shipped default model --------------------------------------------------------------


def test_sample_on_the_default_model_prints_microgpts_samples(capsys):
    if not default_model_path().is_file():
        pytest.skip("the default model has not been generated")
    code, out, _ = run(capsys, "sample")
    assert code == 0
    assert sample_lines(out) == MICROGPT_SAMPLES


def test_grads_on_the_default_model(capsys):
    if not default_model_path().is_file():
        pytest.skip("the default model has not been generated")
    code, out, _ = run(capsys, "grads", "--doc", "emma", "--json")
    report = json.loads(out)
    loss, nodes, grads = reference_grads(default_model_path(), "emma", None)
    assert code == 0
    assert (report["loss"], report["nodes"], report["grads"]) == (loss, nodes, grads)


# --- the progress bar and the process as a whole ---------------------------------------------


class FakeTerminal:
    def __init__(self) -> None:
        self.text = ""

    def isatty(self) -> bool:
        return True

    def write(self, text: str) -> None:
        self.text += text

    def flush(self) -> None:
        pass


def test_on_a_terminal_the_progress_bar_is_richs_and_ends_with_a_newline():
    # (rewritten: the hand-written bar this tested became rich.progress)
    term = FakeTerminal()
    bar = progress.progress_for(term, 0, 3)
    assert not isinstance(bar, progress.PlainProgress)
    for step in (1, 2, 3):
        bar.update(train_module.StepResult(step, 2.5, 0.01))
    bar.finish()
    shown = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", term.text)  # without the terminal codes
    assert shown.count("\n") == 1 and shown.endswith("\n")  # redrawn in place, then one newline
    assert re.search(r"step 3/3 ━+ loss 2\.5000 [0-9.]+ steps/s ETA", shown)


def test_without_a_terminal_progress_is_plain_lines(monkeypatch):
    clock = iter(range(100))
    monkeypatch.setattr(progress.time, "monotonic", lambda: float(next(clock)))
    stream = FakeTerminal()
    stream.isatty = lambda: False  # type: ignore[method-assign]
    bar = progress.progress_for(stream, 0, 3)
    for step in (1, 2, 3):
        bar.update(train_module.StepResult(step, 2.5, 0.01))
    bar.finish()
    lines = stream.text.splitlines()
    assert len(lines) == 3 and "\r" not in stream.text
    assert lines[-1] == "step 3/3 | loss 2.5000 | 1.0 steps/s | ETA 0:00"


def python(*args: str, **kw) -> subprocess.CompletedProcess:
    env = {**os.environ, "MICROGPT_TUI_OFFLINE": "1"}
    return subprocess.run(
        [sys.executable, *args], capture_output=True, text=True, env=env, timeout=120, **kw
    )


def test_python_dash_m_help_works():
    done = python("-m", "microgpt_tui", "--help")
    assert done.returncode == 0
    for command in ("train", "sample", "grads", "export"):
        assert command in done.stdout
    done = python("-m", "microgpt_tui", "train", "--help")
    assert done.returncode == 0
    assert "--steps" in done.stdout and "exactly as if never stopped" in done.stdout


def test_bad_input_in_a_real_process_has_no_traceback(tmp_path):
    done = python("-m", "microgpt_tui", "train", "--steps", "0")
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    assert done.stdout == ""


def test_train_in_a_real_process_without_textual(names_file, tmp_path):
    script = (
        "import sys; from microgpt_tui.cli import main; code = main(sys.argv[1:]); "
        "assert 'textual' not in sys.modules and 'rich' not in sys.modules; sys.exit(code)"
    )
    argv = ["train", "--data", str(names_file), *TINY, "--steps", "3", "--samples", "2"]
    done = python("-c", script, *argv, "--out", str(tmp_path / "c.json"), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert len(done.stdout.splitlines()) == 2
    assert "step 3/3 | loss" in done.stderr and "\r" not in done.stderr


def test_a_real_ctrl_c_saves_an_intact_checkpoint(names_file, tmp_path):
    if os.name != "posix":
        pytest.skip("needs POSIX signals")
    ckpt, log = tmp_path / "c.json", tmp_path / "log.jsonl"
    argv = ["train", "--data", names_file, *TINY, "--steps", "100000", "--log", log]
    proc = subprocess.Popen(
        [sys.executable, "-m", "microgpt_tui", *map(str, argv), "--out", str(ckpt)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "MICROGPT_TUI_OFFLINE": "1"},
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if log.exists() and len(log.read_text().splitlines()) >= 3:
                break
            time.sleep(0.05)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 130, err
    assert "Traceback" not in err and "interrupted: saved step" in err
    step = load_checkpoint(ckpt).train["step"]
    assert step == len(log.read_text().splitlines()) >= 3
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.json", "log.jsonl", "names.txt"]


# --- the command line's shape --------------------------------------------------------------


def test_version_prints_the_installed_version(capsys):
    from importlib.metadata import version

    assert main(["--version"]) == 0
    assert capsys.readouterr().out == f"microgpt-tui {version('microgpt-tui')}\n"


@pytest.mark.parametrize("command", ["debug", "train", "sample", "grads", "export", "attach"])
def test_every_command_has_a_real_help(capsys, command):
    assert main([command, "--help"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"usage: microgpt-tui {command} ")
    assert "--help" in out


def test_attach_help_is_argparses_and_names_every_option(capsys):
    assert main(["attach", "--help"]) == 0
    out = capsys.readouterr().out
    for option in ("--backward N", "--scope-vars MAP", "--grads", "--json", "SCRIPT [ARGS...]"):
        assert option in out


def test_attach_refuses_an_unknown_option_before_the_script_in_one_line(capsys):
    code, out, err = run(capsys, "attach", "--bogus", "train.py")
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and "unknown option '--bogus' before SCRIPT" in err


def test_the_grads_report_holds_grads_of_any_nesting():
    from engine.report import grads_report, report_json

    class P:
        def __init__(self, grad):
            self.grad = grad

    params = {"w": [[P(1), P(2)], [P(3), P(-4.5)]], "b": [P(0.5), P(0)], "s": P(2)}
    report = grads_report(1.25, "emma", None, 7, params)
    assert list(report) == ["loss", "doc", "pos", "nodes", "grads"]
    assert json.loads(report_json(report))["grads"] == {
        "w": [[1.0, 2.0], [3.0, -4.5]],
        "b": [0.5, 0.0],
        "s": 2.0,
    }


def test_a_non_finite_grad_is_one_line_of_bad_input():
    from engine.errors import InputError
    from engine.report import report_json

    with pytest.raises(InputError, match="not a finite number"):
        report_json({"loss": float("nan"), "grads": {}})


def test_the_grads_table_reads_vectors_and_matrices(capsys):
    from microgpt_tui.subcommands.grads import print_grads_table

    print_grads_table({"w": [[1.0, -2.0], [0.0, 0.5]], "b": [3.0, 0.0, 0.0]})
    out = capsys.readouterr().out
    assert "params  7, 4 with a nonzero gradient" in out
    assert "   1  b[0]     +3.000000e+00" in out and "   2  w[0][1]" in out
    assert "  w                      2x2" in out and "  b                        3" in out


@pytest.mark.parametrize(
    "argv",
    [
        ["--backward", "2", "s.py", "--steps", "5", "--scope-vars=h=hd", "-v"],
        ["s.py", "a", "--grads", "--", "--backward", "9", "--"],
        ["--json", "--", "-odd.py", "--help"],
        ["s.py", "1", "--grads", "--json"],
    ],
)
def test_attach_parses_the_same_through_the_command_line(argv):
    from microgpt_tui import cli
    from microgpt_tui.subcommands.attach import finish_parsing, parse_attach_args

    routed = vars(finish_parsing(cli.parse_args(["attach", *argv])))
    standalone = vars(parse_attach_args(argv))
    assert {k: v for k, v in routed.items() if k not in ("version", "command", "run")} == standalone


# --- reliability: the log, signals, overwriting, divergence (issue 13) ----------------------


def steps_in(log: Path) -> list[int]:
    return [json.loads(line)["step"] for line in log.read_text().splitlines()]


class FailingWrites:
    """A file whose `after`-th write (and every later one) writes half its bytes, then fails."""

    def __init__(self, file, after: int) -> None:
        self._file, self._after, self.calls = file, after, 0

    def write(self, data):
        self.calls += 1
        if self.calls >= self._after:
            self._file.write(data[: len(data) // 2])
            self._file.flush()
            raise OSError(28, "No space left on device")
        return self._file.write(data)

    def __getattr__(self, name):
        return getattr(self._file, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._file.close()


def fail_log_writes(monkeypatch: pytest.MonkeyPatch, log: Path, after: int) -> None:
    """Writes to `log` fail (disk full, half a line written) from the `after`-th on."""
    import builtins

    real_open = builtins.open

    def fake_open(file, *args, **kwargs):
        opened = real_open(file, *args, **kwargs)
        if os.fspath(file) == os.fspath(log):
            return FailingWrites(opened, after)
        return opened

    monkeypatch.setattr(builtins, "open", fake_open)


def test_a_log_that_fails_mid_run_costs_only_the_log(capsys, names_file, tmp_path, monkeypatch):
    # GIVEN a log whose 4th line cannot be written (a full disk)
    ckpt, log = tmp_path / "c.json", tmp_path / "log.jsonl"
    fail_log_writes(monkeypatch, log, after=4)
    # WHEN training 12 steps
    code, out, err = train(capsys, names_file, ckpt, "--log", log, "--samples", 2)
    # THEN the run trains and saves to the end, warns once, and the log is whole lines
    assert code == 0, err
    assert load_checkpoint(ckpt).train["step"] == 12
    assert len(out.splitlines()) == 2
    warnings = [line for line in err.splitlines() if "log" in line and "warning" in line]
    assert len(warnings) == 1 and "stops before step 4" in warnings[0], err
    assert log.read_text().endswith("\n") and steps_in(log) == [1, 2, 3]
    assert "Traceback" not in err


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
def test_a_log_on_a_full_device_still_saves_the_checkpoint(capsys, names_file, tmp_path):
    code, _, err = train(capsys, names_file, tmp_path / "c.json", "--log", "/dev/full", steps=3)
    assert code == 0, err
    assert load_checkpoint(tmp_path / "c.json").train["step"] == 3
    assert err.count("warning") == 1 and "/dev/full" in err and "Traceback" not in err


def test_resuming_drops_the_log_lines_the_checkpoint_never_saw(capsys, names_file, tmp_path):
    # GIVEN a run killed (no chance to save) after its checkpoint at step 4: the log
    # went on to step 7 and ends in half a line
    whole, ckpt, log = tmp_path / "whole.json", tmp_path / "c.json", tmp_path / "log.jsonl"
    train(capsys, names_file, whole, "--log", tmp_path / "whole.jsonl", steps=8)
    train(capsys, names_file, ckpt, "--log", log, steps=8)
    lines = (tmp_path / "whole.jsonl").read_text().splitlines(keepends=True)
    log.write_text("".join(lines[:7]) + lines[7][:10])
    ckpt.write_text(json.dumps({**json.loads(ckpt.read_text()), **partial_run(tmp_path, 4)}))
    # WHEN resuming it with the same log
    code, _, err = run(capsys, "train", "--checkpoint", ckpt, "--data", names_file,
                       "--out", ckpt, "--log", log)  # fmt: skip
    # THEN the log is the uninterrupted run's, step for step
    assert code == 0, err
    assert log.read_text() == (tmp_path / "whole.jsonl").read_text()
    assert "dropped 4 lines" in err  # steps 5, 6, 7 and the half line


def partial_run(tmp_path: Path, steps: int) -> dict:
    """The checkpoint fields of the same run stopped after `steps` of its 8 steps."""
    names = tmp_path / "names.txt"
    args = ["train", "--data", names, *TINY, "--steps", 8, "--out", tmp_path / "part.json"]
    real = train_module.Trainer.run

    def run_some(self, on_step=None, should_stop=None):
        return real(self, on_step, should_stop=lambda: self.step >= steps)

    with pytest.MonkeyPatch.context() as m:
        m.setattr(train_module.Trainer, "run", run_some)
        assert main([str(a) for a in args]) == 0
    data = json.loads((tmp_path / "part.json").read_text())
    (tmp_path / "part.json").unlink()
    # (the history too: a checkpoint's history ends at its step)
    return {"state_dict": data["state_dict"], "train": data["train"], "history": data["history"]}


def test_a_fresh_run_refuses_to_replace_a_checkpoint(capsys, names_file, tmp_path):
    # GIVEN a 4-step checkpoint
    ckpt = tmp_path / "c.json"
    train(capsys, names_file, ckpt, steps=4)
    before = ckpt.read_bytes()
    # WHEN a fresh run is given the same --out
    code, out, err = train(capsys, names_file, ckpt, steps=2)
    # THEN it refuses in one line, before training, and the checkpoint is intact
    assert code == 2 and out == "" and err.count("\n") == 1
    assert "--force" in err and f"--checkpoint {ckpt}" in err
    assert ckpt.read_bytes() == before
    # AND --force replaces it
    code, _, _ = train(capsys, names_file, ckpt, "--force", steps=2)
    assert code == 0 and load_checkpoint(ckpt).train["step"] == 2


def test_resuming_from_another_checkpoint_refuses_to_replace_one(capsys, names_file, tmp_path):
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    train(capsys, names_file, a, steps=2)
    train(capsys, names_file, b, steps=2)
    before = b.read_bytes()
    code, _, err = run(capsys, "train", "--checkpoint", a, "--steps", 4, "--out", b)
    assert code == 2 and "--force" in err and b.read_bytes() == before


def nan_loss_at(monkeypatch: pytest.MonkeyPatch, at_call: int) -> None:
    real, calls = train_module.document_loss, []

    def document_loss(model, tokens):
        calls.append(1)
        loss = real(model, tokens)
        if len(calls) == at_call:
            loss.data = float("nan")
        return loss

    monkeypatch.setattr(train_module, "document_loss", document_loss)


def test_a_diverging_run_stops_at_the_first_nan_and_keeps_the_last_finite_step(
    capsys, names_file, tmp_path, monkeypatch
):
    ckpt, log = tmp_path / "c.json", tmp_path / "log.jsonl"
    nan_loss_at(monkeypatch, 5)
    code, out, err = train(capsys, names_file, ckpt, "--log", log)
    assert code == 2 and out == ""
    ours = [line for line in err.splitlines() if line.startswith("microgpt-tui: ")]
    assert ours == [err.splitlines()[-1]] and "Traceback" not in err
    assert "diverged at step 5: the loss is nan; saved step 4/12 (the last finite)" in ours[0]
    assert load_checkpoint(ckpt).train["step"] == 4 and steps_in(log) == [1, 2, 3, 4]


def test_a_run_diverging_at_its_first_step_saves_nothing(capsys, names_file, tmp_path, monkeypatch):
    ckpt = tmp_path / "c.json"
    nan_loss_at(monkeypatch, 1)
    code, _, err = train(capsys, names_file, ckpt)
    assert code == 2 and "diverged at step 1" in err and "nothing saved" in err
    assert not ckpt.exists()


def start_training(argv: list, **kw) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "microgpt_tui", *map(str, argv)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "MICROGPT_TUI_OFFLINE": "1"}, **kw,
    )  # fmt: skip


def wait_for_lines(log: Path, n: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if log.exists() and len(log.read_text().splitlines()) >= n:
            return
        time.sleep(0.05)


def test_sigterm_saves_the_last_completed_step_like_ctrl_c(names_file, tmp_path):
    if os.name != "posix":
        pytest.skip("needs POSIX signals")
    ckpt, log = tmp_path / "c.json", tmp_path / "log.jsonl"
    argv = ["train", "--data", names_file, *TINY, "--steps", 100000, "--log", log, "--out", ckpt]
    proc = start_training(argv)
    try:
        wait_for_lines(log, 3)
        proc.terminate()
        _, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 143, err
    assert "Traceback" not in err and "terminated: saved step" in err
    assert load_checkpoint(ckpt).train["step"] == len(steps_in(log)) >= 3


# --- Ctrl-C at any moment of a command's start (issue 13 item 13) ---------------------------

OURS = (str(REPO / "microgpt_tui"), str(REPO / "engine"))

CTRL_C_WHILE_IMPORTING = """
import importlib.abc, sys

# the module during whose loading Ctrl-C is pressed; "wrapped:" as Python 3.11 wraps
# one that lands in a class's creation (in a dataclass field's __set_name__)
WRAPPED, _, INTERRUPTED = sys.argv[1].rpartition(":")

class CtrlC(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name == INTERRUPTED and WRAPPED:
            raise RuntimeError("Error calling __set_name__") from KeyboardInterrupt()
        if name == INTERRUPTED:
            raise KeyboardInterrupt
        return None

sys.meta_path.insert(0, CtrlC())
sys.argv[:2] = ["microgpt-tui"]
import runpy
runpy.run_module("microgpt_tui", run_name="__main__")
"""


@pytest.mark.parametrize(
    "module",
    [
        "argparse",
        "microgpt_tui.subcommands.options",
        "microgpt_tui.cli",
        "engine.train",
        "wrapped:engine.train",
        "wrapped:microgpt_tui.subcommands.options",
    ],
)
def test_ctrl_c_while_a_module_loads_is_quiet(module):
    # (argparse and options load with microgpt_tui.cli; engine.train with `sample`)
    done = python("-c", CTRL_C_WHILE_IMPORTING, module, "sample", "--num", "1")
    assert (done.returncode, done.stdout) == (130, ""), done.stderr
    assert done.stderr == "microgpt-tui: interrupted\n"


# What the `microgpt-tui` console script that pip writes does.
CONSOLE_SCRIPT = "import sys; from microgpt_tui.cli import main; sys.exit(main())"


def test_a_runtime_error_that_is_not_a_ctrl_c_stays_an_internal_error():
    from microgpt_tui.subcommands.outcome import report_errors

    def fails() -> int:
        raise RuntimeError("a bug")

    with pytest.raises(RuntimeError, match="a bug"):
        report_errors(fails)


def our_frames(stderr: str) -> list[str]:
    """The traceback lines of `stderr` that are in this project's code."""
    return [line for line in stderr.splitlines() if line.strip().startswith("File") and
            any(folder in line for folder in OURS)]  # fmt: skip


@pytest.mark.slow
def test_ctrl_c_at_random_moments_of_the_start_prints_no_traceback_of_ours():
    if os.name != "posix":
        pytest.skip("needs POSIX signals")
    import random

    rng = random.Random(13)
    interrupted = 0
    for _ in range(40):
        proc = subprocess.Popen(
            [sys.executable, "-c", CONSOLE_SCRIPT, "sample", "--num", "2"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            env={**os.environ, "MICROGPT_TUI_OFFLINE": "1"},
        )  # fmt: skip
        time.sleep(rng.uniform(0.0, 0.25))
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
        # Before our code runs, the interpreter's own start may print its traceback
        # (any Python program's does); from our first line on, none.
        assert our_frames(err) == [], err
        if "microgpt-tui: interrupted" in err:
            assert proc.returncode == 130 and err == "microgpt-tui: interrupted\n", err
            interrupted += 1
        else:
            assert proc.returncode in (0, 1, -signal.SIGINT), err
    assert interrupted >= 10  # most moments fall in the command, not in Python's own start


# --- streaming samples, and the debugger without a terminal (issue 13 item 16) ---------------


def test_samples_stream_and_a_closed_pipe_ends_quietly():
    # GIVEN `sample --num 3000 | head -1`
    proc = subprocess.Popen(
        [sys.executable, "-c", CONSOLE_SCRIPT, "sample", "--num", "3000"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "MICROGPT_TUI_OFFLINE": "1"},
    )  # fmt: skip
    try:
        # THEN the first sample arrives while the rest are still being drawn
        assert proc.stdout.readline() == f"sample  1: {MICROGPT_SAMPLES[0]}\n"
        assert proc.poll() is None
        # AND closing the pipe ends the command at once, with no complaint
        proc.stdout.close()
        assert proc.wait(timeout=60) == 0
        assert proc.stderr.read() == ""
    finally:
        proc.kill()


@pytest.mark.parametrize(
    ("argv", "hint"),
    [
        (["debug", "--doc", "emma"], "`grads` prints the gradients without one"),
        ([], "`grads` prints the gradients without one"),
        (["attach", str(REPO / "tests" / "attach_scripts" / "microgpt_relu.py"), "1"], "--grads"),
    ],
)
def test_the_debugger_without_a_terminal_exits_2_with_a_hint(argv, hint):
    env = {**os.environ, "MICROGPT_TUI_OFFLINE": "1"}
    done = subprocess.run(
        [sys.executable, "-c", CONSOLE_SCRIPT, *argv],
        stdin=subprocess.DEVNULL, capture_output=True, text=True, env=env, timeout=60,
    )  # fmt: skip
    assert done.returncode == 2
    last = done.stderr.splitlines()[-1]
    assert last.startswith("microgpt-tui: the debugger needs a terminal, but stdin and stdout")
    assert hint in last and "Traceback" not in done.stderr
