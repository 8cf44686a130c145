"""microgpt's model: a GPT-2-like transformer over scalar Values, line for line as microgpt.

The only additions to microgpt's code are `scope(...)` blocks and `label(...)` calls,
which name what a recording Trace sees (`pos3.layer0.attn.head1`, `q[5]`) and do
nothing otherwise. Differences from GPT-2, as in microgpt: rmsnorm instead of
layernorm, no biases, ReLU instead of GeLU.
"""

from __future__ import annotations

import random

from engine.config import GPTConfig
from engine.trace import label, scope
from engine.value import Value


def linear(x, w):
    return [sum(wi * xi for wi, xi in zip(wo, x)) for wo in w]


def softmax(logits):
    with scope("softmax"):
        max_val = max(val.data for val in logits)
        exps = [(val - max_val).exp() for val in logits]
        total = sum(exps)
        return [e / total for e in exps]


def rmsnorm(x):
    with scope("rmsnorm"):
        ms = sum(xi * xi for xi in x) / len(x)
        scale = (ms + 1e-5) ** -0.5
        return [xi * scale for xi in x]


class GPT:
    """The parameters (`state_dict`, matrices of Value) and the forward pass `gpt()`."""

    def __init__(
        self, config: GPTConfig, vocab_size: int, state_dict: dict[str, list[list[Value]]]
    ):
        self.config = config
        self.vocab_size = vocab_size
        self.state_dict = state_dict
        self.params = [p for mat in state_dict.values() for row in mat for p in row]

    @classmethod
    def init(cls, config: GPTConfig, vocab_size: int) -> GPT:
        """Fresh parameters from the global `random` stream, in microgpt's order."""
        matrix = lambda nout, nin, std=0.08: [
            [Value(random.gauss(0, std)) for _ in range(nin)] for _ in range(nout)
        ]
        shapes = config.matrix_shapes(vocab_size)
        return cls(config, vocab_size, {name: matrix(*shape) for name, shape in shapes.items()})

    @classmethod
    def from_floats(cls, config: GPTConfig, state_dict: dict[str, list[list[float]]]) -> GPT:
        vocab_size = len(state_dict["wte"])
        values = {
            name: [[Value(x) for x in row] for row in mat] for name, mat in state_dict.items()
        }
        return cls(config, vocab_size, values)

    def copy(self) -> GPT:
        """The same weights (the very floats) in new parameter nodes, grads at 0."""
        state_dict = {
            name: [[Value(p.data) for p in row] for row in mat]
            for name, mat in self.state_dict.items()
        }
        return GPT(self.config, self.vocab_size, state_dict)

    def to_floats(self) -> dict[str, list[list[float]]]:
        return {
            name: [[p.data for p in row] for row in mat] for name, mat in self.state_dict.items()
        }

    def gpt(self, token_id, pos_id, keys, values):
        state_dict, n_layer, n_head = self.state_dict, self.config.n_layer, self.config.n_head
        head_dim = self.config.head_dim
        with scope("embed"):
            tok_emb = state_dict["wte"][token_id]  # token embedding
            pos_emb = state_dict["wpe"][pos_id]  # position embedding
            x = [t + p for t, p in zip(tok_emb, pos_emb)]  # joint token and position embedding
            label(x, "x_embed")
            x = rmsnorm(x)  # not redundant: the residual stream's gradient flows through it
            label(x, "x_norm")

        for li in range(n_layer):
            # 1) Multi-head attention block
            with scope(f"layer{li}.attn"):
                x_residual = x
                x = rmsnorm(x)
                label(x, "x_norm")
                q = linear(x, state_dict[f"layer{li}.attn_wq"])
                k = linear(x, state_dict[f"layer{li}.attn_wk"])
                v = linear(x, state_dict[f"layer{li}.attn_wv"])
                label(q, "q")
                label(k, "k")
                label(v, "v")
                keys[li].append(k)
                values[li].append(v)
                x_attn = []
                for h in range(n_head):
                    with scope(f"head{h}"):
                        hs = h * head_dim
                        q_h = q[hs : hs + head_dim]
                        k_h = [ki[hs : hs + head_dim] for ki in keys[li]]
                        v_h = [vi[hs : hs + head_dim] for vi in values[li]]
                        attn_logits = [
                            sum(q_h[j] * k_h[t][j] for j in range(head_dim)) / head_dim**0.5
                            for t in range(len(k_h))
                        ]
                        attn_weights = softmax(attn_logits)
                        head_out = [
                            sum(attn_weights[t] * v_h[t][j] for t in range(len(v_h)))
                            for j in range(head_dim)
                        ]
                        label(attn_logits, "attn_logits")
                        label(attn_weights, "attn_weights")
                        label(head_out, "head_out")
                        x_attn.extend(head_out)
                x = linear(x_attn, state_dict[f"layer{li}.attn_wo"])
                label(x, "attn_out")
                x = [a + b for a, b in zip(x, x_residual)]
                label(x, "x_resid")
            # 2) MLP block
            with scope(f"layer{li}.mlp"):
                x_residual = x
                x = rmsnorm(x)
                label(x, "x_norm")
                x = linear(x, state_dict[f"layer{li}.mlp_fc1"])
                label(x, "mlp_hidden")
                x = [xi.relu() for xi in x]
                label(x, "mlp_relu")
                x = linear(x, state_dict[f"layer{li}.mlp_fc2"])
                label(x, "mlp_out")
                x = [a + b for a, b in zip(x, x_residual)]
                label(x, "x_resid")

        with scope("lm_head"):
            logits = linear(x, state_dict["lm_head"])
            label(logits, "logits")
        return logits


def position_loss(logits, target_id):
    """Cross-entropy of one position: -log of the probability given to the target."""
    with scope("loss"):
        probs = softmax(logits)
        loss_t = -probs[target_id].log()
        label(probs, "probs")
        label(loss_t, "loss")
        return loss_t


def forward_document(model: GPT, tokens: list[int], upto: int | None = None):
    """Forward a document's tokens; the losses of positions 0..n-1 (or 0..upto).

    `tokens` is `[BOS] + chars + [BOS]`. With `upto`, positions before it are
    forwarded only for the keys and values that position `upto` attends to, so
    just the last position's loss is computed.
    """
    n_layer = model.config.n_layer
    n = model.config.positions(tokens)
    last = n - 1 if upto is None else upto
    keys, values = [[] for _ in range(n_layer)], [[] for _ in range(n_layer)]
    losses = []
    for pos_id in range(last + 1):
        with scope(f"pos{pos_id}"):
            token_id, target_id = tokens[pos_id], tokens[pos_id + 1]
            logits = model.gpt(token_id, pos_id, keys, values)
            if upto is None or pos_id == upto:
                losses.append(position_loss(logits, target_id))
    return losses


def document_loss(model: GPT, tokens: list[int]):
    """microgpt's training loss: the mean of the positions' losses."""
    n = model.config.positions(tokens)
    losses = forward_document(model, tokens)
    with scope("loss"):
        loss = (1 / n) * sum(losses)  # final average loss over the document sequence
        label(loss, "loss")
    return loss
