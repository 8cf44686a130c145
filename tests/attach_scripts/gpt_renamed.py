"""microgpt at test size with its loops renamed and a batch of two documents per step.

Written for microgpt-tui's attach tests (issue 10: "loop variables named t,
layer_idx, head"): the position loop is `for t in range(n)`, the layers and heads
`layer_idx` and `head`, while a comprehension in gpt() binds `t` to Values; each
step sums the losses of a batch of two documents (`for b in range(2)`) before one
backward(). Usage: python gpt_renamed.py [NUM_STEPS]
"""

import random
import sys

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
for i in range(n_layer):
    for name in ("attn_wq", "attn_wk", "attn_wv", "attn_wo"):
        state_dict[f"layer{i}.{name}"] = matrix(n_embd, n_embd)
    state_dict[f"layer{i}.mlp_fc1"] = matrix(4 * n_embd, n_embd)
    state_dict[f"layer{i}.mlp_fc2"] = matrix(n_embd, 4 * n_embd)
params = [p for mat in state_dict.values() for row in mat for p in row]


def linear(x, w):
    return [sum(wi * xi for wi, xi in zip(wo, x)) for wo in w]


def softmax(logits):
    max_val = max(val.data for val in logits)
    exps = [(val - max_val).exp() for val in logits]
    total = sum(exps)
    return [e / total for e in exps]


def rmsnorm(x):
    ms = sum(xi * xi for xi in x) / len(x)
    scale = (ms + 1e-5) ** -0.5
    return [xi * scale for xi in x]


def gpt(token_id, t, keys, values):
    tok_emb, pos_emb = state_dict["wte"][token_id], state_dict["wpe"][t]
    x = rmsnorm([t + p for t, p in zip(tok_emb, pos_emb)])  # this `t` is a Value
    for layer_idx in range(n_layer):
        x_residual = x
        x = rmsnorm(x)
        q = linear(x, state_dict[f"layer{layer_idx}.attn_wq"])
        keys[layer_idx].append(linear(x, state_dict[f"layer{layer_idx}.attn_wk"]))
        values[layer_idx].append(linear(x, state_dict[f"layer{layer_idx}.attn_wv"]))
        x_attn = []
        for head in range(n_head):
            hs = head * head_dim
            q_h = q[hs : hs + head_dim]
            k_h = [ki[hs : hs + head_dim] for ki in keys[layer_idx]]
            v_h = [vi[hs : hs + head_dim] for vi in values[layer_idx]]
            attn_logits = [
                sum(q_h[j] * k_t[j] for j in range(head_dim)) / head_dim**0.5 for k_t in k_h
            ]
            attn_weights = softmax(attn_logits)
            x_attn.extend(
                sum(w * v_t[j] for w, v_t in zip(attn_weights, v_h)) for j in range(head_dim)
            )
        x = linear(x_attn, state_dict[f"layer{layer_idx}.attn_wo"])
        x = [a + b for a, b in zip(x, x_residual)]
        x_residual = x
        x = [xi.relu() for xi in linear(rmsnorm(x), state_dict[f"layer{layer_idx}.mlp_fc1"])]
        x = [a + b for a, b in zip(linear(x, state_dict[f"layer{layer_idx}.mlp_fc2"]), x_residual)]
    return linear(x, state_dict["lm_head"])


num_steps = int(sys.argv[1]) if len(sys.argv) > 1 else 1
for step in range(num_steps):
    batch_losses = []
    for b in range(2):
        doc = docs[(2 * step + b) % len(docs)]
        tokens = [BOS] + [uchars.index(ch) for ch in doc] + [BOS]
        n = min(block_size, len(tokens) - 1)
        keys, values = [[] for _ in range(n_layer)], [[] for _ in range(n_layer)]
        for t in range(n):
            probs = softmax(gpt(tokens[t], t, keys, values))
            batch_losses.append(-probs[tokens[t + 1]].log() / n)
    loss = 0.5 * sum(batch_losses)
    loss.backward()
    for p in params:
        p.data -= 0.01 * p.grad
        p.grad = 0
    print(f"step {step + 1} | loss {loss.data:.4f}")
