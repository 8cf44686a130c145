"""`microgpt-tui attach SCRIPT [ARGS...]`: debug the user's own microgpt-style script.

The script runs as `python SCRIPT ARGS...` would run it (its directory as the working
directory and first on `sys.path`, `sys.argv = [SCRIPT, *ARGS]`), its output going
to the terminal, until its N-th call of `backward()`; the debugger then opens on
the graph rooted there, or `--grads` prints that graph's gradients. The engine side
is `engine.attach`; this module parses the command line and reports.

Which arguments are ours: before SCRIPT, only attach's options (argparse parses
them; anything else is an error). After SCRIPT, every argument belongs to the
script except our four option names, `--backward N`, `--scope-vars MAP`, `--grads`
and `--json` (also as `--backward=N`, `--scope-vars=MAP`), wherever they appear.
After a `--` that follows SCRIPT, everything goes to the script unchanged, our
option names included (`attach train.py --steps 5 -- --json` passes `--steps 5
--json` to train.py). A `--` before SCRIPT ends our options, for a script whose
name starts with `-`.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from contextlib import redirect_stdout

from engine.attach import DEFAULT_SCOPE_VARS, AttachResult, attach_script, parse_scope_vars
from engine.errors import InputError
from engine.report import report_json
from microgpt_tui.subcommands import PROG
from microgpt_tui.subcommands.grads import print_grads_table
from microgpt_tui.subcommands.options import Parser
from microgpt_tui.subcommands.outcome import report_errors
from microgpt_tui.subcommands.terminal import require_terminal

DESCRIPTION = """\
Run your own scalar-autograd script (a Value class with backward(), keeping
_children and _local_grads as microgpt does, or _prev and _backward closures as
micrograd does, defined anywhere) and debug the graph of its N-th backward() call
as that backward() ran, with the script's own source in the source panel.

attach's options go before SCRIPT or anywhere after it; the script's own
arguments go after SCRIPT, and after a `--` everything is the script's.
"""

EPILOG = """\
A node's scope is its scope variables (outermost frame first), then the script's
functions called below the innermost frame that set one: a node made in softmax,
called by gpt while li=0 and h=1, for pos_id=3, is in pos3.layer0.head1.softmax.
"""

_MISSING = object()  # an option given without its value
USAGE = (
    "%(prog)s [-h] [--backward N] [--scope-vars MAP] [--grads] [--json]\n"
    "       SCRIPT [ARGS...] [-- SCRIPT_ARGS...]"
)


# How attach's parser is made, as a subcommand's or on its own (`run_attach`).
PARSER_SETTINGS = {
    "usage": USAGE,
    "description": DESCRIPTION,
    "epilog": EPILOG,
    "formatter_class": argparse.RawDescriptionHelpFormatter,
    "add_help": False,  # -h is an option like ours: SCRIPT's own -h goes to SCRIPT
    "allow_abbrev": False,  # `--g` after SCRIPT is the script's, not our --grads
    "extras_error": lambda extras: (
        f"unknown option {extras[0]!r} before SCRIPT; the script's own options go after SCRIPT"
    ),
}


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("attach", **PARSER_SETTINGS)
    _declare(p)
    p.set_defaults(run=run)


def _declare(p: argparse.ArgumentParser) -> None:
    """attach's arguments: our options, SCRIPT, and everything after SCRIPT."""
    p.add_argument("-h", "--help", action="store_true", help="show this help and exit")
    _declare_ours(p)
    p.add_argument("script", nargs="?", metavar="SCRIPT", help="the script to run")
    p.add_argument(
        "script_args", nargs=argparse.REMAINDER, metavar="ARGS", help="the script's arguments"
    )


def _declare_ours(p: argparse.ArgumentParser) -> None:
    """The four options that are ours wherever they appear (before a `--` after SCRIPT)."""
    p.add_argument(
        "--backward",
        nargs="?",
        const=_MISSING,
        metavar="N",
        help="capture at the N-th call of backward() (default: 1)",
    )
    shown = ", ".join(f"{k} as {v}" for k, v in DEFAULT_SCOPE_VARS.items())
    p.add_argument(
        "--scope-vars",
        nargs="?",
        const=_MISSING,
        metavar="MAP",
        help="the script's variables that name scopes, NAME=PREFIX,... (default: the "
        f'counters of for-loops over range(), microgpt\'s {shown}; "" for none)',
    )
    p.add_argument(
        "--grads", action="store_true", help="print the loss and every parameter's gradient"
    )
    p.add_argument(
        "--json", action="store_true", help=f"with --grads: JSON, as `{PROG} grads --json`"
    )


