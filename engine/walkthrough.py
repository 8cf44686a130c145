"""A walk-through: where a lecture is in the debugger, saved to come back to exactly.

A small JSON file, written atomically and validated on load like a checkpoint
(bad file: one line, `InputError`):

    {"format": "microgpt-tui.walk", "version": 1,
     "doc": "emma", "pos": 4, "level": "scalar", "root": null,
     "focus": "pos4.layer0.attn.head1", "breakpoints": ["pos4.lm_head"],
     "bookmarks": [{"phase": "backward", "step": 120}],
     "phase": "backward", "steps": {"forward": 0, "backward": 120},
     "graph": {"name": "emma@pos4", "nodes": 16455, "loss": 1.7980...},
     "model": "default model"}

`pos` null is the document's loss (every position); `root` is the id of the node a
Root here made the root (ids are kept by a Root here); `level` is "scalar" or
"vector" (`engine.vector.level`: what a step is; it changes no value or grad).
`graph` says which graph it was saved on, so that opening it on another model, whose
steps would mean other nodes, is refused.

Replaying it is exact: a walk's state depends only on its position, so the same
steps give the same values and grads, float for float.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field
from typing import Any

from engine.bookmarks import Bookmarks, Step
from engine.errors import InputError
from engine.fs import read_regular, write_text_atomically
from engine.moves import BACKWARD, FORWARD, PHASES
from engine.session import DebugSession
from engine.vector.level import LEVELS, SCALAR

FORMAT, VERSION = "microgpt-tui.walk", 1
MAX_WALK_BYTES = 1024 * 1024  # a walk is a few hundred bytes; a bound on what a wrong file costs
KEYS = {
    "format", "version", "doc", "pos", "level", "root", "focus", "breakpoints", "bookmarks",
    "phase", "steps", "graph", "model",
}  # fmt: skip


@dataclass(frozen=True)
class WalkThrough:
    """Where a lecture is: the graph, the level, focus, breakpoints, bookmarks, current step."""

    doc: str
    pos: int | None  # None: the document's loss, every position
    phase: str = FORWARD
    steps: dict[str, int] = field(default_factory=lambda: {FORWARD: 0, BACKWARD: 0})
    level: str = SCALAR  # one of LEVELS
    root: int | None = None  # after a Root here: the id of the root
    focus: str | None = None
    breakpoints: tuple[str, ...] = ()
    bookmarks: tuple[Step, ...] = ()
    graph: str = ""  # the graph's name (`emma@pos4`), its node count and loss: a check
    nodes: int = 0
    loss: float = 0.0
    model: str = ""  # what the model was, for the message when it does not match


class _Invalid(Exception):
    """What is wrong with a walk-through file (the loader words it in one line)."""


# -- from a session, and back ------------------------------------------------------------------


def walk_of(session: DebugSession, base: DebugSession, model: str = "") -> WalkThrough:
    """Where `session` is; `base` is the graph it came from (itself, or before a Root here)."""
    if base.script is not None or base.tokenizer is None:
        raise InputError("a walk-through needs the built-in model (not a script's graph)")
    return WalkThrough(
        doc=base.doc,
        pos=base.pos,
        phase=session.phase,
        steps={FORWARD: session.forward.position, BACKWARD: session.backward.position},
        level=session.level,
        root=session.rooted_at,
        focus=session.focus,
        breakpoints=tuple(sorted(session.breakpoints)),
        bookmarks=tuple(session.bookmarks),
        graph=base.graph_name,
        nodes=len(base.nodes),
        loss=base.loss,
        model=model,
    )


def replay(walk: WalkThrough, base: DebugSession) -> DebugSession:
    """Put `base` (a fresh session of the walk's document and position) where `walk` was.

    Returns the session to show: `base` itself, or the one a Root here at `walk.root`
    gives, at the walk's level (the vector level is built here, the first time: on the
    caller's thread). InputError if the walk does not fit this graph (another model, say).
    """
    if (base.graph_name, len(base.nodes), base.loss) != (walk.graph, walk.nodes, walk.loss):
        saved = f"{walk.nodes:,} nodes, loss {walk.loss:.6g}"
        here = f"{len(base.nodes):,} nodes, loss {base.loss:.6g}"
        raise InputError(
            f"this walk-through was saved on another model ({walk.model or 'unknown'}: graph "
            f"{walk.graph}, {saved}; here {base.graph_name}, {here}): give the same model options"
        )
    session = base
    if walk.root is not None:
        if not base.has_node(walk.root):
            raise InputError(f"the walk-through's root #{walk.root} is not in graph {walk.graph}")
        session = base.rerooted(base.node(walk.root))
    for step in (*walk.bookmarks, *(Step(phase, walk.steps[phase]) for phase in PHASES)):
        _check_step(session, step)
    session.set_focus(walk.focus)  # (InputError: a scope this graph has not)
    for scope in walk.breakpoints:
        if session.find_scope(scope) is None:
            raise InputError(f"the walk-through's breakpoint {scope!r} is not in this graph")
        session.toggle_breakpoint(scope)
    session.bookmarks = Bookmarks(list(walk.bookmarks))
    for stepper, phase in ((session.forward, FORWARD), (session.backward, BACKWARD)):
        stepper.go_to(walk.steps[phase])
        stepper.forget_moves()  # (the walk-through is where it starts: nothing to undo)
    session.set_phase(walk.phase)
    session.move(walk.level)  # (nothing moves: a level is what a step is made of)
    return session


def _check_step(session: DebugSession, step: Step) -> None:
    length = len(session.forward if step.phase == FORWARD else session.backward)
    if step.position > length:
        raise InputError(f"the walk-through's {step} is past the end of the phase ({length:,})")


# -- the file ----------------------------------------------------------------------------------


def save_walk(path: str | os.PathLike[str], walk: WalkThrough) -> None:
    """Write `walk` to `path` atomically (an existing file is replaced whole, or kept)."""
    data = {
        "format": FORMAT,
        "version": VERSION,
        "doc": walk.doc,
        "pos": walk.pos,
        "level": walk.level,
        "root": walk.root,
        "focus": walk.focus,
        "breakpoints": list(walk.breakpoints),
        "bookmarks": [{"phase": s.phase, "step": s.position} for s in walk.bookmarks],
        "phase": walk.phase,
        "steps": dict(walk.steps),
        "graph": {"name": walk.graph, "nodes": walk.nodes, "loss": walk.loss},
        "model": walk.model,
    }
    write_text_atomically(path, json.dumps(data, indent=1) + "\n", "walk-through")


def load_walk(path: str | os.PathLike[str]) -> WalkThrough:
    """Read and validate a walk-through; InputError (one line, naming the file) if it is bad."""
    shown = os.fspath(path)
    raw = read_regular(shown, limit=MAX_WALK_BYTES, what="walk-through")
    try:
        return _parse(_json_object(raw))
    except _Invalid as e:
        raise InputError(f"{shown} is not a valid walk-through: {e}") from None


def _json_object(raw: bytes) -> dict[str, Any]:
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise _Invalid("the file is binary, not UTF-8 text") from None
    if not text.strip():
        raise _Invalid("the file is empty")
    try:
        data = json.loads(text)
    except (json.JSONDecodeError, RecursionError, ValueError) as e:
        raise _Invalid(f"invalid JSON ({str(e).splitlines()[0]})") from None
    if not isinstance(data, dict):
        raise _Invalid("the JSON is not an object")
    return data


def _parse(data: dict[str, Any]) -> WalkThrough:
    if data.get("format") != FORMAT:
        raise _Invalid(f'"format" is {data.get("format")!r}, expected {FORMAT!r}')
    if type(data.get("version")) is not int or data["version"] != VERSION:
        raise _Invalid(f"version {data.get('version')!r} is not supported (this program reads 1)")
    extra = sorted(set(data) - KEYS)
    if extra:
        raise _Invalid(f"unexpected field(s) {', '.join(map(repr, extra))}")
    missing = sorted(KEYS - set(data))
    if missing:
        raise _Invalid(f"missing field(s) {', '.join(map(repr, missing))}")
    level = _text(data, "level")
    if level not in LEVELS:
        raise _Invalid(f"level {level!r} is not one of {', '.join(LEVELS)}")
    graph = data["graph"]
    if not isinstance(graph, dict) or set(graph) != {"name", "nodes", "loss"}:
        raise _Invalid('"graph" must be {"name": ..., "nodes": ..., "loss": ...}')
    loss = graph["loss"]
    if type(loss) not in (int, float) or not math.isfinite(loss):
        raise _Invalid('"graph"\'s "loss" must be a finite number')
    return WalkThrough(
        doc=_text(data, "doc"),
        pos=_count(data["pos"], "pos", optional=True),
        phase=_phase(data["phase"], "phase"),
        steps=_steps(data["steps"]),
        level=level,
        root=_count(data["root"], "root", optional=True),
        focus=_text(data, "focus", optional=True),
        breakpoints=tuple(_strings(data["breakpoints"], "breakpoints")),
        bookmarks=tuple(_bookmarks(data["bookmarks"])),
        graph=_text(graph, "name"),
        nodes=_count(graph["nodes"], "nodes"),
        loss=float(loss),
        model=_text(data, "model"),
    )


def _text(data: dict[str, Any], key: str, *, optional: bool = False) -> Any:
    value = data[key]
    if value is None and optional:
        return None
    if not isinstance(value, str) or (not value and key == "doc"):
        raise _Invalid(f'"{key}" must be a{" non-empty" if key == "doc" else ""} string')
    return value


def _count(value: Any, key: str, *, optional: bool = False) -> Any:
    if value is None and optional:
        return None
    if type(value) is not int or value < 0:
        raise _Invalid(f'"{key}" must be a whole number >= 0{" or null" if optional else ""}')
    return value


def _phase(value: Any, key: str) -> str:
    if value not in PHASES:
        raise _Invalid(f'"{key}" must be "forward" or "backward"')
    return value


def _steps(value: Any) -> dict[str, int]:
    if not isinstance(value, dict) or set(value) != set(PHASES):
        raise _Invalid('"steps" must be {"forward": N, "backward": N}')
    return {phase: _count(value[phase], f"steps.{phase}") for phase in PHASES}


def _strings(value: Any, key: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise _Invalid(f'"{key}" must be a list of scope names')
    return value


def _bookmarks(value: Any) -> list[Step]:
    if not isinstance(value, list):
        raise _Invalid('"bookmarks" must be a list')
    steps = []
    for mark in value:
        if not isinstance(mark, dict) or set(mark) != {"phase", "step"}:
            raise _Invalid('each bookmark must be {"phase": ..., "step": N}')
        steps.append(Step(_phase(mark["phase"], "phase"), _count(mark["step"], "step")))
    return steps
