"""`microgpt-tui debug` (the default command): the step-through debugger, a Textual app.

The input is checked before Textual is imported, so bad input exits 2 at once and
the other subcommands never pay for the import.
"""

from __future__ import annotations

import argparse

from engine.session import resolve_position
from engine.workspace import open_workspace
from microgpt_tui.subcommands.options import add_doc_options, add_model_options, model_options
from microgpt_tui.subcommands.terminal import require_terminal

DEFAULT_DOC = "emma"  # DESIGN: the debugger opens on `emma` at its last position


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("debug", description=__doc__.splitlines()[0])
    add_model_options(p)
    add_doc_options(p, doc_default=DEFAULT_DOC)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Check the input, then run the app until the user quits (0)."""
    workspace = open_workspace(**model_options(args))
    tokens = workspace.tokenizer.encode(args.doc)  # InputError: a character not in the vocabulary
    resolve_position(workspace.model, tokens, args.pos)  # InputError: past the document's end
    require_terminal("the debugger", hint="`grads` prints the gradients without one")
    from microgpt_tui.app import DebuggerApp  # Textual: only now

    app = DebuggerApp(workspace, doc=args.doc, pos=args.pos)
    app.run()
    return app.return_code or 0
