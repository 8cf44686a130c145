"""Graphviz export: the DOT itself, rendering, atomic writes, failures, and the app's dialog."""

from __future__ import annotations

import os
import re
import shutil
import stat
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from conftest import VOCAB, make_model, needs_dot

from engine.config import GPTConfig
from engine.data import Tokenizer
from engine.errors import InputError
from engine.export import (
    DotMissing,
    DotTimedOut,
    Selection,
    TooManyNodes,
    UnknownFormat,
    build_digraph,
    export,
    outside_inputs,
    overview,
    select,
)
from engine.session import DebugSession

HEAD = "pos3.layer0.attn.head1"
HEAD_DIM = 4  # the default config: n_embd 16 / 4 heads


@pytest.fixture(scope="module")
def session() -> DebugSession:
    """`emma` at position 3 with the default config, after a full backward pass."""
    s = DebugSession(make_model(), Tokenizer(VOCAB), "emma", pos=3)
    s.backward.run_to_end()
    return s


def node_line(source: str, name: str) -> str:
    """The DOT statement that declares node `name` (e.g. `n12`, `s7`)."""
    match = re.search(rf"^\s*{re.escape(name)} \[.*$", source, re.MULTILINE)
    assert match, f"node {name} is not in the DOT"
    return match.group(0)


def declared(source: str, prefix: str) -> set[int]:
    """Ids of the nodes declared with a prefix: `n` for nodes, `s` for stubs."""
    return {int(m) for m in re.findall(rf"^\s*{prefix}(\d+) \[", source, re.MULTILINE)}


def edges(source: str) -> list[tuple[str, str]]:
    return re.findall(r"^\s*(\S+) -> (\S+)", source, re.MULTILINE)


def labelled(session: DebugSession, name: str, i: int, scope: str = HEAD):
    return session.trace.vector(scope, name)[i]


# -- a scope ----------------------------------------------------------------------------


def test_a_scope_is_a_cluster_with_its_name_and_nested_scopes_nest(session):
    source = build_digraph(session, Selection.of_scope(HEAD)).source
    assert f'subgraph "cluster_{HEAD}"' in source
    assert f'subgraph "cluster_{HEAD}.softmax"' in source
    assert f"<b>{HEAD}</b>" in source  # the outer cluster names its whole path
    assert "<b>softmax</b>" in source  # the inner one its own name
    assert "rankdir=LR" in source
    # the softmax cluster sits inside the head's: it opens before the head's closes
    outer = source.index(f'subgraph "cluster_{HEAD}"')
    inner = source.index(f'subgraph "cluster_{HEAD}.softmax"')
    assert outer < inner


def test_every_node_of_the_scope_is_drawn_with_every_edge(session):
    source = build_digraph(session, Selection.of_scope(HEAD)).source
    inside = {n.id for n in session.nodes if n.scope == HEAD or n.scope.startswith(HEAD + ".")}
    assert len(inside) > 50
    assert declared(source, "n") == inside
    expected = sum(len(session.nodes[i]._children) for i in inside)
    assert len(edges(source)) == expected


def test_node_labels_show_label_or_op_value_and_grad_to_4_significant_digits(session):
    source = build_digraph(session, Selection.of_scope(HEAD)).source
    w = labelled(session, "attn_weights", 2)
    assert w.grad != 0  # the backward pass ran, so the grad line can fail
    line = node_line(source, f"n{w.id}")
    assert "attn_weights[2]" in line
    assert format(w.data, ".4g") in line and format(w.grad, ".4g") in line
    assert f"∇ {format(w.grad, '.4g')}" in line
    # an unlabelled op shows its op
    product = next(n for n in session.nodes if n.scope == HEAD and n.op == "*" and not n.label)
    line = node_line(source, f"n{product.id}")
    assert "<b>×</b>" in line and format(product.data, ".4g") in line


