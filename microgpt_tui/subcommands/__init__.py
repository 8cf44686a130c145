"""The command line's subcommands, one module each (pip's `commands/`, ruff's CLI).

Each module has `add_parser(subparsers)`, which declares the subcommand's options
and sets `run` as its handler, and `run(args) -> int`, the exit status. Options
shared by several subcommands (the MODEL options, number parsers) live in
`options`. `microgpt_tui.cli` only builds the parser from these and dispatches.

The program's name and exit statuses are here, in the package's own module, with
what `microgpt_tui.cli` needs when a Ctrl-C cuts its loading short.
"""

import sys

PROG = "microgpt-tui"

EXIT_BAD_INPUT = 2  # one line on stderr, no traceback
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as shells report a Ctrl-C
EXIT_TERMINATED = 143  # 128 + SIGTERM: `train` saves its last step, then says it was stopped


def is_ctrl_c(error: BaseException | None) -> bool:
    """A KeyboardInterrupt, or an error Python made of one.

    A Ctrl-C that lands while a class is being created (a dataclass's fields'
    `__set_name__`) reaches us as a RuntimeError caused by the KeyboardInterrupt.
    """
    while error is not None:
        if isinstance(error, KeyboardInterrupt):
            return True
        error = error.__cause__
    return False


def exit_if_interrupted(error: BaseException) -> None:
    """For a module-level guard: a Ctrl-C ends quietly (SystemExit 130); else return."""
    if is_ctrl_c(error):
        print(f"{PROG}: interrupted", file=sys.stderr)
        raise SystemExit(EXIT_INTERRUPTED) from None
