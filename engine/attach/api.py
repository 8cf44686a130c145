"""`attach_script`: run the user's script and capture the graph its own `backward()` walked.

The script runs unmodified, as `__main__`, compiled from its own source under its
real file name. Every value class it creates or imports (`classes.ClassWatch`)
gets its `__init__` and `backward` wrapped for the run: from then on each node
the script creates is recorded (its place in creation order, its op, the script
line and scope that made it). At the N-th call of `backward()` the script's own
backward runs with every grad write recorded (logged, or for microgpt's own
backward() derived from its steps: `textbook`), and then the script is stopped.
The graph rooted at that value is converted into engine `Value`s, and the session
steps through the recorded writes (`engine.recorded_backward.ReplayWalk`): what
the script's backward did, in its order, from the grads the nodes held before
the call. `--grads` needs no engine graph when the backward() is microgpt's: its
report is read from the script's own objects (`summary`), the graph checked alike.
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
from engine.attach.recorder import Captured, Recorder, Stop
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
from engine.attach.summary import GradsSummary, textbook_summary
from engine.capture import Capture, paused_gc
from engine.data import Tokenizer
from engine.errors import InputError
from engine.recorded_backward import RecordedBackward, ReplayWalk
from engine.report import REPORT_KEYS, grads_report
from engine.session import DebugSession
from engine.value import Value


@dataclass
class _Stopped:
    """What the graph is built from, until it is (`AttachResult.converted`)."""

    rec: Recorder
    stop: Stop
    drop_steps: bool


@dataclass
class AttachResult:
    """A script's captured graph and recorded backward(), with what the debugger needs.

    The graph is built when the result is made (`attach_script`), or, with
    `graph=False`, when first asked for; `report()` needs it only when the
    script's backward() is not microgpt's (`summary`).
    """

    tokenizer: Tokenizer | None
    doc: str | None  # the document the graph was built from (the script's `doc`), if known
    script: str  # absolute path
    source: str
    backward_calls: int
    run_seconds: float  # from the script's start to the chosen backward() call
    backward_seconds: float  # the script's own backward(), recorded
    stop_seconds: float  # from the script's stop to this result (the graph, or the checks)
    recorded: int = 0  # records held at the stop (pruning keeps about two steps' graphs)
    notes: list[str] = field(default_factory=list)  # worth telling the user (no scope levels)
    convert_seconds: float | None = None  # building the graph, once built
    _stopped: _Stopped | None = field(default=None, repr=False)  # until converted
    _converted: Converted | None = field(default=None, repr=False)
    _summary: GradsSummary | None = field(default=None, repr=False)
    _walked: bool = field(default=False, repr=False)  # a walk has moved the nodes' grads

    @property
    def converted(self) -> Converted:
        """The graph as engine nodes, built now if it was not yet."""
        if self._converted is None:
            assert self._stopped is not None
            stopped, start = self._stopped, time.perf_counter()
            with paused_gc():
                self._converted = capture_stop(
                    stopped.rec, stopped.stop, drop_steps=stopped.drop_steps
                )
            _spare_the_collector()
            self.convert_seconds = time.perf_counter() - start
            self._stopped = None
        return self._converted

    @property
    def capture(self) -> Capture:
        """The graph; its `order` is the script's own propagation order when it visits all."""
        return self.converted.capture

    @property
    def model(self) -> ScriptParameters:
        """The script's parameters as the graph's nodes (`capture.model`)."""
        return self.converted.parameters

    @property
    def recorded_backward(self) -> RecordedBackward:
        return self.converted.recorded

    @property
    def script_nodes(self) -> list:
        """The script's own objects, by node id."""
        return self.converted.script_nodes

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

    def report(self) -> dict[str, object]:
        """What `attach --grads` prints: the loss, doc, pos, node count and every
        parameter's grad as the script's backward() left them (`engine.report`)."""
        if self._converted is None and self._summary is not None:
            s = self._summary
            return dict(zip(REPORT_KEYS, (s.loss, self.doc, s.pos, s.nodes, s.grads), strict=True))
        capture = self.capture
        return grads_report(
            capture.root.data, self.doc, capture.pos, len(capture.nodes), self.final_parameters()
        )

    def session(self) -> DebugSession:
        return DebugSession.from_capture(
            self.capture, self.model, self.tokenizer, self.doc or "", backward=self.replay()
        )


def _spare_the_collector() -> None:
    """The graphs are acyclic (refcounting frees them): keep the cycle collector from
    re-scanning them all at once when it resumes (about 20 ms at the first allocation
    after a 50k-node step). It leaves alone all that exists now, as the app does after
    building a graph."""
    gc.freeze()


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
        counters = counter_loops(script.tree, script.nodes)
        return Provenance(script.path, counters, counter_prefixes(counters))
    mapping = dict(scope_vars)
    spans = binding_spans(script.tree, list(mapping), script.nodes)
    return Provenance(script.path, spans, mapping)


def attach_script(
    path: str,
    args: Sequence[str] = (),
    *,
    backward: int = 1,
    scope_vars: dict[str, str] | None = None,
    graph: bool = True,
) -> AttachResult:
    """Run `path` as `__main__` with `args`; record and capture its `backward`-th call.

    `scope_vars` (NAME -> PREFIX) names the scope variables; None: the loop counters.
    `graph=False` (what `--grads` needs): the graph is built only when first asked
    for, and `report()` reads the script's own objects if its backward() is
    microgpt's; the graph is checked here all the same.
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
    provenance.doc_loops = loops_around(script.tree, "doc", script.nodes)
    rec = Recorder(provenance, backward=backward, display=display)
    watch = ClassWatch(rec.instrument)
    try:  # the recorder pauses the cycle collector for the captured step
        started = _run(display, script, code, rec, watch, args)
        stop = rec.stop
        if stop is None:
            raise _not_captured(display, rec, watch, backward)
        _, tokenizer, doc = stop.document.resolve()
        result = AttachResult(
            tokenizer=tokenizer,
            doc=doc,
            script=script.path,
            source=script.source,
            backward_calls=rec.backward_calls,
            run_seconds=stop.at - started,
            backward_seconds=stop.ended - stop.at,
            stop_seconds=0.0,
            recorded=len(rec.nodes),
            _stopped=_Stopped(rec, stop, drop_steps=scope_vars is None),
        )
        summary = None if graph else textbook_summary(rec, stop, drop_steps=scope_vars is None)
        result._summary = summary  # else the graph is built now: its checks, its refusals
        result.notes = result.converted.notes if summary is None else summary.notes
        _spare_the_collector()  # the script's graph, made while the collector was paused
    finally:
        rec.resume_gc()
    result.stop_seconds = time.perf_counter() - stop.ended
    return result
