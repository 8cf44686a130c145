"""Where a node was made: the script line, the op, the scope and the call chain.

A node's context is found from the Python stack when the node is created. The
expensive part, walking the stack and reading scope variables, is done once per
live script frame and instruction (`FrameState`); nodes made again from the same
place share one `NodeContext`. `Provenance.context_of` is the slow path that the
recorder's hot path falls back to.

A frame's callers are read once, when it is first seen: they cannot change while
it runs (a generator resumed from elsewhere is the exception, and keeps its first
scope).
"""

from __future__ import annotations

import types
from collections.abc import Callable
from typing import NamedTuple

from engine.attach.scopes import NO_PARTS, SEPARATOR, CodeInfo, ScopeParts, extend, level_text
from engine.attach.script import Spans

# Op names of the value class's methods; any other method is named after itself (`tanh`).
OPS = {
    "__add__": "+",
    "__radd__": "+",
    "__iadd__": "+",
    "__mul__": "*",
    "__rmul__": "*",
    "__imul__": "*",
    "__pow__": "**",
    "__rpow__": "**",
    "__truediv__": "/",
    "__rtruediv__": "/",
    "__sub__": "-",
    "__rsub__": "-",
    "__neg__": "neg",
    "__abs__": "abs",
}

_MAX_LIVE_FRAMES = 256  # live frames remembered before the table is cleared


class NodeContext:
    """The provenance shared by the nodes one method makes from one place in the script."""

    __slots__ = ("code", "line", "parts", "chain", "op", "creator", "scope")

    def __init__(
        self,
        code: types.CodeType | None,
        line: int,
        parts: ScopeParts,
        chain: str,
        op: str,
        creator: types.CodeType | None,
    ) -> None:
        self.code = code  # the script code that asked for the node (its site)
        self.line = line
        self.parts = parts  # its scope's levels and names (the path is made once captured)
        self.chain = chain  # `gpt › softmax`
        # the op method's name ("+", "tanh"); made directly by the script: its function's
        self.op = op or (creator.co_name.strip("<>") if creator is not None else "op")
        self.creator = creator  # the code that called the value class (checks the cache)
        self.scope = ""  # the path, set once the captured graph's levels are known


# The context of a node made where no script frame is on the stack (a thread, atexit).
UNKNOWN_CONTEXT = NodeContext(None, 0, NO_PARTS, "", "", None)


class KnownCall(NamedTuple):
    """The frame a script frame calls from one instruction, and its state."""

    code: types.CodeType
    state: FrameState


class _Found(NamedTuple):
    frame: types.FrameType | None
    state: FrameState | None  # known already
    info: CodeInfo | None


class FrameState:
    """A live script frame's caller parts (fixed while it runs) and its contexts by place."""

    __slots__ = ("provenance", "info", "code", "parent_parts", "static", "exact", "by_line", "kids")

    def __init__(
        self, provenance: Provenance, info: CodeInfo, code: types.CodeType, parent: ScopeParts
    ) -> None:
        self.provenance = provenance
        self.info = info
        self.code = code
        self.parent_parts = parent
        # instruction offset -> the context of the nodes an op method called from there
        # makes: the hot path's cache, checked against the method's code (`creator`)
        self.static: dict[int, NodeContext] = {}
        # (instruction offset, id(creator code)) -> context, for lines without variables
        # of their own: every context of this state that is the same every time
        self.exact: dict[tuple[int, int], NodeContext] = {}
        self.by_line: dict[int, ScopeParts] = {}  # parts of lines without own variables
        self.kids: dict[int, KnownCall] = {}  # the caller's instruction offset -> callee

    def parts_at(self, frame: types.FrameType, line: int) -> ScopeParts:
        own_vars = self.info.vars_at(line)
        if not own_vars:
            parts = self.by_line.get(line)
            if parts is None:
                parts = self.by_line[line] = extend(self.parent_parts, self.info, ())
            return parts
        names = frame.f_globals if self.info.is_module else frame.f_locals
        own = []
        for var, prefix in own_vars:
            text = level_text(names.get(var))
            if text is not None:
                own.append((prefix, text))
        return extend(self.parent_parts, self.info, tuple(own))

    def context(
        self, frame: types.FrameType, lasti: int, op: int, creator: types.CodeType
    ) -> NodeContext:
        """The context of a node made by `creator` (op `op`) in `frame` at `lasti`."""
        line = frame.f_lineno
        ctx = self.provenance.context(self.code, line, self.parts_at(frame, line), op, creator)
        if not self.info.vars_at(line):  # no variables of its own: the same every time
            self.exact[(lasti, id(creator))] = ctx
        return ctx


