"""What the status line says just happened: the words for the controller's results.

The engine reports in records (a `MoveResult`, a new focus, a breakpoint set);
the debugger screen words them here, in the keys' terms ("press b for …").
"""

from __future__ import annotations

from engine.bookmarks import Step
from engine.session import BACKWARD, FORWARD, DebugSession, MoveResult
from engine.vector import LEVELS, VECTOR
from microgpt_tui.screens.choose import Choice

MOVE_NAMES = {
    "step": "step",
    "step_over": "next",
    "step_out": "out",
    "cont": "continue",
    "back": "back",
    "run_to_end": "run to the end",
}
JUMPS = {
    "first": "the first step (of the focus, if any)",
    "last": "the last step (of the focus, if any)",
    "goto": "the bookmarked step",
}
FRESH_GRADS = "every grad 0, the root's 1"


def move_note(result: MoveResult, completed: str = "") -> str:
    """`next: 12 nodes processed`, `undid the last move`, `at the end of the backward phase…`.

    `completed`: the vector op the move completed, at vector level (`step → softmax ✓: …`).
    """
    if result.name in LEVELS:
        return level_note(result.name)
    if result.is_phase_switch:
        if result.name == BACKWARD:
            came_from = f" (p returns to step {result.restarted:,})" if result.restarted else ""
            return f"backward from the start: {FRESH_GRADS}{came_from}"
        return "forward: each step reveals the next node's value"
    if result.name == "back":
        return "undid the last move" if result.moved else "nothing to undo"
    if result.name == "restart":
        if not result.moved:
            return f"already at the start of the {result.phase} phase"
        fresh = f": {FRESH_GRADS}" if result.phase == BACKWARD else ""
        return f"restarted the {result.phase} phase{fresh} (p returns to step {result.nodes:,})"
    if result.name in JUMPS:
        where = JUMPS[result.name]
        return f"at {where} (p comes back)" if result.moved else f"already at {where}"
    if not result.moved:
        then = ": press b for the backward phase" if result.phase == FORWARD else ""
        return f"at the end of the {result.phase} phase" + (then or ": every grad is final")
    count = result.nodes
    done = f" → {completed} ✓" if completed else ""
    return f"{MOVE_NAMES[result.name]}{done}: {count:,} node{'s' * (count != 1)} processed"


def level_note(level: str) -> str:
    if level == VECTOR:
        return "vectors: a step completes one vector operation (v: back to scalars)"
    return "scalars: a step processes one node (v: vectors)"


def opening_note(session: DebugSession) -> str:
    """A hint for a session that has not moved yet ("" once it has)."""
    if session.phase != FORWARD or session.walk.position:
        return ""
    params = session.find_scope("params")
    if params is None or not params.total:
        return "s steps one node · b for backprop"
    return f"the {params.total:,} parameters come first: o steps out of them · b for backprop"


def focus_note(focus: str | None) -> str:
    if focus:
        return f"focus ◎ {focus}: moves stop only inside it (F clears)"
    return "focus cleared: moves stop everywhere"


def breakpoint_note(scope: str, now_set: bool) -> str:
    if now_set:
        return f"breakpoint ● {scope}: c stops on entering it"
    return f"breakpoint on {scope} cleared"


def bookmark_note(step: Step, marked: bool) -> str:
    if marked:
        return f"bookmarked {step}: ' jumps back to it"
    return f"bookmark on {step} removed"


def walk_opened_note(session: DebugSession) -> str:
    """`opened the walk-through at backward step 120 (2 bookmarks)`."""
    count = len(session.bookmarks)
    marks = f" ({count} bookmark{'s' * (count != 1)}: ' jumps)" if count else ""
    return f"opened the walk-through at {session.step_now}{marks}"


def selected_note(path: str) -> str:
    return f"selected {path}: F focuses it, B sets a breakpoint"


def loading_note(choice: Choice, elapsed: float, recorded: int | None) -> str:
    """`tracing 'emma' at the last position… 12,000 nodes recorded (2 s)`."""
    where = (
        "every position"
        if choice.whole_document
        else ("the last position" if choice.pos is None else f"position {choice.pos}")
    )
    text = f"tracing {choice.doc!r} at {where}"
    if choice.checkpoint:
        text += f" with {choice.checkpoint}"
    if recorded:
        text += f"… {recorded:,} nodes recorded"
    elif elapsed > 0.5:
        text += "… indexing the graph"
    else:
        text += "…"
    return text + (f" ({elapsed:.0f} s)" if elapsed >= 1 else "")
