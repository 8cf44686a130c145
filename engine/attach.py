"""Attach: run the user's own microgpt-style script and capture the graph its `backward()` walks.

The script runs unmodified on disk, as `__main__`, from its source parsed with `ast`
and compiled under its real file name. The only rewrite: right after every class
shaped like microgpt's `Value` (a `backward` method, instances keeping `_children`
and `_local_grads`), a call hands the class to a `Recorder`, which wraps its
`__init__` and `backward`. From then on every node the script creates gets a
record, kept outside the user's objects (they may use `__slots__`): its place in
creation order, the method that made it (its op), and the script line and scope
that made it. At the N-th call of `backward()` the script is stopped before the
backward runs, and the
graph rooted at that value is converted into engine `Value`s: the same data,
children and local gradients, in creation order, with provenance. The project's
stepper then walks it exactly as the script's own `backward()` would.

Scopes, without annotations in the script. Scope variables are read from the
script's frames on the stack when a node is created (default `pos_id -> pos`,
`li -> layer`, `h -> head`). A variable counts in a frame while it is a parameter
of that frame's function, or while the frame runs a line inside a `for` loop or a
comprehension that binds it (so `pos_id` no longer counts on the line after
microgpt's module-level `for pos_id in range(n)` loop). The scope path is

    the scope variables, outermost frame first (within a frame in the mapping's
    order; a prefix set again in an inner frame keeps its place and takes the
    inner value), then the names of the script's functions called below the
    innermost frame that set one (the module level, lambdas and comprehensions
    have no name),

so a node made in `softmax`, called by `gpt` while `li == 0` and `h == 1`, for
`pos_id == 3`, has the scope `pos3.layer0.head1.softmax`; one made in `gpt` itself
there has `pos3.layer0.head1`; one made by `linear` in layer 0 has
`pos3.layer0.linear`; one made at module level with no scope variable (microgpt's
mean of the position losses, after its loop) has `<module>`, as Python's tracebacks
name that level. The full chain of function names (`gpt › softmax`, outermost
first) is kept per node as well (`Capture.chains`).
"""

from __future__ import annotations

import ast
import importlib.util
import inspect
import os
import re
import sys
import time
import traceback
import types
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from engine.capture import Capture, Parameters
from engine.data import Tokenizer
from engine.errors import InputError
from engine.session import DebugSession
from engine.trace import Trace
from engine.value import Value

DEFAULT_SCOPE_VARS: dict[str, str] = {"pos_id": "pos", "li": "layer", "h": "head"}

SUPPORTED = (
    "attach supports a microgpt-style value class: one with backward() whose instances keep "
    "`_children` and `_local_grads` (in __slots__ or set in __init__)"
)

# The name the rewritten module calls after each value class: `__microgpt_tui_attach__(Value)`.
HOOK_NAME = "__microgpt_tui_attach__"

# Op names of the value class's methods; any other method is named after itself (`tanh`).
_OPS = {
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

SEPARATOR = " › "  # between function names in a call chain: `gpt › softmax`
MODULE_SCOPE = "<module>"  # the scope of nodes made at module level outside the loops


def parse_scope_vars(text: str) -> dict[str, str]:
    """`--scope-vars NAME=PREFIX,...` -> {NAME: PREFIX}, in order; "" is no variables."""
    mapping: dict[str, str] = {}
    for item in text.split(","):
        item = item.strip()
        if not item:
            continue
        name, eq, prefix = item.partition("=")
        name, prefix = name.strip(), prefix.strip()
        if not eq or not name.isidentifier() or not prefix or "." in prefix or " " in prefix:
            raise InputError(
                f"bad --scope-vars item {item!r}: expected NAME=PREFIX "
                "(a variable name and a scope prefix without dots), e.g. pos_id=pos,li=layer,h=head"
            )
        mapping[name] = prefix
    return mapping


# -- reading and rewriting the script ---------------------------------------------------


def load_script(path: str) -> tuple[str, str, ast.Module]:
    """(absolute path, source, parsed module) of a script; InputError if unreadable."""
    p = Path(path)
    if not p.exists():
        raise InputError(f"no such script: {path}")
    if p.is_dir():
        raise InputError(f"{path} is a directory, not a Python script")
    try:
        source = importlib.util.decode_source(p.read_bytes())  # honours a coding cookie
    except (UnicodeDecodeError, SyntaxError):
        raise InputError(
            f"{path} is not text in its declared encoding (UTF-8 by default)"
        ) from None
    except OSError as e:
        raise InputError(f"cannot read {path}: {e.strerror or e}") from None
    try:
        tree = ast.parse(source, filename=str(p.resolve()))
    except SyntaxError as e:
        raise InputError(_syntax_error_message(path, e)) from None
    return str(p.resolve()), source, tree


def _syntax_error_message(path: str, e: SyntaxError) -> str:
    where = f"{path}:{e.lineno}" if e.lineno else path
    text = (e.text or "").strip()
    message = f"{where}: {type(e).__name__}: {e.msg}"
    return f"{message}\n    {text}" if text else message


def _instance_attributes(cls: ast.ClassDef) -> set[str]:
    """Attributes a class's instances keep: `__slots__`, annotations, `self.x =` in __init__."""
    names: set[str] = set()
    for stmt in cls.body:
        if isinstance(stmt, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "__slots__" for t in stmt.targets
        ):
            for const in ast.walk(stmt.value):
                if isinstance(const, ast.Constant) and isinstance(const.value, str):
                    names.add(const.value)
        elif isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name):
            names.add(stmt.target.id)
        elif isinstance(stmt, ast.FunctionDef) and stmt.name == "__init__" and stmt.args.args:
            me = stmt.args.args[0].arg
            for node in ast.walk(stmt):
                targets: list[ast.expr] = []
                if isinstance(node, ast.Assign):
                    targets = list(node.targets)
                elif isinstance(node, (ast.AnnAssign, ast.AugAssign)):
                    targets = [node.target]
                for target in targets:
                    for t in ast.walk(target):
                        if (
                            isinstance(t, ast.Attribute)
                            and isinstance(t.value, ast.Name)
                            and t.value.id == me
                        ):
                            names.add(t.attr)
    return names


