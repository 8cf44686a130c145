"""A debug session: one token's captured graph, its two walks, and what the screen asks of them.

This is the debugger without a screen. The Textual app is a thin view over it,
and scripts or notebooks can drive it the same way (tests do). Everything a
panel shows is a question put to the session: the cursor node, where the walk
is, whether a node is in this graph, a parameter by label, a node's call chain,
find. Nodes are addressed through `node(id)`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property

from engine.bookmarks import Bookmarks, Step
from engine.capture import Capture, ModelView, capture_loss, reroot
from engine.data import Tokenizer
from engine.errors import InputError
from engine.find import FIND_LIMIT, all_scopes, find_labels, find_scopes
from engine.graph import Consumers, ScopeNode, find_scope, scope_position, scope_tree
from engine.model import GPT
from engine.moves import BACKWARD, FORWARD, MOVES, PHASES, MoveResult, move
from engine.recorded_backward import ReplayWalk
from engine.stepper import BackwardPass, ForwardReplay, Walk, terms_received
from engine.trace import SourceSite
from engine.value import Value
from engine.vector.level import VectorLevel

# (the moves live in engine.moves; these names are imported from here too)
__all__ = ["BACKWARD", "FORWARD", "MOVES", "PHASES", "DebugSession", "MoveResult", "Term"]


@dataclass(frozen=True)
class Term:
    """One chain-rule term: `grad += local_grad × consumer_grad = value (from consumer)`."""

    consumer: Value
    local_grad: float
    consumer_grad: float
    value: float
    exact: bool = True  # False: a recorded write that local_grad × consumer_grad does not give


def graph_label(doc: str, capture: Capture) -> str:
    """A graph's name for its ids: `emma@pos4`, `emma@all` (the document loss), or the
    script's file name for a graph captured from a script without a document."""
    if capture.script is not None and not doc:
        return capture.script.replace("\\", "/").rsplit("/", 1)[-1]
    return f"{doc}@{'all' if capture.pos is None else f'pos{capture.pos}'}"


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

        The nodes are copies (this session is left as it stands) with the ids they
        have here, and the new session's full backward pass equals `node.backward()`'s.
        """
        capture = reroot(self.capture, node, self.model)
        new = DebugSession.from_capture(capture, capture.model, self.tokenizer, self.doc)
        new.graph_of, new.rooted_at = self.graph_of, node.id
        return new

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
        # the walk if it replays the script's own backward() (attach: its grads), else None
        self.script_backward = backward if isinstance(backward, ReplayWalk) else None
        self.phase = FORWARD
        self.vectors = VectorLevel(capture, self)  # the level, and the vector walks
        self.bookmarks = Bookmarks()
        self.graph_of = graph_label(doc, capture)  # whose ids these are (kept by a reroot)
        self.rooted_at: int | None = None  # the node a Root here made the root, by id

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

    @property
    def graph_name(self) -> str:
        """Which graph the ids are of: `emma@pos4` (position 4's loss), `emma@all` (the
        document's), `… rooted at #3648` after a Root here (which keeps the ids)."""
        rooted = f" rooted at #{self.rooted_at}" if self.rooted_at is not None else ""
        return self.graph_of + rooted

    @property
    def id_range(self) -> str:
        """`0..16454`, or `12..3648 (with gaps)` for a rerooted graph."""
        if not self.nodes:
            return "none"
        gaps = "" if self.trace.dense else " (with gaps)"
        return f"{self.nodes[0].id}..{self.nodes[-1].id}{gaps}"

    def node(self, node_id: int) -> Value:
        """The node with this id (InputError if there is none)."""
        node = self.trace.get(node_id)
        if node is None:
            raise InputError(
                f"node #{node_id} does not exist in graph {self.graph_name}: "
                f"its ids are {self.id_range}"
            )
        return node

    def has_node(self, node_id: int) -> bool:
        """Is there a node with this id in this graph?"""
        return self.trace.get(node_id) is not None

    def contains(self, node: Value) -> bool:
        """Is this Value a node of this graph?

        A parameter the loss does not use is not, and a Value's id may be left
        over from another capture (or never set), so the id alone proves nothing.
        """
        try:
            node_id = node.id
        except AttributeError:  # never recorded: no provenance slots set
            return False
        return isinstance(node_id, int) and self.trace.get(node_id) is node

    def index(self) -> None:
        """Build the lazy indexes now (consumers, scopes), e.g. in a worker thread."""
        _ = self.consumers, self.scopes

    def consumers_of(self, node: Value) -> list[Value]:
        """The nodes that use `node` as an input, one per use (`x * x` twice), by id."""
        get = self.trace.get
        return [get(i) for i in self.consumers.of(node.id)]  # type: ignore[misc]

    def consumer_count(self, node: Value) -> int:
        """How many times nodes use this one as an input (`x * x` uses it twice)."""
        return self.consumers.count(node.id)

    def consumer_nodes(self, node: Value) -> int:
        """How many different nodes use this one as an input."""
        return self.consumers.distinct(node.id)

    # -- stepping --------------------------------------------------------------------

    @property
    def walk(self) -> Walk:
        """The walk of the current phase."""
        return self.forward if self.phase == FORWARD else self.backward

    def set_phase(self, phase: str) -> None:
        if phase not in PHASES:
            raise ValueError(f"unknown phase {phase!r}")
        self.phase = phase

    @property
    def level(self) -> str:
        """SCALAR (a step is one node) or VECTOR (one vector op): `engine.vector.level`.
        `move(VECTOR)` switches (nothing moves; the vector level is built the first time)."""
        return self.vectors.level

    def move(self, name: str, to: Step | None = None) -> MoveResult:
        """A move (MOVES), or a phase or level switch: `engine.moves.move`."""
        return move(self, name, to)

    @property
    def step_now(self) -> Step:
        """The current step: the phase and how many of its nodes are processed."""
        return Step(self.phase, self.walk.position)

    def cursor_node(self) -> Value | None:
        """The node the debugger is at: the one processed last, or the next one before any step."""
        walk = self.walk
        return walk.current if walk.current is not None else walk.next_node

    def where(self) -> str:
        """The scope the walk is in ("" if none): `Walk.where()`, else the cursor node's.

        (In the backward order a parameter sits between almost any two nodes; stepping
        onto one does not leave the scope, as a debugger reading a global stays in its
        function.) Before the first step, the next node's scope; at the end of the
        phase, the last node's (the walk has left every scope).
        """
        if self.walk.done and self.walk.current is not None:
            return self.walk.current.scope
        scope = self.walk.where()
        if scope is None:
            node = self.cursor_node()
            scope = node.scope if node is not None else ""
        return scope

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

    def value_known(self, node: Value) -> bool:
        """Is this node's value shown? The forward replay reveals values one by one;
        in the backward phase all are known."""
        return self.phase == BACKWARD or self.is_computed(node)

    def source_site(self, node: Value) -> SourceSite | None:
        """The file, line and function that created `node` (None for parameters)."""
        return self.trace.site_of(node)

    def call_chain(self, node: Value) -> str:
        """The script's functions on the stack when `node` was made (`gpt › softmax`).

        Only a graph captured from the user's own script keeps them ("" otherwise,
        and for a node made at the script's top level).
        """
        chains = self.capture.chains
        if not chains or not self.contains(node):
            return ""
        index = self.trace.index_of(node.id)
        return chains[index] if index is not None and index < len(chains) else ""

    def parameter(self, label: str) -> Value | None:
        """The node of a parameter by label (`wte[4][0]`), if this graph uses it."""
        return self._parameters.get(label)

    @cached_property
    def _parameters(self) -> dict[str, Value]:
        found = {}
        for node in self.nodes:  # parameters come first in a trace
            if node.op != "param":
                break
            found[node.label] = node
        return found

    def has_final_grad(self, node: Value) -> bool:
        """Has every consumer passed its grad to this node (so its grad is final)?"""
        return node is self.root or self.backward.propagated(node)

    def terms(self, node: Value) -> list[Term]:
        """The chain-rule terms this node's grad has received so far, oldest first."""
        if self.script_backward is not None:
            return [Term(*t) for t in self.script_backward.terms(node)]
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
        text = self.tokenizer.token_text
        return text(self.tokens[pos]), text(self.tokens[pos + 1])

    @property
    def has_document(self) -> bool:
        """Are there tokens, and a tokenizer to name them? (Not every captured graph has.)"""
        return self.tokenizer is not None and bool(self.tokens)

    def position_text(self, pos: int) -> tuple[str, str] | None:
        """`token_text(pos)`, or None when this graph has no document reaching that far."""
        if not self.has_document or not 0 <= pos < len(self.tokens) - 1:
            return None
        return self.token_text(pos)

    # -- find ------------------------------------------------------------------------

    def all_scopes(self) -> list[ScopeNode]:
        """Every scope, depth first in the order the computation enters them."""
        return all_scopes(self.scopes)

    def find_scopes(self, text: str, limit: int = FIND_LIMIT) -> list[ScopeNode]:
        """Scopes whose path contains `text` (case-insensitive), in creation order."""
        return find_scopes(self.scopes, text, limit)

    def find_labels(
        self, text: str, limit: int = FIND_LIMIT, cancelled: Callable[[], bool] = lambda: False
    ) -> list[int]:
        """Ids of nodes whose label contains `text`, in creation order (`#12` finds node 12)."""
        return find_labels(self.nodes, text, limit, cancelled, has_node=self.has_node)

    @property
    def loss(self) -> float:
        return self.root.data
