"""The recorder: every node the value classes create, in order, and the chosen backward().

Records live beside the script's objects (they may use `__slots__`): `nodes[i]` is
the i-th node created (kept alive) and `contexts[i]` its `NodeContext`, shared by
the nodes one method makes from one instruction of one script frame. At every
`backward()` call the records of nodes the script no longer holds are dropped, so
a long run keeps at most about two steps' graphs. At the chosen call the script's
own `backward()` runs with every grad write logged (`backward_log`), and then the
script is stopped (`Captured`).

The hot path (`record`, called after the class's own `__init__`) costs two frame
attributes and two dict lookups a node: the live script frame's state, then the
context cached for the instruction it is at, checked against the method that
made the node. A frame seen for the first time, or a line with scope variables of
its own, takes the slow path (`Provenance.context_of`).
"""

from __future__ import annotations

import gc
import sys
import threading
import time
import types
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field

from engine.attach.backward_log import WriteLog, logging_backward
from engine.attach.classes import ValueShape
from engine.attach.document import Document
from engine.attach.provenance import UNKNOWN_CONTEXT, NodeContext, Provenance
from engine.attach.signature import init_calling
from engine.attach.textbook import TextbookRun, is_plain, topo_name
from engine.capture import paused_gc
from engine.errors import InputError


class Captured(BaseException):
    """Raised inside the script once the chosen `backward()` call is recorded: stops it."""


@dataclass
class Stop:
    """The recorded `backward()` call: its root, the script's state then, and what it wrote."""

    root: object
    namespaces: list[dict]  # innermost frame's locals first, the module's globals last
    active: set[str]  # the scope levels set on the stack at the call (the training step's)
    document: Document  # the document the script names, and whether this graph is made from it
    at: float  # perf_counter when backward() was called
    log: WriteLog = field(default_factory=WriteLog)  # every write, unless `textbook`
    textbook: TextbookRun | None = None  # microgpt's backward(): its writes follow from it
    ended: float = 0.0  # perf_counter when it returned


def sweep(nodes: list, contexts: list, baseline: int) -> tuple[list, list, int]:
    """Keep the records of nodes someone else still holds; let the others go.

    Newest first: dropping a dead graph's root frees it, so its children are found
    dead later in the same pass. Returns the kept records, oldest first, and the
    reference count seen last (`lone_refcount` uses it to calibrate `baseline`).
    """
    kept_nodes, kept_contexts = [], []
    getrefcount = sys.getrefcount
    rc = 0
    for i in range(len(nodes) - 1, -1, -1):
        node = nodes[i]
        nodes[i] = None
        rc = getrefcount(node)
        if rc > baseline:
            kept_nodes.append(node)
            kept_contexts.append(contexts[i])
        node = None
    kept_nodes.reverse()
    kept_contexts.reverse()
    return kept_nodes, kept_contexts, rc


def lone_refcount() -> int:
    """What `sweep` sees for a node that nothing else holds (interpreters differ)."""
    return sweep([object()], [None], sys.maxsize)[2]


_ABSENT = object()


