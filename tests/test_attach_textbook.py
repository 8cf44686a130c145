"""attach's fast path: microgpt's own backward(), recognised by its code, its writes derived.

When a script's backward() is microgpt's (engine/attach/textbook.py), attach does
not log each grad write: it keeps `topo` and the grads before the first step, and
derives the writes when the replay needs them. The derived writes must be the
very writes the script made. So for each test script on that path, the derived
record is compared (==, in full: steps, starts, targets, every grad before and
after) with the record that logging every write through a property gives for the
same script; and a backward() that differs in any way that matters is not taken
for microgpt's.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from attach_reference import SCRIPTS, plain_run, state_dict_grads

import engine.attach.api
import engine.attach.recorder
from engine.attach import AttachResult, attach_script
from engine.attach.textbook import MICROGPT_BACKWARD, is_plain, topo_name
from engine.errors import InputError
from microgpt_tui.subcommands.attach import run_attach

ON_THE_FAST_PATH = [
    ("microgpt_relu.py", ["3"], 2),
    ("microgpt_tanh.py", [], 1),
    ("microgpt_2layer.py", [], 1),
    ("gpt_value_beside.py", [], 1),
    ("gpt_accumulate.py", [], 2),  # grads left from the first backward()
    ("gpt_vectors.py", [], 1),
    ("gpt_renamed.py", [], 1),
]


def record_of(result: AttachResult) -> tuple:
    """Everything the recorded backward() holds, nodes by id."""
    recorded = result.recorded_backward
    return (
        [n.id for n in recorded.steps],
        list(recorded.step_starts),
        [n.id for n in recorded.targets],
        list(recorded.olds),
        list(recorded.news),
    )


def derived(result: AttachResult) -> bool:
    return result.recorded_backward._writes is None  # not yet read: derived on demand


@pytest.mark.parametrize(("name", "args", "backward"), ON_THE_FAST_PATH)
def test_derived_writes_are_the_logged_writes(name, args, backward, monkeypatch) -> None:
    # GIVEN the script attached on the fast path, and attached again logging every write
    fast = attach_script(str(SCRIPTS / name), args, backward=backward)
    assert derived(fast)
    monkeypatch.setattr(engine.attach.recorder, "topo_name", lambda function: None)
    logged = attach_script(str(SCRIPTS / name), args, backward=backward)
    assert not derived(logged)
    # THEN the two records are the same, write for write, bit for bit
    assert record_of(fast) == record_of(logged)
    assert [u.grad for u in fast.script_nodes] == [u.grad for u in logged.script_nodes]
    assert fast.grads() == logged.grads()


VALUE_CLASS = """\
import math


class Value:
    __slots__ = ("data", "grad", "_children", "_local_grads")

    def __init__(self, data, children=(), local_grads=()):
        self.data = data
        self.grad = 0
        self._children = children
        self._local_grads = local_grads

    def __add__(self, other):
        return Value(self.data + other.data, (self, other), (1, 1))

    def __mul__(self, other):
        return Value(self.data * other.data, (self, other), (other.data, self.data))

    def exp(self):
        return Value(math.exp(self.data), (self,), (math.exp(self.data),))

    def relu(self):
        return Value(max(0, self.data), (self,), (float(self.data > 0),))

