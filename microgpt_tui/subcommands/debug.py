"""`microgpt-tui debug` (the default command): the step-through debugger, a Textual app.

The input is checked before Textual is imported, so bad input exits 2 at once and
the other subcommands never pay for the import. `--walk FILE` opens a saved
walk-through: its document and position, at the step it was saved at (the file is
checked, and replayed on the model, before the app starts).
"""

from __future__ import annotations

import argparse

from engine.errors import InputError
from engine.session import DebugSession, resolve_position
from engine.walkthrough import load_walk, replay
from engine.workspace import open_workspace
from microgpt_tui.notes import walk_opened_note
from microgpt_tui.subcommands.options import add_doc_options, add_model_options, model_options
from microgpt_tui.subcommands.terminal import require_terminal

DEFAULT_DOC = "emma"  # DESIGN: the debugger opens on `emma` at its last position
TERMINAL_HINT = "`grads` prints the gradients without one"


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("debug", description=__doc__.splitlines()[0])
    add_model_options(p)
    add_doc_options(p, doc_default=DEFAULT_DOC)
    p.add_argument(
        "--walk",
        metavar="FILE",
        help="open a walk-through saved with `w` in the app (its document, position and step)",
    )
    p.set_defaults(run=run, doc=None)  # (None: not given; the help says the default)


def run(args: argparse.Namespace) -> int:
    """Check the input, then run the app until the user quits (0)."""
    if args.walk is not None:
        return _run_walk(args)
    doc = DEFAULT_DOC if args.doc is None else args.doc
    workspace = open_workspace(**model_options(args))
    tokens = workspace.tokenizer.encode(doc)  # InputError: a character not in the vocabulary
    resolve_position(workspace.model, tokens, args.pos)  # InputError: past the document's end
    require_terminal("the debugger", hint=TERMINAL_HINT)
    from microgpt_tui.app import DebuggerApp  # Textual: only now

    app = DebuggerApp(workspace, doc=doc, pos=args.pos)
    app.run()
    return app.return_code or 0


def _run_walk(args: argparse.Namespace) -> int:
    """The debugger on a walk-through, replayed exactly where it was saved."""
    app = walk_app(args)
    app.run()
    return app.return_code or 0


def walk_app(args: argparse.Namespace, *, terminal: bool = True):  # -> DebuggerApp
    """The app on `args.walk`, checked and replayed first (InputError: exit 2, no app).

    `terminal` False skips the check for a terminal (tests drive the app headless)."""
    if args.doc is not None or args.pos is not None:
        raise InputError("--walk gives the document and position: leave out --doc and --pos")
    walk = load_walk(args.walk)  # InputError: a bad file, in one line
    workspace = open_workspace(**model_options(args))
    base = DebugSession(
        workspace.model, workspace.tokenizer, walk.doc, walk.pos, whole_document=walk.pos is None
    )
    session = replay(walk, base)  # InputError: another model, a step past the end…
    if terminal:
        require_terminal("the debugger", hint=TERMINAL_HINT)
    from microgpt_tui.app import DebuggerApp  # Textual: only now

    return DebuggerApp(
        workspace,
        session,
        doc=walk.doc,
        pos=walk.pos,
        whole_document=walk.pos is None,
        cursor_blink=terminal,
        previous=[base] if session is not base else None,
        note=walk_opened_note(session),
        walk_path=args.walk,
    )
