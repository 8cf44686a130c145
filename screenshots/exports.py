"""The example Graphviz exports in `screenshots/`, made with the shipped default model.

All of `emma` at position 3 (after "m", the model predicts "a"), every grad final:

- `export-head.svg` / `.png`: head 1 of layer 0 as vectors, as
  `microgpt-tui export --doc emma --pos 3 --scope pos3.layer0.attn.head1` draws it;
- `export-mlp.svg` / `.png`: the MLP block of layer 0 as vectors (`--scope pos3.layer0.mlp`);
- `export-overview.svg` / `.png`: that token's whole forward pass as vectors (`--overview`);
- `export-head-scalars.svg` / `.png`: the same head, every scalar node (`--level scalar`);
- `export-paths.svg` / `.png`: the 3 routes carrying most of `wte[4][0]`'s
  gradient in `emma`'s document loss (`--doc emma --paths-to 'wte[4][0]' --top 3`).

For each vector picture it prints the boxes, the PNG's shape, and the smallest
text at 1920 px wide (the SVG's smallest font size × 1920 / its width, and the
height of capitals and digits: × the font's cap height, 0.688).

The screenshots script calls `make_exports(outdir)`; on its own:

    .venv/bin/python screenshots/exports.py [OUTDIR]
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from engine.explain.final_grads import FinalGrads  # noqa: E402
from engine.explain.routes import routes  # noqa: E402
from engine.export import Selection, export, export_routes, vector_view  # noqa: E402
from engine.export.slide import png_size, svg_metrics  # noqa: E402
from engine.session import DebugSession  # noqa: E402
from engine.workspace import Workspace, open_workspace  # noqa: E402

DOC, POS = "emma", 3
HEAD, MLP = f"pos{POS}.layer0.attn.head1", f"pos{POS}.layer0.mlp"


def make_exports(outdir: Path, workspace: Workspace | None = None) -> list[Path]:
    """Write the example exports into `outdir`; returns the files written.

    `workspace` defaults to the shipped trained model (`open_workspace()`).
    """
    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    ws = workspace or open_workspace()
    session = DebugSession(ws.model, ws.tokenizer, DOC, pos=POS)
    session.backward.run_to_end()  # every grad final, as after loss.backward()
    seen, target = session.token_text(POS)
    where = f'"{DOC}" at position {POS}: after "{seen}", the model predicts "{target}"'
    jobs = [
        ("export-head", Selection.of_scope(HEAD, level="vector"), "Attention head 1 of layer 0"),
        ("export-mlp", Selection.of_scope(MLP, level="vector"), "The MLP block of layer 0"),
        ("export-overview", Selection.overview(level="vector"), "One token's forward pass"),
        ("export-head-scalars", Selection.of_scope(HEAD), "Attention head 1, every scalar"),
    ]
    written = []
    for stem, selection, what in jobs:
        for fmt in ("svg", "png"):
            done = export(
                session, selection, outdir / f"{stem}.{fmt}", fmt, title=f"{what} · {where}"
            )
            print(f"wrote {done.path} ({done.summary()}, {done.seconds:.2f} s)")
            written.append(done.path)
        if selection.vector:
            print(
                "  " + measure(session, selection, outdir / f"{stem}.svg", outdir / f"{stem}.png")
            )
    whole = DebugSession(ws.model, ws.tokenizer, DOC, whole_document=True)
    grads = FinalGrads(whole.capture, whole.consumers)
    found = routes(grads, whole.parameter("wte[4][0]"), 3)
    for fmt in ("svg", "png"):
        done = export_routes(found, grads.values, outdir / f"export-paths.{fmt}", fmt)
        print(f"wrote {done.path} ({done.summary()}, {done.seconds:.2f} s)")
        written.append(done.path)
    return written


def measure(session: DebugSession, selection: Selection, svg: Path, png: Path) -> str:
    """`6 boxes, PNG 3068×2192 (1.40:1), smallest text 27.5 px (capitals 18.9 px) at 1920 px`."""
    boxes = len(vector_view(session, selection).boxes)
    width, height = png_size(png.read_bytes())
    m = svg_metrics(svg.read_text())
    return (
        f"{boxes} boxes, PNG {width}×{height} ({width / height:.2f}:1), smallest text "
        f"{m.smallest_font:g} pt = {m.text_px:.1f} px (capitals {m.cap_px:.1f} px) at 1920 px"
    )


if __name__ == "__main__":
    make_exports(Path(sys.argv[1]) if len(sys.argv) > 1 else HERE)
