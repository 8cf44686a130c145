"""`microgpt-tui attach SCRIPT [ARGS...]`: debug the user's own microgpt-style script.

The script runs as `python SCRIPT ARGS...` would run it (its directory as the working
directory and first on `sys.path`, `sys.argv = [SCRIPT, *ARGS]`), its output going
to the terminal, until its N-th call of `backward()`; the debugger then opens on
the graph rooted there, or `--grads` prints that graph's gradients. The engine side
is `engine.attach`; this module parses the command line and reports.

Which arguments are ours: attach's options may come before SCRIPT. After SCRIPT,
every argument belongs to the script except our four option names, `--backward
N`, `--scope-vars MAP`, `--grads` and `--json` (also as `--backward=N`,
`--scope-vars=MAP`), wherever they appear. After a `--` that follows SCRIPT,
everything goes to the script unchanged, our option names included (`attach
train.py --steps 5 -- --json` passes `--steps 5 --json` to train.py). A `--`
before SCRIPT ends our options, for a script whose name starts with `-`.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field

from engine.errors import InputError

PROG = "microgpt-tui"

USAGE = f"""\
usage: {PROG} attach [OPTIONS] SCRIPT [ARGS...] [OPTIONS] [-- SCRIPT-ARGS...]

Run your own scalar-autograd script (a Value class with backward(), keeping
_children and _local_grads as microgpt does, or _prev and _backward closures as
micrograd does, defined anywhere) and debug the graph of its N-th backward()
call as that backward() ran, with the script's own source in the source panel.

options (before SCRIPT, or anywhere after it; after `--` everything is the script's):
  --backward N        capture at the N-th call of backward() (default: 1)
  --scope-vars MAP    the script's variables that name scopes, NAME=PREFIX,...
                      (default: the counters of for-loops over range(), microgpt's
                      pos_id, li, h as pos, layer, head; "" for none)
  --grads             print the loss and every parameter's gradient instead
  --json              with --grads: JSON, as `{PROG} grads --json` prints it
  -h, --help          show this help

A node's scope is its scope variables (outermost frame first), then the script's
functions called below the innermost frame that set one: a node made in softmax,
called by gpt while li=0 and h=1, for pos_id=3, is in pos3.layer0.head1.softmax.
"""

_OURS_WITH_VALUE = ("--backward", "--scope-vars")
_OURS_FLAGS = ("--grads", "--json")


@dataclass
class AttachArgs:
    """attach's command line, split into ours and the script's."""

    script: str
    script_args: list[str] = field(default_factory=list)
    backward: int = 1
    scope_vars: dict[str, str] | None = None  # None: the default mapping
    grads: bool = False
    json: bool = False
    help: bool = False


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value <= 0:
        raise InputError(f"--backward expects a positive integer, got {text!r}")
    return value


def parse_attach_args(argv: Sequence[str]) -> AttachArgs:
    """Split `argv` (everything after the word `attach`) into our options and the script's."""
    from engine.attach import parse_scope_vars

    args = AttachArgs(script="")
    script: str | None = None
    rest: list[str] = []
    i, argv = 0, list(argv)
    while i < len(argv):
        arg = argv[i]
        i += 1
        if script is not None and arg == "--":
            rest.extend(argv[i:])
            break
        name, eq, value = arg.partition("=")
        if name in _OURS_WITH_VALUE:
            if not eq:
                if i >= len(argv):
                    raise InputError(f"{name} needs a value (see `{PROG} attach --help`)")
                value = argv[i]
                i += 1
            if name == "--backward":
                args.backward = _positive(value)
            else:
                args.scope_vars = parse_scope_vars(value)
        elif arg in _OURS_FLAGS:
            setattr(args, arg[2:], True)
        elif script is not None:
            rest.append(arg)
        elif arg in ("-h", "--help"):
            args.help = True
        elif arg == "--":
            if i >= len(argv):
                raise InputError(f"SCRIPT is missing after `--` (see `{PROG} attach --help`)")
            script = argv[i]
            i += 1
        elif arg.startswith("-") and arg != "-":
            raise InputError(
                f"unknown option {arg!r} before SCRIPT (see `{PROG} attach --help`); "
                "the script's own options go after SCRIPT"
            )
        else:
            script = arg
    if script is None and not args.help:
        raise InputError(f"attach needs a SCRIPT to run (see `{PROG} attach --help`)")
    args.script = script or ""
    args.script_args = rest
    args.grads = args.grads or args.json
    return args


def run_attach(argv: list[str]) -> int:
    """`microgpt-tui attach ...`: 0 done, 2 bad input or a fault in the script (one line)."""
    try:
        args = parse_attach_args(argv)
        if args.help:
            print(USAGE, end="")
            return 0
        return _run(args)
    except InputError as e:
        sys.stdout.flush()
        print(f"{PROG}: {e}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # `... | head`
        return 0
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130


def _run(args: AttachArgs) -> int:
    from contextlib import redirect_stdout

    from engine.attach import attach_script

    if args.json:  # the script's prints must not spoil the JSON: they go to stderr
        with redirect_stdout(sys.stderr):
            result = attach_script(
                args.script, args.script_args, backward=args.backward, scope_vars=args.scope_vars
            )
    else:
        result = attach_script(
            args.script, args.script_args, backward=args.backward, scope_vars=args.scope_vars
        )
    sys.stdout.flush()
    for note in result.notes:
        print(f"{PROG}: note: {note}", file=sys.stderr)
    if args.grads:
        return print_grads(result, args.script, as_json=args.json)
    return open_debugger(result)


def grads_report(result) -> dict:
    """`{"loss", "doc", "pos", "nodes", "grads"}` as `grads --json` has it: the grads the
    replay of the script's own backward() leaves, each parameter in its own shape."""
    capture = result.capture
    return {
        "loss": capture.root.data,
        "doc": result.doc,
        "pos": capture.pos,
        "nodes": len(capture.nodes),
        "grads": result.grads(),
    }


def print_grads(result, doc: str, *, as_json: bool) -> int:
    report = grads_report(result)
    if as_json:
        try:
            text = json.dumps(report, allow_nan=False)
        except ValueError:
            raise InputError(
                "the loss or a gradient is not a finite number (nan or inf): JSON cannot hold it"
            ) from None
        print(text)
        return 0
    grads = {  # as matrices: a vector is one row
        name: [[float(p.grad) for p in row] for row in mat]
        for name, mat in result.state_dict.items()
    }
    print(f"script  {doc} (its backward() call #{result.backward_calls})")
    if result.doc:
        print(f"doc     {result.doc!r}")
    print(f"loss    {report['loss']:.6f}")
    print(f"nodes   {report['nodes']} (the loss depends on them, parameters and constants too)")
    if not grads:
        print("params  none found: no state_dict, model.parameters() or variable holds them")
        return 0
    from microgpt_tui.cli import print_grads_table

    print_grads_table(grads)
    return 0


def attach_app(result):
    """The debugger on the captured graph, the script's source in the source panel; the
    result's notes (e.g. how to name scope levels) shown as it opens."""
    from microgpt_tui.app import session_app

    app = session_app(result.session(), result.script)
    for note in result.notes:
        app.call_later(app.notify, note, timeout=20)
    return app


def open_debugger(result) -> int:
    app = attach_app(result)
    app.run()
    return app.return_code or 0
