"""Running the user's script as `python SCRIPT ARGS` would, and reporting its own errors.

The script runs in this interpreter, as `__main__`, from its directory (also first
on `sys.path`), with `sys.argv = [SCRIPT, *ARGS]`. Everything it may change that
the tool relies on afterwards is put back: the working directory, `sys.path`,
`sys.argv`, `__main__`, `sys.stdout`/`stderr`/`stdin` (a script that replaces
them does not swallow the tool's output), and the modules beside it that it
imported (so a second run reads them afresh, as a new `python` would).
`os._exit(code)` raises `ScriptExit` instead of ending the process, and a thread's
`Captured` stop is not printed as an uncaught exception.
"""

from __future__ import annotations

import os
import sys
import threading
import traceback
import types
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from engine.errors import InputError


class ScriptExit(SystemExit):
    """The script called `os._exit(code)`: reported like `sys.exit(code)`."""


def exec_script(code: types.CodeType, namespace: dict) -> None:
    """Run the compiled script: its frames sit right above this one (`BOTTOM`)."""
    exec(code, namespace)


BOTTOM = exec_script.__code__  # the frame below the script's own: stack walks stop here


@contextmanager
def _streams_kept() -> Iterator[None]:
    saved = sys.stdout, sys.stderr, sys.stdin
    try:
        yield
    finally:
        try:
            sys.stdout.flush()
        except (OSError, ValueError, AttributeError):  # closed or replaced by the script
            pass
        sys.stdout, sys.stderr, sys.stdin = saved


@contextmanager
def _os_exit_raises() -> Iterator[None]:
    real_exit, pid = os._exit, os.getpid()

    def _exit(code: int) -> None:
        if os.getpid() != pid:  # a forked child: exit as asked
            real_exit(code)
        raise ScriptExit(code)

    os._exit = _exit
    try:
        yield
    finally:
        os._exit = real_exit


@contextmanager
def _quiet_thread_stops(stop: type[BaseException]) -> Iterator[None]:
    real_hook = threading.excepthook

    def hook(args) -> None:
        if not issubclass(args.exc_type, stop):
            real_hook(args)

    threading.excepthook = hook
    try:
        yield
    finally:
        threading.excepthook = real_hook


def _forget_modules_beside(directory: str, before: set[str]) -> None:
    for name in set(sys.modules) - before:
        filename = getattr(sys.modules[name], "__file__", None) or ""
        if os.path.dirname(os.path.abspath(filename)) == directory or filename.startswith(
            os.path.join(directory, "")
        ):
            del sys.modules[name]


@contextmanager
def as_main(
    path: str, args: Sequence[str], module: types.ModuleType, stop: type[BaseException]
) -> Iterator[None]:
    """Run as `python SCRIPT ARGS`: cwd, sys.path[0], sys.argv and __main__; all restored."""
    saved = os.getcwd(), list(sys.path), list(sys.argv), sys.modules.get("__main__")
    modules = set(sys.modules)
    directory = os.path.dirname(path)
    try:
        os.chdir(directory)
        sys.path.insert(0, directory)
        sys.argv = [path, *args]
        sys.modules["__main__"] = module
        with _streams_kept(), _os_exit_raises(), _quiet_thread_stops(stop):
            yield
    finally:
        cwd, sys.path[:], sys.argv, main = saved
        os.chdir(cwd)
        if main is None:
            sys.modules.pop("__main__", None)
        else:
            sys.modules["__main__"] = main
        _forget_modules_beside(directory, modules)


def script_error(display: str, filename: str, source: str, exc: BaseException) -> InputError:
    """The script's own error as `script.py:42: ZeroDivisionError: ...` and its line."""
    line = None
    for frame, lineno in traceback.walk_tb(exc.__traceback__):
        if frame.f_code.co_filename == filename:
            line = lineno
    what = traceback.format_exception_only(type(exc), exc)[-1].strip().splitlines()[0]
    if isinstance(exc, ScriptExit):
        what = f"os._exit({exc.code})"
    elif isinstance(exc, SystemExit):
        what = f"SystemExit: {exc.code}"
    if line is None:
        return InputError(f"{display}: {what}")
    lines = source.splitlines()
    text = lines[line - 1].strip() if 0 < line <= len(lines) else ""
    message = f"{display}:{line}: {what}"
    return InputError(f"{message}\n    {text}" if text else message)
