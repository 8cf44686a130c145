"""The debugger's moves by name: what `s`, `n`, `o`, `c`, `p`, a restart, a jump, a phase
switch and a level switch do to a session's two walks, and the record of what each did.

At vector level `s`, `n`, `o` and `c` are the vector walk's (`engine.vector.level`); the
other moves (back, run to the end, restart, first/last step, a jump to a step) are the
walk's own at both levels: the vector walk only reads the walk's position.

Every move is undone exactly by `back`, whatever its size: a restart, or a jump
back to a bookmark, too (a walk's state depends only on its position).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from engine.bookmarks import Step
from engine.stepper import BackwardPass, Walk
from engine.vector.level import SWITCHES, VectorLevel

FORWARD, BACKWARD = "forward", "backward"
PHASES = (FORWARD, BACKWARD)
MOVES = (
    "step", "step_over", "step_out", "cont", "back", "run_to_end",
    "restart", "first", "last", "goto",
)  # fmt: skip
"""The walk's moves by name (`DebugSession.move`); `back` undoes the last one, whatever it was
(a restart, or a jump back to a bookmark, too)."""

_WALK_MOVES: dict[str, Callable[[Walk], int]] = {
    "step": lambda walk: walk.step(),
    "step_over": lambda walk: walk.step_over(),
    "step_out": lambda walk: walk.step_out(),
    "cont": lambda walk: walk.cont(),
    "run_to_end": lambda walk: walk.run_to_end(),
    "restart": lambda walk: walk.restart(),
    "first": lambda walk: walk.first_stop(),
    "last": lambda walk: walk.last_stop(),
}


@dataclass(frozen=True)
class MoveResult:
    """What one move did: which move, the phase it left the session in, and how many nodes.

    `nodes` is how many nodes the move processed (for `back`: how many it undid;
    for a phase or level switch: 1 if it changed, else 0; for a move to an earlier
    step: how far back), so 0 means nothing moved. `restarted` is how many
    processed nodes a restart undid (`b` starts the backward pass again).
    """

    name: str  # one of MOVES, a phase (FORWARD, BACKWARD), or the level a level switch set
    phase: str
    nodes: int
    restarted: int = 0

    @property
    def moved(self) -> bool:
        return self.nodes > 0 or self.restarted > 0

    @property
    def is_phase_switch(self) -> bool:
        return self.name in PHASES


class Walks(Protocol):
    """What a move needs of a session: its phase, its two walks and its level."""

    phase: str
    backward: BackwardPass
    vectors: VectorLevel

    @property
    def level(self) -> str: ...

    @property
    def walk(self) -> Walk: ...
    def set_phase(self, phase: str) -> None: ...


def move(session: Walks, name: str, to: Step | None = None) -> MoveResult:
    """Make a move by name (one of MOVES), or switch to a phase (FORWARD, BACKWARD) or a level
    (one of SWITCHES: nothing moves; the vector level is built the first time).

    Switching to the backward phase starts it again, as `backward()` starts: every
    grad 0, the root's 1 (`back` returns to where it was). "goto" goes to the step
    `to`, in its phase, exactly as it was there.
    """
    if name in SWITCHES:  # (nodes: 1 if the level changed)
        changed = session.vectors.switch(name)
        return MoveResult(session.level, session.phase, int(changed))
    if name in PHASES:
        changed = session.phase != name
        session.set_phase(name)
        restarted = session.backward.restart() if name == BACKWARD else 0
        return MoveResult(name, session.phase, int(changed), restarted)
    walk = session.walk
    if session.vectors.makes(name):
        return MoveResult(name, session.phase, session.vectors.move(walk, name))
    if name == "back":
        before = walk.position
        walk.back()
        return MoveResult(name, session.phase, abs(before - walk.position))
    if name == "goto":
        if to is None:
            raise ValueError("goto needs a step to go to")
        session.set_phase(to.phase)
        return MoveResult(name, session.phase, session.walk.go_to(to.position))
    if name not in _WALK_MOVES:
        raise ValueError(f"unknown move {name!r}: one of {', '.join(MOVES + PHASES + SWITCHES)}")
    return MoveResult(name, session.phase, _WALK_MOVES[name](walk))
