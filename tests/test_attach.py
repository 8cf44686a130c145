"""attach: the user's own microgpt-style script, run unmodified, its graph captured exactly.

The scripts under tests/attach_scripts/ are written for these tests, following
microgpt at test size (n_embd 8, two heads): the original shape, tanh instead of
relu, two layers inside a main(), and a tiny micrograd-style one. For each, the
captured graph's gradients, from the project's stepper, equal the script's own
backward() node for node (==), and the JSON of `attach --grads --json` equals what
the unmodified script computes in a plain Python process. (test_attach_exact.py
holds the scripts of issue 10's table: classes elsewhere, closures, custom
backward orders, accumulation, parameters in any shape, renamed loops.)
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from engine.attach import attach_script, parse_scope_vars
from engine.attach.recorder import lone_refcount, sweep
from engine.attach.script import binding_spans
from engine.capture import reroot
from engine.errors import InputError
from engine.stepper import BackwardPass
from engine.value import topological_order
from microgpt_tui.subcommands.attach import parse_attach_args, run_attach

ROOT = Path(__file__).resolve().parent.parent
SCRIPTS = Path(__file__).resolve().parent / "attach_scripts"
ACCEPTED = ["microgpt_relu.py", "microgpt_tanh.py", "microgpt_2layer.py"]


def attach(name: str, *args: str, **kwargs):
    return attach_script(str(SCRIPTS / name), list(args), **kwargs)


@pytest.fixture(scope="module")
def relu():
    """The original shape, captured at its first backward(), whose own backward() then ran."""
    return attach("microgpt_relu.py", "1")


# -- the graph is the script's, exactly ---------------------------------------------------


@pytest.mark.parametrize("name", ACCEPTED)
def test_captured_grads_equal_the_scripts_own_backward_node_for_node(name: str) -> None:
    # GIVEN a capture at the first backward(), after which the script's own backward() ran
    result = attach(name, "1")
    nodes, mine = result.capture.nodes, result.script_nodes
    # WHEN the project's stepper runs the backward pass on the converted graph
    BackwardPass(result.capture.root, nodes).run_to_end()
    # THEN every node has the script's data, local grads and grad, to the bit
    assert len(nodes) == len(mine) == len(topological_order(result.capture.root))
    assert [n.data for n in nodes] == [u.data for u in mine]
    assert [n._local_grads for n in nodes] == [tuple(u._local_grads) for u in mine]
    assert [n.grad for n in nodes] == [u.grad for u in mine]
    assert [n.id for n in nodes] == list(range(len(nodes)))
    assert all(c.id < n.id for n in nodes for c in n._children)  # creation order
    assert result.capture.root is nodes[-1] and result.capture.root.label == "loss"


# The unmodified script in a plain interpreter: at its first backward() (after it ran),
# dump the loss, the node count and the gradients of its dict of parameter matrices.
DRIVER = r"""
import builtins, json, os, runpy, sys
script = os.path.abspath(sys.argv[1])
real_build_class = builtins.__build_class__

class Done(BaseException):
    pass

def is_matrix(m, cls):
    return isinstance(m, list) and m and all(
        isinstance(r, list) and r and all(isinstance(x, cls) for x in r) for r in m)

def build_class(func, name, *bases, **kw):
    cls = real_build_class(func, name, *bases, **kw)
    if callable(getattr(cls, "backward", None)):
        original = cls.backward
        def backward(self):
            original(self)
            frame = sys._getframe(1)
            spaces = [frame.f_locals, frame.f_globals]
            params = next(d for s in spaces for d in s.values() if isinstance(d, dict) and d
                          and all(is_matrix(m, cls) for m in d.values()))
            seen, stack = {id(self)}, [self]
            while stack:
                for c in stack.pop()._children:
                    if id(c) not in seen:
                        seen.add(id(c)); stack.append(c)
            grads = {k: [[float(p.grad) for p in row] for row in m] for k, m in params.items()}
            doc = next((s["doc"] for s in spaces if "doc" in s), None)
            report = {"loss": self.data, "nodes": len(seen), "grads": grads, "doc": doc}
            sys.__stdout__.write(json.dumps(report))
            raise Done
        cls.backward = backward
    return cls

