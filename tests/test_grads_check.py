"""`grads --check NAME`: a gradient checked by nudging, in one line; a bad NAME exits 2."""

from __future__ import annotations

import json
import re

import pytest

from microgpt_tui.cli import main


@pytest.fixture(autouse=True)
def _offline(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MICROGPT_TUI_OFFLINE", "1")


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("name", ["wte[4][0]", "layer0.attn_wq[3][7]", "lm_head[13][2]"])
def test_check_prints_one_line_that_agrees_with_the_grads_report(capsys, name) -> None:
    # GIVEN the default model's gradients of emma's position 2 loss
    code, out, _ = run(capsys, "grads", "--doc", "emma", "--pos", "2", "--json")
    report = json.loads(out)
    matrix, row, col = re.fullmatch(r"([\w.]+)\[(\d+)\]\[(\d+)\]", name).groups()
    analytic = report["grads"][matrix][int(row)][int(col)]
    # WHEN one parameter is checked
    code, out, err = run(capsys, "grads", "--doc", "emma", "--pos", "2", "--check", name)
    # THEN one line shows the quotient beside the same analytic grad, and they agree
    assert code == 0 and err == "" and out.count("\n") == 1
    numeric = float(re.search(r"/2h = (\S+)", out).group(1))
    shown = float(re.search(r"grad = (\S+)", out).group(1))
    assert shown == float(f"{analytic:+.12e}") != 0
    assert abs(numeric - analytic) <= 1e-6 * abs(analytic)
    assert out.startswith(name + "  ") and out.rstrip().endswith(": agrees")
    assert "h = 1e-08" in out


def test_check_as_json_carries_the_numbers(capsys) -> None:
    code, out, _ = run(capsys, "grads", "--doc", "emma", "--check", "wpe[1][3]", "--json")
    check = json.loads(out)
    assert code == 0 and check["parameter"] == "wpe[1][3]" and check["method"] == "replay"
    assert check["agrees"] is True and check["rel_error"] < 1e-6
    assert check["rel_error"] == abs(check["numeric"] - check["analytic"]) / max(
        abs(check["numeric"]), abs(check["analytic"])
    )


def test_a_parameter_the_loss_does_not_use_checks_as_zero(capsys) -> None:
    code, out, _ = run(capsys, "grads", "--doc", "emma", "--check", "wte[25][0]")  # no 'z'
    assert code == 0 and "grad = +0.000000000000e+00" in out
    assert "the loss does not use this parameter" in out


@pytest.mark.parametrize(
    "name, expected",
    [
        ("wte[99][0]", "wte is 27×16 (indices from 0)"),
        ("nope[0][0]", "MATRIX one of wte, wpe, lm_head"),
        ("wte", "expected MATRIX[ROW][COL]"),
    ],
)
def test_a_bad_name_exits_2_with_one_line(capsys, name, expected) -> None:
    code, out, err = run(capsys, "grads", "--doc", "emma", "--check", name)
    assert code == 2 and out == "" and err.count("\n") == 1 and expected in err
    assert err.startswith("microgpt-tui: ")
