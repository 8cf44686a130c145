"""Export at vector level: vectors as boxes of values and grads, slide-shaped, readable; frames.

The shape and text size targets (issue 9) are measured on the default model's
graph of `emma` at position 3, as the README's example exports are made: at most
20 boxes, a PNG between 1.2:1 and 2.2:1, and capitals and digits at least 14 px
tall when the picture is scaled to 1920 px wide (SVG font size × 1920 / SVG
width × the font's cap height).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from conftest import VOCAB, make_model, needs_dot

from engine.data import Tokenizer
from engine.errors import InputError
from engine.export import Selection, build_digraph, export, export_frames, vector_view
from engine.export.slide import png_size, svg_metrics
from engine.export.vector_style import cell_number
from engine.session import DebugSession

HEAD = "pos3.layer0.attn.head1"
MLP = "pos3.layer0.mlp"


@pytest.fixture(scope="module")
def session() -> DebugSession:
    """`emma` at position 3 with the default config, after a full backward pass."""
    s = DebugSession(make_model(), Tokenizer(VOCAB), "emma", pos=3)
    s.backward.run_to_end()
    return s


def vector(kind: str) -> Selection:
    if kind == "overview":
        return Selection.overview(level="vector")
    return Selection.of_scope({"head": HEAD, "mlp": MLP}[kind], level="vector")


# -- what the picture holds -----------------------------------------------------------------


def test_a_head_is_its_three_ops_and_the_vectors_they_read_and_make(session):
    view = vector_view(session, vector("head"))
    assert [op.name for op in view.ops] == ["q·k/√d", "softmax", "Σ w·v"]
    titles = sorted(box.title for box in view.boxes.values())
    assert titles == sorted(
        [
            "q[4:8]",
            "k[4:8] · pos 0–3",
            "v[4:8] · pos 0–3",
            "attn_logits",
            "attn_weights",
            "head_out",
        ]
    )
    keys = next(b for b in view.boxes.values() if b.title.startswith("k["))
    assert keys.row_names == ["pos0", "pos1", "pos2", "pos3"] and keys.outside
    assert keys.rows[0] == session.trace.vector("pos0.layer0.attn", "k")[4:8]  # the nodes


def test_every_box_shows_its_values_and_grads(session):
    source = build_digraph(session, vector("head")).source
    out = session.trace.vector(HEAD, "head_out")
    for node in out:
        assert f">{cell_number(node.data)}<" in source
        assert f">{cell_number(node.grad)}<" in source
    assert ">value<" in source and ">∇<" in source
    assert "∇ (grad)" in source and "colour ∝ √|x|" in source  # the legend


def test_the_mlp_shows_its_matrices_and_the_residual(session):
    view = vector_view(session, vector("mlp"))
    assert [op.name for op in view.ops] == [
        "rmsnorm",
        "linear W_fc1",
        "relu",
        "linear W_fc2",
        "+ residual",
    ]
    matrices = {b.title: len(b.rows) for b in view.boxes.values() if b.param}
    assert matrices == {"W_fc1": 64, "W_fc2": 16}
    residual = next(o for o in view.ops if o.name == "+ residual")
    first = next(o for o in view.ops if o.name == "rmsnorm")
    assert first.inputs[0] in residual.inputs  # the stream it adds back


def test_the_overview_is_one_tokens_forward_pass(session):
    view = vector_view(session, vector("overview"))
    names = [op.name for op in view.ops]
    assert names[0] == "tok + pos" and names[-3:] == ["linear lm_head", "softmax", "−log p[target]"]
    assert "4 heads\nq·k/√d → softmax → Σ w·v" in names  # each layer's heads as one op
    assert all(box.where.startswith("pos3") for box in view.boxes.values())
    doc = DebugSession(make_model(), Tokenizer(VOCAB), "emma", whole_document=True)
    assert vector_view(doc, vector("overview")).what == "position 4"  # the last token's


def test_the_highlighted_node_lights_its_op(session):
    w = session.trace.vector(HEAD, "attn_weights")[2]
    source = build_digraph(session, vector("head"), highlight=w.id).source
    lit = [line for line in source.splitlines() if "penwidth=3.5" in line]
    assert len(lit) == 2  # the softmax and the box it made
    assert any("softmax" in line for line in lit)


def test_a_node_selection_is_not_drawn_as_vectors(session):
    with pytest.raises(InputError, match="drawn at scalar level"):
        vector_view(session, Selection("node", node_id=5, level="vector"))


# -- on a slide -------------------------------------------------------------------------------


@needs_dot
@pytest.mark.parametrize("kind", ["head", "mlp", "overview"])
def test_slide_shaped_and_readable_at_1920_px(session, tmp_path, kind):
    view = vector_view(session, vector(kind))
    assert len(view.boxes) <= 20
    title = "One token's forward pass · emma at position 3, after 'm' predicting 'a'"
    png = export(session, vector(kind), tmp_path / "a.png", title=title).path
    width, height = png_size(png.read_bytes())
    assert 1.2 <= width / height <= 2.2, (width, height)
    svg = export(session, vector(kind), tmp_path / "a.svg", title=title).path
    metrics = svg_metrics(svg.read_text())
    assert metrics.cap_px >= 14, metrics  # the ink of the smallest capitals and digits
    assert abs(metrics.aspect - width / height) < 0.05


# -- frames of the backward pass --------------------------------------------------------------


def test_frames_step_the_backward_pass_op_by_op(tmp_path):
    s = DebugSession(make_model(), Tokenizer(VOCAB), "emma", pos=3)
    s.backward.run_to_end()
    final = [n.grad for n in s.nodes]
    written = export_frames(
        s, vector("head"), tmp_path / "frames", "dot", max_nodes=1000, timeout=60
    )
    assert [p.name for p in written] == [f"{HEAD}-{k:03d}.dot" for k in range(4)]
    texts = [p.read_text() for p in written]
    assert "before step 1 of 3" in texts[0]
    for text, op in zip(texts[1:], ["Σ w·v", "softmax", "q·k/√d"], strict=True):
        assert f": {op}" in text
        lit = [line for line in text.splitlines() if "penwidth=3.5" in line]
        assert any(op in line for line in lit)
    # grads arrive: every grad of the head is still to come at first, and all there at last
    pending = [t.count(">·<") for t in texts]
    assert pending[0] > pending[1] > 0 and pending[-1] < pending[1]
    out = s.trace.vector(HEAD, "head_out")
    assert all(f">{cell_number(n.grad)}<" in texts[-1] for n in out)
    assert [n.grad for n in s.nodes] == final  # the session is left at the end of backward
    # the layout does not move between frames: the same positions in every frame
    positions = [re.findall(r'pos="([\d.,!-]+)"', t) for t in texts]
    assert all(p == positions[0] for p in positions)


def test_frames_refuse_a_node_and_a_missing_parent(tmp_path, session):
    with pytest.raises(InputError, match="not a node"):
        export_frames(session, Selection.of_node(5), tmp_path / "f", max_nodes=9, timeout=9)
    with pytest.raises(InputError, match="parent does not exist"):
        export_frames(session, vector("head"), tmp_path / "a" / "b", max_nodes=99, timeout=9)
    assert not (tmp_path / "a").exists()


# -- a script's graph ---------------------------------------------------------------------------


def test_a_scripts_head_draws_the_same_ops(tmp_path):
    from engine.attach import attach_script

    script = Path(__file__).resolve().parent / "attach_scripts" / "microgpt_relu.py"
    result = attach_script(str(script), ["1"])
    s = DebugSession.from_capture(result.capture, result.model, result.tokenizer, result.doc)
    s.backward.run_to_end()
    head = next(p for p in (c.path for c in s.scopes.children.values()) if p.startswith("pos"))
    view = vector_view(s, Selection.of_scope(f"{head}.layer0.head1", level="vector"))
    assert [op.name for op in view.ops] == ["q·k/√d", "softmax", "Σ w·v"]
    done = export(s, Selection.of_scope(f"{head}.layer0.head1", level="vector"), tmp_path / "h.dot")
    assert done.vector and done.ops == 3