def _has_method(cls: ast.ClassDef, name: str) -> bool:
    return any(
        isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef)) and s.name == name for s in cls.body
    )


def find_value_classes(tree: ast.Module, path: str) -> list[ast.ClassDef]:
    """The script's microgpt-style value classes; InputError if it has none.

    A class with `backward()` that keeps no `_local_grads` (micrograd's `_backward`
    closures) is named in the message, since its graph cannot be walked as data.
    """
    found, refused = [], []
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef) and _has_method(node, "backward"):
            attrs = _instance_attributes(node)
            if "_children" in attrs and "_local_grads" in attrs:
                found.append(node)
            else:
                refused.append(node)
    if found:
        return found
    if refused:
        cls = refused[0]
        keeps = _instance_attributes(cls)
        how = (
            "micrograd-style `_backward` closures"
            if "_backward" in keeps or "_prev" in keeps
            else "no `_children` and `_local_grads`"
        )
        raise InputError(
            f"{path}:{cls.lineno}: class {cls.name} keeps no local gradients ({how}); {SUPPORTED}"
        )
    raise InputError(f"{path} defines no value class with backward(); {SUPPORTED}")


class _Instrument(ast.NodeTransformer):
    """Insert `__microgpt_tui_attach__(Name)` right after each chosen class definition."""

    def __init__(self, classes: Sequence[ast.ClassDef]) -> None:
        self.classes = set(map(id, classes))

    def visit_ClassDef(self, node: ast.ClassDef):
        self.generic_visit(node)
        if id(node) not in self.classes:
            return node
        call = ast.Expr(
            ast.Call(
                ast.Name(HOOK_NAME, ast.Load()),
                [ast.Name(node.name, ast.Load())],
                [],
            )
        )
        line = node.end_lineno or node.lineno
        for n in ast.walk(call):
            n.lineno, n.end_lineno, n.col_offset, n.end_col_offset = line, line, 0, 0
        return [node, call]


def binding_spans(tree: ast.Module, names: Sequence[str]) -> dict[str, list[tuple[int, int]]]:
    """For each name, the line ranges where a `for` loop or comprehension binds it."""
    spans: dict[str, list[tuple[int, int]]] = {name: [] for name in names}

    def bound(target: ast.expr) -> Iterator[str]:
        for t in ast.walk(target):
            if isinstance(t, ast.Name) and t.id in spans:
                yield t.id

    for node in ast.walk(tree):
        if isinstance(node, (ast.For, ast.AsyncFor)):
            start, end = node.body[0].lineno, node.body[-1].end_lineno or node.body[-1].lineno
            for name in bound(node.target):
                spans[name].append((start, end))
        elif isinstance(node, (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)):
            for gen in node.generators:
                for name in bound(gen.target):
                    spans[name].append((node.lineno, node.end_lineno or node.lineno))
    return spans


# -- recording ------------------------------------------------------------------------

# Scope parts: ((prefix, value text), ...) of the scope variables, the function names
# below the innermost frame that set one, and the whole chain of function names.
_Parts = tuple[tuple[tuple[str, str], ...], tuple[str, ...], tuple[str, ...]]
_NO_PARTS: _Parts = ((), (), ())
_MISSING = object()


