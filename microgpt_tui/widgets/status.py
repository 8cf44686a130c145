"""The status line: what is being debugged, and where the debugger is in it.

emma · position 4: 'a' → <BOS> · loss 2.9174 · graph emma@pos4: 16,455 nodes · default model
BACKWARD step 12 / 16,455 · at #16442 * probs[3] · focus pos4.layer0.attn.head1 · inspecting #17

The graph's name says whose ids the `#` numbers are (a Root here keeps them). Each
line is made of parts (`loss 2.9174`, `focus ◎ …`) that wrap as wholes onto a next
line when the terminal is narrow, so nothing is ever cut: the widget grows a line
when it needs one, and keeps it (a change of height costs a layout of the screen:
a note that wraps at one step and not at the next must not pay it at each) until
the width or the session changes.
"""

from __future__ import annotations

from textual.content import Content
from textual.css.scalar import Scalar
from textual.widgets import Static

from engine.graph import in_scope
from engine.session import BACKWARD, DebugSession
from engine.vector import VECTOR
from microgpt_tui.display import node_name, num
from microgpt_tui.wrap import wrap_line

SEPARATOR = " · "
Part = list  # the pieces of one part: str, or (str, style)


def document_parts(session: DebugSession, source: str, warning: str = "") -> list[Part]:
    """Document, position with its input → target characters, loss, the model, and a warning
    about it (the names are not microgpt's: offline)."""
    parts: list[Part] = []
    where: Part = [(session.doc or "(no document)", "bold")]
    if session.pos is not None:
        text = session.position_text(session.pos)  # (a script's graph may have no document)
        chars = ""
        if text is not None:
            chars = f": {text[0]!r} → {text[1]!r}".replace("'<BOS>'", "<BOS>")
        parts += [where, ["position ", (str(session.pos), "bold"), chars]]
    elif session.has_document:
        parts += [where, [("every position", "bold"), " (the document's mean loss)"]]
    else:  # a script's graph without a document: no positions to speak of
        parts.append(where)
    if session.rooted_at is not None:  # a Root here: the root is not the loss
        parts.append(
            ["root ", (node_name(session.root), "bold"), " = ", (num(session.loss, 6), "bold")]
        )
    else:
        parts.append(["loss ", (num(session.loss, 6), "bold $text-warning")])
    count = len(session.nodes)
    nodes = f"{count:,} node{'s' * (count != 1)}"
    parts.append([(f"graph {session.graph_name}: {nodes}", "$text-muted")])
    if source:
        parts.append([(source, "$text-muted")])
    if warning:
        parts.append([(warning, "$text-warning")])
    return parts


def stepping_parts(session: DebugSession, inspected: int | None, note: str = "") -> list[Part]:
    """Phase, step k / N, the cursor node, focus, breakpoints, what is inspected, the note."""
    walk = session.walk
    phase_style = (
        "bold reverse $text-error" if session.phase == BACKWARD else "bold reverse $text-success"
    )
    step: Part = [(f" {session.phase.upper()} ", phase_style)]
    vectors = session.level == VECTOR
    if vectors:
        step += [" ", (" VECTORS ", "bold reverse $text-accent")]
    step += [" step ", (f"{walk.position:,}", "bold"), f" / {len(walk):,}"]
    parts = [step]
    node = session.cursor_node()
    if walk.done:
        parts.append([("end of the phase", "$text-warning")])
    op = session.vectors.shown_op() if vectors else None
    if op is not None:
        where = op.scope  # (inside the focus: the part below it)
        if session.focus and in_scope(where, session.focus):
            where = where[len(session.focus) + 1 :]
        parts.append(["op ", (op.name, "bold"), (f" in {where}" if where else "", "$text-muted")])
    elif walk.current is None and node is not None:
        parts.append(["next ", (node_name(node), "bold")])
    elif node is not None:
        parts.append(["at ", (node_name(node), "bold")])
    if session.focus:
        parts.append(["focus ", (f"◎ {session.focus}", "bold $text-warning")])
    if session.breakpoints:
        count = len(session.breakpoints)
        parts.append([(f"● {count} breakpoint{'s' * (count != 1)}", "$text-warning")])
    if inspected is not None and (node is None or inspected != node.id):
        parts.append(
            [
                ("inspecting ", "$text-accent"),
                (f"#{inspected}", "bold $text-accent"),
                (" (esc: back to the cursor)", "$text-muted"),
            ]
        )
    if note:
        parts.append([(note, "$text-muted")])
    return parts


def plain(parts: list[Part]) -> str:
    """The parts as one line of text."""
    return SEPARATOR.join("".join(_text(p) for p in part) for part in parts)


def _text(piece: str | tuple[str, str]) -> str:
    return piece if isinstance(piece, str) else piece[0]


def lay_out(parts: list[Part], width: int) -> list[Content]:
    """The parts on as few lines of `width` as it takes, never splitting one (unless a part
    alone is wider than a line: then it wraps between words, as text does)."""
    lines: list[list] = [[]]
    used = 0
    for part in parts:
        size = sum(len(_text(p)) for p in part)
        if lines[-1] and used + len(SEPARATOR) + size > width:
            lines.append(["  "])  # a continuation, indented
            used = 2
        elif lines[-1]:
            lines[-1].append(SEPARATOR)
            used += len(SEPARATOR)
        lines[-1] += part
        used += size
    pieces = [[(p, "") if isinstance(p, str) else p for p in line] for line in lines]
    return [Content.assemble(*row) for line in pieces for row in wrap_line(line, width, 2)]


class StatusLine(Static):
    """Two lines at the top of the screen (more when it is too narrow for them)."""

    DEFAULT_CSS = """
    StatusLine {
        height: 2;
        padding: 0 1;
        background: $panel;
    }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._text = ""
        self._parts: list[list[Part]] = []
        self._width = 0
        self._rows = 0  # rows shown: the most the lines have needed since the last reset
        self._session: DebugSession | None = None

    @property
    def text(self) -> str:
        """What the status line shows, as plain text: one line for each of its two lines."""
        return self._text

    def show(
        self,
        session: DebugSession | None,
        source: str,
        inspected: int | None,
        note: str = "",
        warning: str = "",
    ) -> None:
        if session is None:
            self._parts = [[["microgpt-tui"], [(note or "loading…", "$text-muted")]]]
        else:
            self._parts = [
                document_parts(session, source, warning),
                stepping_parts(session, inspected, note),
            ]
        if session is not self._session:
            self._session, self._rows = session, 0
        self._text = "\n".join(plain(parts) for parts in self._parts)
        self._paint()

    def _paint(self) -> None:
        width = max(20, self.size.width - 2) if self.size.width else 10_000
        lines = [line for parts in self._parts for line in lay_out(parts, width)]
        self._rows = max(self._rows, len(lines))
        lines += [Content("")] * (self._rows - len(lines))
        self.update(Content("\n").join(lines), layout=False)
        if self.styles.height != Scalar.from_number(self._rows):
            self.styles.height = self._rows  # (a layout of the screen, so only on a change)

    def on_resize(self) -> None:
        if self._parts and self.size.width != self._width:
            self._width, self._rows = self.size.width, 0
            self._paint()
