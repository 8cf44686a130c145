"""The recorder: every node a value class creates, in creation order, with its context.

Records live beside the script's objects (they may use `__slots__`): `nodes[i]` is
the i-th node created (kept alive) and `contexts[i]` its `NodeContext`, shared by
the nodes one method makes from one instruction of one script frame. At every
`backward()` call the records of nodes the script no longer holds are dropped, so
a long run keeps at most about two steps' graphs. At the chosen call the script is
stopped (`Captured`).

The hot path (`record`, called after the class's own `__init__`) costs two frame
attributes and two dict lookups a node: the live script frame's state, then the
context cached for the instruction it is at, checked against the method that
made the node. A frame seen for the first time, or a line with scope variables of
its own, takes the slow path (`Provenance.context_of`).
"""

from __future__ import annotations

import sys
import time
import types
from collections.abc import Callable
from dataclasses import dataclass

from engine.attach.provenance import UNKNOWN_CONTEXT, NodeContext, Provenance
from engine.attach.signature import init_calling


class Captured(BaseException):
    """Raised inside the script at the chosen `backward()` call: stops it there."""


@dataclass
class Stop:
    """Where the script was stopped: the value `backward()` was called on, and its namespaces."""

    root: object
    namespaces: list[dict]  # innermost frame's locals first, the module's globals last
    at: float  # perf_counter when backward() was called


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


class Recorder:
    """Instruments value classes and records every node they create, in creation order."""

    def __init__(self, provenance: Provenance, *, backward: int = 1, run_backward: bool = False):
        self.provenance = provenance
        self.filename = provenance.filename
        self.target = backward
        self.run_backward = run_backward
        self.nodes: list = []
        self.contexts: list[NodeContext] = []
        self.classes: list[type] = []
        self.backward_calls = 0
        self.stop: Stop | None = None
        self.prune_at = 1 << 20
        self._baseline = lone_refcount()
        self.record = self._make_record()
        provenance.on_frames_cleared = self._prune_if_large

    # -- the hook the rewritten script calls ---------------------------------------

    def __call__(self, cls: type) -> type:
        """Instrument a value class (called right after its definition)."""
        if not isinstance(cls, type) or cls in self.classes:
            return cls
        self.classes.append(cls)
        for klass in cls.__mro__[:-1]:
            for attr in vars(klass).values():
                for fn in (attr, getattr(attr, "__func__", None), getattr(attr, "fget", None)):
                    code = getattr(fn, "__code__", None)
                    if isinstance(code, types.CodeType):
                        self.provenance.add_method(code, code.co_name)
        init = init_calling(cls.__init__, self.record)
        backward = self._make_backward(cls.backward)
        for fn in (init, backward, self.record):
            self.provenance.skip_code(fn.__code__)
        cls.__init__ = init
        cls.backward = backward
        return cls

    def _make_record(self) -> Callable[[object], None]:
        """The hot path: the context of a new node, from the frames that made it."""
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

    def _make_backward(self, original):
        recorder = self

        def backward(self, *args, **kwargs):
            recorder.backward_calls += 1
            if recorder.stop is None and recorder.backward_calls == recorder.target:
                at = time.perf_counter()
                spaces = recorder.provenance.namespaces(sys._getframe(1))
                recorder.stop = Stop(self, spaces, at)
                if recorder.run_backward:  # tests: let the script's own backward() run too
                    original(self, *args, **kwargs)
                raise Captured
            if recorder.stop is not None:
                raise Captured  # the script swallowed the first stop: stop again
            recorder.prune()
            return original(self, *args, **kwargs)

        backward.__wrapped__ = original
        return backward

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