class _CodeInfo:
    """What a script code object contributes to scopes: its name and its scope variables."""

    __slots__ = ("code", "name", "is_module", "params", "locals", "mapping", "spans", "by_line")

    def __init__(self, code: types.CodeType, mapping: dict[str, str], spans: dict) -> None:
        self.code = code  # kept alive: infos are found by id(code)
        name = code.co_name
        self.is_module = name == "<module>"
        self.name = None if name.startswith("<") else name  # module, lambda, comprehension
        nargs = code.co_argcount + code.co_kwonlyargcount
        self.params = set(code.co_varnames[:nargs])
        self.locals = set(code.co_varnames) | set(code.co_cellvars) | set(code.co_freevars)
        self.mapping = mapping
        self.spans = spans
        self.by_line: dict[int, tuple[tuple[str, str], ...]] = {}

    def vars_at(self, line: int) -> tuple[tuple[str, str], ...]:
        """The (variable, prefix) pairs that count in a frame of this code at `line`."""
        found = self.by_line.get(line)
        if found is None:
            found = tuple(
                (var, prefix)
                for var, prefix in self.mapping.items()
                if var in self.params
                or (
                    (self.is_module or var in self.locals)
                    and any(a <= line <= b for a, b in self.spans.get(var, ()))
                )
            )
            self.by_line[line] = found
        return found


def _value_text(value: object) -> str:
    text = str(value)
    return text.replace(".", "_").replace(" ", "") if not isinstance(value, int) else text


def _extend(parts: _Parts, info: _CodeInfo, own: tuple[tuple[str, str], ...]) -> _Parts:
    """The parts of a frame: its caller's parts, then its own variables or its name."""
    variables, names, chain = parts
    if info.name is not None:
        chain = (*chain, info.name)
    if own:
        merged = list(variables)
        for prefix, text in own:
            for i, (p, _) in enumerate(merged):
                if p == prefix:
                    merged[i] = (prefix, text)
                    break
            else:
                merged.append((prefix, text))
        return tuple(merged), (), chain
    if info.name is not None:
        names = (*names, info.name)
    return variables, names, chain


class _FrameState:
    """A live script frame's caller parts (fixed while it runs) and its contexts by line."""

    __slots__ = ("rec", "info", "code", "parent_parts", "static", "exact", "parts_by_line", "kids")

    def __init__(self, rec: Recorder, info: _CodeInfo, code, parent_parts: _Parts) -> None:
        self.rec = rec
        self.info = info
        self.code = code
        self.parent_parts = parent_parts
        # instruction offset -> the context of the nodes an op method called from there
        # makes: the hot path's cache, checked against the method's code (`ctx[5]`)
        self.static: dict[int, tuple] = {}
        # (instruction offset, id(creator code)) -> context, for lines without variables
        # of their own: every context of this state that is the same every time
        self.exact: dict[tuple[int, int], tuple] = {}
        self.parts_by_line: dict[int, _Parts] = {}  # for lines without own variables
        # the caller's instruction offset -> (code, state) of the frame it calls from there
        self.kids: dict[int, tuple] = {}

    def parts_at(self, frame: types.FrameType, line: int) -> _Parts:
        own_vars = self.info.vars_at(line)
        if not own_vars:
            parts = self.parts_by_line.get(line)
            if parts is None:
                parts = self.parts_by_line[line] = _extend(self.parent_parts, self.info, ())
            return parts
        names = frame.f_globals if self.info.is_module else frame.f_locals
        own = []
        for var, prefix in own_vars:
            value = names.get(var, _MISSING)
            if value is not _MISSING:
                own.append((prefix, _value_text(value)))
        return _extend(self.parent_parts, self.info, tuple(own))

    def context(self, frame: types.FrameType, lasti: int, op: int, creator) -> tuple:
        """The context of a node made by `creator` (op `op`) in `frame` at `lasti`."""
        line = frame.f_lineno
        ctx = self.rec.context(self.code, line, self.parts_at(frame, line), op, creator)
        if not self.info.vars_at(line):  # no variables of its own: the same every time
            self.exact[(lasti, id(creator))] = ctx
        return ctx


class _Captured(BaseException):
    """Raised inside the script at the chosen `backward()` call: stops it there."""


@dataclass
class _Stop:
    root: object
    namespaces: list[dict]  # innermost frame's locals first, the module's globals last
    at: float  # perf_counter when backward() was called


# The context of a node made where no script frame is on the stack (a thread, atexit).
_UNKNOWN_CONTEXT = (None, 0, "", "", "", None)


