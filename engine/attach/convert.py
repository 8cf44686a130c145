"""The script's graph as engine values: the same data, children and local gradients.

The nodes are the root and everything it depends on, in creation order (children
before the nodes made from them), each with its provenance; the parameters are
named from the script's `state_dict`, other nodes from the script's variables.
"""

from __future__ import annotations

from collections.abc import Iterator

from engine.attach.provenance import UNKNOWN_CONTEXT, NodeContext
from engine.attach.recorder import Recorder
from engine.capture import Capture, Parameters
from engine.data import Tokenizer
from engine.errors import InputError
from engine.trace import Trace
from engine.value import Value


def _is_matrix(obj: object, classes: tuple[type, ...]) -> bool:
    return (
        isinstance(obj, list)
        and bool(obj)
        and all(
            isinstance(row, list) and row and all(isinstance(x, classes) for x in row)
            for row in obj
        )
    )


def _find_state_dict(spaces: list[dict], classes: tuple[type, ...]) -> dict[str, list] | None:
    """The first dict of matrices of values in the script's namespaces (microgpt's state_dict)."""
    for space in reversed(spaces):  # the module's globals first
        for name, obj in list(space.items()):
            if name.startswith("__") or not isinstance(obj, dict) or not obj:
                continue
            if all(isinstance(k, str) and _is_matrix(m, classes) for k, m in obj.items()):
                return obj
    return None


def _named_values(spaces: list[dict], classes: tuple[type, ...]) -> Iterator[tuple[object, str]]:
    """(value, name) for the script's variables holding a value, or lists of them."""
    for space in spaces:  # innermost first
        for name, obj in list(space.items()):
            if not name.startswith("__") and isinstance(obj, classes):
                yield obj, name
    for space in spaces:
        for name, obj in list(space.items()):
            if name.startswith("__") or not isinstance(obj, (list, tuple)):
                continue
            stack = [(obj, name, 0)]
            while stack:
                seq, label, depth = stack.pop()
                if not seq:
                    continue
                first = seq[0]
                if isinstance(first, classes):
                    for i, x in enumerate(seq):
                        if isinstance(x, classes):
                            yield x, f"{label}[{i}]"
                elif isinstance(first, (list, tuple)) and depth < 3:
                    stack.extend(
                        (x, f"{label}[{i}]", depth + 1)
                        for i, x in reversed(list(enumerate(seq)))
                        if isinstance(x, (list, tuple))
                    )


def _ancestors(root: object) -> dict[int, object]:
    """The root and every node it depends on, by id (user classes may define __eq__)."""
    seen = {id(root): root}
    stack = [root]
    while stack:
        for child in stack.pop()._children:  # type: ignore[attr-defined]
            if id(child) not in seen:
                seen[id(child)] = child
                stack.append(child)
    return seen


def _build(order: list[tuple[object, NodeContext]]) -> tuple[list[Value], list[str]]:
    """Engine Values for the script's nodes, given children first; KeyError if not."""
    nodes: list[Value] = []
    chains: list[str] = []
    built: dict[int, Value] = {}
    for i, (u, ctx) in enumerate(order):
        kids = u._children  # type: ignore[attr-defined]
        if kids:
            children = tuple([built[id(c)] for c in kids])
            op = ctx.op or (ctx.creator.co_name.strip("<>") if ctx.creator is not None else "op")
        else:
            children, op = (), "const"
        node = Value(u.data, children, tuple(u._local_grads), op)  # type: ignore[attr-defined]
        node.id = i
        node.code = ctx.code
        node.line = ctx.line
        node.scope = ctx.scope
        node.label = None
        built[id(u)] = node
        nodes.append(node)
        chains.append(ctx.chain)
    return nodes, chains


def _postorder(root: object) -> list[object]:
    order, seen = [], {id(root)}
    stack = [(root, iter(root._children))]  # type: ignore[attr-defined]
    while stack:
        node, children = stack[-1]
        for child in children:
            if id(child) not in seen:
                seen.add(id(child))
                stack.append((child, iter(child._children)))
                break
        else:
            stack.pop()
            order.append(node)
    return order