def test_inputs_from_outside_are_dashed_stubs_with_their_label(session):
    source = build_digraph(session, Selection.of_scope(HEAD)).source
    nodes = [n for n in session.nodes if n.scope == HEAD or n.scope.startswith(HEAD + ".")]
    ids = {n.id for n in nodes}
    outside = {c.id for n in nodes for c in n._children if c.id not in ids}
    # q, k and v of this head: q at position 3, k and v at positions 0..3
    assert len(outside) == HEAD_DIM + 2 * 4 * HEAD_DIM
    assert declared(source, "s") == outside
    k0 = session.trace.vector("pos0.layer0.attn", "k")[HEAD_DIM]  # head 1's first k at pos 0
    line = node_line(source, f"s{k0.id}")
    assert "dashed" in line and f"k[{HEAD_DIM}] · pos0" in line
    # stubs feed the nodes by dashed edges, and are never drawn as full nodes
    assert not declared(source, "n") & outside
    assert re.search(rf"^\s*s{k0.id} -> n\d+ \[style=dashed\]", source, re.MULTILINE)


def test_the_highlighted_node_stands_out_and_only_it(session):
    w = labelled(session, "attn_weights", 2)
    source = build_digraph(session, Selection.of_scope(HEAD), highlight=w.id).source
    assert "penwidth=3" in node_line(source, f"n{w.id}")
    assert source.count("penwidth=3") == 1
    plain = build_digraph(session, Selection.of_scope(HEAD)).source
    assert "penwidth=3" not in plain


def test_params_constants_and_ops_differ_in_shape_and_colour(session):
    # the first step of q[0] = sum(w * x): `0 + w[0][0] * x[0]`, a constant and a product
    start = next(
        n
        for n in session.nodes
        if n.scope == "pos3.layer0.attn"
        and n.op == "+"
        and [c.op for c in n._children] == ["*", "const"]
        and n._children[0]._children[0].op == "param"
    )
    source = build_digraph(session, Selection.of_node(start.id, depth=2)).source
    kinds = {}
    for node in select(session, Selection.of_node(start.id, depth=2)).nodes:
        line = node_line(source, f"n{node.id}")
        shape = re.search(r"shape=(\w+)", line).group(1)
        fill = re.search(r'fillcolor="([^"]+)"', line).group(1)
        style = re.search(r'style="?([\w,]+)', line).group(1)
        kinds.setdefault(node.op if node.op in ("param", "const") else "op", set()).add(
            (shape, fill, style)
        )
    assert set(kinds) == {"param", "const", "op"}
    assert all(len(looks) == 1 for looks in kinds.values())  # one look per kind
    assert len({next(iter(looks)) for looks in kinds.values()}) == 3  # three different looks


def test_a_node_and_its_inputs_down_to_a_depth(session):
    w = labelled(session, "attn_weights", 0)
    sel = select(session, Selection.of_node(w.id, depth=1))
    assert {n.id for n in sel.nodes} == {w.id, *(c.id for c in w._children)}
    assert sel.stubs == outside_inputs(sel.nodes)
    source = build_digraph(session, Selection.of_node(w.id, depth=1)).source
    assert declared(source, "n") == {n.id for n in sel.nodes}


def test_a_node_and_its_consumers(session):
    w = labelled(session, "attn_weights", 0)
    sel = select(session, Selection.of_node(w.id, depth=1, consumers=True))
    assert {n.id for n in sel.nodes} == {w.id, *session.consumers.of(w.id)}
    assert len(sel.nodes) == 1 + HEAD_DIM  # one product per component of head_out
    # the consumers' other inputs (the v values) and the node's own (exp, 1/sum) are stubs
    assert {n.id for n in sel.stubs} == {
        c.id for n in sel.nodes for c in n._children if c.id not in {m.id for m in sel.nodes}
    }
    assert len(sel.stubs) == HEAD_DIM + 2


def test_theme_and_title(session):
    dark = build_digraph(session, Selection.of_scope(HEAD), theme="dark", title="Head <1>").source
    light = build_digraph(session, Selection.of_scope(HEAD)).source
    assert 'bgcolor="#1b1f24"' in dark and "bgcolor=white" in light
    assert "Head &lt;1&gt;" in dark  # escaped: a title is text, never markup
    assert "labelloc=t" in dark and "labelloc" not in light
    with pytest.raises(InputError, match="unknown theme"):
        build_digraph(session, Selection.of_scope(HEAD), theme="pink")