def _sweep(nodes: list, contexts: list, baseline: int) -> tuple[list, list, int]:
    """Keep the records of nodes someone else still holds; let the others go.

    Newest first: dropping a dead graph's root frees it, so its children are found
    dead later in the same pass. Returns the kept records, oldest first, and the
    reference count seen last (`_lone_refcount` uses it to calibrate `baseline`).
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


def _lone_refcount() -> int:
    """What `_sweep` sees for a node that nothing else holds (interpreters differ)."""
    return _sweep([object()], [None], sys.maxsize)[2]


# The instrumented `__init__`: the class's own, then the record of the new node. Its
# own names get `_PREFIX` (below), so that none can clash with the class's parameters.
_INIT_TEMPLATE = """
def __init__({params}):
    original({call})
    try:
        f = getframe(1)  # the op method that made the node (or the script's own code)
        s = f.f_back  # the script's frame that called the op
        st = frames.get(s)
        if st is not None:
            ctx = st.static.get(s.f_lasti)
            if ctx is None or ctx[5] is not f.f_code:
                st = frames.get(f)  # made directly by the script's code in f?
                ctx = st.static.get(f.f_lasti) if st is not None else None
                if ctx is None or ctx[5] is not f.f_code:
                    ctx = slow(f)
        elif id(s.f_code) in method_ops:  # an op inside an op: `a / b` is `a * b**-1`
            s = s.f_back
            st = frames.get(s)
            ctx = st.static.get(s.f_lasti) if st is not None else None
            if ctx is None or ctx[5] is not f.f_code:
                ctx = slow(f)
        else:
            ctx = slow(f)
    except Exception:
        ctx = UNKNOWN
    append_node({me})
    append_context(ctx)
