"""The example Graphviz exports in `screenshots/`, made with the shipped default model.

- `export-head.svg` / `.png`: head 1 of layer 0 for `emma` at position 3, as
  `microgpt-tui export --doc emma --pos 3 --scope pos3.layer0.attn.head1` draws it;
- `export-overview.svg` / `.png`: that token's whole forward pass, one box per
  scope (`--overview`);
- `export-paths.svg` / `.png`: the 3 routes carrying most of `wte[4][0]`'s
  gradient in `emma`'s document loss (`--doc emma --paths-to 'wte[4][0]' --top 3`).

The screenshots script calls `make_exports(outdir)`; on its own:

    .venv/bin/python screenshots/exports.py [OUTDIR]
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from engine.explain.final_grads import FinalGrads  # noqa: E402
from engine.explain.route_digraph import export_routes  # noqa: E402
from engine.explain.routes import routes  # noqa: E402
from engine.export import Selection, export  # noqa: E402
from engine.session import DebugSession  # noqa: E402
from engine.workspace import Workspace, open_workspace  # noqa: E402

DOC, POS, HEAD = "emma", 3, "pos3.layer0.attn.head1"


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
        ("export-head", Selection.of_scope(HEAD), f"Attention head 1 of layer 0 · {where}"),
        ("export-overview", Selection.overview(), f"One token's forward pass · {where}"),
    ]
    written = []
    for stem, selection, title in jobs:
        for fmt in ("svg", "png"):
            done = export(session, selection, outdir / f"{stem}.{fmt}", fmt, title=title)
            print(f"wrote {done.path} ({done.summary()}, {done.seconds:.2f} s)")
            written.append(done.path)
    whole = DebugSession(ws.model, ws.tokenizer, DOC, whole_document=True)
    grads = FinalGrads(whole.capture, whole.consumers)
    found = routes(grads, whole.parameter("wte[4][0]"), 3)
    for fmt in ("svg", "png"):
        done = export_routes(found, grads.values, outdir / f"export-paths.{fmt}", fmt)
        print(f"wrote {done.path} ({done.summary()}, {done.seconds:.2f} s)")
        written.append(done.path)
    return written


if __name__ == "__main__":
    make_exports(Path(sys.argv[1]) if len(sys.argv) > 1 else HERE)
