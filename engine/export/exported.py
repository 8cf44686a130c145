"""What an export wrote: the file, its format, and what the picture holds."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass
class Exported:
    """What `export` wrote."""

    path: Path
    format: str
    nodes: int  # graph nodes selected (the overview: every node, summarised)
    drawn: int  # shapes drawn: nodes and stubs, or the overview's boxes
    stubs: int = 0  # outside inputs drawn as stubs
    overview: bool = False
    seconds: float = 0.0
    ops: int = 0  # at vector level: the ops drawn (`drawn` counts the vector boxes)

    @property
    def vector(self) -> bool:
        return self.ops > 0

    def summary(self) -> str:
        """`105 nodes, 36 outside inputs as stubs`, `15,143 nodes in 25 scope boxes`, or at
        vector level `3 vector ops and 6 boxes for 130 nodes`."""
        if self.vector:
            return (
                f"{count(self.ops, 'vector op')} and {count(self.drawn, 'box')} "
                f"for {count(self.nodes, 'node')}"
            )
        if self.overview:
            return f"{count(self.nodes, 'node')} in {count(self.drawn, 'scope box')}"
        extra = f", {count(self.stubs, 'outside input')} as stubs" if self.stubs else ""
        return f"{count(self.nodes, 'node')}{extra}"


def count(n: int, noun: str) -> str:
    """`1 node`, `2 nodes`, `25 scope boxes`."""
    if n == 1:
        return f"1 {noun}"
    return f"{n:,} {noun}{'es' if noun.endswith(('x', 's')) else 's'}"
