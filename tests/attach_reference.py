"""The reference for attach's tests: the user's script, unmodified, run in this process.

`plain_run` runs a script as `python SCRIPT ARGS` would (its folder as working
directory and first on sys.path, `__main__`), stopping it right after its N-th
`backward()` call returns: the script's own code computes every value and grad;
the only addition is the stop. It returns the value backward() was called on and
the script's namespaces then, from which each test reads the parameters' grads
where it knows the script keeps them.
"""

from __future__ import annotations

import builtins
import contextlib
import io
import os
import runpy
import sys
from dataclasses import dataclass
from pathlib import Path

SCRIPTS = Path(__file__).resolve().parent / "attach_scripts"
SITE = SCRIPTS / "site"  # an installed-style package (mgrad), copied to a tmp folder by tests


class _Stop(BaseException):
    pass


@dataclass
class Plain:
    """The script's state right after its N-th backward()."""

    root: object
    spaces: list[dict]  # the caller's locals, then the module's globals
    stdout: str

    @property
    def loss(self) -> float:
        return self.root.data  # type: ignore[attr-defined]

    def lookup(self, name: str) -> object:
        return next(space[name] for space in self.spaces if name in space)

    def node_count(self) -> int:
        """The root and every node it depends on (children in `_children` or `_prev`)."""
        seen, stack = {id(self.root)}, [self.root]
        while stack:
            node = stack.pop()
            for child in getattr(node, "_children", None) or getattr(node, "_prev", ()):
                if id(child) not in seen:
                    seen.add(id(child))
                    stack.append(child)
        return len(seen)


def forget_modules_in(*folders: Path) -> None:
    """Drop modules loaded from these folders, so the next run imports them afresh."""
    roots = tuple(str(f) for f in folders)
    for name, module in list(sys.modules.items()):
        if (getattr(module, "__file__", None) or "").startswith(roots):
            del sys.modules[name]


def plain_run(script: Path, args: list[str] | None = None, *, backward: int = 1) -> Plain:
    """Run `script` unmodified until its `backward`-th backward() call has returned."""
    real_build_class = builtins.__build_class__
    calls, depth, found = [0], [0], []

    def build_class(func, name, *bases, **kwargs):
        cls = real_build_class(func, name, *bases, **kwargs)
        original = vars(cls).get("backward")
        if callable(original):

            def stop_after(self, *a, **k):
                depth[0] += 1
                try:
                    result = original(self, *a, **k)
                finally:
                    depth[0] -= 1
                if depth[0] == 0:
                    calls[0] += 1
                    if calls[0] == backward:
                        frame = sys._getframe(1)
                        found.append((self, [dict(frame.f_locals), frame.f_globals]))
                        raise _Stop
                return result

            cls.backward = stop_after
        return cls

    saved = os.getcwd(), list(sys.path), list(sys.argv)
    out = io.StringIO()
    builtins.__build_class__ = build_class
    try:
        os.chdir(script.parent)
        sys.path.insert(0, str(script.parent))
        sys.argv = [str(script), *(args or [])]
        with contextlib.redirect_stdout(out), contextlib.suppress(_Stop):
            runpy.run_path(str(script), run_name="__main__")
    finally:
        builtins.__build_class__ = real_build_class
        os.chdir(saved[0])
        sys.path[:], sys.argv = saved[1], saved[2]
        forget_modules_in(script.parent)
    assert found, f"{script.name} called backward() fewer than {backward} times"
    root, spaces = found[0]
    return Plain(root, spaces, out.getvalue())


def grads_of(nest: object) -> object:
    """A nest of the script's values as their grads (floats), lists for lists."""
    if isinstance(nest, (list, tuple)):
        return [grads_of(item) for item in nest]
    return float(nest.grad)  # type: ignore[attr-defined]


def state_dict_grads(plain: Plain) -> dict[str, object]:
    return {name: grads_of(nest) for name, nest in plain.lookup("state_dict").items()}


def mlp_grads(plain: Plain) -> dict[str, object]:
    """micrograd's MLP, named by attribute path as attach names it."""
    grads: dict[str, object] = {}
    for i, layer in enumerate(plain.lookup("model").layers):
        for j, neuron in enumerate(layer.neurons):
            grads[f"model.layers[{i}].neurons[{j}].w"] = grads_of(neuron.w)
            grads[f"model.layers[{i}].neurons[{j}].b"] = grads_of(neuron.b)
    return grads
