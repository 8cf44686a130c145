"""Go to a node by its id: a one-field dialog that returns the id (or None).

Ids belong to one graph (`emma@pos4`; a Root here keeps them, so a rerooted graph's
ids have gaps): the dialog names it, and refuses an id it does not have.
"""

from __future__ import annotations

from collections.abc import Callable

from engine.errors import InputError
from microgpt_tui.screens.ask import AskScreen


class GoToScreen(AskScreen):
    """Asks for an id of graph `graph_name`; enter returns it, escape returns None."""

    def __init__(
        self,
        graph_name: str,
        id_range: str,
        has_node: Callable[[int], bool],
        *,
        cursor_blink: bool = True,
    ) -> None:
        """`id_range` as the user reads it (`0..16454`); `has_node(id)` says if it is there."""

        def node_id(text: str) -> int:
            text = text.lstrip("#")
            try:
                found = int(text)
            except ValueError:
                raise InputError(f"{text!r} is not a node id: type a number") from None
            if not has_node(found):
                raise InputError(f"#{found} is not in graph {graph_name}: its ids are {id_range}")
            return found

        super().__init__(
            "goto",
            "Go to node",
            f"A node id of graph {graph_name}: {id_range} (inspects it; the cursor stays)",
            node_id,
            placeholder="e.g. 5120",
            integer=True,
            cursor_blink=cursor_blink,
        )