class Recorder:
    """Instruments value classes, records their nodes, and records the chosen backward()."""

    def __init__(self, provenance: Provenance, *, backward: int = 1, display: str = "") -> None:
        self.provenance = provenance
        self.display = display or provenance.filename  # the script as the user named it
        self.target = backward
        self.nodes: list = []
        self.contexts: list[NodeContext] = []
        self.shapes: dict[type, ValueShape] = {}  # the instrumented classes
        self._saved: list[tuple[type, str, object]] = []  # what instrumenting replaced
        self.backward_calls = 0
        self.stop: Stop | None = None
        self.fault: InputError | None = None  # a misuse found while the script ran
        self.thread = threading.current_thread()
        self._inside_backward = False
        self._document = Document.empty()
        self._paused_gc = False
        self.prune_at = 1 << 20
        self._baseline = lone_refcount()
        self.record = self._make_record()
        provenance.on_frames_cleared = self._prune_if_large

    # -- instrumenting value classes ---------------------------------------------------

    def instrument(self, cls: type, shape: ValueShape) -> None:
        """Record the nodes of `cls` and watch its backward() (a subclass: its own methods)."""
        if cls in self.shapes:
            return
        inherits = any(base in self.shapes for base in cls.__mro__[1:])
        self.shapes[cls] = shape
        if self.target == 1:
            self._pause_gc()
        for klass in cls.__mro__[:-1]:
            for attr in vars(klass).values():
                for fn in (attr, getattr(attr, "__func__", None), getattr(attr, "fget", None)):
                    code = getattr(fn, "__code__", None)
                    if isinstance(code, types.CodeType):
                        self.provenance.add_method(code, code.co_name)
        if not inherits:  # a subclass's __init__ ends in its base's, recorded there
            self._replace(cls, "__init__", init_calling(cls.__init__, self.record))
        if not inherits or "backward" in vars(cls):
            self._replace(cls, "backward", self._make_backward(cls.backward))

    def _replace(self, cls: type, name: str, wrapper: Callable) -> None:
        self.provenance.skip_code(wrapper.__code__)
        self._saved.append((cls, name, vars(cls).get(name, _ABSENT)))
        setattr(cls, name, wrapper)

    def restore(self) -> None:
        """Put every instrumented class back as it was."""
        for cls, name, original in reversed(self._saved):
            if original is _ABSENT:
                delattr(cls, name)
            else:
                setattr(cls, name, original)
        self._saved.clear()

    @property
    def classes(self) -> tuple[type, ...]:
        return tuple(self.shapes)

    # -- the hot path: one record a node -----------------------------------------------

    def _make_record(self) -> Callable[[object], None]:
        """The context of a new node, from the frames that made it."""
        getframe = sys._getframe
        frames = self.provenance.frames
        method_ops = self.provenance.method_ops
        slow = self.provenance.context_of
        append_node = self.nodes.append
        append_context = self.contexts.append

        def record(node: object) -> None:
            try:
                f = getframe(2)  # the op method that made the node (or the script's own code)
                s = f.f_back  # the script's frame that called the op
                st = frames.get(s)
                if st is not None:
                    ctx = st.static.get(s.f_lasti)
                    if ctx is None or ctx.creator is not f.f_code:
                        st = frames.get(f)  # made directly by the script's code in f?
                        ctx = st.static.get(f.f_lasti) if st is not None else None
                        if ctx is None or ctx.creator is not f.f_code:
                            ctx = slow(f)
                elif id(s.f_code) in method_ops:  # an op inside an op: `a / b` is `a * b**-1`
                    s = s.f_back
                    st = frames.get(s)
                    ctx = st.static.get(s.f_lasti) if st is not None else None
                    if ctx is None or ctx.creator is not f.f_code:
                        ctx = slow(f)
                else:
                    ctx = slow(f)
            except Exception:
                ctx = UNKNOWN_CONTEXT
            append_node(node)
            append_context(ctx)

        return record

    # -- backward() ----------------------------------------------------------------------

    def _make_backward(self, original: Callable) -> Callable:
        recorder = self

        def backward(self, *args, **kwargs):
            if recorder._inside_backward:  # a backward() calling backward(): one call
                return original(self, *args, **kwargs)
            caller = sys._getframe(1)
            recorder._check_call()
            recorder.backward_calls += 1
            if recorder.backward_calls < recorder.target:
                recorder._document = recorder._seen(caller)
                recorder.prune()
                try:
                    return recorder._run_backward(original, self, args, kwargs)
                finally:
                    if recorder.backward_calls == recorder.target - 1:
                        recorder._pause_gc()
            stop = recorder._stop_at(self, caller)
            with paused_gc(), recorder._recording(original, stop):
                recorder._run_backward(original, self, args, kwargs)
            stop.ended = time.perf_counter()
            recorder.stop = stop
            raise Captured

        backward.__wrapped__ = original
        return backward

    def _recording(self, original: Callable, stop: Stop) -> AbstractContextManager:
        """How the chosen call is recorded: microgpt's backward() by its steps, any other
        by logging every write."""
        name = topo_name(original)
        if name is not None and all(map(is_plain, self.shapes)):
            stop.textbook = TextbookRun(stop.root)
            return stop.textbook.hook(name)
        return logging_backward(self.shapes, stop.log)

    def _check_call(self) -> None:
        if threading.current_thread() is not self.thread:
            name = threading.current_thread().name
            self.fault = InputError(
                f"{self.display}: backward() was called in a thread ({name}); "
                "attach follows the script's main thread only"
            )
            raise Captured
        if self.stop is not None or self.fault is not None:
            raise Captured  # the script swallowed the first stop: stop again

    def _run_backward(self, original: Callable, root: object, args: tuple, kwargs: dict):
        self._inside_backward = True
        try:
            return original(root, *args, **kwargs)
        finally:
            self._inside_backward = False

    def _seen(self, caller: types.FrameType, spaces: list[dict] | None = None) -> Document:
        """The script's document names at this backward() call."""
        provenance = self.provenance
        spaces = provenance.namespaces(caller) if spaces is None else spaces
        return self._document.seen_at(spaces, provenance.doc_settled(caller))

    def _stop_at(self, root: object, caller: types.FrameType) -> Stop:
        at = time.perf_counter()
        spaces = self.provenance.namespaces(caller)
        active = self.provenance.active_prefixes(caller)
        return Stop(root, spaces, active, self._seen(caller, spaces), at)

    # -- the cycle collector -------------------------------------------------------------

    def _pause_gc(self) -> None:
        """Pause the cycle collector for the captured step (from the backward() before it).

        The step's graph has no cycles to find in microgpt's shape, and re-scanning it
        while it grows costs more than the step itself; with micrograd's closures, at
        most one step's garbage waits. `resume_gc` puts the collector back.
        """
        if not self._paused_gc and gc.isenabled():
            gc.disable()
            self._paused_gc = True

    def resume_gc(self) -> None:
        if self._paused_gc:
            gc.enable()
            self._paused_gc = False

    # -- dropping dead records -------------------------------------------------------

    def _prune_if_large(self) -> None:
        if len(self.nodes) > self.prune_at:
            self.prune()

    def prune(self) -> None:
        """Drop the records of the nodes that only the records still hold."""
        self.provenance.frames.clear()
        nodes, contexts, _ = sweep(self.nodes, self.contexts, self._baseline)
        self.nodes[:] = nodes  # in place: the hot path holds their `append`s
        self.contexts[:] = contexts
        self.prune_at = max(1 << 20, 2 * len(nodes))