builtins.__build_class__ = build_class
os.chdir(os.path.dirname(script))
sys.argv = [script, "1"]
sys.stdout = open(os.devnull, "w")
try:
    runpy.run_path(script, run_name="__main__")
except Done:
    pass
"""


@pytest.mark.parametrize("name", ACCEPTED)
def test_grads_json_equals_the_unmodified_script_in_a_plain_python(name, capsys) -> None:
    plain = subprocess.run(
        [sys.executable, "-c", DRIVER, str(SCRIPTS / name)],
        capture_output=True,
        text=True,
        check=True,
    )
    theirs = json.loads(plain.stdout)
    assert run_attach([str(SCRIPTS / name), "1", "--grads", "--json"]) == 0
    ours = json.loads(capsys.readouterr().out)
    assert set(ours) == {"loss", "doc", "pos", "nodes", "grads"}
    assert ours["loss"] == theirs["loss"]
    assert ours["nodes"] == theirs["nodes"]
    assert ours["grads"] == theirs["grads"]  # every parameter, exactly
    # the document the graph was built from, not the script's path (issue 10)
    assert ours["pos"] is None and ours["doc"] == theirs["doc"] and isinstance(ours["doc"], str)


def test_the_nth_backward_is_the_nth_training_step(capsys) -> None:
    # GIVEN a script that prints each step's loss after its backward()
    result = attach("microgpt_relu.py", "3", backward=2)
    out = capsys.readouterr().out
    # THEN the first step ran to its end, the second stopped at its backward()
    assert "step    1 /    3" in out and "step    2" not in out
    assert result.backward_calls == 2
    BackwardPass(result.capture.root, result.capture.nodes).run_to_end()
    assert [n.grad for n in result.capture.nodes] == [u.grad for u in result.script_nodes]


def test_records_of_dead_steps_are_dropped() -> None:
    # GIVEN three training steps, captured at the third backward()
    result = attach("microgpt_relu.py", "3", backward=3)
    # THEN the records held are the parameters and about two steps' graphs, not three
    graph = len(result.capture.nodes)
    assert graph <= result.recorded < 2.2 * graph


def test_sweep_keeps_what_someone_else_holds() -> None:
    class Node:
        def __init__(self, *children):
            self._children = children

    leaf, held = Node(), Node()
    dead_root = Node(Node(leaf))  # the records are its only holders, and its child's
    nodes = [leaf, held, dead_root._children[0], dead_root]
    contexts = ["leaf", "held", "child", "root"]
    del dead_root
    kept_nodes, kept_contexts, _ = sweep(nodes, contexts, lone_refcount())
    assert kept_contexts == ["leaf", "held"] and kept_nodes == [leaf, held]


# -- provenance -------------------------------------------------------------------------


def test_scopes_follow_the_scripts_loops_and_functions(relu) -> None:
    nodes, chains = relu.capture.nodes, relu.capture.chains
    by_scope: dict[str, list] = {}
    for n in nodes:
        by_scope.setdefault(n.scope, []).append(n)
    # softmax over head 1's logits, inside gpt, for position 2 of layer 0
    softmax = by_scope["pos2.layer0.head1.softmax"]
    assert softmax and all(chains[n.id] == "gpt › softmax" for n in softmax)
    assert {relu.capture.trace.site_of(n).function for n in softmax} <= {"softmax", "<listcomp>"}
    # made in gpt itself while h == 1: the head's logits and weighted sums
    head = by_scope["pos2.layer0.head1"]
    assert head and all(chains[n.id] == "gpt" for n in head)
    assert {n.op for n in head} == {"+", "*", "const"}
    # linear in layer 0; the lm_head's linear is outside the layer loop
    assert all(chains[n.id] == "gpt › linear" for n in by_scope["pos2.layer0.linear"])
    assert "pos2.linear" in by_scope and "pos2.layer0.rmsnorm" in by_scope
    # module level inside `for pos_id`: the position's loss; after the loop: no position
    assert [n.label for n in by_scope["pos2"] if n.op == "log"] == [None]
    assert relu.capture.root.scope == "<module>" and chains[-1] == ""
    positions = {n.scope.split(".")[0] for n in nodes if n.scope.startswith("pos")}
    assert positions == {f"pos{t}" for t in range(len(relu.capture.tokens) - 1)}


def test_sites_are_the_scripts_lines_and_ops_its_methods(relu) -> None:
    source = (SCRIPTS / "microgpt_relu.py").read_text().splitlines()
    trace = relu.capture.trace
    for n in relu.capture.nodes:
        site = trace.site_of(n)
        if n.op == "param":
            continue
        assert site.filename == str(SCRIPTS / "microgpt_relu.py")
        assert 0 < site.lineno <= len(source)
    ops = {n.op for n in relu.capture.nodes}
    assert ops == {"+", "*", "**", "log", "exp", "relu", "const", "param"}
    # `-probs[target_id].log()` is `log` then `* -1`, made on that line of the script
    negated = [n for n in relu.capture.nodes if n.scope == "pos0" and n.op == "*"]
    assert [source[n.line - 1].strip() for n in negated] == ["loss_t = -probs[target_id].log()"]


def test_parameters_are_named_from_the_scripts_state_dict(relu) -> None:
    state_dict = relu.state_dict
    assert list(state_dict) == [
        "wte", "wpe", "lm_head", "layer0.attn_wq", "layer0.attn_wk", "layer0.attn_wv",
        "layer0.attn_wo", "layer0.mlp_fc1", "layer0.mlp_fc2",
    ]  # fmt: skip
    wq = state_dict["layer0.attn_wq"][3][7]
    assert (wq.label, wq.op, wq.scope) == ("layer0.attn_wq[3][7]", "param", "params")
    assert relu.capture.nodes[wq.id] is wq  # a node of the graph
    in_graph = {id(n) for n in relu.capture.nodes}
    unused = [p for m in state_dict.values() for r in m for p in r if id(p) not in in_graph]
    assert unused and all(p.id == -1 and p.grad == 0 and p.op == "param" for p in unused)
    # the script's `tokens`, `uchars` and `doc` make the tokenizer and the document
    assert relu.tokenizer.decode(relu.capture.tokens[1:-1]) == relu.doc


def test_two_layers_in_main_params_and_scopes_from_its_locals() -> None:
    result = attach("microgpt_2layer.py", "1")
    scopes = {n.scope for n in result.capture.nodes}
    assert {"pos1.layer1.head0.softmax", "pos1.layer0.head1", "pos2.layer1.linear"} <= scopes
    assert "layer1.mlp_fc2" in result.state_dict
    assert result.capture.root.scope == "main"  # the mean, in main after the loop


def test_tanh_is_an_op() -> None:
    result = attach("microgpt_tanh.py", "1")
    tanh = [n for n in result.capture.nodes if n.op == "tanh"]
    assert len(tanh) == 4 * 8 * (len(result.capture.tokens) - 1)  # mlp_fc1's 32 per position
    assert all(n.scope.endswith(".layer0") for n in tanh)


def test_scope_vars_replace_the_default_mapping() -> None:
    result = attach("microgpt_relu.py", "1", scope_vars={"pos_id": "t"})
    scopes = {n.scope for n in result.capture.nodes}
    assert {"t2", "t2.linear", "t2.softmax"} <= scopes
    assert not any("layer" in s or "head" in s or s.startswith("pos") for s in scopes)
    result = attach("microgpt_relu.py", "1", scope_vars={})  # none: the function chain only
    assert {"gpt", "gpt.softmax", "gpt.linear", "softmax", "<module>"} <= {
        n.scope for n in result.capture.nodes
    }


def test_any_init_signature_is_kept(tmp_path) -> None:
    # GIVEN a value class whose __init__ has parameters named like the wrapper's own
    # locals would be (op, id, f, ...), keyword-only ones, and a self not called self
    script = tmp_path / "sig.py"
    script.write_text(
        "class Value:\n"
        "    def __init__(me, data, children=(), local_grads=(), op='', f=0, *, id=None):\n"
        "        me.data, me.grad, me.op, me.id = data, 0, op, id\n"
        "        me._children, me._local_grads = children, local_grads\n"
        "    def __add__(me, o):\n"
        "        return Value(me.data + o.data, (me, o), (1, 1), op='+', id=1)\n"
        "    def __mul__(me, o):\n"
        "        return Value(me.data * o.data, (me, o), (o.data, me.data), '*', 2)\n"
        "    def backward(me):\n"
        "        pass\n"
        "a, b = Value(2.0), Value(3.0)\n"
        "loss = a * b + a\n"
        "loss.backward()\n"
    )
    result = attach_script(str(script))
    nodes = result.capture.nodes
    assert [(n.op, n.label) for n in nodes] == [
        ("const", "a"), ("const", "b"), ("*", None), ("+", "loss")
    ]  # fmt: skip
    assert [(u.op, u.id) for u in result.script_nodes] == [
        ("", None),
        ("", None),
        ("*", None),
        ("+", 1),
    ]
    BackwardPass(result.capture.root, nodes).run_to_end()
    assert [n.grad for n in nodes] == [4.0, 2.0, 1, 1]


def test_parse_scope_vars() -> None:
    assert parse_scope_vars("pos_id=pos, li=layer,h=head") == {
        "pos_id": "pos",
        "li": "layer",
        "h": "head",
    }
    assert parse_scope_vars("") == {}
    for bad in ("pos_id", "pos_id=", "1x=pos", "h=a.b"):
        with pytest.raises(InputError, match="NAME=PREFIX"):
            parse_scope_vars(bad)


def test_binding_spans_are_loop_bodies_and_comprehensions() -> None:
    import ast

    tree = ast.parse("for h in range(2):\n    a = h\n    b = h\nc = [h for h in x]\nd = h\n")
    assert binding_spans(tree, ["h", "li"]) == {"h": [(2, 3), (4, 4)], "li": []}


# -- running the script as __main__ ------------------------------------------------------


def test_runs_as_main_with_its_own_arguments_and_restores_the_interpreter(capsys) -> None:
    before = os.getcwd(), list(sys.path), list(sys.argv), sys.modules["__main__"]
    assert run_attach(["--grads", str(SCRIPTS / "microgpt_relu.py"), "1", "x", "--", "--json"]) == 0
    out = capsys.readouterr().out
    assert "argv: ['1', 'x', '--json']" in out  # `--json` after `--` is the script's
    assert out.index("argv:") < out.index("script  ")  # its output comes first
    assert (os.getcwd(), sys.path, sys.argv, sys.modules["__main__"]) == before
    assert run_attach([str(SCRIPTS / "fault_raises.py")]) == 2
    assert (os.getcwd(), sys.path, sys.argv, sys.modules["__main__"]) == before


def test_the_script_is_compiled_with_its_own_futures_only(tmp_path, capsys) -> None:
    # attach's own modules postpone annotations; the script, without that import, does not
    script = tiny_script(
        tmp_path,
        "def f(a: int) -> None:\n    pass\n"
        "print('annotation:', f.__annotations__['a'])\n"
        "loss = Value(2.0) * Value(3.0)\nloss.backward()\n",
    )
    assert run_attach([str(script), "--grads"]) == 0
    assert "annotation: <class 'int'>" in capsys.readouterr().out


def test_json_keeps_the_scripts_prints_off_stdout(capsys) -> None:
    assert run_attach([str(SCRIPTS / "microgpt_relu.py"), "1", "--json"]) == 0
    captured = capsys.readouterr()
    json.loads(captured.out)  # nothing but the JSON
    assert "argv: ['1']" in captured.err


def test_parse_attach_args() -> None:
    a = parse_attach_args(["--backward", "2", "s.py", "--steps", "5", "--scope-vars=h=hd", "-v"])
    assert (a.script, a.script_args, a.backward, a.scope_vars) == (
        "s.py",
        ["--steps", "5", "-v"],
        2,
        {"h": "hd"},
    )
    a = parse_attach_args(["s.py", "a", "--grads", "--", "--backward", "9", "--"])
    assert (a.script_args, a.backward, a.grads) == (["a", "--backward", "9", "--"], 1, True)
    a = parse_attach_args(["--json", "--", "-odd.py", "--help"])
    assert (a.script, a.script_args, a.grads, a.json) == ("-odd.py", ["--help"], True, True)
    assert parse_attach_args(["-h"]).help
    for argv, message in [
        ([], "needs a SCRIPT"),
        (["--bogus", "s.py"], "unknown option '--bogus'"),
        (["s.py", "--backward"], "needs a value"),
        (["s.py", "--backward", "0"], "positive integer"),
        (["--scope-vars", "oops", "s.py"], "NAME=PREFIX"),
    ]:
        with pytest.raises(InputError, match=message):
            parse_attach_args(argv)


def test_help(capsys) -> None:
    assert run_attach(["--help"]) == 0
    assert "--scope-vars" in capsys.readouterr().out


# -- faults: exit 2, the script's own error in one or two lines, no traceback -------------


def fault(argv: list[str], capsys) -> tuple[str, str]:
    assert run_attach(argv) == 2
    captured = capsys.readouterr()
    lines = captured.err.splitlines()
    assert 1 <= len(lines) <= 2 and lines[0].startswith("microgpt-tui: ")
    assert "Traceback" not in captured.err
    return captured.out, captured.err


def test_fault_an_exception_before_backward(capsys) -> None:
    path = str(SCRIPTS / "fault_raises.py")
    out, err = fault([path], capsys)
    assert out == "before the error\n"  # the script's output, then our line
    first, second = err.splitlines()
    assert first == f"microgpt-tui: {path}:19: ValueError: math domain error"
    assert second.strip() == "return Value(math.log(self.data), (self,), (1 / self.data,))"


def test_fault_never_calls_backward(capsys) -> None:
    path = str(SCRIPTS / "fault_no_backward.py")
    _, err = fault([path], capsys)
    assert err == f"microgpt-tui: {path} finished without calling backward(); nothing to capture\n"


def test_fault_fewer_backward_calls_than_asked(capsys) -> None:
    _, err = fault([str(SCRIPTS / "microgpt_relu.py"), "1", "--backward", "3"], capsys)
    assert "called backward() 1 time; --backward 3 needs at least 3" in err


def test_fault_missing_file(capsys) -> None:
    _, err = fault(["no/such/train.py", "--grads"], capsys)
    assert err == "microgpt-tui: no such script: no/such/train.py\n"


def test_fault_syntax_error(tmp_path, capsys) -> None:
    script = tmp_path / "train.py"
    script.write_text("import math\n\nloss = (1 +\nprint(loss)\n")
    _, err = fault([str(script)], capsys)
    assert err.startswith(f"microgpt-tui: {script}:3: SyntaxError: ")


def test_fault_sys_exit_before_backward(tmp_path, capsys) -> None:
    script = tmp_path / "train.py"
    script.write_text((SCRIPTS / "fault_no_backward.py").read_text() + "raise SystemExit(3)\n")
    _, err = fault([str(script)], capsys)
    assert err.splitlines()[0] == f"microgpt-tui: {script}:22: SystemExit: 3"


# The faults below are scripts on microgpt's Value, imported from a module beside them.
TINY_IMPORT = "from tiny_autograd import Value\n"


def tiny_script(tmp_path, body: str):
    shutil.copy(SCRIPTS / "tiny_autograd.py", tmp_path)
    script = tmp_path / "train.py"
    script.write_text(TINY_IMPORT + body)
    return script


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (  # a -> b -> a: the script's own backward() runs (its DFS skips what it has seen)
            "a = Value(2.0)\nb = a * Value(3.0)\na._children, a._local_grads = (b,), (1.0,)\n"
            "loss = b * Value(1.0)\nloss.backward()\nprint(a.grad)\n",
            ":{2}: the graph has a cycle (a value made here depends on itself)",
        ),
        (  # a self-loop
            "a = Value(2.0)\nb = a * Value(3.0)\nb._children, b._local_grads = (b, a), (1.0, 1.0)\n"
            "loss = b + Value(1.0)\nloss.backward()\n",
            ":{2}: the graph has a cycle",
        ),
        (  # children and local gradients of different lengths: zip() stops at the shorter
            "a, b = Value(2.0), Value(3.0)\nc = Value(a.data * b.data, (a, b), (b.data,))\n"
            "loss = c + a\nloss.backward()\n",
            ":{2}: a value has 2 children but 1 local gradients; attach needs one per child",
        ),
        (  # data that is not a float: Python's fractions run the script fine
            "from fractions import Fraction\na, b = Value(Fraction(1, 3)), Value(Fraction(2))\n"
            "loss = a * b + a\nloss.backward()\n",
            ":{3}: a value holds Fraction data (Fraction(1, 1)), not a number",
        ),
        (  # backward() in a thread: plain Python runs it there
            "import threading\nloss = Value(2.0) * Value(3.0)\n"
            "t = threading.Thread(target=loss.backward, name='worker')\nt.start()\nt.join()\n"
            "print('after the thread')\n",
            ": backward() was called in a thread (worker); attach follows the script's main",
        ),
        (  # os._exit(5) before backward(): the process would end with 5
            "import os\nloss = Value(2.0) * Value(3.0)\nos._exit(5)\nloss.backward()\n",
            ":{3}: os._exit(5)",
        ),
    ],
    ids=["cycle", "self-loop", "lengths", "fraction-data", "thread", "os-exit"],
)
def test_fault_in_the_graph_or_the_run_is_one_line(tmp_path, capsys, body, message) -> None:
    script = tiny_script(tmp_path, body)
    _, err = fault([str(script), "--grads"], capsys)
    first = TINY_IMPORT.count("\n")  # line {k} of the message is the body's k-th line
    message = message.format(*(first + k for k in range(4)))
    assert err.startswith(f"microgpt-tui: {script}") and message in err.splitlines()[0]


def test_a_script_that_replaces_stdout_keeps_the_tools_output(tmp_path, capsys) -> None:
    # the script's prints go where it says; attach's report still reaches the terminal
    script = tiny_script(
        tmp_path,
        "import io, sys\nsys.stdout = io.StringIO()\nprint('swallowed')\n"
        "a, b = Value(2.0), Value(3.0)\nloss = a * b + a\nloss.backward()\n",
    )
    before = sys.stdout
    assert run_attach([str(script), "--grads", "--json"]) == 0
    assert sys.stdout is before
    report = json.loads(capsys.readouterr().out)
    assert (report["loss"], report["nodes"]) == (8.0, 4)


def test_a_micrograd_style_value_is_captured_as_it_ran() -> None:
    # GIVEN micrograd's closure-style Value (`_prev` a set, `_backward` closures)
    result = attach("micrograd_closures.py")
    nodes = result.capture.nodes
    # THEN the graph is the script's, with micrograd's op names and the local
    # gradients read out of its closures, children in the order they were written
    assert [(n.op, n.label) for n in nodes] == [
        ("const", "a"), ("const", "b"), ("*", None), ("+", "loss")
    ]  # fmt: skip
    a, b, ab, loss = nodes
    assert (ab._children, ab._local_grads) == ((a, b), (-3.0, 2.0))
    assert (loss._children, loss._local_grads) == ((ab, a), (1.0, 1.0))
    # AND its backward, replayed to the end, is the script's own, to the bit
    result.replay().run_to_end()
    assert [n.grad for n in nodes] == [u.grad for u in result.script_nodes] == [-2.0, 2.0, 1, 1]


def test_refuses_a_value_class_of_another_shape(tmp_path, capsys) -> None:
    script = tmp_path / "other.py"
    script.write_text(
        "class Value:\n"
        "    def __init__(self, data, parents=()):\n"
        "        self.data, self.grad, self.parents = data, 0, parents\n"
        "    def __mul__(self, other):\n"
        "        return Value(self.data * other.data, (self, other))\n"
        "    def backward(self):\n"
        "        self.grad = 1\n"
        "loss = Value(2.0) * Value(3.0)\n"
        "loss.backward()\n"
    )
    _, err = fault([str(script), "--grads"], capsys)
    assert err.startswith(f"microgpt-tui: {script}: class Value has backward() but keeps neither")
    assert "`_prev` and a `_backward` closure (micrograd)" in err


def test_refuses_a_script_without_a_value_class(tmp_path, capsys) -> None:
    script = tmp_path / "plain.py"
    script.write_text("print('hello')\n")
    _, err = fault([str(script)], capsys)
    assert "defines no value class with backward()" in err


def test_faults_through_a_fresh_interpreter_have_no_traceback() -> None:
    code = "import sys; from microgpt_tui.subcommands.attach import run_attach; "
    code += "sys.exit(run_attach(sys.argv[1:]))"
    done = subprocess.run(
        [sys.executable, "-c", code, str(SCRIPTS / "fault_raises.py")],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert done.returncode == 2
    assert "Traceback" not in done.stderr and len(done.stderr.splitlines()) == 2


def test_the_command_line_routes_attach() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "microgpt_tui", "attach", str(SCRIPTS / "microgpt_relu.py"), "1"]
        + ["--grads", "--json"],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["nodes"] > 0


# -- backprop from here ------------------------------------------------------------------


def test_reroot_backprops_from_one_positions_loss(relu) -> None:
    capture = relu.capture
    loss1 = next(n for n in capture.nodes if n.label == "losses[1]")
    before = [(n.id, n.grad) for n in capture.nodes]
    # WHEN the graph is rerooted at position 1's loss
    new = reroot(capture, loss1)
    # THEN it holds that node's ancestors only, copied, in creation order, with their ids
    kept = sorted(topological_order(loss1), key=lambda n: n.id)
    assert new.script == capture.script is not None and new.pos == 1
    assert [n.id for n in new.nodes] == [n.id for n in kept]
    assert [(n.data, n.op, n.scope, n.label) for n in new.nodes] == [
        (n.data, n.op, n.scope, n.label) for n in kept
    ]
    assert new.root is new.nodes[-1] and all(n.grad == 0 for n in new.nodes)
    assert not {id(n) for n in new.nodes} & {id(n) for n in capture.nodes}
    assert [(n.id, n.grad) for n in capture.nodes] == before  # the original is untouched
    assert new.chains == [capture.chains[n.id] for n in kept]
    # its parameters: the copies in the graph, fresh ones (id -1) for the rest
    assert new.model.config is None and list(new.model.state_dict) == list(relu.state_dict)
    wte = [p for row in new.model.state_dict["wte"] for p in row]
    assert all(p.id == -1 or new.trace.get(p.id) is p for p in wte)
    # AND its backward pass is the script's own backward() from that node
    mine = relu.script_nodes[loss1.id]
    for u in relu.script_nodes:
        u.grad = 0
    type(mine).backward(mine)  # the script's own backward() (attach leaves the class as it was)
    BackwardPass(new.root, new.nodes).run_to_end()
    theirs = {id(u): u.grad for u in relu.script_nodes}
    assert [n.grad for n in new.nodes] == [theirs[id(relu.script_nodes[n.id])] for n in kept]


def test_reroot_session_over_the_built_in_model(tokenizer) -> None:
    from conftest import make_model

    from engine.config import GPTConfig
    from engine.session import DebugSession

    model = make_model(GPTConfig(n_layer=1, n_embd=8, n_head=2, block_size=8))
    session = DebugSession(model, tokenizer, "abc", whole_document=True)
    node = next(n for n in session.nodes if n.label == "loss" and n.scope == "pos1.loss")
    sub = session.rerooted(node)
    assert sub.pos == 1 and sub.root.data == node.data and len(sub.nodes) < len(session.nodes)
    assert sub.attention(1) and all(len(w) == 2 for w in sub.attention(1)[0])
    assert sub.model.config == model.config and sub.doc == "abc"
    assert sub.backward.order[0] is sub.root


def test_engine_attach_imports_no_ui() -> None:
    code = "import sys, engine.attach; print(sorted({'textual', 'rich'} & set(sys.modules)))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert done.stdout.strip() == "[]"


def test_fault_a_grad_that_is_not_a_number(tmp_path, capsys) -> None:
    # local gradients given as fractions: Python's own backward() makes Fraction grads
    script = tiny_script(
        tmp_path,
        "from fractions import Fraction\na, b = Value(2.0), Value(3.0)\n"
        "loss = Value(6.0, (a, b), (Fraction(3), Fraction(2)))\nloss.backward()\n",
    )
    _, err = fault([str(script), "--grads"], capsys)
    assert err == f"microgpt-tui: {script}: a grad holds Fraction, not a number; " + (
        "attach needs int or float grads\n"
    )


def test_the_cycle_collector_is_left_as_it_was(tmp_path, capsys) -> None:
    import gc

    assert gc.isenabled()
    for argv in (
        [str(SCRIPTS / "microgpt_relu.py"), "1", "--grads"],  # captured
        [str(SCRIPTS / "fault_raises.py")],  # the script's error
        [str(tiny_script(tmp_path, "import os\nos._exit(3)\n"))],  # stopped by the script
    ):
        run_attach(argv)
        assert gc.isenabled()
    capsys.readouterr()