def _in_creation_order(rec: Recorder, root: object) -> tuple[list[Value], list[str], list]:
    """Engine nodes, chains and the script's objects, children first (creation order if it is)."""
    pending = _ancestors(root)
    order = []
    for u, ctx in zip(rec.nodes, rec.contexts):
        if pending.pop(id(u), None) is not None:
            order.append((u, ctx))
    try:
        if pending:  # made without __init__ (copy, __new__): no record, no order
            raise KeyError
        nodes, chains = _build(order)
    except KeyError:  # or children reassigned after creation: children first, then
        context_of = {id(u): ctx for u, ctx in reversed(list(zip(rec.nodes, rec.contexts)))}
        order = [(u, context_of.get(id(u), UNKNOWN_CONTEXT)) for u in _postorder(root)]
        nodes, chains = _build(order)
    return nodes, chains, [u for u, _ in order]


def _parameters(
    spaces: list[dict], classes: tuple[type, ...], nodes: list[Value], position: dict[int, int]
) -> dict[str, list[list[Value]]]:
    """The script's dict of parameter matrices, as nodes of the graph (or fresh, unused ones)."""
    state_dict: dict[str, list[list[Value]]] = {}
    script_state = _find_state_dict(spaces, classes) or {}
    for name, mat in script_state.items():
        rows = []
        for r, row in enumerate(mat):
            out = []
            for c, p in enumerate(row):
                i = position.get(id(p))
                if i is not None and not nodes[i]._children:
                    node = nodes[i]
                else:  # not in this graph: a fresh parameter, grad 0, no id
                    node = Value(p.data, (), (), "param")
                    node.id, node.code, node.line = -1, None, 0
                node.op, node.scope, node.label = "param", "params", f"{name}[{r}][{c}]"
                out.append(node)
            rows.append(out)
        state_dict[name] = rows
    return state_dict


def convert(rec: Recorder, root: object, spaces: list[dict]) -> tuple[Capture, list]:
    """The script's graph rooted at `root` as engine Values, in creation order.

    Returns the capture (its `model.state_dict` holds the parameters as engine
    Values) and the script's own objects, by node id.
    """
    classes = tuple(rec.classes)
    nodes, chains, script_nodes = _in_creation_order(rec, root)
    position = {id(u): i for i, u in enumerate(script_nodes)}
    state_dict = _parameters(spaces, classes, nodes, position)

    # labels: the script's variables, then ids for the leaves left
    for obj, label in _named_values(spaces, classes):
        i = position.get(id(obj))
        if i is not None and nodes[i].label is None:
            nodes[i].label = label
    for node in nodes:
        if node.label is None and not node._children:
            node.label = f"#{node.id}"

    trace = Trace()
    trace.nodes = nodes
    capture = Capture(
        trace, nodes[-1], model=Parameters(state_dict), chains=chains, script=rec.filename
    )
    return capture, script_nodes


def tokens_and_tokenizer(spaces: list[dict]) -> tuple[list[int], Tokenizer | None, str]:
    """The script's `tokens`, `uchars` and `doc`, when it keeps them as microgpt does."""

    def lookup(name: str) -> object:
        for space in spaces:
            if name in space:
                return space[name]
        return None

    uchars, tokens, doc = lookup("uchars"), lookup("tokens"), lookup("doc")
    tokenizer = None
    if isinstance(uchars, (list, str)) and all(isinstance(c, str) and len(c) == 1 for c in uchars):
        try:
            tokenizer = Tokenizer("".join(uchars))
        except InputError:
            tokenizer = None
    ok_tokens = (
        tokenizer is not None
        and isinstance(tokens, list)
        and all(isinstance(t, int) and 0 <= t < tokenizer.vocab_size for t in tokens)
    )
    return (list(tokens) if ok_tokens else []), tokenizer, (doc if isinstance(doc, str) else "")
