"""Running the user's script as `python SCRIPT ARGS` would, and reporting its own errors.

The script runs in this interpreter, as `__main__`, from its directory (also first
on `sys.path`), with `sys.argv = [SCRIPT, *ARGS]`; all of that is restored after.
"""

from __future__ import annotations

import os
import sys
import traceback
import types
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from engine.errors import InputError


def exec_script(code: types.CodeType, namespace: dict) -> None:
    """Run the compiled script: its frames sit right above this one (`BOTTOM`)."""
    exec(code, namespace)


BOTTOM = exec_script.__code__  # the frame below the script's own: stack walks stop here


@contextmanager
def as_main(path: str, args: Sequence[str], module: types.ModuleType) -> Iterator[None]:
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


def script_error(display: str, filename: str, source: str, exc: BaseException) -> InputError:
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
