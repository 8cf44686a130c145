"""`microgpt-tui export`: what it writes and prints, and every way it refuses (exit 2, one line)."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from conftest import needs_dot

from microgpt_tui.cli import main

HEAD = "pos3.layer0.attn.head1"
NAMES = "emma\nolivia\nava\nisabella\nsophia\ncharlotte\nmia\namelia\nharper\nevelyn\n"


@pytest.fixture(autouse=True)
def _offline(monkeypatch):
    monkeypatch.setenv("MICROGPT_TUI_OFFLINE", "1")


@pytest.fixture
def names(tmp_path: Path) -> Path:
    path = tmp_path / "names.txt"
    path.write_text(NAMES)
    return path


def export_args(names: Path, *extra: str) -> list[str]:
    """A fresh default-size model on a small names file, `emma`, and `extra`."""
    return ["export", "--seed", "42", "--data", str(names), "--doc", "emma", *extra]


def run(capsys, argv: list[str]) -> tuple[int, str, str]:
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


# -- what it writes --------------------------------------------------------------------


def test_a_scope_as_dot_prints_the_path_and_the_node_count(capsys, names, tmp_path):
    out_file = tmp_path / "head.dot"
    code, out, err = run(
        capsys,
        export_args(names, "--pos", "3", "--scope", HEAD, "--level", "scalar", "-o", str(out_file)),
    )
    assert (code, err) == (0, "")
    assert out == f"wrote {out_file} (DOT, 105 nodes, 36 outside inputs as stubs)\n"
    text = out_file.read_text()
    assert text.startswith("digraph") and f"cluster_{HEAD}" in text
    assert "∇ 0<" not in text.split("attn_weights[0]")[1][:400]  # grads are final, not 0


def test_without_pos_it_exports_the_document_loss(capsys, names, tmp_path):
    out_file = tmp_path / "ov.dot"
    argv = export_args(names, "--overview", "--level", "scalar", "-o", str(out_file))
    code, out, _ = run(capsys, argv)
    assert code == 0 and "scope boxes" in out
    text = out_file.read_text()
    # every position's loss, and their mean (the document loss) at the end
    assert '"box_pos4.loss" -> box_loss' in text
    assert "box_pos4.lm_head" in text


def test_a_node_with_its_consumers(capsys, names, tmp_path):
    out_file = tmp_path / "n.dot"
    argv = export_args(names, "--pos", "3", "--node", "5000", "--depth", "1", "--consumers")
    code, out, _ = run(capsys, [*argv, "-o", str(out_file)])
    assert code == 0 and out.startswith(f"wrote {out_file} (DOT, ")
    text = out_file.read_text()
    assert "penwidth=3" in next(line for line in text.splitlines() if "\tn5000 [" in line)
    assert text.count("penwidth=3") == 1  # the node asked for stands out, and only it


@needs_dot
@pytest.mark.parametrize(
    ("ext", "magic"), [("svg", b"<?xml"), ("png", b"\x89PNG\r\n\x1a\n"), ("pdf", b"%PDF-")]
)
def test_images_by_extension(capsys, names, tmp_path, ext, magic):
    out_file = tmp_path / f"head.{ext}"
    argv = export_args(
        names, "--pos", "3", "--scope", HEAD, "--level", "scalar", "-o", str(out_file)
    )
    code, out, err = run(capsys, [*argv, "--theme", "dark", "--title", "Head 1"])
    assert (code, err) == (0, ""), err
    assert out.startswith(f"wrote {out_file} ({ext.upper()}, 105 nodes")
    assert out_file.read_bytes().startswith(magic)
    if ext == "svg":
        assert "Head 1" in " ".join(ET.parse(out_file).getroot().itertext())


@needs_dot
def test_format_overrides_the_extension_and_dpi_sizes_png(capsys, names, tmp_path):
    out_file = tmp_path / "picture.img"
    argv = export_args(names, "--pos", "3", "--scope", HEAD, "-o", str(out_file))
    code, _, err = run(capsys, [*argv, "--format", "png", "--dpi", "30"])
    assert code == 0, err
    data = out_file.read_bytes()
    assert data.startswith(b"\x89PNG") and int.from_bytes(data[16:20], "big") < 1000


def test_a_scope_is_drawn_as_vectors_unless_scalar_is_asked(capsys, names, tmp_path):
    out_file = tmp_path / "head.dot"
    code, out, err = run(
        capsys, export_args(names, "--pos", "3", "--scope", HEAD, "-o", str(out_file))
    )
    assert (code, err) == (0, "")
    assert out == f"wrote {out_file} (DOT, 3 vector ops and 6 boxes for 105 nodes)\n"
    text = out_file.read_text()
    assert "q·k/√d" in text and "Σ w·v" in text and "layout=neato" in text


def test_the_overview_is_one_tokens_pass_as_vectors(capsys, names, tmp_path):
    out_file = tmp_path / "ov.dot"
    code, out, _ = run(capsys, export_args(names, "--pos", "3", "--overview", "-o", str(out_file)))
    assert code == 0 and "vector ops" in out
    text = out_file.read_text()
    assert "tok + pos" in text and "−log p[target]" in text and "linear lm_head" in text


def test_frames_are_numbered_images_of_the_backward_pass(capsys, names, tmp_path):
    folder = tmp_path / "frames"
    argv = export_args(names, "--pos", "3", "--scope", HEAD, "--frames", str(folder))
    code, out, err = run(capsys, [*argv, "--format", "dot"])
    assert (code, err) == (0, "")
    names_written = sorted(p.name for p in folder.iterdir())
    assert names_written == [f"{HEAD}-{k:03d}.dot" for k in range(4)]
    assert out == f"wrote 4 frames to {folder} (DOT: {names_written[0]} to {names_written[-1]})\n"


# -- every refusal: exit 2, one line on stderr, no traceback, nothing written -------------


def fake_dot(tmp_path: Path, body: str) -> str:
    """PATH with a `dot` stand-in (a shell script) in front."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    script = bin_dir / "dot"
    script.write_text("#!/bin/sh\n" + body + "\n")
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return str(bin_dir) + os.pathsep + os.environ.get("PATH", "")


