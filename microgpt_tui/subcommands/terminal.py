"""Whether an app has a terminal to run in."""

from __future__ import annotations

import sys

from engine.errors import InputError


def require_terminal(what: str, *, hint: str) -> None:
    """InputError unless stdin and stdout are terminals: the app cannot run without them.

    Without this check, Textual reading a pipe or /dev/null spins at 100% CPU forever.
    """
    missing = [
        name
        for name, stream in (("stdin", sys.stdin), ("stdout", sys.stdout))
        if stream is None or not stream.isatty()
    ]
    if missing:
        verb = "is" if len(missing) == 1 else "are"
        raise InputError(f"{what} needs a terminal, but {' and '.join(missing)} {verb} not; {hint}")
