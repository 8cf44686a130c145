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


def scope_frames(scope: str) -> list[str]:
    """`a.b.c` -> [`a.b.c`, `a.b`, `a`]: the scope paths from innermost to outermost."""
    parts = scope.split(".") if scope else []
    return [".".join(parts[:i]) for i in range(len(parts), 0, -1)]
