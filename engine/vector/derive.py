"""`vector_graph(capture)`: the vector graph of a capture, from labels or from statements."""

from __future__ import annotations

from engine.capture import Capture
from engine.vector.from_labels import ops_from_labels
from engine.vector.graph import VectorGraph
from engine.vector.inputs import InputResolver


def vector_graph(capture: Capture) -> VectorGraph:
    """The vectors and ops of `capture`'s graph.

    The built-in model labels every vector it makes, so its ops come from the
    labels; a script's graph (`capture.script`) has no labels, and its ops come
    from the statements and scopes that created its nodes.
    """
    nodes = capture.nodes
    if capture.script is None:
        ops = ops_from_labels(nodes)
    else:
        from engine.vector.from_statements import ops_from_statements

        ops = ops_from_statements(capture)
    state_dict = capture.model.state_dict if capture.model is not None else None
    return VectorGraph(nodes, ops, InputResolver(nodes, state_dict))