# -- the overview ------------------------------------------------------------------------


def test_the_overview_counts_every_node_once(session):
    ov = overview(session.nodes)
    assert sum(b.count for b in ov.boxes.values()) == len(session.nodes) == ov.total
    # helper scopes (softmax, rmsnorm) are folded into their caller
    head = ov.boxes[HEAD]
    assert head.count == sum(1 for n in session.nodes if n.scope.startswith(HEAD))
    assert not any(k.endswith(".softmax") or k.endswith(".rmsnorm") for k in ov.boxes)
    # one box per parameter matrix
    assert ov.boxes["params.layer0.attn_wq"].count == 16 * 16
    assert ov.boxes["params.layer0.attn_wq"].kind == "params"


def test_overview_edges_count_the_values_that_flow(session):
    ov = overview(session.nodes)
    # into head 1 at position 3: its q, k and v slices from this position's attention...
    assert ov.edges[("pos3.layer0.attn", HEAD)] == 3 * HEAD_DIM
    # ... and the k and v slices cached at earlier positions
    for t in range(3):
        assert ov.edges[(f"pos{t}.layer0.attn", HEAD)] == 2 * HEAD_DIM
    # out of the head: its output, into the part of attention after the heads (attn_wo)
    assert ov.edges[(HEAD, "pos3.layer0.attn#after")] == HEAD_DIM
    assert ov.edges[("params.layer0.attn_wq", "pos3.layer0.attn")] == 16 * 16
    # the attention scope is split around its heads, so the picture flows one way
    assert ov.boxes["pos3.layer0.attn"].title == "attn · before heads"
    assert ov.boxes["pos3.layer0.attn#after"].title == "attn · after heads"
    assert ("pos3.layer0.attn#after", HEAD) not in ov.edges


def test_the_overview_dot_shows_counts_and_highlights_the_box(session):
    w = labelled(session, "attn_weights", 2)
    source = build_digraph(session, Selection.overview(), highlight=w.id).source
    head = sum(1 for n in session.nodes if n.scope.startswith(HEAD))
    line = node_line(source, f'"box_{HEAD}"')
    assert f"{head} nodes" in line and "penwidth=3 " in line
    assert len(re.findall(r"penwidth=3[ \]]", source)) == 1  # edges say 3.00 at most
    assert re.search(rf'"box_pos3.layer0.attn" -> "box_{HEAD}" \[label=12\b', source)
    assert "256 params" in source
    boxes = re.findall(r'^\s*"?box_[^" ]*"? \[', source, re.MULTILINE)  # declarations, not edges
    assert len(boxes) == len(overview(session.nodes).boxes)


def test_the_document_overview_has_every_position_and_the_mean_loss():
    s = DebugSession(make_model(), Tokenizer(VOCAB), "emma", whole_document=True)
    ov = overview(s.nodes)
    for t in range(5):
        assert f"pos{t}.lm_head" in ov.boxes
    assert "loss" in ov.boxes  # the document mean
    assert ov.edges[("pos4.loss", "loss")] == 1


# -- bad selections ----------------------------------------------------------------------


def test_an_unknown_scope_suggests_close_ones(session):
    with pytest.raises(InputError, match=r"no scope 'pos3\.layer0\.atn'.*pos3\.layer0\.attn"):
        select(session, Selection.of_scope("pos3.layer0.atn"))
    with pytest.raises(InputError, match="scopes start with params, pos0"):
        select(session, Selection.of_scope("zzz"))


def test_an_unknown_node_says_which_ids_exist(session):
    with pytest.raises(InputError, match=rf"#{len(session.nodes)} does not exist.*0\.\."):
        select(session, Selection.of_node(len(session.nodes)))


