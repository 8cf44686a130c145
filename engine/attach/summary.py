"""What `attach --grads` prints, read from the script's objects when its backward() is microgpt's.

The report (`engine.report`) is the loss, the document and position, the node
count and every parameter's grad. When the script's backward() was microgpt's
own (`textbook.TextbookRun`), its `topo` is the whole graph and every grad is the
script's: none of it needs the engine's copy of the graph, which is most of the
time after the stop (`captured.capture_stop`, a Python object per node). The graph
is still checked as that conversion checks it: no cycle, one local gradient per
child, numbers for data and grads, and every node recorded (made through the
value class's `__init__`), so scopes and positions come from the same records.
When anything is out of the ordinary `textbook_summary` gives None, and the
conversion answers, with its own refusal.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import compress

from engine.attach.captured import NO_LEVELS, find_parameters, shape_of_root
from engine.attach.convert import ScopeNamer
from engine.attach.recorder import Recorder, Stop
from engine.graph import scope_position
from engine.report import grads_of


@dataclass
class GradsSummary:
    """The report's numbers, from the script's own objects."""

    loss: object  # the root's data
    pos: int | None  # the position the root's scope names, if any
    nodes: int  # the root and every node it depends on
    grads: dict[str, object]  # every parameter's grad (floats), in the shape the script keeps it
    notes: list[str]  # what the conversion would tell the user (no scope levels)


def textbook_summary(rec: Recorder, stop: Stop, *, drop_steps: bool) -> GradsSummary | None:
    """The report of a microgpt backward() call's graph, or None if it needs the conversion."""
    run = stop.textbook
    if run is None or not run.seen:
        return None
    topo = run.topo
    graph = _checked_nodes(topo, type(run.root))  # (the root's class is a value class, plain)
    if graph is None or not all(
        issubclass(kind, (int, float)) for kind in set(map(type, run.before))
    ):
        return None
    in_graph = list(map(graph.__contains__, rec.nodes))
    if sum(in_graph) != len(topo):
        return None  # a node made without the class's __init__: the conversion places it
    scopes = ScopeNamer(stop.active, drop_steps)
    dropped = scopes.dropped(set(compress(rec.contexts, in_graph)))
    root = run.root
    root_at = next(i for i in range(len(rec.nodes) - 1, -1, -1) if rec.nodes[i] is root)
    _, shape = shape_of_root(rec, root)
    found = find_parameters(rec, stop, shape)
    return GradsSummary(
        root.data,  # type: ignore[attr-defined]
        scope_position(scopes.scope_of(rec.contexts[root_at], dropped)),
        len(topo),
        {name: grads_of(nest) for name, nest in found.items()},
        [] if scopes.has_levels else [NO_LEVELS],
    )


def _checked_nodes(topo: list, kind: type) -> set | None:
    """The nodes of `topo`, if each is a `kind`, its children come before it (so there is no
    cycle), it has one local gradient per child, and its data and grad are floats or ints;
    else None (and the conversion decides: it also takes other classes and subclasses)."""
    done: set = set()
    has_all, add = done.issuperset, done.add
    try:
        for u in topo:
            if type(u) is not kind:
                return None
            children = u._children
            if len(children) != len(u._local_grads) or not has_all(children):
                return None
            add(u)
            number = u.data
            if type(number) is not float and type(number) is not int:
                return None
            number = u.grad
            if type(number) is not float and type(number) is not int:
                return None
    except TypeError:  # children or local gradients without a length
        return None
    return done
