"""microgpt at test size whose own backward() is an iterative Kahn sort, not microgpt's DFS.

Written for microgpt-tui's attach tests (issue 10: "its own backward() visits nodes
in another valid order"): the grads differ from microgpt's order in the last bits,
and attach must show this script's. Usage: python gpt_kahn.py
"""

import math
import random
from collections import deque

random.seed(7)
docs = [line.strip() for line in open("input.txt") if line.strip()]
uchars = sorted(set("".join(docs)))
BOS, vocab_size = len(uchars), len(uchars) + 1
n_layer, n_embd, block_size, n_head = 1, 8, 8, 2
head_dim = n_embd // n_head


class Value:
    __slots__ = ("data", "grad", "_children", "_local_grads")

    def __init__(self, data, children=(), local_grads=()):
        self.data = data
        self.grad = 0
        self._children = children
        self._local_grads = local_grads

    def __add__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        return Value(self.data + other.data, (self, other), (1, 1))

    def __mul__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        return Value(self.data * other.data, (self, other), (other.data, self.data))

    def __pow__(self, other):
        return Value(self.data**other, (self,), (other * self.data ** (other - 1),))

    def log(self):
        return Value(math.log(self.data), (self,), (1 / self.data,))

    def exp(self):
        return Value(math.exp(self.data), (self,), (math.exp(self.data),))

    def relu(self):
        return Value(max(0, self.data), (self,), (float(self.data > 0),))

    def __neg__(self):
        return self * -1

    def __radd__(self, other):
        return self + other

    def __sub__(self, other):
        return self + (-other)

    def __rsub__(self, other):
        return other + (-self)

    def __rmul__(self, other):
        return self * other

    def __truediv__(self, other):
        return self * other**-1

    def __rtruediv__(self, other):
        return other * self**-1

    def backward(self):
        # Kahn's algorithm, iterative: a node passes its grad on once all its consumers have
        consumers = {}
        stack, seen = [self], {self}
        while stack:
            v = stack.pop()
            for child in v._children:
                consumers[child] = consumers.get(child, 0) + 1
                if child not in seen:
                    seen.add(child)
                    stack.append(child)
        self.grad = 1
        ready = deque([self])
        while ready:
            v = ready.popleft()
            for child, local_grad in zip(v._children, v._local_grads):
                child.grad += local_grad * v.grad
                consumers[child] -= 1
                if consumers[child] == 0:
                    ready.append(child)


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


doc = docs[2]
tokens = [BOS] + [uchars.index(ch) for ch in doc] + [BOS]
n = min(block_size, len(tokens) - 1)
keys, values = [[] for _ in range(n_layer)], [[] for _ in range(n_layer)]
losses = []
for pos_id in range(n):
    probs = softmax(gpt(tokens[pos_id], pos_id, keys, values))
    losses.append(-probs[tokens[pos_id + 1]].log())
loss = (1 / n) * sum(losses)
loss.backward()
print(f"loss {loss.data:.4f}")
