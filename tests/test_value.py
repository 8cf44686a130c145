"""Value: each op against finite differences, microgpt's exact conventions, deep graphs."""

from __future__ import annotations

import math
import random
import sys
from collections.abc import Callable

import pytest
import reference_microgpt as ref

from engine.value import Value, backward_order, topological_order

H = 1e-6  # central-difference step


def grads_of(f: Callable[..., Value], *xs: float) -> list[float]:
    """The gradient of f at xs by the engine: leaves, f, backward()."""
    leaves = [Value(x) for x in xs]
    f(*leaves).backward()
    return [leaf.grad for leaf in leaves]


def numeric_grads(f: Callable[..., Value], *xs: float) -> list[float]:
    """The gradient of f at xs by central differences on f's forward value."""
    out = []
    for i in range(len(xs)):
        up = [Value(x + H if j == i else x) for j, x in enumerate(xs)]
        down = [Value(x - H if j == i else x) for j, x in enumerate(xs)]
        out.append((f(*up).data - f(*down).data) / (2 * H))
    return out


OPS: dict[str, tuple[Callable[..., Value], tuple[float, ...]]] = {
    "add": (lambda a, b: a + b, (0.7, -1.3)),
    "mul": (lambda a, b: a * b, (0.7, -1.3)),
    "pow 2": (lambda a: a**2, (-1.3,)),
    "pow 3": (lambda a: a**3, (0.7,)),
    "pow -1": (lambda a: a**-1, (0.7,)),
    "pow -0.5": (lambda a: a**-0.5, (1.7,)),
    "pow 0.5": (lambda a: a**0.5, (1.7,)),
    "log": (lambda a: a.log(), (0.7,)),
    "exp": (lambda a: a.exp(), (-1.3,)),
    "relu positive": (lambda a: a.relu(), (0.7,)),
    "relu negative": (lambda a: a.relu(), (-1.3,)),
    "neg": (lambda a: -a, (0.7,)),
    "sub": (lambda a, b: a - b, (0.7, -1.3)),
    "sub const": (lambda a: a - 2.5, (0.7,)),
    "rsub": (lambda a: 2.5 - a, (0.7,)),
    "div": (lambda a, b: a / b, (0.7, -1.3)),
    "div const": (lambda a: a / 4.0, (0.7,)),
    "rdiv": (lambda a: 2.5 / a, (0.7,)),
    "radd": (lambda a: 2.5 + a, (0.7,)),
    "rmul": (lambda a: 2.5 * a, (0.7,)),
    "sum": (lambda a, b, c: sum([a, b, c]), (0.7, -1.3, 2.0)),
    "same input twice": (lambda a: a * a + a, (-1.3,)),
    # a small composite using every op: a softmax-style, log-loss-style expression
    "composite": (
        lambda a, b, c: (
            -(((a * b).exp() / (1 + c.relu() + (b - a) ** 2)).log()) + (2 - c) / (a**0.5 + b.exp())
        ),
        (1.3, -0.4, 0.9),
    ),
}


@pytest.mark.parametrize("name", OPS)
def test_gradient_matches_central_differences(name: str) -> None:
    f, xs = OPS[name]
    for analytic, numeric in zip(grads_of(f, *xs), numeric_grads(f, *xs), strict=True):
        assert analytic == pytest.approx(numeric, rel=1e-6, abs=1e-8)


def test_finite_differences_can_fail() -> None:
    """The check above would catch a wrong local gradient."""
    wrong = lambda a: Value(a.data**2, (a,), (a.data,))  # d(a²)/da is 2a, not a
    assert grads_of(wrong, 1.5)[0] != pytest.approx(numeric_grads(wrong, 1.5)[0], rel=1e-6)


# -- microgpt's conventions, exactly ------------------------------------------------------


def is_const(v: Value, data: float) -> bool:
    return v.op == "const" and v.data == data and v._children == () and type(v) is Value


def test_ops_store_value_and_local_gradients_as_data() -> None:
    a, b = Value(0.7), Value(-1.3)
    cases = [
        (a + b, "+", (a, b), (1, 1), 0.7 + -1.3),
        (a * b, "*", (a, b), (-1.3, 0.7), 0.7 * -1.3),
        (a**3, "**", (a,), (3 * 0.7**2,), 0.7**3),
        (a.log(), "log", (a,), (1 / 0.7,), math.log(0.7)),
        (b.exp(), "exp", (b,), (math.exp(-1.3),), math.exp(-1.3)),
        (a.relu(), "relu", (a,), (1.0,), 0.7),
        (b.relu(), "relu", (b,), (0.0,), 0),
    ]
    for out, op, children, local_grads, data in cases:
        assert out.op == op
        assert out._children == children
        assert out._local_grads == local_grads
        assert out.data == data
        assert out.grad == 0


def test_relu_local_gradient_is_a_float_and_zero_at_zero() -> None:
    zero = Value(0.0).relu()
    assert zero.data == 0 and zero._local_grads == (0.0,)
    assert type(Value(2.0).relu()._local_grads[0]) is float


def test_constants_are_wrapped_as_leaf_values() -> None:
    a = Value(0.7)
    out = a + 2.5
    assert out._children[0] is a and is_const(out._children[1], 2.5)
    out = a * 3
    assert out._children[0] is a and is_const(out._children[1], 3)
    assert out._local_grads == (3, 0.7)
    assert Value(1.0).op == "const"


def test_neg_is_times_minus_one() -> None:
    a = Value(0.7)
    out = -a
    assert out.op == "*" and out._children[0] is a and is_const(out._children[1], -1)
    assert out._local_grads == (-1, 0.7)


