"""A vector level over the traced scalar graph: vectors, the ops between them, and stepping.

`vector_graph(capture)` derives the `VectorGraph` of a capture without
recomputing anything: from the model's labels for the built-in model, from the
script's statements for an attached script. `VectorWalk` steps a scalar walk
one vector op at a time.
"""

from engine.vector.derive import vector_graph
from engine.vector.graph import COMPUTED, CONST, PARAM, Operand, Vector, VectorGraph, VectorOp

__all__ = [
    "COMPUTED",
    "CONST",
    "PARAM",
    "Operand",
    "Vector",
    "VectorGraph",
    "VectorOp",
    "vector_graph",
]
