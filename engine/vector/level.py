"""A session's level: scalars (a step is one node) or vectors (a step is one vector op).

The level only decides what `step`, `step_over`, `step_out` and `cont` are made
of: at vector level they are a `VectorWalk`'s moves over the phase's own walk,
so a vector-level stop is a scalar state, and `back` (the walk's) undoes a move
exactly whatever level made it. `run_to_end` is the same at both levels.
Switching level moves nothing: no value and no grad changes.

The vector graph, a vector walk per phase and what each op reads (which the
panels show) are worked out the first time the vector level is switched to (a
few seconds on a million-node graph), on the thread that switches: the
controller's runner, which switches levels as it makes moves.
"""

from __future__ import annotations

import gc
from collections.abc import Callable
from functools import cached_property
from typing import Protocol

from engine.capture import Capture
from engine.stepper import Walk
from engine.vector.derive import vector_graph
from engine.vector.graph import VectorGraph, VectorOp
from engine.vector.stepping import VectorWalk

SCALAR, VECTOR = "scalar", "vector"
LEVELS = (SCALAR, VECTOR)
TOGGLE_LEVEL = "toggle_level"
SWITCHES = (*LEVELS, TOGGLE_LEVEL)
"""The level switches `DebugSession.move` makes: to a level, or to the other one."""

VECTOR_MOVES: dict[str, Callable[[VectorWalk], int]] = {
    "step": VectorWalk.step,
    "step_over": VectorWalk.step_over,
    "step_out": VectorWalk.step_out,
    "cont": VectorWalk.cont,
}
"""The moves a vector walk makes (the others are the walk's own at both levels)."""


class Walks(Protocol):
    """What the level needs of a session: its two walks, and the current phase's."""

    forward: Walk
    backward: Walk

    @property
    def walk(self) -> Walk: ...


class VectorLevel:
    """A session's level, its vector graph, and one `VectorWalk` per walk (made once)."""

    def __init__(self, capture: Capture, session: Walks) -> None:
        self.level = SCALAR
        self._capture = capture
        self._session = session
        self._vector_walks: dict[int, VectorWalk] = {}

    @cached_property
    def graph(self) -> VectorGraph:
        return vector_graph(self._capture)

    def switch(self, name: str) -> bool:
        """Switch to a level (one of LEVELS), or TOGGLE_LEVEL; True if the level changed.

        The first switch to VECTOR builds the vector graph and walks.
        """
        if name not in SWITCHES:
            raise ValueError(f"unknown level {name!r}: one of {', '.join(LEVELS)}")
        level = name if name in LEVELS else LEVELS[1 - LEVELS.index(self.level)]
        if level == VECTOR:
            first = "graph" not in self.__dict__
            for walk in (self._session.forward, self._session.backward):
                self.walk_of(walk)
            for op in self.graph.ops:  # what each op reads, for the panels: once, now
                _ = op.inputs
            if first:  # (the build's policy, `engine.loading`: what is built stays built, so
                gc.freeze()  # the collector leaves it alone; a full collection mid-step
                # rescanned it all, tens of ms; the next build unfreezes it with the rest)
        changed, self.level = level != self.level, level
        return changed

    def makes(self, move: str) -> bool:
        """Is `move` made by the vector walk at the current level?"""
        return self.level == VECTOR and move in VECTOR_MOVES

    def move(self, walk: Walk, name: str) -> int:
        """Make `name` (one of VECTOR_MOVES) at vector level; how many nodes it processed."""
        return VECTOR_MOVES[name](self.walk_of(walk))

    def walk_of(self, walk: Walk) -> VectorWalk:
        """The vector walk over `walk` (one of the session's walks), made on first use."""
        found = self._vector_walks.get(id(walk))
        if found is None:
            found = self._vector_walks[id(walk)] = VectorWalk(walk, self.graph)
        return found

    @property
    def current(self) -> VectorWalk:
        """The current phase's vector walk."""
        return self.walk_of(self._session.walk)

    def shown_op(self) -> VectorOp | None:
        """The op the debugger is at in the current phase: the one just completed (or under
        way), else the next one the walk stops at, else (at the end) the last completed."""
        vector_walk = self.current
        return vector_walk.current_op or vector_walk.next_op() or vector_walk.last_completed_op()