"""
_PREFIX = "_microgpt_tui_"
_INIT_NAMES = (
    "original getframe frames method_ops slow append_node append_context UNKNOWN Exception id "
    "f s st ctx"
).split()
_INIT_SOURCE = re.sub(
    r"(?<![.\w])(" + "|".join(_INIT_NAMES) + r")\b",
    _PREFIX + r"\1",
    re.sub(r"  # .*", "", _INIT_TEMPLATE),  # without the comments
)


class Recorder:
    """Instruments value classes and records every node they create, in creation order.

    Records live beside the script's objects (they may use `__slots__`): `nodes[i]` is
    the i-th node created (kept alive) and `contexts[i]` its context, `(site code,
    line, scope, chain, op, creator code)`, shared by the nodes one method makes
    from one instruction of one script frame. At every `backward()` call the records
    of nodes the script no longer holds are dropped, so a long run keeps at most
    about two steps' graphs.

    The hot path (`_INIT_TEMPLATE`) costs two frame attributes and two dict lookups
    a node: the live script frame's state (`frames`), then the context cached for the
    instruction it is at (`_FrameState.static`), checked against the method that
    made the node. A frame seen for the first time, or a line with scope variables
    of its own, takes the slow path (`_context_of`, `_state_of`). A frame's callers
    are read once, when it is first seen: they cannot change while it runs (a
    generator resumed from elsewhere is the exception, and keeps its first scope).
    """

    def __init__(
        self,
        filename: str,
        spans: dict[str, list[tuple[int, int]]],
        scope_vars: dict[str, str],
        *,
        backward: int = 1,
        run_backward: bool = False,
    ) -> None:
        self.filename = filename
        self.spans = spans
        self.scope_vars = scope_vars
        self.target = backward
        self.run_backward = run_backward
        self.nodes: list = []
        self.contexts: list[tuple] = []
        self.classes: list[type] = []
        # id(code) of the classes' methods -> op index (1...); code objects hash slowly
        self.method_ops: dict[int, int] = {}
        self.op_names: list[str] = [""]  # op index -> op name ("" : made by script code)
        self.skip: set[int] = set()  # id(code) of frames that are never a node's site
        self._alive: list[types.CodeType] = []  # the codes whose ids are in `skip`
        self.infos: dict[int, _CodeInfo] = {}  # id(code) of the script's code -> info
        self.frames: dict[types.FrameType, _FrameState] = {}  # live script frames
        self.states: dict[tuple, _FrameState] = {}  # (id(code), caller parts) -> state
        self._contexts: dict[tuple, tuple] = {}
        self.bottom: types.CodeType | None = None  # the frame that runs the script
        self.backward_calls = 0
        self.stop: _Stop | None = None
        self.prune_at = 1 << 20
        self._baseline = _lone_refcount()

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
                        self._add_method(code, code.co_name)
        init = self._make_init(cls.__init__)
        backward = self._make_backward(cls.backward)
        for fn in (init, backward):
            self._skip(fn.__code__)
        cls.__init__ = init
        cls.backward = backward
        return cls

    def _skip(self, code: types.CodeType) -> None:
        self.skip.add(id(code))
        self._alive.append(code)

    def _add_method(self, code: types.CodeType, name: str) -> None:
        if id(code) in self.method_ops:
            return
        op = _OPS.get(name, name.strip("_"))
        if op not in self.op_names:
            self.op_names.append(op)
        self.method_ops[id(code)] = self.op_names.index(op)
        self._skip(code)
        for const in code.co_consts:  # nested functions, lambdas, comprehensions
            if isinstance(const, types.CodeType):
                self._add_method(const, name)

    def _make_init(self, original):
        """`original` plus the record of the new node, with `original`'s own signature."""
        env = {
            "original": original,
            "getframe": sys._getframe,
            "frames": self.frames,
            "method_ops": self.method_ops,
            "slow": self._context_of,
            "append_node": self.nodes.append,
            "append_context": self.contexts.append,
            "UNKNOWN": _UNKNOWN_CONTEXT,
            "Exception": Exception,
            "id": id,
        }
        params, call, me = _forwarding(original)
        source = _INIT_SOURCE.format(params=params, call=call, me=me)
        namespace = {_PREFIX + name: value for name, value in env.items()}
        exec(compile(source, "<microgpt-tui attach>", "exec"), namespace)
        init = namespace["__init__"]
        init.__defaults__ = getattr(original, "__defaults__", None)
        init.__kwdefaults__ = getattr(original, "__kwdefaults__", None)
        init.__wrapped__ = original
        init.__qualname__ = getattr(original, "__qualname__", "__init__")
        return init

    def _make_backward(self, original):
        recorder = self

        def backward(self, *args, **kwargs):
            recorder.backward_calls += 1
            if recorder.stop is None and recorder.backward_calls == recorder.target:
                at = time.perf_counter()
                recorder.stop = _Stop(self, recorder._namespaces(sys._getframe(1)), at)
                if recorder.run_backward:  # tests: let the script's own backward() run too
                    original(self, *args, **kwargs)
                raise _Captured
            if recorder.stop is not None:
                raise _Captured  # the script swallowed the first stop: stop again
            recorder.prune()
            return original(self, *args, **kwargs)

        backward.__wrapped__ = original
        return backward

    def prune(self) -> None:
        """Drop the records of the nodes that only the records still hold."""
        self.frames.clear()
        nodes, contexts, _ = _sweep(self.nodes, self.contexts, self._baseline)
        self.nodes[:] = nodes  # in place: the hot path holds their `append`s
        self.contexts[:] = contexts
        self.prune_at = max(1 << 20, 2 * len(nodes))

    # -- provenance of a new node (the slow path: a frame not seen before) ----------

    def _state_of(self, f: types.FrameType | None) -> tuple[_FrameState | None, types.FrameType]:
        """The state of the first script frame at or above `f` (computing its callers' too)."""
        skip, infos, frames = self.skip, self.infos, self.frames
        if f is not None:  # a frame called from a known place: its state is known too
            parent = f.f_back
            parent_state = frames.get(parent)
            if parent_state is not None:
                kid = parent_state.kids.get(parent.f_lasti)
                if kid is not None and kid[0] is f.f_code:
                    if len(frames) > 256:
                        frames.clear()
                    frames[f] = kid[1]
                    return kid[1], f
        while True:
            if f is None or f.f_code is self.bottom:
                return None, f  # type: ignore[return-value]
            st = self.frames.get(f)
            if st is not None:
                return st, f
            code = f.f_code
            if id(code) in skip:
                f = f.f_back
                continue
            info = infos.get(id(code))
            if info is None:
                if code.co_filename != self.filename:
                    self._skip(code)  # another module's frame: look further out
                    f = f.f_back
                    continue
                info = infos[id(code)] = _CodeInfo(code, self.scope_vars, self.spans)
            break
        parent = f.f_back
        parent_state = self.frames.get(parent)
        if parent_state is None:
            parent_state, parent = self._state_of(parent)
        if parent_state is None:
            parts = _NO_PARTS
        else:
            line = parent.f_lineno
            parts = parent_state.parts_by_line.get(line)  # lines without own variables
            if parts is None:
                parts = parent_state.parts_at(parent, line)
                static_parent = not parent_state.info.vars_at(line)
            else:
                static_parent = True
        # Frames of one code called from the same place share a state (and its contexts):
        # each row of `linear` runs a new generator frame, all alike.
        key = (id(code), parts)
        st = self.states.get(key)
        if st is None:
            st = self.states[key] = _FrameState(self, info, code, parts)
        if parent_state is not None and static_parent:
            parent_state.kids[parent.f_lasti] = (code, st)
        if len(self.frames) > 256:
            self.frames.clear()
            if len(self.nodes) > self.prune_at:
                self.prune()
        self.frames[f] = st
        return st, f

    def _context_of(self, f: types.FrameType) -> tuple:
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
            st, s = self._state_of(s)
            if st is None:
                return _UNKNOWN_CONTEXT
        lasti = s.f_lasti
        ctx = st.static.get(lasti)
        if ctx is not None and ctx[5] is creator:
            return ctx  # an op inside an op, or a value made directly: seen here before
        ctx = st.exact.get((lasti, id(creator)))
        if ctx is None:
            ctx = st.context(s, lasti, op, creator)
            if st.exact.get((lasti, id(creator))) is not ctx:
                return ctx  # a line with variables of its own: not cached
        st.static[lasti] = ctx  # for the hot path, and for the start of this one
        return ctx

    def context(self, code: types.CodeType, line: int, parts: _Parts, op: int, creator) -> tuple:
        """`(site code, line, scope, chain, op name, creator code)`, one object per kind."""
        key = (id(code), line, parts, op, id(creator))
        ctx = self._contexts.get(key)
        if ctx is None:
            variables, names, chain = parts
            scope = ".".join([p + t for p, t in variables] + list(names)) or MODULE_SCOPE
            ctx = self._contexts[key] = (
                code,
                line,
                sys.intern(scope),
                SEPARATOR.join(chain),
                self.op_names[op],
                creator,
            )
        return ctx

    def _namespaces(self, frame: types.FrameType | None) -> list[dict]:
        """The script's local namespaces at the stop, innermost first, then its globals."""
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


