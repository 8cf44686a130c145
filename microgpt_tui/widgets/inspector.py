"""The inspector: everything about one node, and during backward the chain rule at work.

For the node it shows op, label, scope and source line, its value (pending until
the forward replay reaches it), its grad (in the backward phase), each input with
its local gradient, the chain-rule terms its grad has received so far, and, for
the node the backward pass just processed, what it added to each input:

    grad += 0.31 × -0.42 = -0.1302  (from #5120 *)

A Line-API widget: `describe()` makes plain lines of (text, style) pieces, and
only the visible ones are painted, so a node with hundreds of terms costs no
layout work.
"""

from __future__ import annotations

from rich.segment import Segment
from textual.geometry import Size
from textual.scroll_view import ScrollView
from textual.strip import Strip

from engine.session import BACKWARD, DebugSession
from engine.value import Value
from microgpt_tui.display import PENDING, node_name, num, value_known

MAX_TERMS = 500  # chain-rule terms listed; a node with more says how many are left out

Piece = tuple[
    str, str
]  # (text, style: "", "muted", "bold", "title", "accent", "positive", "negative")
Line = list[Piece]


def term_text(local_grad: float, consumer_grad: float, value: float) -> str:
    """`grad += 0.31 × -0.42 = -0.1302` (the numbers rounded to 4 significant digits)."""
    return f"grad += {num(local_grad)} × {num(consumer_grad)} = {num(value)}"


def _key(text: str) -> Piece:
    return (f"{text:<8}", "muted")


def _grad_style(x: float) -> str:
    return "negative" if x < 0 else "positive"


def call_chain(session: DebugSession, node: Value) -> str:
    """The script's functions on the stack when `node` was made (`gpt › softmax`), if known.

    Only a graph captured from the user's own script keeps them ("" otherwise, and
    for a node made at the script's top level).
    """
    chains = session.capture.chains
    if not chains or not 0 <= node.id < len(chains) or session.nodes[node.id] is not node:
        return ""
    return chains[node.id]


def describe(session: DebugSession, node: Value, *, just_processed: bool) -> list[Line]:
    """The inspector's lines for `node` (`just_processed`: the backward step just ran it)."""
    lines: list[Line] = []
    add = lines.append

    add([_key("scope"), (node.scope, "")])
    site = session.trace.site_of(node)
    if site is not None:
        add(
            [
                _key("source"),
                (f"{site.filename.rsplit('/', 1)[-1]}:{site.lineno}", ""),
                (f" in {site.function}()", "muted"),
            ]
        )
    elif node.op == "param":
        made = "the script's" if getattr(session.capture, "script", "") else "GPT.init"
        add([_key("source"), (f"a parameter ({made})", "muted")])
    chain = call_chain(session, node)
    if chain:
        add([_key("calls"), (chain, ""), ("  (the script's functions, outermost first)", "muted")])

    backward = session.phase == BACKWARD
    if value_known(session, node):
        add([_key("value"), (repr(float(node.data)), "bold")])
    else:
        add([_key("value"), (f"{PENDING} pending: not computed yet", "muted")])

    terms = session.terms(node) if backward else []
    if not backward:
        add([_key("grad"), ("shown in the backward phase (b)", "muted")])
    else:
        n_consumers = len({c.id for c in session.consumers_of(node)})
        if node is session.root:
            state = "final (the loss: d loss/d loss)"
        elif session.has_final_grad(node):
            state = f"final ({n_consumers} of {n_consumers} consumers)"
        else:
            received = len({t.consumer.id for t in terms})
            state = f"partial ({received} of {n_consumers} consumers)"
        add(
            [
                _key("grad"),
                (repr(float(node.grad)), _grad_style(node.grad)),
                (f"  {state}", "muted"),
            ]
        )

    if node._children:
        add([("inputs", "title"), ("  ∂this/∂input", "muted")])
        for child, local in zip(node._children, node._local_grads):
            shown = num(child.data) if value_known(session, child) else PENDING
            add(
                [
                    (f"  {node_name(child):<26}", ""),
                    (f" = {shown:<10}", ""),
                    (f" ∂ {num(local)}", "accent"),
                ]
            )
    elif node.op == "const":
        add([_key(""), ("a constant, wrapped as a leaf Value", "muted")])

    if backward:
        if node is session.root:
            add([("received", "title"), ("  nothing: backward() starts here", "muted")])
        elif not terms:
            add([("received", "title"), ("  nothing yet from its consumers", "muted")])
        else:
            add([("received", "title"), ("  ∂consumer/∂this × consumer grad", "muted")])
            for term in terms[:MAX_TERMS]:
                add(
                    [
                        ("  " + term_text(term.local_grad, term.consumer_grad, term.value), ""),
                        (f"  (from #{term.consumer.id} {term.consumer.op})", "muted"),
                    ]
                )
            if len(terms) > MAX_TERMS:
                add([(f"  … and {len(terms) - MAX_TERMS} more", "muted")])
        if just_processed and node._children:
            add([("passed on", "title"), ("  by this step to its inputs", "muted")])
            for child, local in zip(node._children, node._local_grads):
                add(
                    [
                        (f"  #{child.id}." + term_text(local, node.grad, local * node.grad), ""),
                        (f"  → {num(child.grad)}", _grad_style(child.grad)),
                    ]
                )
    else:
        n = session.consumers.count(node.id)
        if n:
            add([("used by", "title"), (f"  {n} node{'s' * (n != 1)} (see the graph)", "muted")])
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
        scrollbar-size-vertical: 1;
        scrollbar-size-horizontal: 1;
        & > .inspector--muted { color: $text-muted; }
        & > .inspector--bold { text-style: bold; }
        & > .inspector--title { color: $text-primary; text-style: bold; }
        & > .inspector--accent { color: $text-accent; }
        & > .inspector--positive { color: $text-success; text-style: bold; }
        & > .inspector--negative { color: $text-error; text-style: bold; }
    }
    """

    def __init__(self, *, name: str | None = None, id: str | None = None) -> None:
        super().__init__(name=name, id=id)
        self.lines: list[Line] = []
        self._node: Value | None = None
        self._grown = Size(0, 0)

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
        # Content that fits gets no scrollbars; content that does not makes the
        # virtual size grow, never shrink, so that stepping from node to node rarely
        # changes it (a change costs a layout of the whole screen).
        room = self.container_size  # the content area, scrollbars or not
        width = max((sum(len(text) for text, _ in line) for line in self.lines), default=0)
        height = len(self.lines)
        if width <= room.width and height <= room.height:
            size = room
        else:  # (not wider than what the vertical scrollbar leaves, unless needed)
            narrower = room.width - self.styles.scrollbar_size_vertical
            size = Size(
                max(width, narrower, self._grown.width),
                max(height, room.height, self._grown.height),
            )
            self._grown = size
        if size != self.virtual_size:
            self.virtual_size = size

    def on_resize(self) -> None:
        self._grown = Size(0, 0)
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
        if not 0 <= index < len(self.lines):
            return Strip.blank(width, base)
        segments = [
            Segment(
                text, base + self.get_component_rich_style(f"inspector--{style}") if style else base
            )
            for text, style in self.lines[index]
        ]
        return Strip(segments).crop_extend(scroll_x, scroll_x + width, base)
