"""A vector level over the traced scalar graph: vectors, the ops between them, and stepping.

- `vector_graph(capture) -> VectorGraph`: derived without recomputing anything,
  from the model's labels (built-in model) or the script's statements (attach).
  `graph.ops` (creation order), `graph.op_of(node)`, `graph.vector_of(node)`,
  `graph.ops_in(scope)`.
- `VectorOp`: `name` (`linear W_q`, `softmax`, ...), `scope`, `nodes` (its
  scalar nodes, ids `start`..`stop - 1`), `output` (a `Vector`), `inputs`
  (`Operand`s: a vector and the positions read, parameters included).
- `Vector`: `name`, `scope`, `members` (the scalar nodes themselves), `values`
  and `grads` (read live), `kind`, `shape` (matrices), `title()`.
- `VectorWalk(walk, graph)`: a ForwardReplay's or BackwardPass's moves one op
  at a time (`step`, `step_over`, `step_out`, `cont`, `back`), and where it is
  (`completed_op`, `current_op`, `next_op()`, `state(op)`, `where()`).
"""

from engine.vector.derive import vector_graph
from engine.vector.graph import COMPUTED, CONST, PARAM, Operand, Vector, VectorGraph, VectorOp
from engine.vector.stepping import DONE, PENDING, RUNNING, VectorWalk

__all__ = [
    "COMPUTED",
    "CONST",
    "DONE",
    "PARAM",
    "PENDING",
    "RUNNING",
    "Operand",
    "Vector",
    "VectorGraph",
    "VectorOp",
    "VectorWalk",
    "vector_graph",
]
