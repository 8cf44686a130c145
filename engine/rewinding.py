"""Going to any step of a walk exactly, an earlier one too, as one move `back` undoes:
`go_to`, `restart`, the phase's first and last stop (mixed into `stepper.Walk`).

A walk's state depends only on its position (how many nodes of its order are
processed): the same nodes processed in the same order give the same floats. So
going back to an earlier position undoes the moves since (or, if that is longer,
starts the phase again) and replays up to there, and undoing that replays forward
to where the walk was: both exact, bit for bit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from engine.graph import in_scope

if TYPE_CHECKING:
    from engine.value import Value


@dataclass
class Rewind:
    """What `back` needs to undo a move to an earlier position: where the walk was, and the
    moves it could undo then (the state itself is replayed: it depends only on the position)."""

    start: int
    history: list


class Rewinding:
    """A walk's moves to a given step (`Walk` has the rest: its order, position, history)."""

    order: Sequence[Value]
    position: int
    focus: str | None
    _history: list

    if TYPE_CHECKING:  # what Walk provides

        def run_to(self, position: int) -> int: ...
        def scope_end(self, scope: str) -> int: ...
        def _undo(self, move: Any) -> None: ...
        def _start_again(self) -> None: ...
        def _apply(self, node: Value) -> None: ...

    def go_to(self, position: int) -> int:
        """Be at exactly `position` processed nodes, earlier or later, as one move `back` undoes.

        Later: the nodes in between are processed (focus and breakpoints ignored).
        Earlier: the phase starts again and is replayed up to `position`. Returns how
        many nodes away that was (0: already there, nothing recorded).
        """
        target = max(0, min(position, len(self.order)))
        if target >= self.position:
            return self.run_to(target)
        start, saved = self.position, list(self._history)
        if not self._undo_to(target):  # (further back than from the start)
            self._start_again()
        self._replay(target)
        self._history = [Rewind(start, saved)]
        return start - target

    def _undo_to(self, target: int) -> bool:
        """Undo recorded moves until at most `target` nodes are processed, if that is cheaper
        than starting again (fewer nodes to undo than to replay); False if not done."""
        moves, at = [], self.position
        for move in reversed(self._history):
            if at <= target or isinstance(move, Rewind) or self.position - target > target:
                break
            moves.append(move)
            at = move.start
        if at > target:
            return False
        for move in moves:
            self._undo(move)
        return True

    def forget_moves(self) -> None:
        """Nothing to undo from here (e.g. a walk-through just opened at this step)."""
        self._history.clear()

    def restart(self) -> int:
        """Back to the start of the phase (`go_to(0)`): `back` returns to where the walk was."""
        return self.go_to(0)

    def first_stop(self) -> int:
        """Go to where the phase's first step stops: after its first node inside the focus."""
        focus, order = self.focus, self.order
        first = next((i for i, n in enumerate(order) if in_scope(n.scope, focus or "")), None)
        return self.go_to(len(order) if first is None else first + 1)

    def last_stop(self) -> int:
        """Go to the phase's last stop: after its last node inside the focus, or to the end."""
        end = len(self.order) - 1 if self.focus is None else self.scope_end(self.focus)
        return self.go_to(len(self.order) if end < 0 else end + 1)

    def _replay(self, position: int) -> None:
        """Process nodes up to `position` without recording them (a rewind, or its undoing)."""
        order = self.order
        while self.position < position:
            self._apply(order[self.position])
            self.position += 1
