"""Walk-throughs (engine): saved atomically, validated on load, replayed exactly."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import VOCAB, make_model

from engine.bookmarks import Step
from engine.config import GPTConfig
from engine.data import Tokenizer
from engine.errors import InputError
from engine.session import BACKWARD, FORWARD, DebugSession
from engine.walkthrough import load_walk, replay, save_walk, walk_of

SMALL = GPTConfig(n_embd=8, n_head=2, block_size=8)
HEAD = "pos3.layer0.attn.head1"


def session(pos: int | None = 3, seed: int = 42) -> DebugSession:
    return DebugSession(
        make_model(SMALL, seed), Tokenizer(VOCAB), "emma", pos, whole_document=pos is None
    )


def state(s: DebugSession) -> tuple:
    return (
        s.phase,
        s.forward.position,
        s.backward.position,
        [n.grad for n in s.nodes],
        [type(n.grad) for n in s.nodes],
        s.focus,
        sorted(s.breakpoints),
        list(s.bookmarks),
        s.graph_name,
    )


def rehearsed() -> DebugSession:
    """A session moved about as a lecture would be prepared."""
    s = session()
    s.move("step_out")
    s.move("step_over")
    s.bookmarks.toggle(s.step_now)
    s.move(BACKWARD)
    s.set_focus(HEAD)
    s.toggle_breakpoint("pos3.lm_head")
    for _ in range(5):
        s.move("step")
    s.bookmarks.toggle(s.step_now)
    s.move("step_over")
    return s


def test_a_saved_walk_reopens_at_the_same_step_with_the_same_grads(tmp_path: Path) -> None:
    s = rehearsed()
    path = tmp_path / "lecture.json"
    save_walk(path, walk_of(s, s, "test model"))
    opened = replay(load_walk(path), session())
    assert state(opened) == state(s)  # every grad ==, and their types (microgpt's int 0)


def test_a_rooted_walk_reopens_rooted_at_the_same_node(tmp_path: Path) -> None:
    base = session()
    node = next(n for n in reversed(base.nodes) if n.scope == "pos2.layer0.attn")
    rooted = base.rerooted(node)
    rooted.set_phase(BACKWARD)
    rooted.move("step_over")
    rooted.move("step_over")
    save_walk(tmp_path / "w.json", walk_of(rooted, base))
    opened = replay(load_walk(tmp_path / "w.json"), session())
    assert opened.rooted_at == node.id and state(opened) == state(rooted)


def test_the_file_is_small_json_and_the_document_graph_works_too(tmp_path: Path) -> None:
    s = session(None)
    s.move(BACKWARD)
    s.move("step_out")
    path = tmp_path / "doc.json"
    save_walk(path, walk_of(s, s))
    data = json.loads(path.read_text())
    assert data["format"] == "microgpt-tui.walk" and data["pos"] is None
    assert data["level"] == "scalar" and data["graph"]["name"] == "emma@all"
    assert path.stat().st_size < 1000
    assert state(replay(load_walk(path), session(None))) == state(s)


def test_a_walk_saved_at_vector_level_reopens_at_vector_level(tmp_path: Path) -> None:
    s = rehearsed()  # (in the backward phase, focused on the head)
    s.move("vector")
    s.move("step")  # a vector op
    s.move("step")
    s.bookmarks.toggle(s.step_now)
    path = tmp_path / "vectors.json"
    save_walk(path, walk_of(s, s))
    assert json.loads(path.read_text())["level"] == "vector"
    opened = replay(load_walk(path), session())
    assert opened.level == "vector" and state(opened) == state(s)  # every grad ==
    assert opened.vectors.shown_op() is not None
    assert opened.vectors.shown_op().name == s.vectors.shown_op().name
    for moved in (s, opened):  # and from there a vector step goes on alike
        moved.move("step")
    assert state(opened) == state(s)


def test_a_rooted_walk_at_vector_level_reopens_so(tmp_path: Path) -> None:
    base = session()
    node = next(n for n in reversed(base.nodes) if n.scope == "pos2.layer0.attn")
    rooted = base.rerooted(node)
    rooted.set_phase(BACKWARD)
    rooted.move("vector")
    rooted.move("step")
    save_walk(tmp_path / "w.json", walk_of(rooted, base))
    opened = replay(load_walk(tmp_path / "w.json"), session())
    assert opened.rooted_at == node.id and opened.level == "vector"
    assert state(opened) == state(rooted)


def test_opening_it_on_another_model_is_refused(tmp_path: Path) -> None:
    s = rehearsed()
    save_walk(tmp_path / "w.json", walk_of(s, s, "fresh model (seed 42)"))
    with pytest.raises(InputError, match="saved on another model .fresh model .seed 42."):
        replay(load_walk(tmp_path / "w.json"), session(seed=7))


def test_a_failed_save_keeps_the_previous_file(tmp_path: Path, monkeypatch) -> None:
    s = rehearsed()
    path = tmp_path / "w.json"
    save_walk(path, walk_of(s, s))
    before = path.read_bytes()

    def broken(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(Path, "write_text", broken)  # the disk is full
    with pytest.raises(InputError, match="No space left"):
        save_walk(path, walk_of(s, s))
    assert path.read_bytes() == before and [p.name for p in tmp_path.iterdir()] == ["w.json"]


GOOD = {
    "format": "microgpt-tui.walk", "version": 1, "doc": "emma", "pos": 3, "level": "scalar",
    "root": None, "focus": None, "breakpoints": [], "bookmarks": [{"phase": "forward", "step": 2}],
    "phase": "forward", "steps": {"forward": 2, "backward": 0},
    "graph": {"name": "emma@pos3", "nodes": 10, "loss": 1.5}, "model": "m",
}  # fmt: skip


@pytest.mark.parametrize(
    ("change", "said"),
    [
        ({"format": "microgpt-tui.checkpoint"}, '"format" is'),
        ({"version": 2}, "version 2 is not supported"),
        ({"level": "matrix"}, "level 'matrix' is not one of scalar, vector"),
        ({"extra": 1}, "unexpected field(s) 'extra'"),
        ({"pos": -1}, '"pos" must be a whole number'),
        ({"pos": 1.5}, '"pos" must be a whole number'),
        ({"doc": ""}, '"doc" must be a non-empty string'),
        ({"phase": "sideways"}, '"phase" must be "forward" or "backward"'),
        ({"steps": {"forward": 1}}, '"steps" must be'),
        ({"bookmarks": [{"phase": "forward"}]}, "each bookmark must be"),
        ({"breakpoints": [3]}, '"breakpoints" must be a list of scope names'),
        ({"graph": {"name": "x", "nodes": 1, "loss": "nan"}}, "must be a finite number"),
    ],
)
def test_a_bad_file_is_one_line(tmp_path: Path, change: dict, said: str) -> None:
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({**GOOD, **change}))
    with pytest.raises(InputError) as caught:
        load_walk(path)
    message = str(caught.value)
    assert said in message and "\n" not in message and "bad.json" in message


@pytest.mark.parametrize("raw", [b"", b"\x80\x04pickle", b"[1, 2]", b'{"format": '])
def test_a_file_that_is_not_a_walk_at_all_is_one_line(tmp_path: Path, raw: bytes) -> None:
    path = tmp_path / "w.json"
    path.write_bytes(raw)
    with pytest.raises(InputError, match="is not a valid walk-through"):
        load_walk(path)
    with pytest.raises(InputError, match="missing"):
        load_walk(tmp_path / "missing.json")


def test_steps_bookmarks_and_scopes_must_fit_the_graph(tmp_path: Path) -> None:
    s = session()
    walk = walk_of(s, s)
    for bad, said in [
        ({"steps": {FORWARD: len(s.nodes) + 1, BACKWARD: 0}}, "past the end"),
        ({"bookmarks": (Step(BACKWARD, 10**9),)}, "past the end"),
        ({"focus": "pos9.layer0"}, "no scope 'pos9.layer0'"),
        ({"breakpoints": ("pos9",)}, "breakpoint 'pos9' is not in this graph"),
        ({"root": 10**9}, "root #1000000000 is not in graph"),
    ]:
        changed = type(walk)(**{**walk.__dict__, **bad})
        with pytest.raises(InputError, match=said):
            replay(changed, session())
