"""From the stopped script to a `Capture`: the graph, its scopes and names, and its backward.

Everything here runs after the script has stopped, with Python's cycle collector
paused (the graph has no cycles to find; re-scanning it while it grows would cost
more than building it).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from itertools import chain
from operator import attrgetter

from engine.attach.backward_log import WriteLog
from engine.attach.classes import ValueShape
from engine.attach.convert import (
    Graph,
    ScopeNamer,
    build_graph,
    closure_local_grads,
    micrograd_ops,
)
from engine.attach.names import (
    Nest,
    ParameterFinder,
    ScriptParameters,
    named_values,
    parameter_nodes,
)
from engine.attach.recorder import Recorder, Stop
from engine.attach.textbook import SEED, TextbookRun
from engine.capture import Capture
from engine.data import Tokenizer
from engine.errors import InputError
from engine.graph import scope_position
from engine.recorded_backward import RecordedBackward
from engine.trace import Trace
from engine.value import Value

NO_LEVELS = (
    "no scope levels in this graph (no integer loop counter over range() was set where its "
    "nodes were made): name the script's own with --scope-vars NAME=PREFIX,..., "
    "e.g. --scope-vars i=pos"
)


@dataclass
class Converted:
    """The capture, the script's objects by node id, and what is worth telling the user."""

    capture: Capture
    parameters: ScriptParameters
    script_nodes: list
    recorded: RecordedBackward
    tokenizer: Tokenizer | None
    doc: str | None
    notes: list[str] = field(default_factory=list)


def shape_of_root(rec: Recorder, root: object) -> tuple[type, ValueShape]:
    """The instrumented class the root belongs to, and its shape."""
    for cls in type(root).__mro__:
        if cls in rec.shapes:
            return cls, rec.shapes[cls]
    raise InputError(f"{rec.display}: backward() was called on a {type(root).__name__}")


def recorded_backward(log: WriteLog, node_of: Callable[[object], object]) -> RecordedBackward:
    """The log over engine nodes. A write to an object outside the graph and its
    parameters is left out; a step of such an object joins the step before it."""
    targets = list(map(node_of, log.targets))
    steps = list(map(node_of, log.steps))
    if set(map(type, targets)) <= {Value} and set(map(type, steps)) <= {Value}:
        starts = [*log.step_starts, len(targets)] if steps else [len(targets)]
        return RecordedBackward(steps, starts, targets, log.olds, log.news)
    return _recorded_in_part(log, targets, steps)


def textbook_backward(run: TextbookRun, graph: Graph, display: str) -> RecordedBackward:
    """microgpt's backward() over the graph: its steps, its writes derived when replayed.

    Call while the script's objects hold their nodes (`graph.slots`).
    """
    steps = list(map(attrgetter("grad"), reversed(run.topo)))  # each topo object's node
    after = list(map(attrgetter("grad"), graph.nodes))
    if len(steps) != len(graph.nodes):  # (topo and the graph: both all the root reaches)
        raise RuntimeError("microgpt's backward() reached other nodes than the graph's")
    _check_numbers(chain(run.before, after), display)
    root = steps[0]
    return RecordedBackward.chain_rule(
        steps, [(root, run.root_grad, SEED)], run.before[::-1], after
    )


def _check_followable(run: TextbookRun, display: str) -> None:
    """InputError if the graph holds a node whose writes cannot be derived."""
    if not run.seen:
        raise RuntimeError("microgpt's backward() did not start from its root")
    unfollowable = run.unfollowable()
    if unfollowable is not None:
        raise InputError(f"{display}: {unfollowable}")


