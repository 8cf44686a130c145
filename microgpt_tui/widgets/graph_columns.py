"""The graph panel's columns after a node's name: value, grad, the edge's ∂, and the scope.

The numbers always show: the values start after the widest name shown (38 columns
at most, less if the panel is narrow), so they line up at any depth; the scope comes
last, said relative to the centre node's (`+softmax`, `↑attn`) and shortened in the
middle to what fits.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from rich.segment import Segment
from rich.style import Style

from engine.session import BACKWARD, DebugSession
from engine.value import Value
from microgpt_tui.display import PENDING, fit_scope, num, relative_scope

NAME, VALUE, GRAD, DERIVATIVE = 38, 13, 16, 13  # a row's columns (NAME at most)


@dataclass
class RowColumns:
    """Draws the columns of the graph's rows for one paint (one session state, one width)."""

    session: DebugSession
    base: Style
    style: Callable[[str], Style]  # a component class's style (`graph-view--dim`, …)
    width: int
    centre_scope: str
    widest_name: int  # the widest name among the rows

    def of(self, node: Value, used: int, local_grad: float | None, edge_of: int) -> list[Segment]:
        """The columns of `node`'s row, whose name took `used` cells; `local_grad` is the
        edge's ∂, known once node `edge_of` (whose local gradient it is) is computed."""
        session, base, style = self.session, self.base, self.style
        backward = session.phase == BACKWARD
        numbers = VALUE + (GRAD if backward else 0) + DERIVATIVE
        pad = max(0, min(NAME, self.widest_name, self.width - numbers) - used)  # (names end in " ")
        segments = [Segment(" " * pad, base)]
        dim = base + style("graph-view--dim")
        if session.value_known(node):
            segments.append(Segment(f"{'= ' + num(node.data):<{VALUE}}", base))
        else:
            segments.append(Segment(f"{'= ' + PENDING:<{VALUE}}", dim))
        if backward:
            final = session.has_final_grad(node)
            sign = "graph-view--negative" if node.grad < 0 else "graph-view--positive"
            if node.grad == 0 and not final:
                segments.append(Segment(f"{'grad ' + PENDING:<{GRAD}}", dim))
            else:
                text = f"grad {num(node.grad)}" + ("" if final else "…")
                segments.append(Segment(f"{text:<{GRAD}}", base + style(sign) if final else dim))
        if local_grad is not None:  # (the forward replay reveals it with its node)
            known = session.value_known(session.node(edge_of))
            text = f"∂ {num(local_grad) if known else PENDING}"
            segments.append(Segment(f"{text:<{DERIVATIVE}}", dim))
        room = self.width - used - sum(len(s.text) for s in segments)
        scope = relative_scope(node.scope, self.centre_scope)
        where = fit_scope(scope, room)
        if where:
            segments.append(Segment(where, dim))
        return segments
