"""The inspector: everything about one node, and during backward the chain rule at work.

For the node it shows op, label, scope and source line, its value (pending until
the forward replay reaches it), its grad (in the backward phase), each input with
its local gradient, the chain-rule terms its grad has received so far, and, for
the node the backward pass just processed, what it added to each input:

    grad += 0.31 × -0.42 = -0.1302  (from #5120 *)

A Line-API widget: `describe()` makes plain lines of (text, style) pieces, and
only the visible ones are painted, so a node with hundreds of terms costs no
layout work. Lines wider than the panel wrap between words (`microgpt_tui.wrap`),
so no number is ever cut, however narrow the panel.
"""

from __future__ import annotations

from rich.segment import Segment
from textual.geometry import Size
from textual.scroll_view import ScrollView
from textual.strip import Strip

from engine.session import BACKWARD, DebugSession, Term
from engine.value import Value
from microgpt_tui.display import PENDING, node_name, num, used_by
from microgpt_tui.wrap import Line, Piece, wrap_line

MAX_TERMS = 500  # chain-rule terms listed; a node with more says how many are left out

# a Piece is (text, style: "", "muted", "bold", "title", "accent", "positive", "negative")


def term_text(local_grad: float, consumer_grad: float, value: float) -> str:
    """`grad += 0.31 × -0.42 = -0.1302` (the numbers rounded to 4 significant digits)."""
    return f"grad += {num(local_grad)} × {num(consumer_grad)} = {num(value)}"


def _key(text: str) -> Piece:
    return (f"{text:<8}", "muted")


def _grad_style(x: float) -> str:
    return "negative" if x < 0 else "positive"


def describe(session: DebugSession, node: Value, *, just_processed: bool) -> list[Line]:
    """The inspector's lines for `node` (`just_processed`: the backward step just ran it)."""
    lines = _where_made(session, node)
    backward = session.phase == BACKWARD
    terms = session.terms(node) if backward else []
    lines += _value_and_grad(session, node, terms)
    lines += _inputs(session, node)
    if backward:
        lines += _received(session, node, terms)
        if just_processed and node._children:
            lines += _passed_on(node)
    else:
        uses = session.consumer_count(node)
        if uses:
            nodes = session.consumer_nodes(node)
            said = used_by(nodes, uses).removeprefix("used by ")
            lines.append([("used by", "title"), (f"  {said} (see the graph)", "muted")])
    return lines


def _where_made(session: DebugSession, node: Value) -> list[Line]:
    """Its scope, the line that made it, and (a script's graph) the functions calling it."""
    lines: list[Line] = [[_key("scope"), (node.scope, "")]]
    site = session.source_site(node)
    if site is not None:
        lines.append(
            [
                _key("source"),
                (f"{site.filename.rsplit('/', 1)[-1]}:{site.lineno}", ""),
                (f" in {site.function}()", "muted"),
            ]
        )
    elif node.op == "param":
        made = "the script's" if session.script is not None else "GPT.init"
        lines.append([_key("source"), (f"a parameter ({made})", "muted")])
    chain = session.call_chain(node)
    if chain:
        calls = "  (the script's functions, outermost first)"
        lines.append([_key("calls"), (chain, ""), (calls, "muted")])
    return lines


def _value_and_grad(session: DebugSession, node: Value, terms: list[Term]) -> list[Line]:
    """Its value (or pending), and in the backward phase its grad, final or partial."""
    if session.value_known(node):
        value: Line = [_key("value"), (repr(float(node.data)), "bold")]
    else:
        value = [_key("value"), (f"{PENDING} pending: not computed yet", "muted")]
    if session.phase != BACKWARD:
        return [value, [_key("grad"), ("shown in the backward phase (b)", "muted")]]
    n_consumers = len({c.id for c in session.consumers_of(node)})
    if node is session.root:
        state = "final (the loss: d loss/d loss)"
    elif session.has_final_grad(node):
        state = f"final ({n_consumers} of {n_consumers} consumers)"
    else:
        received = len({t.consumer.id for t in terms})
        state = f"partial ({received} of {n_consumers} consumers)"
    grad = [_key("grad"), (repr(float(node.grad)), _grad_style(node.grad)), (f"  {state}", "muted")]
    return [value, grad]


def _inputs(session: DebugSession, node: Value) -> list[Line]:
    """Each input with its value and local gradient (or: a constant)."""
    if not node._children:
        if node.op == "const":
            return [[_key(""), ("a constant, wrapped as a leaf Value", "muted")]]
        return []
    lines: list[Line] = [[("inputs", "title"), ("  ∂this/∂input", "muted")]]
    computed = session.value_known(node)  # its local gradients come with its value
    for child, local in zip(node._children, node._local_grads):
        shown = num(child.data) if session.value_known(child) else PENDING
        lines.append(
            [
                (f"  {node_name(child):<26}", ""),
                (f" = {shown:<10}", ""),
                (f" ∂ {num(local) if computed else PENDING}", "accent"),
            ]
        )
    return lines