def _forwarding(function) -> tuple[str, str, str]:
    """(parameters, call arguments, name of self) of a wrapper that passes all on to `function`.

    The wrapper keeps `function`'s own signature (its defaults are copied onto it),
    since passing `*args, **kwargs` on costs more than the rest of a record.
    """
    generic = "self, *args, **kwargs", "self, *args, **kwargs", "self"
    try:
        parameters = list(inspect.signature(function).parameters.values())
    except (TypeError, ValueError):
        return generic
    if not parameters or parameters[0].kind not in (
        inspect.Parameter.POSITIONAL_ONLY,
        inspect.Parameter.POSITIONAL_OR_KEYWORD,
    ):
        return generic
    params, call = [], []
    star = False
    for p in parameters:
        name = p.name
        if name.startswith(_PREFIX):
            return generic
        default = "=None" if p.default is not p.empty else ""
        if p.kind is p.POSITIONAL_ONLY or p.kind is p.POSITIONAL_OR_KEYWORD:
            params.append(name + default)
            call.append(name)
        elif p.kind is p.VAR_POSITIONAL:
            params.append("*" + name)
            call.append("*" + name)
            star = True
        elif p.kind is p.KEYWORD_ONLY:
            if not star:
                params.append("*")
                star = True
            params.append(name + default)
            call.append(f"{name}={name}")
        else:
            params.append("**" + name)
            call.append("**" + name)
    return ", ".join(params), ", ".join(call), parameters[0].name


# -- the captured graph -------------------------------------------------------------


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


def _is_matrix(obj: object, classes: tuple[type, ...]) -> bool:
    return (
        isinstance(obj, list)
        and bool(obj)
        and all(
            isinstance(row, list) and row and all(isinstance(x, classes) for x in row)
            for row in obj
        )
    )


def _find_state_dict(spaces: list[dict], classes: tuple[type, ...]) -> dict[str, list] | None:
    """The first dict of matrices of values in the script's namespaces (microgpt's state_dict)."""
    for space in reversed(spaces):  # the module's globals first
        for name, obj in list(space.items()):
            if name.startswith("__") or not isinstance(obj, dict) or not obj:
                continue
            if all(isinstance(k, str) and _is_matrix(m, classes) for k, m in obj.items()):
                return obj
    return None


def _named_values(spaces: list[dict], classes: tuple[type, ...]) -> Iterator[tuple[object, str]]:
    """(value, name) for the script's variables holding a value, or lists of them."""
    for space in spaces:  # innermost first
        for name, obj in list(space.items()):
            if not name.startswith("__") and isinstance(obj, classes):
                yield obj, name
    for space in spaces:
        for name, obj in list(space.items()):
            if name.startswith("__") or not isinstance(obj, (list, tuple)):
                continue
            stack = [(obj, name, 0)]
            while stack:
                seq, label, depth = stack.pop()
                if not seq:
                    continue
                first = seq[0]
                if isinstance(first, classes):
                    for i, x in enumerate(seq):
                        if isinstance(x, classes):
                            yield x, f"{label}[{i}]"
                elif isinstance(first, (list, tuple)) and depth < 3:
                    stack.extend(
                        (x, f"{label}[{i}]", depth + 1)
                        for i, x in reversed(list(enumerate(seq)))
                        if isinstance(x, (list, tuple))
                    )


