"""`export --paths-to NODE --top K`: the routes carrying most of a gradient, on one slide."""

from __future__ import annotations

import shutil

import pytest

from engine.explain.final_grads import FinalGrads
from engine.explain.routes import routes
from engine.export import fmt4
from engine.session import DebugSession
from engine.workspace import open_workspace
from microgpt_tui.cli import main


@pytest.fixture(autouse=True)
def _offline(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MICROGPT_TUI_OFFLINE", "1")


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_paths_to_a_parameter_draws_its_top_routes(capsys, tmp_path) -> None:
    out_file = tmp_path / "routes.dot"
    code, out, err = run(
        capsys, "export", "--doc", "emma", "--pos", 2, "--paths-to", "wte[4][0]", "--top", 2,
        "-o", out_file,
    )  # fmt: skip
    assert code == 0 and err == ""
    ws = open_workspace()
    session = DebugSession(ws.model, ws.tokenizer, "emma", 2)
    found = routes(FinalGrads(session.capture), session.parameter("wte[4][0]"), 2)
    assert out.startswith(f"wrote {out_file} (DOT, the top 2 of {found.count:,} paths: ")
    source = out_file.read_text()
    assert "The 2 routes carrying most of wte[4][0]" in source
    assert f"① {fmt4(found.paths[0].product)}" in source
    assert f"② {fmt4(found.paths[1].product)}" in source


def test_paths_to_a_node_id(capsys, tmp_path) -> None:
    code, out, _ = run(
        capsys, "export", "--doc", "emma", "--paths-to", "#100", "-o", tmp_path / "r.dot"
    )
    assert code == 0 and "the top 3 of " in out


@pytest.mark.skipif(shutil.which("dot") is None, reason="needs Graphviz's dot")
def test_paths_to_as_svg(capsys, tmp_path) -> None:
    code, _, _ = run(
        capsys, "export", "--doc", "emma", "--paths-to", "wte[4][0]", "-o", tmp_path / "r.svg"
    )
    assert code == 0 and (tmp_path / "r.svg").read_text().lstrip().startswith("<?xml")


@pytest.mark.parametrize(
    "args, expected",
    [
        (["--paths-to", "wte[25][0]"], "no node 'wte[25][0]'"),
        (["--paths-to", "99999999"], "node #99999999 does not exist"),
        (["--overview", "--top", "2"], "--top works only with --paths-to"),
        (["--paths-to", "wte[4][0]", "--top", "0"], "argument --top: expected a positive"),
    ],
)
def test_bad_paths_input_exits_2_with_one_line(capsys, tmp_path, args, expected) -> None:
    code, out, err = run(capsys, "export", "--doc", "emma", *args, "-o", tmp_path / "r.dot")
    assert code == 2 and out == "" and err.count("\n") == 1 and expected in err
    assert not (tmp_path / "r.dot").exists()