ERRORS = {
    "unknown scope": (
        ["--pos", "3", "--scope", "pos3.layer0.atn", "-o", "{out}.svg"],
        "no scope 'pos3.layer0.atn' in this graph; did you mean pos3.layer0.attn",
    ),
    "unknown node": (["--pos", "3", "--node", "999999", "-o", "{out}.svg"], "node #999999"),
    "unknown extension": (["--overview", "-o", "{out}.jpg"], "cannot tell the format"),
    "no extension": (["--overview", "-o", "{out}"], "no extension"),
    "extension in flags": (["--overview", "-o", "{out}.jpg"], "or .dot, or give --format"),
    "unknown --format": (["--overview", "-o", "{out}.svg", "--format", "gif"], "invalid choice"),
    "missing directory": (["--overview", "-o", "{tmp}/no/such/dir/x.svg"], "does not exist"),
    "a directory": (["--overview", "--format", "svg", "-o", "{tmp}"], "it is a directory"),
    "too many nodes": (
        ["--pos", "3", "--scope", "pos3.layer0", "--level", "scalar", "-o", "{out}.svg"],
        "more than the limit of 1,000",
    ),
    "too many for a lower limit": (
        [
            "--pos",
            "3",
            "--scope",
            HEAD,
            "--level",
            "scalar",
            "--max-nodes",
            "50",
            "-o",
            "{out}.svg",
        ],
        "try --overview, a narrower scope (e.g. pos3.layer0.attn.head1.softmax) or --max-nodes 141",
    ),
    "consumers without a node": (
        ["--overview", "--consumers", "-o", "{out}.svg"],
        "--consumers works only with --node",
    ),
    "dpi for svg": (["--overview", "--dpi", "100", "-o", "{out}.svg"], "--dpi applies to PNG"),
    "bad pos": (["--pos", "9", "--overview", "-o", "{out}.svg"], "position 9 is out of range"),
    "no selection": (["-o", "{out}.svg"], "one of the arguments"),
    "timeout 0": (["--overview", "--timeout", "0", "-o", "{out}.svg"], "--timeout must be"),
    "a node as vectors": (
        ["--pos", "3", "--node", "5", "--level", "vector", "-o", "{out}.svg"],
        "a --node is drawn as scalars",
    ),
    "frames of scalars": (
        ["--pos", "3", "--overview", "--level", "scalar", "--frames", "{tmp}/f"],
        "--frames steps vector ops",
    ),
    "frames and a file": (
        ["--pos", "3", "--overview", "--frames", "{tmp}/f", "-o", "{out}.svg"],
        "not allowed with argument",
    ),
}