def _recorded_in_part(log: WriteLog, nodes: list, steps: list) -> RecordedBackward:
    """`recorded_backward` when some objects have no node (`nodes`, `steps`: None or not)."""
    ends = [*log.step_starts[1:], len(log.targets)]
    targets, olds, news = [], [], []

    def take(lo: int, hi: int) -> None:
        for node, old, new in zip(nodes[lo:hi], log.olds[lo:hi], log.news[lo:hi]):
            if type(node) is Value:
                targets.append(node)
                olds.append(old)
                news.append(new)

    take(0, log.step_starts[0] if log.steps else len(log.targets))
    kept, starts = [], []
    for node, lo, hi in zip(steps, log.step_starts, ends):
        if type(node) is Value:
            kept.append(node)
            starts.append(len(targets))
        take(lo, hi)
    starts.append(len(targets))
    return RecordedBackward(kept, starts, targets, olds, news)


def _check_numbers(grads: Iterable, display: str) -> None:
    """InputError unless every grad (before, written, left) is an int or a float."""
    kinds = set(map(type, grads)) - {int, float}
    bad = [k for k in kinds if not issubclass(k, (int, float))]
    if bad:
        raise InputError(
            f"{display}: a grad holds {bad[0].__name__}, not a number; attach needs int or "
            "float grads"
        )


def _label(graph: Graph, spaces: list[dict], is_value) -> None:
    """Labels from the script's variables, then `#id` for the leaves left unnamed."""
    for obj, label in named_values(spaces, is_value):
        node = graph.engine_of(obj)
        if node is not None and node.label is None:
            node.label = label
    for node in graph.nodes:
        if node.label is None and not node._children:
            node.label = f"#{node.id}"


def capture_stop(rec: Recorder, stop: Stop, *, drop_steps: bool) -> Converted:
    """The graph the stopped `backward()` call walked, with what it wrote."""
    cls, shape = shape_of_root(rec, stop.root)
    if stop.textbook is not None:
        _check_followable(stop.textbook, rec.display)
    scopes = ScopeNamer(stop.active, drop_steps)
    graph = build_graph(rec.nodes, rec.contexts, stop.root, shape, scopes, rec.display)
    try:
        notes = [] if scopes.has_levels else [NO_LEVELS]
        if shape.closures:
            underived = closure_local_grads(graph, cls)
            micrograd_ops(graph)
            if underived:
                notes.append(
                    f"{underived} nodes' local gradients could not be read out of their "
                    "_backward closures (shown as nan); their grads are still the script's own"
                )
        parameters = _parameters(rec, stop, shape, graph)
        _label(graph, stop.namespaces, _is_instance_of(rec.classes))
        if stop.textbook is not None:
            recorded = textbook_backward(stop.textbook, graph, rec.display)
        else:
            grads = chain(stop.log.olds, stop.log.news, map(attrgetter("grad"), graph.nodes))
            _check_numbers(grads, rec.display)
            recorded = recorded_backward(stop.log, attrgetter("grad"))
    finally:
        graph.slots.release()
    tokens, tokenizer, doc = stop.document.resolve()
    root = graph.nodes[-1]
    # the order: the script's steps when they visit every node once (Capture would
    # otherwise walk the graph again for microgpt's); the session replays the steps
    capture = Capture(
        Trace(),
        root,
        tokens,
        scope_position(root.scope),
        parameters,
        recorded.steps if recorded.covers_once(len(graph.nodes)) else None,
        script=rec.provenance.filename,
        chains=[ctx.chain for ctx in graph.contexts],
    )
    capture.trace.nodes = graph.nodes
    return Converted(capture, parameters, graph.script_nodes, recorded, tokenizer, doc, notes)


def _is_instance_of(classes: tuple[type, ...]) -> Callable[[object], bool]:
    return lambda obj: isinstance(obj, classes)


def find_parameters(rec: Recorder, stop: Stop, shape: ValueShape) -> dict[str, Nest]:
    """The script's parameters (its own objects) by name, in their shapes."""
    children = shape.children

    def is_leaf(obj: object) -> bool:
        return not getattr(obj, children, None)

    return ParameterFinder(_is_instance_of(rec.classes), is_leaf).find(stop.namespaces)


def _parameters(rec: Recorder, stop: Stop, shape: ValueShape, graph: Graph) -> ScriptParameters:
    found = find_parameters(rec, stop, shape)
    return parameter_nodes(found, graph.engine_of, graph.slots.lend)
