"""Steps of a walk-through, and the ones marked to come back to (rehearsing a lecture).

A `Step` is a phase and a position in it: how many nodes that phase's walk has
processed. A walk's state depends only on its position, so going back to a step
(`DebugSession.move("goto", to=step)`) shows exactly what was on screen there.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

PHASE_ORDER = ("forward", "backward")


@dataclass(frozen=True)
class Step:
    """A phase ("forward" or "backward") and a position in it."""

    phase: str
    position: int

    def __post_init__(self) -> None:
        if self.phase not in PHASE_ORDER:
            raise ValueError(f"unknown phase {self.phase!r}")
        if self.position < 0:
            raise ValueError(f"a step is a position >= 0, not {self.position}")

    @property
    def key(self) -> tuple[int, int]:
        """The order of a lecture: the forward phase, then the backward, each by position."""
        return PHASE_ORDER.index(self.phase), self.position

    def __str__(self) -> str:
        return f"{self.phase} step {self.position:,}"


class Bookmarks:
    """A set of marked steps, kept in a lecture's order."""

    def __init__(self, steps: list[Step] | None = None) -> None:
        self._steps: list[Step] = sorted(set(steps or []), key=lambda s: s.key)

    def toggle(self, step: Step) -> bool:
        """Mark `step`, or unmark it if it is marked; True if it is marked now."""
        if step in self._steps:
            self._steps.remove(step)
            return False
        self._steps.append(step)
        self._steps.sort(key=lambda s: s.key)
        return True

    def after(self, step: Step) -> Step | None:
        """The first bookmark after `step`, else the first of all (None: there are none)."""
        later = [s for s in self._steps if s.key > step.key]
        if later:
            return later[0]
        return self._steps[0] if self._steps else None

    def clear(self) -> None:
        self._steps.clear()

    def __iter__(self) -> Iterator[Step]:
        return iter(list(self._steps))

    def __len__(self) -> int:
        return len(self._steps)

    def __contains__(self, step: object) -> bool:
        return step in self._steps