"""


def write_script(tmp_path: Path, backward_source: str, prelude: str = "") -> Path:
    """A small script whose Value class has `backward_source` as its backward()."""
    indented = "".join(f"    {line}\n" if line else "\n" for line in backward_source.splitlines())
    script = tmp_path / "train.py"
    script.write_text(
        prelude
        + VALUE_CLASS
        + indented
        + "\n\na, b = Value(0.3), Value(-1.7)\n"
        + "c = a * b + a\n"
        + "loss = (c * c).relu() + b.exp() + c\n"
        + "loss.backward()\n"
    )
    return script


RENAMED = (
    MICROGPT_BACKWARD.replace("topo", "order")
    .replace("visited", "seen")
    .replace("(self):\n", '(me):\n    """Backprop, as microgpt does."""\n')
    .replace("self", "me")
    .replace("child, local_grad in", "child, g in")
    .replace("local_grad * v.grad", "g * v.grad")
)


@pytest.mark.parametrize(
    ("source", "fast"),
    [
        (MICROGPT_BACKWARD, True),
        (RENAMED, True),  # other names and a docstring: the same code
        (MICROGPT_BACKWARD.replace("child.grad += ", "child.grad = child.grad + "), False),
        (MICROGPT_BACKWARD.replace("local_grad * v.grad", "v.grad * local_grad"), False),
        (MICROGPT_BACKWARD.replace("self.grad = 1", "self.grad = 1.0"), False),
        (MICROGPT_BACKWARD.replace("reversed(topo)", "topo[::-1]"), False),
        (MICROGPT_BACKWARD.replace("v._children:", "reversed(v._children):"), False),
    ],
    ids=["microgpt", "renamed", "assign", "commuted", "float-seed", "slice", "children-reversed"],
)
def test_only_microgpts_backward_is_derived_and_either_way_exact(tmp_path, source, fast) -> None:
    namespace: dict = {}
    exec(source, namespace)
    assert (topo_name(namespace["backward"]) is not None) is fast
    result = attach_script(str(write_script(tmp_path, source.strip())))
    assert derived(result) is fast
    result.replay().run_to_end()
    assert [n.grad for n in result.capture.nodes] == [u.grad for u in result.script_nodes]


def test_a_shadowed_builtin_is_not_microgpts_backward(tmp_path) -> None:
    # a script whose own `zip` runs the children in reverse: its writes are logged
    script = write_script(
        tmp_path,
        MICROGPT_BACKWARD.strip(),
        prelude="import builtins\n\n\ndef zip(a, b):\n"
        "    return reversed(list(builtins.zip(a, b)))\n",
    )
    result = attach_script(str(script))
    assert not derived(result)
    result.replay().run_to_end()
    assert [n.grad for n in result.capture.nodes] == [u.grad for u in result.script_nodes]


def test_a_class_with_its_own_equality_is_logged(tmp_path) -> None:
    # equality by data makes `visited` skip equal nodes: only logging shows what it did
    script = write_script(
        tmp_path,
        MICROGPT_BACKWARD.strip()
        + "\n\ndef __eq__(self, other):\n    return self is other\n\n"
        + "def __hash__(self):\n    return id(self)",
    )
    result = attach_script(str(script))
    assert not is_plain(type(result.script_nodes[-1])) and not derived(result)
    result.replay().run_to_end()
    assert [n.grad for n in result.capture.nodes] == [u.grad for u in result.script_nodes]


def test_a_node_attach_cannot_follow_is_refused(tmp_path) -> None:
    # GIVEN a node of a class that is no value class, its grad a property, in the graph
    shutil.copy(SCRIPTS / "tiny_autograd.py", tmp_path)
    script = tmp_path / "train.py"
    script.write_text(
        "from tiny_autograd import Value\n"
        "class Leaf:\n"
        "    def __init__(self, data):\n"
        "        self.data, self._g, self._children, self._local_grads = data, 0, (), ()\n"
        "    grad = property(lambda self: self._g, lambda self, g: setattr(self, '_g', 2 * g))\n"
        "w = Leaf(0.5)\n"
        "loss = Value(0.5 * 3.0, (w,), (3.0,)) * Value(2.0)\n"
        "loss.backward()\n"
    )
    # THEN attach says so: it could not replay its writes exactly
    with pytest.raises(InputError, match="the graph holds a Leaf whose attributes attach cannot"):
        attach_script(str(script))


# -- `--grads` without the debugger's graph ----------------------------------------------

REPORTED = [
    *ON_THE_FAST_PATH,
    ("gpt_kahn.py", [], 1),  # not microgpt's backward(): the graph is built for the report
    ("gpt_closures.py", [], 1),
]


@pytest.mark.parametrize(("name", "args", "backward"), REPORTED)
def test_the_report_without_the_graph_is_the_report_with_it(name, args, backward) -> None:
    # GIVEN the script attached for --grads (graph=False) and for the debugger
    light = attach_script(str(SCRIPTS / name), args, backward=backward, graph=False)
    full = attach_script(str(SCRIPTS / name), args, backward=backward)
    # THEN both report the same loss, doc, pos, node count and grads, and the same notes
    assert light.report() == full.report()
    assert light.notes == full.notes
    # AND the graph was left unbuilt exactly where the backward() is microgpt's
    on_fast_path = (name, args, backward) in ON_THE_FAST_PATH
    assert (light._converted is None) is on_fast_path
    # AND built when asked for, it is the same graph
    assert [n.grad for n in light.capture.nodes] == [n.grad for n in full.capture.nodes]
    assert [n.scope for n in light.capture.nodes] == [n.scope for n in full.capture.nodes]
    assert light.report() == full.report()


def test_the_report_with_named_scopes_and_nodes_made_after_the_loss(tmp_path) -> None:
    # scope variables given (no level dropped), and the loss not the last node made
    light = attach_script(str(SCRIPTS / "gpt_renamed.py"), graph=False, scope_vars={"t": "pos"})
    full = attach_script(str(SCRIPTS / "gpt_renamed.py"), scope_vars={"t": "pos"})
    assert light._converted is None and light.report() == full.report()
    script = write_script(tmp_path, MICROGPT_BACKWARD.strip())
    script.write_text(
        script.read_text().replace("loss.backward()", "twice = loss * loss\nloss.backward()")
    )
    light, full = attach_script(str(script), graph=False), attach_script(str(script))
    assert light._converted is None and light.report() == full.report()


def test_a_node_made_without_init_is_placed_by_the_conversion(tmp_path) -> None:
    # GIVEN a node copied (no __init__: no record) into the graph of microgpt's backward()
    script = write_script(tmp_path, MICROGPT_BACKWARD.strip(), prelude="import copy\n")
    script.write_text(script.read_text().replace("c = a * b + a\n", "c = copy.copy(a * b) + a\n"))
    light = attach_script(str(script), graph=False)
    full = attach_script(str(script))
    # THEN the report is the conversion's, which numbers that node too
    assert light._converted is not None
    assert light.report() == full.report() and full.report()["nodes"] == 9


def test_attach_grads_on_microgpts_backward_builds_no_graph(monkeypatch, capsys) -> None:
    # GIVEN a conversion that would fail the test if --grads asked for the graph
    def no_graph(*args, **kwargs):
        raise AssertionError("--grads built the debugger's graph")

    monkeypatch.setattr(engine.attach.api, "capture_stop", no_graph)
    script = str(SCRIPTS / "microgpt_relu.py")
    # THEN --grads --json reports from the script's own objects, as the plain run left them
    assert run_attach([script, "1", "--grads", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    plain = plain_run(SCRIPTS / "microgpt_relu.py", ["1"])
    assert report["grads"] == state_dict_grads(plain) and report["loss"] == plain.loss
    assert report["nodes"] == plain.node_count()
    # AND the debugger (no --grads) does build it
    with pytest.raises(AssertionError, match="built the debugger's graph"):
        attach_script(script, ["1"])