def standalone_parser() -> Parser:
    """attach's parser on its own (the main parser builds the same one as a subcommand)."""
    p = Parser(prog=f"{PROG} attach", **PARSER_SETTINGS)
    _declare(p)
    return p


def parse_attach_args(argv: Sequence[str]) -> argparse.Namespace:
    """`argv` (everything after the word `attach`) split into our options and the script's."""
    return finish_parsing(standalone_parser().parse_args(list(argv)))


def finish_parsing(args: argparse.Namespace) -> argparse.Namespace:
    """Take our options out of the arguments after SCRIPT (up to a `--`); check values."""
    rest: list[str] = args.script_args or []
    cut = rest.index("--") if "--" in rest else len(rest)
    ours = Parser(prog=f"{PROG} attach", add_help=False, allow_abbrev=False)
    _declare_ours(ours)
    after, script_args = ours.parse_known_args(rest[:cut])
    for name in ("backward", "scope_vars"):
        if getattr(after, name) is not None:
            setattr(args, name, getattr(after, name))
    args.grads = args.grads or after.grads
    args.json = args.json or after.json
    args.script_args = script_args + rest[cut + 1 :]
    if args.script is None and not args.help:
        raise InputError(f"attach needs a SCRIPT to run (see `{PROG} attach --help`)")
    args.backward = 1 if args.backward is None else _positive(args.backward)
    if args.scope_vars is not None:
        args.scope_vars = parse_scope_vars(_value(args.scope_vars, "--scope-vars"))
    args.grads = args.grads or args.json
    return args


def _value(value: object, option: str) -> str:
    if value is _MISSING:
        raise InputError(f"{option} needs a value (see `{PROG} attach --help`)")
    assert isinstance(value, str)
    return value


def _positive(value: object) -> int:
    text = _value(value, "--backward")
    try:
        number = int(text)
    except ValueError:
        number = 0
    if number <= 0:
        raise InputError(f"--backward expects a positive integer, got {text!r}")
    return number


def run_attach(argv: Sequence[str]) -> int:
    """`microgpt-tui attach ...` on its own: 0 done, 2 bad input or a fault in the script."""
    return report_errors(lambda: run(standalone_parser().parse_args(list(argv))))


def run(args: argparse.Namespace) -> int:
    """Run the script to its N-th backward(); print its gradients or debug the graph."""
    args = finish_parsing(args)
    if args.help:
        print(standalone_parser().format_help(), end="")
        return 0
    if args.json:  # the script's prints must not spoil the JSON: they go to stderr
        with redirect_stdout(sys.stderr):
            result = _attach(args)
    else:
        result = _attach(args)
    sys.stdout.flush()
    for note in result.notes:  # e.g. how to name scope levels
        print(f"{PROG}: note: {note}", file=sys.stderr)
    if args.grads:
        return print_grads(result, args.script, as_json=args.json)
    return open_debugger(result)


def _attach(args: argparse.Namespace) -> AttachResult:
    return attach_script(
        args.script,
        args.script_args,
        backward=args.backward,
        scope_vars=args.scope_vars,
        graph=not args.grads,  # the report needs the debugger's graph only sometimes
    )


def print_grads(result: AttachResult, script: str, *, as_json: bool) -> int:
    """The captured graph's loss and gradients: JSON as `grads --json` prints, or a table.

    The grads are those the replay of the script's own backward() ends with, each
    parameter in the shape the script keeps it; "doc" is the graph's document (null
    when unknown).
    """
    report = result.report()
    if as_json:
        print(report_json(report))
        return 0
    print(f"script  {script} (its backward() call #{result.backward_calls})")
    if result.doc:
        print(f"doc     {result.doc!r}")
    print(f"loss    {report['loss']:.6f}")
    print(f"nodes   {report['nodes']} (the loss depends on them, parameters and constants too)")
    if not report["grads"]:
        print("params  none found: no state_dict, model.parameters() or variable holds them")
        return 0
    print_grads_table(report["grads"])
    return 0


def open_debugger(result: AttachResult) -> int:
    """Open the debugger on the captured graph, the script's source in the source panel.

    The terminal is checked only now, as `debug` checks it after its input: the
    script's own faults are reported first, the same with or without one.
    """
    require_terminal("the debugger", hint="--grads prints the gradients without one")
    app = attach_app(result)
    app.run()
    return app.return_code or 0


def attach_app(result: AttachResult):
    """The debugger on the captured graph; the result's notes shown as it opens."""
    from microgpt_tui.app import session_app  # Textual: only now

    app = session_app(result.session(), result.script)
    for note in result.notes:
        app.call_later(app.notify, note, timeout=20)
    return app
