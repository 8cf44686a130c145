"""How a command ends: its exit status, and one line on stderr when it did not finish.

0 done; 2 bad input (`InputError`: one line, no traceback); 130 Ctrl-C; an internal
error is a traceback and 1, as Python has it. A closed stdout (`... | head -1`)
ends the command quietly with 0: the reader has all it wanted.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable

from engine.errors import InputError
from microgpt_tui.subcommands import EXIT_BAD_INPUT, EXIT_INTERRUPTED, PROG, is_ctrl_c


def report_errors(command: Callable[[], int]) -> int:
    """`command()`'s exit status, with bad input, Ctrl-C and a closed pipe reported."""
    try:
        return command()
    except InputError as e:
        _flush_stdout()
        print(f"{PROG}: {e}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except BrokenPipeError:
        _silence_stdout()
        return 0
    except (KeyboardInterrupt, RuntimeError) as e:
        if not is_ctrl_c(e):
            raise
        print(f"{PROG}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


def _flush_stdout() -> None:
    """What the command printed goes out before the error line."""
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        _silence_stdout()


def _silence_stdout() -> None:
    """Point stdout at /dev/null, so the interpreter's last flush cannot complain either."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):  # no real file descriptor (a test's capture)
        pass
