"""microgpt at test size whose state_dict also holds vectors, 3-D nests and a scalar.

Written for microgpt-tui's attach tests (issue 10: "state_dict also holds 1-D
vectors (a norm gain)"): a gain vector per norm, the attention weights as one
matrix per head (a list of matrices), and a scalar temperature on the logits.
Usage: python gpt_vectors.py
"""

import random

from tiny_autograd import Value

random.seed(7)
docs = [line.strip() for line in open("input.txt") if line.strip()]
uchars = sorted(set("".join(docs)))
BOS, vocab_size = len(uchars), len(uchars) + 1
n_layer, n_embd, block_size, n_head = 1, 8, 8, 2
head_dim = n_embd // n_head


def matrix(nout, nin, std=0.08):
    return [[Value(random.gauss(0, std)) for _ in range(nin)] for _ in range(nout)]


state_dict = {"wte": matrix(vocab_size, n_embd), "wpe": matrix(block_size, n_embd)}
state_dict["lm_head"] = matrix(vocab_size, n_embd)
state_dict["logit_scale"] = Value(1.0)
for i in range(n_layer):
    state_dict[f"layer{i}.norm_gain"] = [Value(1.0) for _ in range(n_embd)]
    for name in ("wq", "wk", "wv"):
        state_dict[f"layer{i}.attn_{name}_heads"] = [
            matrix(head_dim, n_embd) for _ in range(n_head)
        ]
    state_dict[f"layer{i}.attn_wo"] = matrix(n_embd, n_embd)
    state_dict[f"layer{i}.mlp_fc1"] = matrix(4 * n_embd, n_embd)
    state_dict[f"layer{i}.mlp_fc2"] = matrix(n_embd, 4 * n_embd)


def linear(x, w):
    return [sum(wi * xi for wi, xi in zip(wo, x)) for wo in w]


def softmax(logits):
    max_val = max(val.data for val in logits)
    exps = [(val - max_val).exp() for val in logits]
    total = sum(exps)
    return [e / total for e in exps]


def rmsnorm(x, gain=None):
    ms = sum(xi * xi for xi in x) / len(x)
    scale = (ms + 1e-5) ** -0.5
    if gain is None:
        return [xi * scale for xi in x]
    return [xi * scale * g for xi, g in zip(x, gain)]


def gpt(token_id, pos_id, keys, values):
    x = [t + p for t, p in zip(state_dict["wte"][token_id], state_dict["wpe"][pos_id])]
    x = rmsnorm(x)
    for li in range(n_layer):
        x_residual = x
        x = rmsnorm(x, state_dict[f"layer{li}.norm_gain"])
        x_attn = []
        for h in range(n_head):
            q_h = linear(x, state_dict[f"layer{li}.attn_wq_heads"][h])
            keys[li][h].append(linear(x, state_dict[f"layer{li}.attn_wk_heads"][h]))
            values[li][h].append(linear(x, state_dict[f"layer{li}.attn_wv_heads"][h]))
            attn_logits = [
                sum(q_h[j] * k_t[j] for j in range(head_dim)) / head_dim**0.5 for k_t in keys[li][h]
            ]
            attn_weights = softmax(attn_logits)
            x_attn.extend(
                sum(w * v_t[j] for w, v_t in zip(attn_weights, values[li][h]))
                for j in range(head_dim)
            )
        x = [a + b for a, b in zip(linear(x_attn, state_dict[f"layer{li}.attn_wo"]), x_residual)]
        x_residual = x
        x = [xi.relu() for xi in linear(rmsnorm(x), state_dict[f"layer{li}.mlp_fc1"])]
        x = [a + b for a, b in zip(linear(x, state_dict[f"layer{li}.mlp_fc2"]), x_residual)]
    return [logit * state_dict["logit_scale"] for logit in linear(x, state_dict["lm_head"])]


doc = docs[1]
tokens = [BOS] + [uchars.index(ch) for ch in doc] + [BOS]
n = min(block_size, len(tokens) - 1)
keys = [[[] for _ in range(n_head)] for _ in range(n_layer)]
values = [[[] for _ in range(n_head)] for _ in range(n_layer)]
losses = []
for pos_id in range(n):
    probs = softmax(gpt(tokens[pos_id], pos_id, keys, values))
    losses.append(-probs[tokens[pos_id + 1]].log())
loss = (1 / n) * sum(losses)
loss.backward()
print(f"loss {loss.data:.4f}")
