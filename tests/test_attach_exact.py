"""attach on the scripts of issue 10's table: the script's own backward(), exactly.

For each script under tests/attach_scripts/ (a value class in a module beside the
script or in an installed-style package; micrograd-style closures with tuple and
with set children; a Kahn-sort backward; grads accumulated over two documents,
captured at the second backward(); vectors, 3-D nests and a scalar in the
state_dict; renamed loops and a batch; an MLP without a state_dict), attach's
loss, node count and every parameter's grad, in the shape the script keeps it,
equal (==) the script's own run: the unmodified script run in this process and
stopped right after the same backward() (`attach_reference.plain_run`). Children
kept in a set make micrograd's float sums depend on where objects live in memory,
so for those the grads are compared on the very objects attach ran, their own
backward() run again from the grads they held before the call.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from attach_reference import (
    SCRIPTS,
    SITE,
    forget_modules_in,
    grads_of,
    mlp_grads,
    plain_run,
    state_dict_grads,
)

from engine.attach import AttachResult, attach_script
from engine.stepper import BackwardPass
from microgpt_tui.subcommands.attach import run_attach


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The `mgrad` package, copied outside the scripts' folder and put on sys.path."""
    folder = tmp_path / "site-packages"
    shutil.copytree(SITE, folder)
    monkeypatch.syspath_prepend(str(folder))
    yield folder
    forget_modules_in(folder)


def attach(name: str, *args: str, backward: int = 1, **kwargs) -> AttachResult:
    return attach_script(str(SCRIPTS / name), list(args), backward=backward, **kwargs)


def assert_replay_is_the_scripts(result: AttachResult) -> None:
    """The recorded backward() replayed to its end leaves every node as the script did."""
    result.replay().run_to_end()
    nodes = result.capture.nodes
    assert [n.grad for n in nodes] == [u.grad for u in result.script_nodes]
    assert [n.data for n in nodes] == [u.data for u in result.script_nodes]


TABLE = [
    # (script, args, backward): issue 10's rows, each a learner's edit of microgpt
    ("gpt_value_beside.py", [], 1),  # `from tiny_autograd import Value`
    ("gpt_kahn.py", [], 1),  # its own backward() is a Kahn sort
    ("gpt_accumulate.py", [], 2),  # two documents' grads, not zeroed in between
    ("gpt_vectors.py", [], 1),  # a norm gain vector, per-head matrices, a scalar
    ("gpt_renamed.py", [], 1),  # loops `t`, `layer_idx`, `head`; a batch of two
    ("gpt_closures.py", [], 1),  # micrograd-style closures, children in a tuple
    ("microgpt_relu.py", ["3"], 2),  # the original shape, at its second step
]


@pytest.mark.parametrize(("name", "args", "backward"), TABLE)
def test_loss_nodes_and_every_grad_are_the_scripts_own(name, args, backward) -> None:
    # GIVEN the script run unmodified in this process, stopped after that backward()
    plain = plain_run(SCRIPTS / name, args, backward=backward)
    # WHEN attach runs it to the same call
    result = attach(name, *args, backward=backward)
    # THEN the loss, the node count and every parameter's grad are the script's
    assert result.capture.root.data == plain.loss
    assert len(result.capture.nodes) == plain.node_count()
    assert result.grads() == state_dict_grads(plain)
    # AND the replay of its backward() leaves every node as the script's own did
    assert_replay_is_the_scripts(result)


def test_a_micrograd_mlp_from_an_installed_package(site: Path) -> None:
    # GIVEN micrograd's MLP demo importing `mgrad` (set children, closures, no state_dict)
    plain = plain_run(SCRIPTS / "mlp_installed.py", ["2"], backward=2)
    result = attach("mlp_installed.py", "2", backward=2)
    assert result.capture.root.data == plain.loss
    assert len(result.capture.nodes) == plain.node_count()
    # THEN its parameters are found through the model's attributes, in their shapes
    reference = mlp_grads(plain)
    grads = result.grads()
    assert list(grads) == list(reference)
    assert [len(g) if isinstance(g, list) else 1 for g in grads.values()] == [
        len(g) if isinstance(g, list) else 1 for g in reference.values()
    ]
    label = result.parameters["model.layers[1].neurons[2].w"][3].label
    assert label == "model.layers[1].neurons[2].w[3]"
    # AND their grads are the script's own backward() on these very objects (sets)
    assert_replay_is_the_scripts(result)
    for u in result.script_nodes:
        u.grad = 0  # as before the call: the script zeroes its grads first
    root = result.script_nodes[-1]
    type(root).backward(root)  # the script's own, unmodified (attach put the class back)
    by_node = {name: grads_of_nodes(nest, result) for name, nest in result.parameters.items()}
    assert grads == by_node