def test_too_large_a_selection_is_refused_with_three_ways_out(session, tmp_path):
    with pytest.raises(TooManyNodes) as caught:
        export(session, Selection.of_scope("pos3.layer0.attn"), tmp_path / "a.dot")
    error = caught.value
    assert isinstance(error, InputError)  # whatever catches InputError still does
    # the data, for the CLI to word in flags and the dialog in fields
    attn = session.find_scope("pos3.layer0.attn").total
    assert (error.what, error.inside, error.limit) == ("scope pos3.layer0.attn", attn, 1000)
    assert error.drawn == attn + error.outside and error.outside > 0
    assert error.narrower.startswith("pos3.layer0.attn.head") and not error.by_depth
    assert session.find_scope(error.narrower).total <= 1000
    # the engine's own message: one line, three ways out, and no command-line flag
    message = str(error)
    assert "more than the limit of 1,000" in message and "\n" not in message
    assert "the overview" in message and "a higher node limit" in message
    assert "a narrower scope (e.g. pos3.layer0.attn.head" in message
    assert "--" not in message
    assert not (tmp_path / "a.dot").exists()
    # raising the limit lets it through
    done = export(
        session, Selection.of_scope("pos3.layer0.attn"), tmp_path / "a.dot", max_nodes=5000
    )
    assert done.nodes > 1000 and (tmp_path / "a.dot").exists()


@pytest.mark.parametrize(
    ("name", "fmt", "match"),
    [
        ("a.jpg", None, r"cannot tell the format of .*a\.jpg"),
        ("a", None, "no extension"),
        ("a.svg", "gif", "unknown format 'gif'"),
    ],
)
def test_unknown_formats_are_refused(session, tmp_path, name, fmt, match):
    with pytest.raises(UnknownFormat, match=match) as caught:
        export(session, Selection.of_scope(HEAD), tmp_path / name, fmt)
    assert (caught.value.path, caught.value.given) == (str(tmp_path / name), fmt)
    assert "--" not in str(caught.value)


def test_a_node_selection_over_the_limit_is_narrowed_by_depth(session, tmp_path):
    w = labelled(session, "attn_weights", 2)
    with pytest.raises(TooManyNodes) as caught:
        export(session, Selection.of_node(w.id, depth=3), tmp_path / "a.dot", max_nodes=5)
    assert caught.value.by_depth and caught.value.narrower is None
    assert "a smaller depth" in str(caught.value) and "--" not in str(caught.value)


def test_unwritable_paths_are_refused(session, tmp_path):
    (tmp_path / "file").write_text("x")
    for path, match in [
        (tmp_path / "missing" / "a.dot", "does not exist"),
        (tmp_path, "is a directory"),
        (tmp_path / "file" / "a.dot", "does not exist"),
    ]:
        with pytest.raises(InputError, match=match):
            export(session, Selection.of_scope(HEAD), path, "dot")


# -- writing -----------------------------------------------------------------------------


