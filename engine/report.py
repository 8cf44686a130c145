"""The gradient report: one document's loss and every parameter's gradient, as JSON.

`grads --json` and `attach --grads --json` print the same object (DESIGN's
"Command line"):

    {"loss": L, "doc": D, "pos": P or null, "nodes": N, "grads": {name: grads}}

where `grads` has the shape of the model's parameters: a matrix (a list of rows)
for microgpt's, and any nesting of lists (a vector, a stack of matrices) for a
script that keeps its parameters otherwise.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from engine.errors import InputError

REPORT_KEYS = ("loss", "doc", "pos", "nodes", "grads")


def grads_of(params: Any) -> Any:
    """The `.grad` of every value in `params` (nested lists of values), as floats, same shape."""
    if isinstance(params, list | tuple):
        return [grads_of(p) for p in params]
    return float(params.grad)


def grads_report(
    loss: float,
    doc: str,
    pos: int | None,
    nodes: int,
    state_dict: Mapping[str, Any],
) -> dict[str, Any]:
    """The report's object, keys in `REPORT_KEYS` order, the grads read from `state_dict`."""
    grads = {name: grads_of(params) for name, params in state_dict.items()}
    return {"loss": loss, "doc": doc, "pos": pos, "nodes": nodes, "grads": grads}


def report_json(report: Mapping[str, Any]) -> str:
    """The report as one line of strict JSON; InputError if a number is not finite."""
    try:
        return json.dumps(report, allow_nan=False)
    except ValueError:
        raise InputError(
            "the loss or a gradient is not a finite number (nan or inf): JSON cannot hold it"
        ) from None
