"""microgpt at test size accumulating grads over two documents before each update.

Written for microgpt-tui's attach tests (issue 10: "accumulates grads over two
documents without zeroing, --backward 2"): the second backward() adds to the grads
the first left. The second document is kept in `doc2`, so `doc` still names the
first at the second backward(): the captured graph's document is then unknown.
Usage: python gpt_accumulate.py [NUM_STEPS]
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


def gpt(token_id, pos_id, keys, values):
    x = [t + p for t, p in zip(state_dict["wte"][token_id], state_dict["wpe"][pos_id])]
    x = rmsnorm(x)
    for li in range(n_layer):
        x_residual = x
        x = rmsnorm(x)
        q = linear(x, state_dict[f"layer{li}.attn_wq"])
        keys[li].append(linear(x, state_dict[f"layer{li}.attn_wk"]))
        values[li].append(linear(x, state_dict[f"layer{li}.attn_wv"]))
        x_attn = []
        for h in range(n_head):
            hs = h * head_dim
            q_h = q[hs : hs + head_dim]
            k_h = [ki[hs : hs + head_dim] for ki in keys[li]]
            v_h = [vi[hs : hs + head_dim] for vi in values[li]]
            attn_logits = [
                sum(q_h[j] * k_h[t][j] for j in range(head_dim)) / head_dim**0.5
                for t in range(len(k_h))
            ]
            attn_weights = softmax(attn_logits)
            x_attn.extend(
                sum(attn_weights[t] * v_h[t][j] for t in range(len(v_h))) for j in range(head_dim)
            )
        x = [a + b for a, b in zip(linear(x_attn, state_dict[f"layer{li}.attn_wo"]), x_residual)]
        x_residual = x
        x = [xi.relu() for xi in linear(rmsnorm(x), state_dict[f"layer{li}.mlp_fc1"])]
        x = [a + b for a, b in zip(linear(x, state_dict[f"layer{li}.mlp_fc2"]), x_residual)]
    return linear(x, state_dict["lm_head"])


def document_loss(doc):
    tokens = [BOS] + [uchars.index(ch) for ch in doc] + [BOS]
    n = min(block_size, len(tokens) - 1)
    keys, values = [[] for _ in range(n_layer)], [[] for _ in range(n_layer)]
    losses = []
    for pos_id in range(n):
        probs = softmax(gpt(tokens[pos_id], pos_id, keys, values))
        losses.append(-probs[tokens[pos_id + 1]].log())
    return (1 / n) * sum(losses)


params = [p for mat in state_dict.values() for row in mat for p in row]
num_steps = int(sys.argv[1]) if len(sys.argv) > 1 else 2
for step in range(num_steps):
    doc, doc2 = docs[2 * step], docs[2 * step + 1]
    loss = document_loss(doc)
    loss.backward()
    loss2 = document_loss(doc2)
    loss2.backward()  # accumulates: the grads are not zeroed in between
    for p in params:
        p.data -= 0.01 * p.grad
        p.grad = 0
    print(f"step {step + 1} | loss {loss.data:.4f} {loss2.data:.4f}")
