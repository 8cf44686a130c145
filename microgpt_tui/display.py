"""How the debugger writes nodes and numbers: one place, so every panel agrees.

Values and gradients are shown rounded (`.4g`, or more digits where asked); the
numbers themselves are always the engine's own floats, never recomputed here.
"""

from __future__ import annotations

from engine.value import Value

PENDING = "·"  # a value the forward replay has not reached yet


def num(x: float, digits: int = 4) -> str:
    """A float (or microgpt's int 0 / 1) with `digits` significant digits."""
    return f"{x:.{digits}g}"


def node_name(node: Value) -> str:
    """`#16454 * loss`, `#12 param wte[0][12]`, `#16440 const -1`."""
    parts = [f"#{node.id}", node.op]
    if node.op == "const":
        parts.append(num(node.data))
    elif node.label:
        parts.append(node.label)
    return " ".join(parts)


def used_by(nodes: int, uses: int) -> str:
    """`used by 2 nodes, 3 uses` (a node can use one input twice: `x * x`), or `used by 1 node`."""
    text = f"used by {nodes} node{'s' * (nodes != 1)}"
    return text + (f", {uses} uses" if uses != nodes else "")


def relative_scope(scope: str, centre: str) -> str:
    """Where `scope` is, seen from `centre`'s: "" (the same), `+softmax` (inside it),
    `↑attn` (around it), or the part after what they share (`…mlp`, or the whole path)."""
    if scope == centre:
        return ""
    parts, here = scope.split("."), centre.split(".") if centre else []
    shared = 0
    while shared < min(len(parts), len(here)) and parts[shared] == here[shared]:
        shared += 1
    if shared == len(here):
        return "+" + ".".join(parts[shared:])
    if shared == len(parts):
        return "↑" + parts[-1]
    return ("…" if shared else "") + ".".join(parts[shared:])


def fit_scope(path: str, width: int) -> str:
    """A scope path in `width` cells: whole, else its first part, `…` and as much of its end
    as fits (`pos3…attn`), else its first part and `…` (the position tells scopes apart),
    else "" (no room)."""
    if len(path) <= width:
        return path
    parts = path.split(".")
    for k in range(2, len(parts)):
        shortened = parts[0] + "…" + ".".join(parts[k:])
        if len(shortened) <= width:
            return shortened
    return parts[0] + "…" if len(parts[0]) < width else ""


def scope_frames(scope: str) -> list[str]:
    """`a.b.c` -> [`a.b.c`, `a.b`, `a`]: the scope paths from innermost to outermost."""
    parts = scope.split(".") if scope else []
    return [".".join(parts[:i]) for i in range(len(parts), 0, -1)]
