"""`attach_script`: run the user's script and capture the graph its `backward()` walks.

The script runs unmodified on disk, as `__main__`, from its source parsed with `ast`
and compiled under its real file name. The only rewrite: right after every class
shaped like microgpt's `Value`, a call hands the class to the `Recorder`, which
wraps its `__init__` and `backward`. From then on every node the script creates
gets a record (its place in creation order, its op, the script line and scope that
made it). At the N-th call of `backward()` the script is stopped before the
backward runs, and the graph rooted at that value is converted into engine
`Value`s, which the project's stepper walks exactly as the script's own
`backward()` would.
"""

from __future__ import annotations

import ast
import sys
import time
import types
from collections.abc import Sequence
from dataclasses import dataclass, field

from engine.attach.convert import convert, tokens_and_tokenizer
from engine.attach.provenance import Provenance
from engine.attach.recorder import Captured, Recorder
from engine.attach.running import BOTTOM, as_main, exec_script, script_error
from engine.attach.scopes import DEFAULT_SCOPE_VARS
from engine.attach.script import (
    HOOK_NAME,
    Instrument,
    binding_spans,
    find_value_classes,
    load_script,
    syntax_error_message,
)
from engine.capture import Capture, Parameters
from engine.data import Tokenizer
from engine.errors import InputError
from engine.session import DebugSession
from engine.value import Value


@dataclass
class AttachResult:
    """A script's captured graph, with what the debugger and `--grads` need."""

    capture: Capture
    model: Parameters  # the script's parameters (capture.model)
    tokenizer: Tokenizer | None
    doc: str  # the script's `doc` when it has one, else ""
    script: str  # absolute path
    source: str
    backward_calls: int
    run_seconds: float  # from the script's start to the chosen backward() call
    convert_seconds: float
    script_nodes: list = field(default_factory=list)  # the script's own objects, by node id
    recorded: int = 0  # records held at the stop (pruning keeps about two steps' graphs)

    @property
    def state_dict(self) -> dict[str, list[list[Value]]]:
        return self.model.state_dict

    def session(self) -> DebugSession:
        return DebugSession.from_capture(self.capture, self.model, self.tokenizer, self.doc)


def _compile(display: str, tree: ast.Module, filename: str) -> types.CodeType:
    tree = ast.fix_missing_locations(Instrument(find_value_classes(tree, display)).visit(tree))
    try:
        return compile(tree, filename, "exec")
    except SyntaxError as e:  # e.g. a `return` outside a function: the compiler, not the parser
        raise InputError(syntax_error_message(display, e)) from None


def _not_captured(display: str, rec: Recorder, backward: int) -> InputError:
    calls = rec.backward_calls
    if calls == 0:
        return InputError(f"{display} finished without calling backward(); nothing to capture")
    return InputError(
        f"{display} called backward() {calls} time{'s' * (calls != 1)}; "
        f"--backward {backward} needs at least {backward}"
    )


def _run(display: str, script, code: types.CodeType, rec: Recorder, args: Sequence[str]) -> float:
    """Run the script until the recorder stops it; the time it started."""
    module = types.ModuleType("__main__")
    module.__dict__.update(
        {"__file__": script.path, "__cached__": None, "__builtins__": __builtins__, HOOK_NAME: rec}
    )
    with as_main(script.path, args, module):
        started = time.perf_counter()
        try:
            exec_script(code, module.__dict__)
        except Captured:
            pass
        except KeyboardInterrupt:
            raise
        except SystemExit as e:
            if rec.stop is None and e.code not in (None, 0):
                raise script_error(display, script.path, script.source, e) from None
        except BaseException as e:  # noqa: BLE001 - the script's own error, shown as such
            if rec.stop is None:
                raise script_error(display, script.path, script.source, e) from None
        finally:
            sys.stdout.flush()
    return started


def attach_script(
    path: str,
    args: Sequence[str] = (),
    *,
    backward: int = 1,
    scope_vars: dict[str, str] | None = None,
    run_backward: bool = False,
) -> AttachResult:
    """Run `path` as `__main__` with `args` and capture the graph of its `backward`-th call.

    InputError (one or two lines, the script's own error and location) if the file is
    missing, does not parse, defines no supported value class, raises, or calls
    `backward()` fewer than `backward` times. `run_backward` lets the script's own
    `backward()` run on the captured value before stopping (tests compare grads).
    """
    if backward < 1:
        raise InputError(f"--backward must be at least 1, got {backward}")
    display = path  # messages name the script as the user did
    script = load_script(path)
    code = _compile(display, script.tree, script.path)
    mapping = DEFAULT_SCOPE_VARS if scope_vars is None else dict(scope_vars)
    provenance = Provenance(script.path, binding_spans(script.tree, list(mapping)), mapping)
    provenance.bottom = BOTTOM
    rec = Recorder(provenance, backward=backward, run_backward=run_backward)
    started = _run(display, script, code, rec, args)
    stop = rec.stop
    if stop is None:
        raise _not_captured(display, rec, backward)
    t0 = time.perf_counter()
    capture, script_nodes = convert(rec, stop.root, stop.namespaces)
    tokens, tokenizer, doc = tokens_and_tokenizer(stop.namespaces)
    capture.tokens = tokens
    convert_seconds = time.perf_counter() - t0
    return AttachResult(
        capture=capture,
        model=capture.model,
        tokenizer=tokenizer,
        doc=doc,
        script=script.path,
        source=script.source,
        backward_calls=rec.backward_calls,
        run_seconds=stop.at - started,
        convert_seconds=convert_seconds,
        script_nodes=script_nodes,
        recorded=len(rec.nodes),
    )
