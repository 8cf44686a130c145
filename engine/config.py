"""The model's hyper-parameters, as microgpt fixes them at the top of its script."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from engine.errors import InputError


@dataclass(frozen=True)
class GPTConfig:
    n_layer: int = 1  # depth of the transformer (number of layers)
    n_embd: int = 16  # width of the network (embedding dimension)
    n_head: int = 4  # number of attention heads; head_dim = n_embd // n_head
    block_size: int = 16  # maximum context length (the longest name is 15 characters)

    def __post_init__(self) -> None:
        for name, value in asdict(self).items():
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise InputError(f"config {name} must be a positive integer, got {value!r}")
        if self.n_embd % self.n_head:
            raise InputError(f"n_embd ({self.n_embd}) must be divisible by n_head ({self.n_head})")

    @property
    def head_dim(self) -> int:
        return self.n_embd // self.n_head

    def positions(self, tokens: list[int]) -> int:
        """How many positions a document gives: microgpt's `min(block_size, len(tokens) - 1)`.

        `tokens` is `[BOS] + chars + [BOS]`; position t predicts token t + 1, and the
        context holds at most `block_size` positions.
        """
        return min(self.block_size, len(tokens) - 1)

    def to_dict(self) -> dict[str, int]:
        return asdict(self)

    def matrix_shapes(self, vocab_size: int) -> dict[str, tuple[int, int]]:
        """Every state_dict matrix's (rows, cols), in microgpt's initialisation order."""
        e = self.n_embd
        shapes = {"wte": (vocab_size, e), "wpe": (self.block_size, e), "lm_head": (vocab_size, e)}
        for i in range(self.n_layer):
            shapes[f"layer{i}.attn_wq"] = (e, e)
            shapes[f"layer{i}.attn_wk"] = (e, e)
            shapes[f"layer{i}.attn_wv"] = (e, e)
            shapes[f"layer{i}.attn_wo"] = (e, e)
            shapes[f"layer{i}.mlp_fc1"] = (4 * e, e)
            shapes[f"layer{i}.mlp_fc2"] = (e, 4 * e)
        return shapes
