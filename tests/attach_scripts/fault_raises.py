"""A microgpt-style script that fails before its first backward(): attach reports its error."""

import math


class Value:
    __slots__ = ("data", "grad", "_children", "_local_grads")

    def __init__(self, data, children=(), local_grads=()):
        self.data = data
        self.grad = 0
        self._children = children
        self._local_grads = local_grads

    def __mul__(self, other):
        return Value(self.data * other.data, (self, other), (other.data, self.data))

    def log(self):
        return Value(math.log(self.data), (self,), (1 / self.data,))

    def backward(self):
        self.grad = 1


def loss_of(x):
    return (x * x).log()


print("before the error")
x = Value(0.0)
loss = loss_of(x)  # log(0): ValueError: math domain error, raised in Value.log
loss.backward()