def test_dot_needs_no_binary(session, tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    done = export(session, Selection.of_scope(HEAD), tmp_path / "head.dot")
    text = done.path.read_text()
    assert text.startswith("digraph") and f"cluster_{HEAD}" in text
    assert (done.nodes, done.stubs) == (105, 36)
    with pytest.raises(DotMissing, match=r"`dot` program is not on PATH.*apt-get install graphviz"):
        export(session, Selection.of_scope(HEAD), tmp_path / "head.svg")
    assert not (tmp_path / "head.svg").exists()


def fake_dot(tmp_path: Path, body: str) -> Path:
    """A directory with a `dot` that runs `body` (sh) instead of Graphviz; put it first on PATH."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    script = bin_dir / "dot"
    script.write_text("#!/bin/sh\n" + body + "\n")
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return bin_dir


def path_with(bin_dir: Path) -> str:
    return str(bin_dir) + os.pathsep + os.environ.get("PATH", "")


@pytest.mark.skipif(os.name != "posix", reason="a shell-script stand-in for dot")
def test_a_timeout_says_so_and_leaves_the_old_file_intact(session, tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", path_with(fake_dot(tmp_path, "exec sleep 30")))
    out = tmp_path / "head.svg"
    out.write_text("the old picture")
    with pytest.raises(DotTimedOut, match=r"timed out: stopped after 0\.3 s rendering scope") as e:
        export(session, Selection.of_scope(HEAD), out, timeout=0.3)
    assert (e.value.seconds, e.value.what) == (0.3, f"scope {HEAD}")
    assert "a longer time limit" in str(e.value) and "--" not in str(e.value)
    assert out.read_text() == "the old picture"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bin", "head.svg"]  # no temp left


@pytest.mark.skipif(os.name != "posix", reason="a shell-script stand-in for dot")
def test_a_failing_dot_leaves_the_old_file_intact(session, tmp_path, monkeypatch):
    # a dot that writes half a file, then fails
    body = (
        'for a; do [ "$prev" = "-o" ] && out="$a"; prev="$a"; done\n'
        'echo "<svg half" > "$out"; echo "Error: out of memory" >&2; exit 1'
    )
    monkeypatch.setenv("PATH", path_with(fake_dot(tmp_path, body)))
    out = tmp_path / "head.svg"
    out.write_text("the old picture")
    with pytest.raises(InputError, match="dot failed to render scope .*: Error: out of memory"):
        export(session, Selection.of_scope(HEAD), out)
    assert out.read_text() == "the old picture"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bin", "head.svg"]


def test_an_existing_file_is_replaced_whole(session, tmp_path):
    out = tmp_path / "head.dot"
    out.write_text("x" * 1_000_000)  # longer than the new file: no tail may survive
    export(session, Selection.of_scope(HEAD), out)
    text = out.read_text()
    assert text.startswith("digraph") and text.rstrip().endswith("}")
    assert os.listdir(tmp_path) == ["head.dot"]


@needs_dot
def test_svg_is_valid_xml_with_the_labels(session, tmp_path):
    done = export(session, Selection.of_scope(HEAD), tmp_path / "head.svg")
    root = ET.parse(done.path).getroot()
    assert root.tag.endswith("svg")
    text = " ".join(t for t in root.itertext())
    assert "attn_weights[2]" in text and "softmax" in text and HEAD in text


@needs_dot
def test_png_has_the_png_signature_and_dpi_scales_it(session, tmp_path):
    small = export(session, Selection.of_scope(HEAD), tmp_path / "a.png", dpi=36).path
    large = export(session, Selection.of_scope(HEAD), tmp_path / "b.png", dpi=72).path
    for path in (small, large):
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    width = lambda p: int.from_bytes(p.read_bytes()[16:20], "big")  # IHDR
    assert 1.8 < width(large) / width(small) < 2.2


@needs_dot
def test_pdf_has_the_pdf_signature(session, tmp_path):
    done = export(session, Selection.overview(), tmp_path / "overview.pdf")
    assert done.path.read_bytes()[:5] == b"%PDF-"
    assert done.overview and done.nodes == len(session.nodes)


@needs_dot
def test_a_format_given_explicitly_wins_over_the_extension(session, tmp_path):
    done = export(session, Selection.of_scope(HEAD), tmp_path / "picture.out", "svg")
    assert done.format == "svg" and b"<svg" in done.path.read_bytes()


def test_the_engine_export_imports_no_ui():
    script = (
        "import sys, engine.export; "
        "assert 'textual' not in sys.modules and 'rich' not in sys.modules, 'UI imported'"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


# -- the app's dialog -------------------------------------------------------------------


def make_host(session: DebugSession, node_id: int | None, scope: str):
    """Just enough app to push the dialog, and to hear what it returns."""
    return make_host_with(session, node_id, scope)


@pytest.fixture
def small_session() -> DebugSession:
    s = DebugSession(make_model(GPTConfig(n_embd=8, n_head=2)), Tokenizer(VOCAB), "emma", pos=2)
    s.backward.run_to_end()
    return s


async def test_the_dialog_is_prefilled_and_writes_the_file(small_session, tmp_path):
    from textual.widgets import Input, RadioSet, Select

    from microgpt_tui.screens.export import ExportScreen

    scope = "pos2.layer0.attn.head1"
    node = small_session.trace.vector(scope, "attn_weights")[1]
    app = make_host(small_session, node.id, scope)
    async with app.run_test(size=(100, 40)) as pilot:
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, ExportScreen)
        assert screen.query_one("#export-scope", Input).value == scope
        assert screen.query_one("#export-kind", RadioSet).pressed_button.id == "kind-scope"
        assert screen.query_one("#export-format", Select).value == "svg"
        assert screen.query_one("#export-path", Input).value == f"./{scope}.svg"
        assert screen.query_one("#export-level", RadioSet).pressed_button.id == "level-vector"
        await pilot.click("#level-scalar")  # every node, as this test was written for
        out = tmp_path / "head.svg"
        screen.query_one("#export-path", Input).value = str(out)
        await pilot.click("#export-button")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert app.result == out  # dismissed with the path
        assert not isinstance(app.screen, ExportScreen)
        notes = [n.message for n in app._notifications]
        assert any(m.startswith("Exported ") and str(out) in m for m in notes)
    if shutil.which("dot"):
        assert ET.parse(out).getroot().tag.endswith("svg")
        assert "attn_weights[1]" in out.read_text()


async def test_the_dialog_writes_dot_for_a_node_and_turns_errors_into_notifications(
    small_session, tmp_path
):
    from textual.widgets import Input, Select

    scope = "pos2.layer0.attn.head1"
    node = small_session.trace.vector(scope, "attn_weights")[1]
    app = make_host(small_session, node.id, scope)
    async with app.run_test(size=(100, 40)) as pilot:
        await pilot.pause()
        screen = app.screen
        await pilot.click("#kind-node")
        screen.query_one("#export-format", Select).value = "dot"
        await pilot.pause()
        assert screen.query_one("#export-path", Input).value == f"./node{node.id}.dot"
        # a directory that does not exist: a notification, and the dialog stays open
        screen.query_one("#export-path", Input).value = str(tmp_path / "no" / "x.dot")
        await pilot.click("#export-button")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert app.screen is screen
        errors = [n for n in app._notifications if n.severity == "error"]
        assert errors and "does not exist" in errors[-1].message
        assert "does not exist" in str(screen.query_one("#export-error").render())
        # fixed, and Enter in the file field exports: it writes, with the node highlighted
        out = tmp_path / "node.dot"
        screen.query_one("#export-path", Input).value = str(out)
        screen.query_one("#export-path", Input).focus()
        await pilot.press("enter")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert app.result == out
    text = out.read_text()
    assert text.startswith("digraph") and "penwidth=3" in node_line(text, f"n{node.id}")


async def test_escape_cancels_the_dialog(small_session):
    from microgpt_tui.screens.export import ExportScreen

    app = make_host(small_session, 0, "pos2")
    async with app.run_test(size=(100, 40)) as pilot:
        await pilot.pause()
        assert isinstance(app.screen, ExportScreen)
        await pilot.press("escape")
        await pilot.pause()
        assert app.result is None and not isinstance(app.screen, ExportScreen)


async def test_a_bug_in_the_export_is_a_notification_not_a_crash(small_session, monkeypatch):
    import microgpt_tui.screens.export as dialog

    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(dialog, "export", broken)
    app = make_host(small_session, 0, "pos2.layer0.attn.head1")
    async with app.run_test(size=(100, 40)) as pilot:
        await pilot.pause()
        await pilot.click("#export-button")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert isinstance(app.screen, dialog.ExportScreen)  # still open, still usable
        errors = [n.message for n in app._notifications if n.severity == "error"]
        assert errors == ["export failed: RuntimeError: boom"]
        assert not app.screen.query_one("#export-button").disabled


async def test_without_a_node_or_a_small_scope_the_dialog_offers_the_overview(
    small_session, tmp_path
):
    from textual.widgets import Input, RadioSet

    app = make_host(small_session, None, "")
    async with app.run_test(size=(100, 40)) as pilot:
        await pilot.pause()
        screen = app.screen
        assert screen.query_one("#export-kind", RadioSet).pressed_button.id == "kind-overview"
        assert screen.query_one("#kind-node").disabled
        assert screen.query_one("#export-path", Input).value == "./overview.svg"
        await pilot.click("#level-scalar")  # one box per scope, as this test was written for
        out = tmp_path / "overview.dot"
        screen.query_one("#export-path", Input).value = str(out)
        await pilot.click("#export-button")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert app.result == out
    assert "box_pos2.lm_head" in out.read_text()


def make_host_with(session: DebugSession, node_id: int | None, scope: str, **kwargs):
    """`make_host` with the dialog's keyword arguments (e.g. a lower `max_nodes`)."""
    from textual.app import App

    from microgpt_tui.screens.export import ExportScreen

    class Host(App):
        def __init__(self) -> None:
            super().__init__()
            self.result: object = "not dismissed"

        def on_mount(self) -> None:
            screen = ExportScreen(session, node_id, scope, cursor_blink=False, **kwargs)
            self.push_screen(screen, callback=lambda r: setattr(self, "result", r))

    return Host()


async def export_and_wait(app, pilot) -> None:
    """Press Export, then wait until the dialog has heard back: closed, or a new error shown.

    (Not "the button is enabled again": until the press itself is handled, it still is.)
    The button is pressed as a click would press it, without aiming at screen cells: a toast
    or a slow layout on a loaded machine must not make the test miss the button. Waits up
    to 60 s of wall time (a loaded CI machine renders slowly), then says what it saw.
    """
    import time

    screen = app.screen
    error = screen.query_one("#export-error")
    error.update("")
    button = screen.query_one("#export-button")
    button.press()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:  # the press, the worker, then its message to the dialog
        await app.workers.wait_for_complete()
        await pilot.pause()
        if app.screen is not screen:
            return
        if not button.disabled and str(error.render()):
            return
    raise AssertionError(
        f"the export dialog never heard back: button disabled={button.disabled}, "
        f"error={str(error.render())!r}, workers={list(app.workers)}"
    )


async def test_too_many_nodes_is_a_hint_on_the_scope_field_without_cli_flags(
    small_session, tmp_path
):
    from textual.widgets import Input

    scope = "pos2.layer0.attn"
    app = make_host_with(small_session, None, scope, max_nodes=50)
    async with app.run_test(size=(100, 40)) as pilot:
        await pilot.pause()
        screen = app.screen
        await pilot.click("#kind-scope")
        await pilot.click("#level-scalar")  # as vectors, the whole attention fits in 50
        screen.query_one("#export-path", Input).value = str(tmp_path / "attn.dot")
        await export_and_wait(app, pilot)
        shown = str(screen.query_one("#export-error").render())
        assert "more than the limit of 50" in shown and "pick the overview" in shown
        assert "a narrower scope (e.g. pos2.layer0.attn." in shown
        assert "--" not in shown  # no command-line flags in a dialog
        field = screen.query_one("#export-scope", Input)
        assert field.has_class("-invalid") and field.has_focus
        # the next try clears the mark
        field.value = "pos2.layer0.attn.head1.softmax"
        await export_and_wait(app, pilot)
        assert app.result == tmp_path / "attn.dot"
        assert not field.has_class("-invalid")


async def test_a_missing_dot_is_a_hint_on_the_format_field(small_session, tmp_path, monkeypatch):
    from textual.widgets import Input

    monkeypatch.setenv("PATH", str(tmp_path / "nowhere"))
    app = make_host(small_session, None, "pos2.layer0.attn.head1")
    async with app.run_test(size=(100, 40)) as pilot:
        await pilot.pause()
        screen = app.screen
        screen.query_one("#export-path", Input).value = str(tmp_path / "head.svg")
        await export_and_wait(app, pilot)
        shown = str(screen.query_one("#export-error").render())
        assert "not installed: pick DOT, or install Graphviz" in shown
        assert screen.query_one("#export-format").has_class("-invalid")
        assert not (tmp_path / "head.svg").exists()


async def type_path(pilot, screen, text: str) -> None:
    """Type a file name into the File field as a user would: end, clear, type."""
    screen.query_one("#export-path").focus()
    await pilot.press("end", "ctrl+u", *text)
    await pilot.pause()


async def test_the_dialog_takes_the_format_from_the_file_extension(small_session, tmp_path):
    """Issue 11.1: File `head1.png` with Format left at SVG wrote an SVG named head1.png."""
    from textual.widgets import Select

    app = make_host(small_session, None, "pos2.layer0.attn.head1")
    async with app.run_test(size=(100, 40)) as pilot:
        await pilot.pause()
        screen = app.screen
        assert screen.query_one("#export-format", Select).value == "svg"
        out = tmp_path / "head1.dot"
        await type_path(pilot, screen, str(out))
        assert screen.query_one("#export-format", Select).value == "dot"  # follows the name
        await pilot.press("enter")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert app.result == out
        notes = [n.message for n in app._notifications]
        assert any(str(out) in m for m in notes)
    assert out.read_text().startswith("digraph")  # DOT, not the SVG the select showed


@needs_dot
async def test_the_dialog_writes_png_for_a_png_name(small_session, tmp_path):
    app = make_host(small_session, None, "pos2.layer0.attn.head1")
    async with app.run_test(size=(100, 40)) as pilot:
        await pilot.pause()
        out = tmp_path / "head1.png"
        await type_path(pilot, app.screen, str(out))
        await pilot.press("enter")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert app.result == out
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


async def test_choosing_a_format_renames_the_typed_file(small_session, tmp_path):
    from textual.widgets import Input, Select

    app = make_host(small_session, None, "pos2.layer0.attn.head1")
    async with app.run_test(size=(100, 40)) as pilot:
        await pilot.pause()
        screen = app.screen
        await type_path(pilot, screen, str(tmp_path / "slides" / "head.png"))
        screen.query_one("#export-format", Select).value = "pdf"
        await pilot.pause()
        assert screen.query_one("#export-path", Input).value == str(
            tmp_path / "slides" / "head.pdf"
        )
        # a name without a format's extension keeps its name and takes the chosen format
        await type_path(pilot, screen, str(tmp_path / "picture.out"))
        assert screen.query_one("#export-format", Select).value == "pdf"


def test_a_mismatch_between_extension_and_chosen_format_is_refused():
    from engine.export import FormatMismatch, format_for_file
    from microgpt_tui.screens.export import field_hint

    assert format_for_file("a.png", "png") == "png"
    assert format_for_file("a.out", "svg") == "svg"
    with pytest.raises(FormatMismatch) as caught:
        format_for_file("head1.png", "svg")
    assert (caught.value.extension, caught.value.chosen) == ("png", "svg")
    field, reason = field_hint(caught.value)
    assert field == "export-path"
    assert reason == (
        "'head1.png' ends in .png but the format chosen is SVG: name it .svg or choose PNG"
    )


async def test_a_file_name_too_long_is_one_short_line_without_errno(small_session, tmp_path):
    """Issue 13.10: the dialog showed the raw errno for a name over 255 bytes."""
    from textual.widgets import Input

    app = make_host(small_session, None, "pos2.layer0.attn.head1")
    async with app.run_test(size=(100, 40)) as pilot:
        await pilot.pause()
        screen = app.screen
        long_name = tmp_path / ("x" * 300 + ".dot")
        screen.query_one("#export-path", Input).value = str(long_name)
        await export_and_wait(app, pilot)
        assert app.screen is screen
        shown = str(screen.query_one("#export-error").render())
        assert "file name is longer than 255 bytes" in shown
        assert "Errno" not in shown and "\n" not in shown
        assert len(shown) <= 100  # the 300-character name is shortened, not printed whole
        assert screen.query_one("#export-path").has_class("-invalid")


async def test_the_dialog_draws_vectors_by_default_and_a_node_as_scalars(small_session, tmp_path):
    from textual.widgets import RadioSet

    scope = "pos2.layer0.attn.head1"
    node = small_session.trace.vector(scope, "attn_weights")[1]
    app = make_host(small_session, node.id, scope)
    async with app.run_test(size=(100, 40)) as pilot:
        await pilot.pause()
        screen = app.screen
        level = screen.query_one("#export-level", RadioSet)
        assert level.pressed_button.id == "level-vector" and not level.disabled
        await pilot.click("#kind-node")
        assert level.disabled  # a node and its inputs are scalars
        await pilot.click("#kind-scope")
        out = tmp_path / "head.dot"
        await type_path(pilot, screen, str(out))
        await pilot.press("enter")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert app.result == out
        notes = [n.message for n in app._notifications]
        assert any("3 vector ops and 6 boxes" in m for m in notes)
    text = out.read_text()
    assert "q·k/√d" in text and "softmax" in text
    assert any("softmax" in line and "penwidth=3.5" in line for line in text.splitlines())