class Provenance:
    """The script's code, the value classes' methods, and the live script frames' states."""

    def __init__(self, filename: str, spans: Spans, scope_vars: dict[str, str]) -> None:
        self.filename = filename
        self.spans = spans
        self.scope_vars = scope_vars
        # id(code) of the classes' methods -> op index (1...); code objects hash slowly
        self.method_ops: dict[int, int] = {}
        self.op_names: list[str] = [""]  # op index -> op name ("" : made by script code)
        self.skip: set[int] = set()  # id(code) of frames that are never a node's site
        self._alive: list[types.CodeType] = []  # the codes whose ids are in `skip`
        self.infos: dict[int, CodeInfo] = {}  # id(code) of the script's code -> info
        self.frames: dict[types.FrameType, FrameState] = {}  # live script frames
        self.states: dict[tuple[int, ScopeParts], FrameState] = {}  # (id(code), parts) -> state
        self._contexts: dict[tuple, NodeContext] = {}
        self.bottom: types.CodeType | None = None  # the frame that runs the script
        self.doc_loops: list[list[tuple[int, int]]] = []  # loops around each binding of `doc`
        self.on_frames_cleared: Callable[[], None] = lambda: None

    def skip_code(self, code: types.CodeType) -> None:
        """Never take a frame of `code` as a node's site (the recorder's own wrappers)."""
        self.skip.add(id(code))
        self._alive.append(code)

    def add_method(self, code: types.CodeType, name: str) -> None:
        """A value class's method: its frames are ops, named from `name` (`__mul__` -> `*`)."""
        if id(code) in self.method_ops:
            return
        op = OPS.get(name, name.strip("_"))
        if op not in self.op_names:
            self.op_names.append(op)
        self.method_ops[id(code)] = self.op_names.index(op)
        self.skip_code(code)
        for const in code.co_consts:  # nested functions, lambdas, comprehensions
            if isinstance(const, types.CodeType):
                self.add_method(const, name)

    def _known_callee(self, f: types.FrameType) -> FrameState | None:
        """The state of `f` if its caller already called the same code from the same place."""
        parent = f.f_back
        parent_state = self.frames.get(parent)
        if parent_state is not None:
            kid = parent_state.kids.get(parent.f_lasti)
            if kid is not None and kid.code is f.f_code:
                self._remember(f, kid.state, may_prune=False)
                return kid.state
        return None

    def _remember(self, f: types.FrameType, state: FrameState, *, may_prune: bool) -> None:
        if len(self.frames) > _MAX_LIVE_FRAMES:
            self.frames.clear()
            if may_prune:
                self.on_frames_cleared()
        self.frames[f] = state

    def _first_script_frame(self, f: types.FrameType | None) -> _Found:
        """The first frame at or above `f` that is the script's own code (not a method)."""
        while f is not None and f.f_code is not self.bottom:
            st = self.frames.get(f)
            if st is not None:
                return _Found(f, st, st.info)
            code = f.f_code
            if id(code) in self.skip:
                f = f.f_back
                continue
            info = self.infos.get(id(code))
            if info is None:
                if code.co_filename != self.filename:
                    self.skip_code(code)  # another module's frame: look further out
                    f = f.f_back
                    continue
                info = self.infos[id(code)] = CodeInfo(code, self.scope_vars, self.spans)
            return _Found(f, None, info)
        return _Found(None, None, None)

    def state_of(self, f: types.FrameType | None) -> tuple[FrameState | None, types.FrameType]:
        """The state of the first script frame at or above `f` (computing its callers' too)."""
        if f is not None:
            known = self._known_callee(f)
            if known is not None:
                return known, f
        f, st, info = self._first_script_frame(f)
        if f is None or st is not None:
            return st, f  # type: ignore[return-value]
        parent = f.f_back
        parent_state = self.frames.get(parent)
        if parent_state is None:
            parent_state, parent = self.state_of(parent)
        static_parent = True
        if parent_state is None:
            parts = NO_PARTS
        else:
            line = parent.f_lineno
            parts = parent_state.by_line.get(line)  # lines without own variables
            if parts is None:
                parts = parent_state.parts_at(parent, line)
                static_parent = not parent_state.info.vars_at(line)
        # Frames of one code called from the same place share a state (and its contexts):
        # each row of `linear` runs a new generator frame, all alike.
        key = (id(f.f_code), parts)
        st = self.states.get(key)
        if st is None:
            st = self.states[key] = FrameState(self, info, f.f_code, parts)
        if parent_state is not None and static_parent:
            parent_state.kids[parent.f_lasti] = KnownCall(f.f_code, st)
        self._remember(f, st, may_prune=True)
        return st, f

    def context_of(self, f: types.FrameType) -> NodeContext:
        """The context of a node made by frame `f`'s code: the hot path's way out.

        `f` is an op method's frame (the node's op), or the script's own code making
        a value directly. The site is the first script frame outside the methods.
        """
        creator = f.f_code
        method_ops = self.method_ops
        op = method_ops.get(id(creator), 0)
        s = f
        if op:
            s = f.f_back
            while id(s.f_code) in method_ops:  # an op inside an op: `a / b` is `a * b**-1`
                s = s.f_back
        st = self.frames.get(s)
        if st is None:
            st, s = self.state_of(s)
            if st is None:
                return UNKNOWN_CONTEXT
        lasti = s.f_lasti
        ctx = st.static.get(lasti)
        if ctx is not None and ctx.creator is creator:
            return ctx  # an op inside an op, or a value made directly: seen here before
        ctx = st.exact.get((lasti, id(creator)))
        if ctx is None:
            ctx = st.context(s, lasti, op, creator)
            if st.exact.get((lasti, id(creator))) is not ctx:
                return ctx  # a line with variables of its own: not cached
        st.static[lasti] = ctx  # for the hot path, and for the start of this one
        return ctx

    def context(
        self, code: types.CodeType, line: int, parts: ScopeParts, op: int, creator
    ) -> NodeContext:
        """The one context object for a site, scope, op and creator."""
        key = (id(code), line, parts, op, id(creator))
        ctx = self._contexts.get(key)
        if ctx is None:
            ctx = self._contexts[key] = NodeContext(
                code,
                line,
                parts,
                SEPARATOR.join(parts.chain),
                self.op_names[op],
                creator,
            )
        return ctx

    def active_prefixes(self, frame: types.FrameType | None) -> set[str]:
        """The scope levels set in the script's frames at or above `frame` (loops running)."""
        prefixes: set[str] = set()
        while frame is not None and frame.f_code is not self.bottom:
            code = frame.f_code
            info = self.infos.get(id(code))
            if info is None and code.co_filename == self.filename and id(code) not in self.skip:
                info = CodeInfo(code, self.scope_vars, self.spans)
            if info is not None:
                prefixes.update(prefix for _, prefix in info.vars_at(frame.f_lineno))
            frame = frame.f_back
        return prefixes

    def doc_settled(self, frame: types.FrameType | None) -> bool:
        """Is every loop around a binding of `doc` running at `frame` (or a caller of it)?"""
        lines = []
        while frame is not None and frame.f_code is not self.bottom:
            if frame.f_code.co_filename == self.filename:
                lines.append(frame.f_lineno)
            frame = frame.f_back
        return all(
            any(a <= line <= b for line in lines) for spans in self.doc_loops for a, b in spans
        )

    def namespaces(self, frame: types.FrameType | None) -> list[dict]:
        """The script's local namespaces at `frame`, innermost first, then its globals."""
        spaces: list[dict] = []
        module_globals = None
        while frame is not None and frame.f_code is not self.bottom:
            code = frame.f_code
            if code.co_filename == self.filename and id(code) not in self.method_ops:
                if code.co_name == "<module>":
                    module_globals = frame.f_globals
                else:
                    spaces.append(dict(frame.f_locals))
            frame = frame.f_back
        if module_globals is not None:
            spaces.append(module_globals)
        return spaces
