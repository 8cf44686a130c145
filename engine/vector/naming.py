"""Names for vector ops: what each one computes, as a teacher would write it on a slide."""

from __future__ import annotations

# The op that makes each vector the model labels (engine/model.py).
OP_FOR_LABEL = {
    "x_embed": "tok + pos",
    "x_norm": "rmsnorm",
    "q": "linear W_q",
    "k": "linear W_k",
    "v": "linear W_v",
    "attn_logits": "q·k/√d",
    "attn_weights": "softmax",
    "head_out": "Σ w·v",
    "attn_out": "linear W_o",
    "x_resid": "+ residual",
    "mlp_hidden": "linear W_fc1",
    "mlp_relu": "relu",
    "mlp_out": "linear W_fc2",
    "logits": "linear lm_head",
    "probs": "softmax",
    "loss": "−log p[target]",
}

# Names of microgpt's variables a script may assign, and the op that makes them.
OP_FOR_VARIABLE = {"attn_logits": "q·k/√d", "head_out": "Σ w·v", "logits": "linear lm_head"}

# What the output of a linear layer is called, by its matrix (the model's labels).
OUTPUT_OF_MATRIX = {
    "attn_wq": "q",
    "attn_wk": "k",
    "attn_wv": "v",
    "attn_wo": "attn_out",
    "mlp_fc1": "mlp_hidden",
    "mlp_fc2": "mlp_out",
    "lm_head": "logits",
}

MEAN = "mean"


def op_name_for_label(label: str, scope: str) -> str:
    """The op that makes the model's vector `label` in `scope` (`q` -> `linear W_q`).

    The document's loss (`loss` in scope `loss`) is the mean of the positions' losses.
    """
    if label == "loss" and scope == "loss":
        return MEAN
    return OP_FOR_LABEL.get(label, label)


def matrix_symbol(matrix: str) -> str:
    """How a parameter matrix is written in an op's name: `layer0.attn_wq` -> `W_q`."""
    short = matrix.rsplit(".", 1)[-1]
    if short.startswith("attn_w"):
        return "W_" + short.removeprefix("attn_w")
    if short.startswith("mlp_"):
        return "W_" + short.removeprefix("mlp_")
    return short


def linear_output_name(matrix: str) -> str:
    """What `linear(x, matrix)` makes: `q` for `layer0.attn_wq`, `<matrix>·x` for others."""
    short = matrix.rsplit(".", 1)[-1]
    return OUTPUT_OF_MATRIX.get(short, f"{short}·x")