def grads_of_nodes(nest: object, result: AttachResult) -> object:
    """The script objects' grads behind a nest of parameter nodes."""
    if isinstance(nest, list):
        return [grads_of_nodes(item, result) for item in nest]
    return float(result.script_nodes[nest.id].grad)  # type: ignore[attr-defined]


def test_an_installed_class_imported_before_the_run_is_found(site: Path) -> None:
    # GIVEN the package already imported (a class attach never sees being created)
    import mgrad.engine
    import mgrad.nn  # noqa: F401

    result = attach("mlp_installed.py", "1")
    assert result.capture.nodes[-1].op == "+" and result.parameters
    assert_replay_is_the_scripts(result)
    # AND attach leaves the class as it found it
    assert "__init__" in vars(mgrad.engine.Value) and not hasattr(
        mgrad.engine.Value.backward, "__wrapped__"
    )


def test_a_kahn_sort_is_shown_in_its_own_order(capsys) -> None:
    result = attach("gpt_kahn.py")
    walk = result.replay()
    # the steps are the script's: breadth first from the root, not microgpt's DFS
    dfs = BackwardPass(result.capture.root, result.capture.nodes).order
    assert walk.order[0] is result.capture.root and list(walk.order) != list(dfs)
    # microgpt's order would give other bits: the silent error issue 10 found
    theirs = [u.grad for u in result.script_nodes]
    BackwardPass(result.capture.root, result.capture.nodes).run_to_end()
    assert [n.grad for n in result.capture.nodes] != theirs
    walk.reset()
    walk.run_to_end()
    assert [n.grad for n in result.capture.nodes] == theirs


def test_accumulated_grads_start_from_the_first_backward(capsys) -> None:
    # GIVEN grads accumulated over two documents, captured at the second backward()
    first = plain_run(SCRIPTS / "gpt_accumulate.py", backward=1)
    after_first = state_dict_grads(first)
    result = attach("gpt_accumulate.py", backward=2)
    walk = result.replay()
    # THEN before its first step the parameters hold the first backward()'s grads
    shapes = result.parameters
    assert {n: grads_of(v) for n, v in shapes.items()} == after_first
    assert any(g != 0 for row in after_first["wte"] for g in row)
    # AND stepping back from the end restores exactly that
    walk.run_to_end()
    walk.back()
    assert {n: grads_of(v) for n, v in shapes.items()} == after_first
    # AND the document is unknown: `doc` still names the first one (the second is doc2)
    assert result.doc is None and result.capture.tokens == []


