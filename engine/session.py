"""A debug session: one token's captured graph, its two walks, and what the screen asks of them.

This is the debugger without a screen. The Textual app is a thin view over it,
and scripts or notebooks can drive it the same way (tests do).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from engine.capture import Capture, ModelView, capture_loss, reroot
from engine.data import Tokenizer
from engine.errors import InputError
from engine.graph import Consumers, ScopeNode, find_scope, scope_position, scope_tree
from engine.model import GPT
from engine.replay import ReplayWalk
from engine.stepper import BackwardPass, ForwardReplay, Walk, terms_received
from engine.value import Value

FORWARD, BACKWARD = "forward", "backward"


@dataclass(frozen=True)
class Term:
    """One chain-rule term: `grad += local_grad × consumer_grad = value (from consumer)`."""

    consumer: Value
    local_grad: float
    consumer_grad: float
    value: float
    exact: bool = True  # False: a recorded write that local_grad × consumer_grad does not give


def resolve_position(model: GPT, tokens: list[int], pos: int | None) -> int:
    """Check `pos` against the document; None means its last position."""
    n = model.config.positions(tokens)
    if pos is None:
        return n - 1
    if not 0 <= pos < n:
        raise InputError(f"position {pos} is out of range: this document has positions 0..{n - 1}")
    return pos


class DebugSession:
    """The graph of one position's loss (or the document's), with forward and backward walks."""

    def __init__(
        self,
        model: GPT,
        tokenizer: Tokenizer,
        doc: str,
        pos: int | None = None,
        *,
        whole_document: bool = False,
    ) -> None:
        tokens = tokenizer.encode(doc)
        pos = None if whole_document else resolve_position(model, tokens, pos)
        self._start(model, tokenizer, doc, capture_loss(model, tokens, pos))

    @classmethod
    def from_capture(
        cls,
        capture: Capture,
        model: ModelView | None = None,
        tokenizer: Tokenizer | None = None,
        doc: str = "",
        backward: Walk | None = None,
    ) -> DebugSession:
        """A session over a graph captured elsewhere (e.g. from the user's own script).

        `model` (default: `capture.model`) gives the parameters by name, and the
        config (None: then there is no attention view). `backward` is the walk of
        the backward phase (default: microgpt's `BackwardPass`; a script's recorded
        backward() gives its `ReplayWalk`).
        """
        session = cls.__new__(cls)
        session._start(model, tokenizer, doc, capture, backward)
        return session

    def rerooted(self, node: Value) -> DebugSession:
        """Backprop from `node`: a new session over `node` and what it depends on.

        The nodes are copies (this session is left as it stands), and the new
        session's full backward pass equals `node.backward()`'s.
        """
        capture = reroot(self.capture, node, self.model)
        return DebugSession.from_capture(capture, capture.model, self.tokenizer, self.doc)

    def _start(
        self,
        model: ModelView | None,
        tokenizer: Tokenizer | None,
        doc: str,
        capture: Capture,
        backward: Walk | None = None,
    ) -> None:
        self.model: ModelView = model if capture.model is None else capture.model
        self.tokenizer = tokenizer
        self.doc = doc
        self.capture = capture
        self.tokens = capture.tokens
        self.pos = capture.pos
        self.forward = ForwardReplay(capture.nodes)
        if backward is None:
            backward = BackwardPass(capture.root, capture.nodes, capture.order)
        self.backward: BackwardPass | ReplayWalk = backward
        self.phase = FORWARD

    # -- the graph -------------------------------------------------------------------

    @property
    def nodes(self) -> list[Value]:
        return self.capture.nodes

    @property
    def script(self) -> str | None:
        """The user's script this graph was captured from (None: the built-in model)."""
        return self.capture.script

    @property
    def root(self) -> Value:
        return self.capture.root

    @property
    def trace(self):
        return self.capture.trace

    @cached_property
    def consumers(self) -> Consumers:
        return Consumers(self.nodes)

    @cached_property
    def scopes(self) -> ScopeNode:
        return scope_tree(self.nodes)

    def node(self, node_id: int) -> Value:
        if not 0 <= node_id < len(self.nodes):
            raise InputError(f"node #{node_id} does not exist: ids are 0..{len(self.nodes) - 1}")
        return self.nodes[node_id]

    def consumers_of(self, node: Value) -> list[Value]:
        return [self.nodes[i] for i in self.consumers.of(node.id)]

    # -- stepping --------------------------------------------------------------------

    @property
    def walk(self) -> Walk:
        """The walk of the current phase."""
        return self.forward if self.phase == FORWARD else self.backward

    def set_phase(self, phase: str) -> None:
        if phase not in (FORWARD, BACKWARD):
            raise ValueError(f"unknown phase {phase!r}")
        self.phase = phase

    @property
    def focus(self) -> str | None:
        return self.forward.focus

    def set_focus(self, scope: str | None) -> None:
        """Stop only at nodes inside `scope` (None clears it), in both phases."""
        if scope is not None and scope != "" and self.find_scope(scope) is None:
            raise InputError(f"no scope {scope!r} in this graph")
        self.forward.focus = self.backward.focus = scope or None

    @property
    def breakpoints(self) -> set[str]:
        return self.forward.breakpoints

    def toggle_breakpoint(self, scope: str) -> bool:
        """Set or clear a breakpoint scope, in both phases; True if now set."""
        now_set = self.forward.toggle_breakpoint(scope)
        self.backward.breakpoints = self.forward.breakpoints
        return now_set

    def find_scope(self, path: str) -> ScopeNode | None:
        return find_scope(self.scopes, path)

    # -- what a node shows -------------------------------------------------------------

    def is_computed(self, node: Value) -> bool:
        """Has the forward replay revealed this node's value?"""
        return self.forward.revealed(node)

    def has_final_grad(self, node: Value) -> bool:
        """Has every consumer passed its grad to this node (so its grad is final)?"""
        return node is self.root or self.backward.propagated(node)

    def terms(self, node: Value) -> list[Term]:
        """The chain-rule terms this node's grad has received so far, oldest first."""
        if isinstance(self.backward, ReplayWalk):
            return [Term(*t) for t in self.backward.terms(node)]
        return [Term(*t) for t in terms_received(node, self.consumers_of(node), self.backward)]

    def position_of(self, node: Value) -> int | None:
        """The position a node was computed for, from its scope (`pos3...` -> 3)."""
        return scope_position(node.scope)

    def attention(self, pos: int | None = None) -> list[list[list[Value]]]:
        """Attention weights at `pos`: [layer][head] -> one weight per cached position.

        Without `pos`: the captured position, or the document's last one.
        """
        config = self.model.config
        if config is None or not self.tokens:
            return []
        if pos is None:
            last = config.positions(self.tokens) - 1
            pos = self.pos if self.pos is not None else last
        layers = []
        for li in range(self.model.config.n_layer):
            heads = []
            for h in range(self.model.config.n_head):
                vec = self.trace.vector(f"pos{pos}.layer{li}.attn.head{h}", "attn_weights")
                heads.append(vec or [])
            layers.append(heads)
        return layers

    def token_text(self, pos: int) -> tuple[str, str]:
        """The input and target characters at `pos` ("<BOS>" for the boundary token)."""
        return (
            self.tokenizer.token_text(self.tokens[pos]),
            self.tokenizer.token_text(self.tokens[pos + 1]),
        )

    @property
    def loss(self) -> float:
        return self.root.data