def test_sub_is_add_of_negation() -> None:
    a, b = Value(0.7), Value(-1.3)
    out = a - b
    assert out.op == "+" and out._children[0] is a
    neg = out._children[1]
    assert neg.op == "*" and neg._children[0] is b and is_const(neg._children[1], -1)


def test_rsub_is_const_plus_negation_in_microgpt_order() -> None:
    a = Value(0.7)
    out = 2.5 - a  # other + (-self) -> (-self).__radd__(2.5) -> (-self) + Value(2.5)
    assert out.op == "+"
    neg, const = out._children
    assert neg.op == "*" and neg._children[0] is a and is_const(neg._children[1], -1)
    assert is_const(const, 2.5)


def test_div_is_mul_by_power_minus_one() -> None:
    a, b = Value(0.7), Value(-1.3)
    out = a / b
    assert out.op == "*" and out._children[0] is a
    inv = out._children[1]
    assert inv.op == "**" and inv._children == (b,)
    assert inv.data == (-1.3) ** -1 and inv._local_grads == (-1 * (-1.3) ** -2,)
    assert out.data == 0.7 * (-1.3) ** -1  # not 0.7 / -1.3: microgpt's bits


def test_rdiv_is_power_minus_one_times_const() -> None:
    a = Value(0.7)
    out = 2.5 / a  # other * self**-1 -> (self**-1).__rmul__(2.5) -> (self**-1) * Value(2.5)
    inv, const = out._children
    assert out.op == "*" and inv.op == "**" and inv._children == (a,)
    assert is_const(const, 2.5)
    assert out.data == 0.7**-1 * 2.5


def test_radd_and_rmul_put_the_value_first() -> None:
    a = Value(0.7)
    for out in (2.5 + a, 2.5 * a):
        assert out._children[0] is a and is_const(out._children[1], 2.5)


def test_sum_starts_from_int_zero() -> None:
    a, b = Value(0.7), Value(-1.3)
    out = sum([a, b])
    assert out.op == "+" and out._children[1] is b
    first = out._children[0]
    assert first._children[0] is a and is_const(first._children[1], 0)
    assert type(first._children[1].data) is int


def test_each_op_matches_the_reference_bit_for_bit() -> None:
    """Same inputs, same ops, same floats and local gradients as the plain microgpt Value."""
    for name, (f, xs) in OPS.items():
        mine = [Value(x) for x in xs]
        theirs = [ref.Value(x) for x in xs]
        out, ref_out = f(*mine), f(*theirs)
        out.backward()
        ref_out.backward()
        assert out.data == ref_out.data, name
        assert [v.grad for v in mine] == [v.grad for v in theirs], name
        assert [v.data for v in backward_order(out)] == [v.data for v in reversed(ref_out.topo())]


def test_backward_sets_root_grad_one_and_accumulates() -> None:
    a = Value(3.0)
    out = a * a + a  # d/da = 2a + 1, summed from two consumers
    out.backward()
    assert out.grad == 1
    assert a.grad == 7.0


# -- order and depth ---------------------------------------------------------------------


def recursive_topo(root: Value) -> list[Value]:
    """microgpt's build_topo, verbatim: recursive post-order DFS over children in order."""
    topo: list[Value] = []
    visited: set[Value] = set()

    def build_topo(v: Value) -> None:
        if v not in visited:
            visited.add(v)
            for child in v._children:
                build_topo(child)
            topo.append(v)

    build_topo(root)
    return topo


def random_graph(rng: random.Random, n_leaves: int, n_ops: int) -> Value:
    """A random DAG with heavy sharing, built from every op."""
    pool = [Value(rng.uniform(0.5, 2.0)) for _ in range(n_leaves)]
    for _ in range(n_ops):
        a, b = rng.choice(pool[-20:]), rng.choice(pool)
        kind = rng.randrange(8)
        if kind == 0:
            out = a + b
        elif kind == 1:
            out = a * b
        elif kind == 2:
            out = a - b
        elif kind == 3:
            out = a / (b * b + 1)
        elif kind == 4:
            out = (a * 0.1).exp()
        elif kind == 5:
            out = (a * a + 1).log()
        elif kind == 6:
            out = (a - 1).relu()
        else:
            out = sum([a, b, a]) * 0.3
        pool.append(out)
    return sum(pool[-10:])


@pytest.mark.parametrize("seed", range(5))
def test_iterative_order_equals_recursive_build_topo(seed: int) -> None:
    root = random_graph(random.Random(seed), n_leaves=15, n_ops=300)
    expected = recursive_topo(root)
    topo = topological_order(root)
    assert len(topo) == len(expected)
    assert all(x is y for x, y in zip(topo, expected, strict=True))
    assert all(x is y for x, y in zip(backward_order(root), reversed(expected), strict=True))


def test_backward_runs_in_build_topo_order() -> None:
    """Summing in a different order would change the bits; ours matches microgpt's order."""
    root = random_graph(random.Random(7), n_leaves=10, n_ops=400)
    leaves = [v for v in topological_order(root) if not v._children]
    root.backward()
    got = [v.grad for v in leaves]
    for v in topological_order(root):
        v.grad = 0
    root.grad = 1
    for v in reversed(recursive_topo(root)):
        for child, local_grad in zip(v._children, v._local_grads, strict=True):
            child.grad += local_grad * v.grad
    assert got == [v.grad for v in leaves]


def test_backward_on_a_deep_chain_has_no_recursion_limit() -> None:
    depth = 200_000
    assert depth > sys.getrecursionlimit() * 10
    x = Value(0.5)
    y = x
    for _ in range(depth):
        y = y + x  # a chain 200,000 nodes deep, each also using x
    assert len(topological_order(y)) == depth + 1
    y.backward()
    assert x.grad == depth + 1
    assert y.data == 0.5 * (depth + 1)