def _ancestors(root: object) -> dict[int, object]:
    """The root and every node it depends on, by id (user classes may define __eq__)."""
    seen = {id(root): root}
    stack = [root]
    while stack:
        for child in stack.pop()._children:  # type: ignore[attr-defined]
            if id(child) not in seen:
                seen[id(child)] = child
                stack.append(child)
    return seen


def _build(order: list[tuple[object, tuple]]) -> tuple[list[Value], list[str]]:
    """Engine Values for the script's nodes, given children first; KeyError if not."""
    nodes: list[Value] = []
    chains: list[str] = []
    built: dict[int, Value] = {}
    for i, (u, ctx) in enumerate(order):
        kids = u._children  # type: ignore[attr-defined]
        if kids:
            children = tuple([built[id(c)] for c in kids])
            op = ctx[4] or (ctx[5].co_name.strip("<>") if ctx[5] is not None else "op")
        else:
            children, op = (), "const"
        node = Value(u.data, children, tuple(u._local_grads), op)  # type: ignore[attr-defined]
        node.id = i
        node.code = ctx[0]
        node.line = ctx[1]
        node.scope = ctx[2]
        node.label = None
        built[id(u)] = node
        nodes.append(node)
        chains.append(ctx[3])
    return nodes, chains


def convert(rec: Recorder, root: object, spaces: list[dict]) -> tuple[Capture, list]:
    """The script's graph rooted at `root` as engine Values, in creation order.

    Returns the capture (its `model.state_dict` holds the parameters as engine
    Values) and the script's own objects, by node id.
    """
    classes = tuple(rec.classes)
    pending = _ancestors(root)
    order = []
    for u, ctx in zip(rec.nodes, rec.contexts):
        if pending.pop(id(u), None) is not None:
            order.append((u, ctx))
    try:
        if pending:  # made without __init__ (copy, __new__): no record, no order
            raise KeyError
        nodes, chains = _build(order)
    except KeyError:  # or children reassigned after creation: children first, then
        context_of = {id(u): ctx for u, ctx in reversed(list(zip(rec.nodes, rec.contexts)))}
        order = [(u, context_of.get(id(u), _UNKNOWN_CONTEXT)) for u in _postorder(root)]
        nodes, chains = _build(order)
    script_nodes = [u for u, _ in order]
    position = {id(u): i for i, u in enumerate(script_nodes)}

    # parameters: a dict of matrices in the script's namespaces
    state_dict: dict[str, list[list[Value]]] = {}
    script_state = _find_state_dict(spaces, classes) or {}
    for name, mat in script_state.items():
        rows = []
        for r, row in enumerate(mat):
            out = []
            for c, p in enumerate(row):
                i = position.get(id(p))
                if i is not None and not nodes[i]._children:
                    node = nodes[i]
                else:  # not in this graph: a fresh parameter, grad 0, no id
                    node = Value(p.data, (), (), "param")
                    node.id, node.code, node.line = -1, None, 0
                node.op, node.scope, node.label = "param", "params", f"{name}[{r}][{c}]"
                out.append(node)
            rows.append(out)
        state_dict[name] = rows

    # labels: the script's variables, then ids for the leaves left
    for obj, label in _named_values(spaces, classes):
        i = position.get(id(obj))
        if i is not None and nodes[i].label is None:
            nodes[i].label = label
    for node in nodes:
        if node.label is None and not node._children:
            node.label = f"#{node.id}"

    trace = Trace()
    trace.nodes = nodes
    capture = Capture(
        trace, nodes[-1], model=Parameters(state_dict), chains=chains, script=rec.filename
    )
    return capture, script_nodes


def _postorder(root: object) -> list[object]:
    order, seen = [], {id(root)}
    stack = [(root, iter(root._children))]  # type: ignore[attr-defined]
    while stack:
        node, children = stack[-1]
        for child in children:
            if id(child) not in seen:
                seen.add(id(child))
                stack.append((child, iter(child._children)))
                break
        else:
            stack.pop()
            order.append(node)
    return order


