"""The status line: what is being debugged, and where the debugger is in it.

emma · position 4: 'a' → <BOS> · loss 2.9174 · graph emma@pos4: 16,455 nodes · default model
BACKWARD step 12 / 16,455 · at #16442 * probs[3] · focus pos4.layer0.attn.head1 · inspecting #17

The graph's name says whose ids the `#` numbers are (a Root here keeps them).
"""

from __future__ import annotations

from textual.content import Content
from textual.widgets import Static

from engine.session import BACKWARD, DebugSession
from microgpt_tui.display import node_name, num


def document_line(session: DebugSession, source: str, warning: str = "") -> Content:
    """Document, position with its input → target characters, loss, the model, and a warning
    about it (the names are not microgpt's: offline)."""
    parts: list = [(session.doc or "(no document)", "bold")]
    if session.pos is not None:
        text = session.position_text(session.pos)  # (a script's graph may have no document)
        chars = ""
        if text is not None:
            chars = f": {text[0]!r} → {text[1]!r}".replace("'<BOS>'", "<BOS>")
        parts += [" · position ", (str(session.pos), "bold"), chars]
    else:
        parts += [" · ", ("every position", "bold"), " (the document's mean loss)"]
    if session.rooted_at is not None:  # a Root here: the root is not the loss
        parts += [" · root ", (node_name(session.root), "bold")]
        parts += [" = ", (num(session.loss, 6), "bold $text-warning")]
    else:
        parts += [" · loss ", (num(session.loss, 6), "bold $text-warning")]
    count = len(session.nodes)
    parts += [(f" · graph {session.graph_name}: {count:,} node{'s' * (count != 1)}", "$text-muted")]
    if source:
        parts += [(f" · {source}", "$text-muted")]
    if warning:
        parts += [(f" · {warning}", "$text-warning")]
    return Content.assemble(*parts)


def stepping_line(session: DebugSession, inspected: int | None, note: str = "") -> Content:
    """Phase, step k / N, the cursor node, focus, breakpoints, and what is inspected."""
    walk = session.walk
    phase_style = (
        "bold reverse $text-error" if session.phase == BACKWARD else "bold reverse $text-success"
    )
    parts: list = [(f" {session.phase.upper()} ", phase_style)]
    parts += [" step ", (f"{walk.position:,}", "bold"), f" / {len(walk):,}"]
    node = session.cursor_node()
    if walk.done:
        parts += [(" · end of the phase", "$text-warning")]
    if walk.current is None and node is not None:
        parts += [" · next ", (node_name(node), "bold")]
    elif node is not None:
        parts += [" · at ", (node_name(node), "bold")]
    if session.focus:
        parts += [" · focus ", (f"◎ {session.focus}", "bold $text-warning")]
    if session.breakpoints:
        count = len(session.breakpoints)
        parts += [(f" · ● {count} breakpoint{'s' * (count != 1)}", "$text-warning")]
    if inspected is not None and (node is None or inspected != node.id):
        parts += [
            (" · inspecting ", "$text-accent"),
            (f"#{inspected}", "bold $text-accent"),
            (" (esc: back to the cursor)", "$text-muted"),
        ]
    if note:
        parts += [(f" · {note}", "$text-muted")]
    return Content.assemble(*parts)


class StatusLine(Static):
    """Two lines at the top of the screen."""

    DEFAULT_CSS = """
    StatusLine {
        height: 2;
        padding: 0 1;
        background: $panel;
    }
    """

    @property
    def text(self) -> str:
        """What the status line shows, as plain text."""
        return self.content.plain if isinstance(self.content, Content) else str(self.content)

    def show(
        self,
        session: DebugSession | None,
        source: str,
        inspected: int | None,
        note: str = "",
        warning: str = "",
    ) -> None:
        if session is None:
            content = Content.assemble(
                ("microgpt-tui", "bold"), " · ", (note or "loading…", "$text-muted")
            )
        else:
            content = Content("\n").join(
                [document_line(session, source, warning), stepping_line(session, inspected, note)]
            )
        self.update(content, layout=False)  # always two lines: no layout needed
