"""How big a traced graph will be, known exactly before building it.

Tracing a large config runs for minutes and can take every byte of memory (8
layers, n_embd 128 and 16 positions: 48M nodes, 17 GB). The node count of a
capture follows from the config and the document alone, so it is computed here
from the model's structure, op by op, and checked before any node is made.

Counting rules (microgpt's `Value`): `a + b` and `a * b` make one node when `b`
is a Value and two when it is a number (the number is wrapped as a constant);
`a ** k` one; `-a` two; `a / k` two (a number); `a / b` two (`b ** -1`, then a
product); `sum(n values)` n + 1 (it starts from the constant 0). A capture keeps
only the nodes its loss depends on, so the counts below leave out what it drops:
the probabilities of the characters that are not the target, and, at the
positions before a single position's loss, everything but the keys and values
that position attends to.
"""

from __future__ import annotations

from dataclasses import dataclass

from engine.config import GPTConfig
from engine.errors import InputError

# Bytes a node of a session costs, measured (benchmarks/bench_trace.py reports the
# node itself; the session's indexes add the consumers and walk arrays), rounded up.
BYTES_PER_NODE = 420
# Bytes one parameter costs untraced (a Value with its slots, and its float).
BYTES_PER_PARAMETER = 160
# Above this many nodes, building takes long enough (about 4 s per million) to warn.
WARN_NODES = 2_000_000


def _linear(n_out: int, n_in: int) -> int:
    return n_out * (2 * n_in + 1)  # per row: n_in products, then a sum of them


def _rmsnorm(n: int) -> int:
    return 3 * n + 6  # squares, sum, / n, + eps, ** -0.5, n products


def _softmax(n: int) -> int:
    return 6 * n + 1  # (v - max) and exp per value, a sum, then n divisions


def _head(cached: int, head_dim: int) -> int:
    """One head's nodes with `cached` keys: its logits, softmax, and weighted sum of values."""
    logits = cached * (2 * head_dim + 1 + 2)  # a dot product, then / sqrt(head_dim)
    out = head_dim * (2 * cached + 1)
    return logits + _softmax(cached) + out


def _attention(c: GPTConfig, cached: int) -> int:
    e = c.n_embd
    qkv_out = 4 * _linear(e, e)  # q, k, v and the output projection
    return _rmsnorm(e) + qkv_out + c.n_head * _head(cached, c.head_dim) + e  # + residual


def _keys_values_only(c: GPTConfig) -> int:
    """A layer's nodes that a later position reads: the rmsnorm, k and v."""
    return _rmsnorm(c.n_embd) + 2 * _linear(c.n_embd, c.n_embd)


def _mlp(c: GPTConfig) -> int:
    e = c.n_embd
    return _rmsnorm(e) + _linear(4 * e, e) + 4 * e + _linear(e, 4 * e) + e  # relu, residual


def _position(c: GPTConfig, vocab_size: int, t: int, *, with_loss: bool) -> int:
    """The nodes position `t` keeps: all of them with its loss, else its keys and values."""
    embed = c.n_embd + _rmsnorm(c.n_embd)
    if not with_loss:
        full_layers = (c.n_layer - 1) * (_attention(c, t + 1) + _mlp(c))
        return embed + full_layers + _keys_values_only(c)
    layers = c.n_layer * (_attention(c, t + 1) + _mlp(c))
    # lm_head, then the loss's softmax keeping only the target's probability (2 nodes
    # of each other's division dropped), its log and the negation (2)
    loss = _softmax(vocab_size) - 2 * (vocab_size - 1) + 1 + 2
    return embed + layers + _linear(vocab_size, c.n_embd) + loss


def _parameters(c: GPTConfig, vocab_size: int, tokens: list[int], last: int) -> int:
    """The parameters the loss reads: the tokens' and positions' rows, lm_head, every layer."""
    rows = len(set(tokens[: last + 1])) + (last + 1)  # wte rows used, wpe rows used
    return (rows + vocab_size) * c.n_embd + 12 * c.n_layer * c.n_embd**2


def graph_nodes(config: GPTConfig, vocab_size: int, tokens: list[int], pos: int | None) -> int:
    """Exactly how many nodes `capture_loss(model, tokens, pos)` keeps (parameters included)."""
    n = config.positions(tokens)
    if pos is None:
        computed = sum(_position(config, vocab_size, t, with_loss=True) for t in range(n))
        return computed + (n + 1) + 2 + _parameters(config, vocab_size, tokens, n - 1)
    computed = sum(_position(config, vocab_size, t, with_loss=False) for t in range(pos))
    computed += _position(config, vocab_size, pos, with_loss=True)
    return computed + _parameters(config, vocab_size, tokens, pos)


@dataclass(frozen=True)
class GraphSize:
    """The size a capture will have, before it is built."""

    nodes: int
    bytes: int

    @property
    def large(self) -> bool:
        """Large enough that building it takes a while: say so, show progress."""
        return self.nodes > WARN_NODES

    def describe(self) -> str:
        return f"{self.nodes:,} nodes (about {_human(self.bytes)})"


def graph_size(config: GPTConfig, vocab_size: int, tokens: list[int], pos: int | None) -> GraphSize:
    """`graph_nodes`, with the memory a debug session over them takes."""
    nodes = graph_nodes(config, vocab_size, tokens, pos)
    return GraphSize(nodes, nodes * BYTES_PER_NODE)


def model_size(config: GPTConfig, vocab_size: int) -> GraphSize:
    """The size of a model's parameters alone (every `state_dict` entry is one Value)."""
    # `config.matrix_shapes` summed, without listing a million layers' matrices
    count = (
        2 * vocab_size + config.block_size
    ) * config.n_embd + 12 * config.n_layer * config.n_embd**2
    return GraphSize(count, count * BYTES_PER_PARAMETER)


def check_fits(size: GraphSize, what: str = "this graph", available: int | None = None) -> None:
    """Refuse, in one line, what would not fit in memory, and say how to narrow it."""
    available = available_memory() if available is None else available
    if available is not None and size.bytes > available:
        raise InputError(
            f"{what} would have {size.describe()}, more than the {_human(available)} "
            "of memory available; pick one position, a shorter document, "
            "or a smaller model (fewer layers, a narrower embedding)"
        )


def available_memory() -> int | None:
    """Bytes of memory available to a new allocation now (Linux's MemAvailable), if known."""
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def _human(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n} B"