@pytest.mark.parametrize("case", list(ERRORS))
def test_bad_input_exits_2_with_one_line(capsys, names, tmp_path, case):
    extra, expected = ERRORS[case]
    out = tmp_path / "out"
    argv = [a.format(out=out, tmp=tmp_path) for a in extra]
    code, stdout, stderr = run(capsys, export_args(names, *argv))
    assert code == 2
    assert stdout == ""
    assert stderr.count("\n") == 1 and stderr.startswith("microgpt-tui: ")
    assert "Traceback" not in stderr
    assert expected in stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["names.txt"]  # nothing written


def test_without_dot_images_say_how_to_install_graphviz_and_dot_still_works(
    capsys, names, tmp_path, monkeypatch
):
    monkeypatch.setenv("PATH", str(tmp_path / "nowhere"))
    argv = export_args(names, "--pos", "3", "--scope", HEAD)
    code, _, err = run(capsys, [*argv, "-o", str(tmp_path / "head.png")])
    assert code == 2 and err.count("\n") == 1
    assert "`dot` program is not on PATH" in err and "apt-get install graphviz" in err
    assert "brew install graphviz" in err
    code, out, _ = run(capsys, [*argv, "-o", str(tmp_path / "head.dot")])
    assert code == 0 and (tmp_path / "head.dot").exists()


@pytest.mark.skipif(os.name != "posix", reason="a shell-script stand-in for dot")
def test_a_timeout_exits_2_and_keeps_the_old_file(capsys, names, tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", fake_dot(tmp_path, "exec sleep 30"))
    out_file = tmp_path / "head.svg"
    out_file.write_text("the old picture")
    argv = export_args(names, "--pos", "3", "--scope", HEAD, "--timeout", "0.3")
    code, _, err = run(capsys, [*argv, "-o", str(out_file)])
    assert code == 2 and err.count("\n") == 1 and "Traceback" not in err
    assert "dot timed out: stopped after 0.3 s" in err
    assert err.rstrip().endswith("or a longer --timeout")  # the engine's advice, in flags
    assert out_file.read_text() == "the old picture"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bin", "head.svg", "names.txt"]


# -- in a real process ---------------------------------------------------------------------


def python(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "MICROGPT_TUI_OFFLINE": "1"}
    return subprocess.run(
        [sys.executable, *args], capture_output=True, text=True, env=env, timeout=120, cwd=cwd
    )


def test_a_real_process_exports_without_importing_textual(names, tmp_path):
    script = (
        "import sys; from microgpt_tui.cli import main; code = main(sys.argv[1:]); "
        "assert 'textual' not in sys.modules and 'rich' not in sys.modules; sys.exit(code)"
    )
    argv = export_args(names, "--pos", "3", "--scope", HEAD, "-o", "head.dot")
    done = python("-c", script, *argv, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("wrote head.dot") and (tmp_path / "head.dot").exists()


def test_a_real_process_refuses_in_one_line(names, tmp_path):
    argv = export_args(names, "--pos", "3", "--scope", "nope", "-o", "x.svg")
    done = python("-m", "microgpt_tui", *argv, cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    assert "no scope 'nope'" in done.stderr and done.stdout == ""


@pytest.mark.parametrize("timeout", ["nan", "inf", "1e300", "0", "-1", "3601", "soon"])
def test_a_timeout_must_be_finite_positive_and_sane(capsys, names, tmp_path, timeout):
    # (issue 13 item 9: nan, inf and 1e300 used to reach dot and end in a traceback)
    argv = export_args(names, "--overview", "--timeout", timeout, "-o", str(tmp_path / "x.svg"))
    code, stdout, stderr = run(capsys, argv)
    assert code == 2 and stdout == ""
    assert stderr.count("\n") == 1 and "Traceback" not in stderr
    assert f"--timeout must be more than 0 and at most 3600 seconds, got '{timeout}'" in stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["names.txt"]