def test_parameters_keep_their_shapes_in_the_json(capsys) -> None:
    plain = plain_run(SCRIPTS / "gpt_vectors.py")
    assert run_attach([str(SCRIPTS / "gpt_vectors.py"), "--grads", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    grads = report["grads"]
    assert grads == state_dict_grads(plain)
    assert isinstance(grads["logit_scale"], float)  # a scalar
    assert len(grads["layer0.norm_gain"]) == 8 and isinstance(grads["layer0.norm_gain"][0], float)
    assert [len(grads["layer0.attn_wq_heads"]), len(grads["layer0.attn_wq_heads"][0])] == [2, 4]
    assert report["doc"] == plain.lookup("doc")


def test_parameters_as_rows_for_the_debugger_views() -> None:
    result = attach("gpt_vectors.py")
    rows = result.state_dict
    assert [len(rows["logit_scale"]), len(rows["logit_scale"][0])] == [1, 1]
    assert [len(rows["layer0.norm_gain"]), len(rows["layer0.norm_gain"][0])] == [1, 8]
    assert [len(rows["layer0.attn_wq_heads"]), len(rows["layer0.attn_wq_heads"][0])] == [8, 8]
    gain = rows["layer0.norm_gain"][0][3]
    assert (gain.label, gain.op, gain.scope) == ("layer0.norm_gain[3]", "param", "params")
    head = result.parameters["layer0.attn_wk_heads"][1][2][5]
    assert head.label == "layer0.attn_wk_heads[1][2][5]" and result.capture.nodes[head.id] is head


# -- scopes ---------------------------------------------------------------------------


def test_renamed_loops_name_their_levels_and_batches_stay_apart() -> None:
    result = attach("gpt_renamed.py")
    scopes = {n.scope for n in result.capture.nodes}
    # each document of the batch (`b`), each position (`t`), layer and head, by their names
    assert {"b0.t2.layer_idx0.head1", "b1.t2.layer_idx0.head1.softmax", "b0.t0.linear"} <= scopes
    assert {"b0.t1", "b1.t1"} <= scopes
    # the comprehension's `t` runs over Values: no level from it; the step loop, around
    # the backward() call with one value, names none either
    levels = {part for s in scopes for part in s.split(".")}
    assert not any(p.startswith("t") and not p[1:].isdigit() for p in levels if p != "t")
    assert not any(p.startswith("step") for p in levels)
    assert result.notes == []
    # the batch is two documents: `doc` names only the last one, so none is claimed
    assert result.doc is None


def test_scope_vars_given_count_only_integers(capsys) -> None:
    # a comprehension binds `t` to Values in gpt(): named explicitly, it still makes no junk
    result = attach("gpt_renamed.py", scope_vars={"t": "pos", "head": "head"})
    levels = {part for n in result.capture.nodes for part in n.scope.split(".")}
    assert {"pos0", "pos3", "head0", "head1"} <= levels
    assert all(p[3:].isdigit() for p in levels if p.startswith("pos")), (
        "a level named from a non-integer"
    )


def test_no_scope_levels_says_how_to_name_them(site: Path, capsys) -> None:
    # micrograd's MLP has no counter loop where its nodes are made
    assert run_attach([str(SCRIPTS / "mlp_installed.py"), "1", "--grads", "--json"]) == 0
    captured = capsys.readouterr()
    json.loads(captured.out)
    assert "no scope levels" in captured.err and "--scope-vars" in captured.err


def test_the_document_is_the_one_the_graph_was_built_from() -> None:
    # at microgpt's second step, the second document (its `doc` was bound again)
    plain = plain_run(SCRIPTS / "microgpt_relu.py", ["3"], backward=2)
    result = attach("microgpt_relu.py", "3", backward=2)
    assert result.doc == plain.lookup("doc") and result.doc != attach("microgpt_relu.py").doc
    assert result.tokenizer.decode(result.capture.tokens[1:-1]) == result.doc


def test_a_grad_kept_behind_a_property_is_recorded_and_left_as_it_was(tmp_path) -> None:
    # GIVEN a value class whose `grad` is a property over a slot of its own
    script = tmp_path / "prop.py"
    script.write_text(
        "class Value:\n"
        "    __slots__ = ('data', '_g', '_children', '_local_grads')\n"
        "    def __init__(self, data, children=(), local_grads=()):\n"
        "        self.data, self._g = data, 0\n"
        "        self._children, self._local_grads = children, local_grads\n"
        "    @property\n"
        "    def grad(self):\n"
        "        return self._g\n"
        "    @grad.setter\n"
        "    def grad(self, value):\n"
        "        self._g = value\n"
        "    def __mul__(self, other):\n"
        "        return Value(self.data * other.data, (self, other), (other.data, self.data))\n"
        "    def __add__(self, other):\n"
        "        return Value(self.data + other.data, (self, other), (1, 1))\n"
        "    def backward(self):\n"
        "        self.grad = 1\n"
        "        for v in [self, self._children[0]]:\n"
        "            for child, local_grad in zip(v._children, v._local_grads):\n"
        "                child.grad += local_grad * v.grad\n"
        "a, b = Value(2.0), Value(3.0)\n"
        "loss = a * b + a\n"
        "loss.backward()\n"
    )
    result = attach_script(str(script))
    cls = type(result.script_nodes[0])
    assert isinstance(vars(cls)["grad"], property)  # put back as it was
    assert [u.grad for u in result.script_nodes] == [4.0, 2.0, 1, 1]
    assert_replay_is_the_scripts(result)


def test_the_standard_library_and_this_project_are_never_instrumented(site: Path) -> None:
    import fractions

    import mgrad.engine

    import engine.value
    from engine.attach.classes import MICROGPT, MICROGRAD, is_protected, shape_of

    assert shape_of(engine.value.Value) is MICROGPT and is_protected(engine.value.Value)
    assert is_protected(fractions.Fraction) and is_protected(int)
    assert shape_of(mgrad.engine.Value) is MICROGRAD and not is_protected(mgrad.engine.Value)


def test_a_subclass_of_the_value_class_is_one_graph(tmp_path) -> None:
    # GIVEN parameters of a subclass (its own __init__ ends in the base's) and a
    # backward() that calls the base's
    script = tmp_path / "sub.py"
    script.write_text(
        "from tiny_autograd import Value\n"
        "class Param(Value):\n"
        "    def __init__(self, data):\n"
        "        super().__init__(data)\n"
        "    def backward(self):\n"
        "        super().backward()\n"
        "w, x = Param(0.5), Value(3.0)\n"
        "loss = (w * x).relu() + w\n"
        "loss.backward()\n"
        "loss.backward()\n"
    )
    shutil.copy(SCRIPTS / "tiny_autograd.py", tmp_path)
    result = attach_script(str(script), backward=2)
    nodes = result.capture.nodes
    assert [n.op for n in nodes] == ["const", "const", "*", "relu", "+"]  # each node once
    assert result.backward_calls == 2  # super().backward() is the same call
    assert [n.label for n in nodes[:2]] == ["w", "x"]
    assert_replay_is_the_scripts(result)
    # the second call adds to what the first left, in the inner nodes too: 4, then 4 + 3 * 3 + 1
    assert nodes[0].grad == result.script_nodes[0].grad == 14.0