def _tokens_and_tokenizer(spaces: list[dict]) -> tuple[list[int], Tokenizer | None, str]:
    """The script's `tokens`, `uchars` and `doc`, when it keeps them as microgpt does."""

    def lookup(name: str) -> object:
        for space in spaces:
            if name in space:
                return space[name]
        return None

    uchars, tokens, doc = lookup("uchars"), lookup("tokens"), lookup("doc")
    tokenizer = None
    if isinstance(uchars, (list, str)) and all(isinstance(c, str) and len(c) == 1 for c in uchars):
        try:
            tokenizer = Tokenizer("".join(uchars))
        except InputError:
            tokenizer = None
    ok_tokens = (
        tokenizer is not None
        and isinstance(tokens, list)
        and all(isinstance(t, int) and 0 <= t < tokenizer.vocab_size for t in tokens)
    )
    return (list(tokens) if ok_tokens else []), tokenizer, (doc if isinstance(doc, str) else "")


# -- running the script ---------------------------------------------------------------


def _exec_script(code: types.CodeType, namespace: dict) -> None:
    exec(code, namespace)  # the script's frames sit right above this one


@contextmanager
def _as_main(path: str, args: Sequence[str], module: types.ModuleType) -> Iterator[None]:
    """Run as `python SCRIPT ARGS`: cwd, sys.path[0], sys.argv and __main__; all restored."""
    saved = os.getcwd(), list(sys.path), list(sys.argv), sys.modules.get("__main__")
    directory = os.path.dirname(path)
    try:
        os.chdir(directory)
        sys.path.insert(0, directory)
        sys.argv = [path, *args]
        sys.modules["__main__"] = module
        yield
    finally:
        cwd, sys.path[:], sys.argv, main = saved
        os.chdir(cwd)
        if main is None:
            sys.modules.pop("__main__", None)
        else:
            sys.modules["__main__"] = main


def _script_error(display: str, filename: str, source: str, exc: BaseException) -> InputError:
    """The script's own error as `script.py:42: ZeroDivisionError: ...` and its line."""
    line = None
    for frame, lineno in traceback.walk_tb(exc.__traceback__):
        if frame.f_code.co_filename == filename:
            line = lineno
    what = traceback.format_exception_only(type(exc), exc)[-1].strip().splitlines()[0]
    if isinstance(exc, SystemExit):
        what = f"SystemExit: {exc.code}"
    if line is None:
        return InputError(f"{display}: {what}")
    lines = source.splitlines()
    text = lines[line - 1].strip() if 0 < line <= len(lines) else ""
    message = f"{display}:{line}: {what}"
    return InputError(f"{message}\n    {text}" if text else message)


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
    filename, source, tree = load_script(path)
    classes = find_value_classes(tree, display)
    mapping = DEFAULT_SCOPE_VARS if scope_vars is None else dict(scope_vars)
    tree = ast.fix_missing_locations(_Instrument(classes).visit(tree))
    try:
        code = compile(tree, filename, "exec")
    except SyntaxError as e:  # e.g. a `return` outside a function: the compiler, not the parser
        raise InputError(_syntax_error_message(display, e)) from None

    rec = Recorder(
        filename,
        binding_spans(tree, list(mapping)),
        mapping,
        backward=backward,
        run_backward=run_backward,
    )
    rec.bottom = _exec_script.__code__
    module = types.ModuleType("__main__")
    module.__dict__.update(
        {"__file__": filename, "__cached__": None, "__builtins__": __builtins__, HOOK_NAME: rec}
    )
    with _as_main(filename, args, module):
        started = time.perf_counter()
        try:
            _exec_script(code, module.__dict__)
        except _Captured:
            pass
        except KeyboardInterrupt:
            raise
        except SystemExit as e:
            if rec.stop is None and e.code not in (None, 0):
                raise _script_error(display, filename, source, e) from None
        except BaseException as e:  # noqa: BLE001 - the script's own error, shown as such
            if rec.stop is None:
                raise _script_error(display, filename, source, e) from None
        finally:
            sys.stdout.flush()
    stop = rec.stop
    if stop is None:
        calls = rec.backward_calls
        if calls == 0:
            raise InputError(f"{display} finished without calling backward(); nothing to capture")
        raise InputError(
            f"{display} called backward() {calls} time{'s' * (calls != 1)}; "
            f"--backward {backward} needs at least {backward}"
        )
    t0 = time.perf_counter()
    capture, script_nodes = convert(rec, stop.root, stop.namespaces)
    tokens, tokenizer, doc = _tokens_and_tokenizer(stop.namespaces)
    capture.tokens = tokens
    convert_seconds = time.perf_counter() - t0
    return AttachResult(
        capture=capture,
        model=capture.model,
        tokenizer=tokenizer,
        doc=doc,
        script=filename,
        source=source,
        backward_calls=rec.backward_calls,
        run_seconds=stop.at - started,
        convert_seconds=convert_seconds,
        script_nodes=script_nodes,
        recorded=len(rec.nodes),
    )
