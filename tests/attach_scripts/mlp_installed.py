"""micrograd's demo: an MLP from an installed package (`mgrad`), trained with its own backward().

Written for microgpt-tui's attach tests (issue 10: "a class from an installed
package", "a micrograd-style MLP without a state_dict"): the value class keeps its
children in a set and its local gradients in closures; the parameters are only
reachable as `model.parameters()` or through the model's attributes. Needs the
package on sys.path (the tests put tests/attach_scripts/site there, copied).
Usage: python mlp_installed.py [NUM_STEPS]
"""

import random
import sys

from mgrad.nn import MLP

random.seed(1337)
model = MLP(3, [4, 4, 1])
xs = [[2.0, 3.0, -1.0], [3.0, -1.0, 0.5], [0.5, 1.0, 1.0], [1.0, 1.0, -1.0]]
ys = [1.0, -1.0, -1.0, 1.0]

num_steps = int(sys.argv[1]) if len(sys.argv) > 1 else 3
for k in range(num_steps):
    ypred = [model(x) for x in xs]
    loss = sum((yout - ygt) ** 2 for ygt, yout in zip(ys, ypred))
    model.zero_grad()
    loss.backward()
    for p in model.parameters():
        p.data += -0.05 * p.grad
    print(f"step {k} loss {loss.data:.6f}")
