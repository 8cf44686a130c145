"""`attach_script`: run the user's script and capture the graph its own `backward()` walked.

The script runs unmodified, as `__main__`, compiled from its own source under its
real file name. Every value class it creates or imports (`classes.ClassWatch`)
gets its `__init__` and `backward` wrapped for the run: from then on each node
the script creates is recorded (its place in creation order, its op, the script
line and scope that made it). At the N-th call of `backward()` the script's own
backward runs with every grad write logged, and then the script is stopped. The
graph rooted at that value is converted into engine `Value`s, and the session
steps through the logged writes (`engine.recorded_backward.ReplayWalk`): what the script's
backward did, in its order, from the grads the nodes held before the call.
"""

from __future__ import annotations

import builtins
import gc
import time
import types
from collections.abc import Sequence
from dataclasses import dataclass, field

from engine.attach.captured import Converted, capture_stop
from engine.attach.classes import SUPPORTED, ClassWatch
from engine.attach.names import ScriptParameters
from engine.attach.provenance import Provenance
from engine.attach.recorder import Captured, Recorder
from engine.attach.running import BOTTOM, as_main, exec_script, script_error
from engine.attach.scopes import counter_prefixes
from engine.attach.script import (
    Script,
    binding_spans,
    compile_script,
    counter_loops,
    load_script,
    loops_around,
)
from engine.capture import Capture, paused_gc
from engine.data import Tokenizer
from engine.errors import InputError
from engine.recorded_backward import RecordedBackward, ReplayWalk
from engine.session import DebugSession
from engine.value import Value


@dataclass
class AttachResult:
    """A script's captured graph and recorded backward(), with what the debugger needs."""

    capture: Capture  # its `order` is the script's own propagation order when it visits all
    model: ScriptParameters  # the script's parameters (capture.model)
    tokenizer: Tokenizer | None
    doc: str | None  # the document the graph was built from (the script's `doc`), if known
    script: str  # absolute path
    source: str
    backward_calls: int
    run_seconds: float  # from the script's start to the chosen backward() call
    backward_seconds: float  # the script's own backward(), recorded
    convert_seconds: float  # from the script's stop to this result
    recorded_backward: RecordedBackward
    script_nodes: list = field(default_factory=list)  # the script's own objects, by node id
    recorded: int = 0  # records held at the stop (pruning keeps about two steps' graphs)
    notes: list[str] = field(default_factory=list)  # worth telling the user (no scope levels)
    _walked: bool = field(default=False, repr=False)  # a walk has moved the nodes' grads

    @property
    def state_dict(self) -> dict[str, list[list[Value]]]:
        """The parameters by name, each as rows (what the debugger's views show)."""
        return self.model.state_dict

    @property
    def parameters(self) -> dict[str, object]:
        """The parameters by name, in the shapes the script keeps them."""
        return self.model.shaped

    def replay(self) -> ReplayWalk:
        """A walk over the script's own backward(), at its start."""
        self._walked = True
        return ReplayWalk(self.capture.root, self.capture.nodes, self.recorded_backward)

    def final_parameters(self) -> dict[str, object]:
        """`parameters`, their nodes holding the grads the script's backward() left.

        That is the replay's end: converted nodes hold it until a walk moves them.
        """
        if self._walked:
            self.replay().run_to_end()
        return self.parameters

    def grads(self) -> dict[str, object]:
        """Every parameter's grad as the script's backward() left it, in its shape."""
        self.final_parameters()
        return self.model.grads()

    def session(self) -> DebugSession:
        return DebugSession.from_capture(
            self.capture, self.model, self.tokenizer, self.doc or "", backward=self.replay()
        )


def _not_captured(display: str, rec: Recorder, watch: ClassWatch, backward: int) -> InputError:
    calls = rec.backward_calls
    if not rec.shapes:
        if watch.refused:
            cls = watch.refused[0]
            return InputError(
                f"{display}: class {cls.__name__} has backward() but keeps neither "
                f"`_children`/`_local_grads` nor `_prev`/`_backward`; {SUPPORTED}"
            )
        return InputError(f"{display} defines no value class with backward(); {SUPPORTED}")
    if calls == 0:
        return InputError(f"{display} finished without calling backward(); nothing to capture")
    return InputError(
        f"{display} called backward() {calls} time{'s' * (calls != 1)}; "
        f"--backward {backward} needs at least {backward}"
    )


def _run(
    display: str,
    script: Script,
    code: types.CodeType,
    rec: Recorder,
    watch: ClassWatch,
    args: Sequence[str],
) -> float:
    """Run the script until the recorder stops it; the time it started."""
    module = types.ModuleType("__main__")
    module.__dict__.update({"__file__": script.path, "__cached__": None, "__builtins__": builtins})
    started = time.perf_counter()
    try:
        with as_main(script.path, args, module, Captured), watch.watching():
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
        rec.restore()
    if rec.fault is not None:
        raise rec.fault
    return started


def _provenance(script: Script, scope_vars: dict[str, str] | None) -> Provenance:
    if scope_vars is None:  # the loop counters, named after themselves (microgpt's as microgpt's)
        counters = counter_loops(script.tree)
        return Provenance(script.path, counters, counter_prefixes(counters))
    mapping = dict(scope_vars)
    return Provenance(script.path, binding_spans(script.tree, list(mapping)), mapping)


def attach_script(
    path: str,
    args: Sequence[str] = (),
    *,
    backward: int = 1,
    scope_vars: dict[str, str] | None = None,
) -> AttachResult:
    """Run `path` as `__main__` with `args`; record and capture its `backward`-th call.

    `scope_vars` (NAME -> PREFIX) names the scope variables; None: the loop counters.
    InputError (one or two lines, the script's own error and location) if the file is
    missing, does not parse, has no supported value class, raises, calls `backward()`
    fewer than `backward` times, or its graph cannot be shown (a cycle, ...).
    """
    if backward < 1:
        raise InputError(f"--backward must be at least 1, got {backward}")
    display = path  # messages name the script as the user did
    script = load_script(path)
    code = compile_script(script, display)
    provenance = _provenance(script, scope_vars)
    provenance.bottom = BOTTOM
    provenance.doc_loops = loops_around(script.tree, "doc")
    rec = Recorder(provenance, backward=backward, display=display)
    watch = ClassWatch(rec.instrument)
    try:  # the recorder pauses the cycle collector for the captured step
        started = _run(display, script, code, rec, watch, args)
        stop = rec.stop
        if stop is None:
            raise _not_captured(display, rec, watch, backward)
        with paused_gc():
            converted: Converted = capture_stop(rec, stop, drop_steps=scope_vars is None)
        # The graphs are acyclic (refcounting frees them): keep the cycle collector
        # from re-scanning them all at once when it resumes. (It leaves alone all that
        # exists now, as the app does after building a graph.)
        gc.freeze()
    finally:
        rec.resume_gc()
    done = time.perf_counter()
    return AttachResult(
        capture=converted.capture,
        model=converted.parameters,
        tokenizer=converted.tokenizer,
        doc=converted.doc,
        script=script.path,
        source=script.source,
        backward_calls=rec.backward_calls,
        run_seconds=stop.at - started,
        backward_seconds=stop.ended - stop.at,
        convert_seconds=done - stop.ended,
        recorded_backward=converted.recorded,
        script_nodes=converted.script_nodes,
        recorded=len(rec.nodes),
        notes=converted.notes,
    )