def _received(session: DebugSession, node: Value, terms: list[Term]) -> list[Line]:
    """The chain-rule terms its grad has received so far, oldest first."""
    if node is session.root:
        return [[("received", "title"), ("  nothing: backward() starts here", "muted")]]
    if not terms:
        return [[("received", "title"), ("  nothing yet from its consumers", "muted")]]
    lines: list[Line] = [[("received", "title"), ("  ∂consumer/∂this × consumer grad", "muted")]]
    for term in terms[:MAX_TERMS]:
        lines.append(
            [
                ("  " + term_text(term.local_grad, term.consumer_grad, term.value), ""),
                (f"  (from #{term.consumer.id} {term.consumer.op})", "muted"),
            ]
        )
    if len(terms) > MAX_TERMS:
        lines.append([(f"  … and {len(terms) - MAX_TERMS} more", "muted")])
    return lines


def _passed_on(node: Value) -> list[Line]:
    """What the backward step that just ran `node` added to each input's grad."""
    lines: list[Line] = [[("passed on", "title"), ("  by this step to its inputs", "muted")]]
    for child, local in zip(node._children, node._local_grads):
        lines.append(
            [
                (f"  #{child.id}." + term_text(local, node.grad, local * node.grad), ""),
                (f"  → {num(child.grad)}", _grad_style(child.grad)),
            ]
        )
    return lines


class Inspector(ScrollView, can_focus=True):
    """Shows `describe()` for the inspected node."""

    COMPONENT_CLASSES = {
        "inspector--muted",
        "inspector--bold",
        "inspector--title",
        "inspector--accent",
        "inspector--positive",
        "inspector--negative",
    }

    DEFAULT_CSS = """
    Inspector {
        background: $surface;
        overflow-x: hidden;
        scrollbar-size-vertical: 1;
        & > .inspector--muted { color: $text-muted; }
        & > .inspector--bold { text-style: bold; }
        & > .inspector--title { color: $text-primary; text-style: bold; }
        & > .inspector--accent { color: $text-accent; }
        & > .inspector--positive { color: $text-success; text-style: bold; }
        & > .inspector--negative { color: $text-error; text-style: bold; }
    }
    """

    GROW_BY = 1
    """The virtual height grows by whole steps of this many rows."""

    def __init__(self, *, name: str | None = None, id: str | None = None) -> None:
        super().__init__(name=name, id=id)
        self.lines: list[Line] = []  # what describe() said
        self.rows: list[Line] = []  # the lines wrapped to the panel's width
        self._node: Value | None = None
        self._grown = 0  # the height the content has reached (it never shrinks while shown)

    def show(
        self, session: DebugSession, node: Value | None, *, just_processed: bool = False
    ) -> None:
        self.lines = [] if node is None else describe(session, node, just_processed=just_processed)
        if node is not self._node:
            self._node = node
            self.scroll_to(0, 0, animate=False)
        self._update_size()
        self.refresh()

    def _update_size(self) -> None:
        # Lines wrap to the width (less the scrollbar's column, so that one appearing
        # never rewraps them). Content that fits gets no scrollbar; content that does
        # not makes the virtual height grow, never shrink, so that stepping from node to
        # node rarely changes it (a change costs a layout of the whole screen).
        room = self.container_size  # the content area, scrollbars or not
        width = max(1, room.width - self.styles.scrollbar_size_vertical)
        self.rows = [row for line in self.lines for row in wrap_line(line, width)]
        height = len(self.rows)
        if height > room.height:  # (in whole steps of GROW_BY rows)
            self._grown = max(-(-height // self.GROW_BY) * self.GROW_BY, self._grown)
        size = Size(room.width, max(room.height, self._grown))
        if size != self.virtual_size:
            self.virtual_size = size

    def on_resize(self) -> None:
        self._grown = 0
        self._update_size()

    @property
    def text(self) -> str:
        """What the inspector shows, as plain text (for tests)."""
        return "\n".join("".join(text for text, _ in line) for line in self.lines)

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        width = self.scrollable_content_region.width
        base = self.visual_style.rich_style
        index = scroll_y + y
        if not 0 <= index < len(self.rows):
            return Strip.blank(width, base)
        segments = [
            Segment(
                text, base + self.get_component_rich_style(f"inspector--{style}") if style else base
            )
            for text, style in self.rows[index]
        ]
        return Strip(segments).crop_extend(scroll_x, scroll_x + width, base)
