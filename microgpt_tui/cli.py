"""The `microgpt-tui` command line: the debugger, and train / sample / grads / export / attach.

Scripts rely on this interface (the README's "Command line"). Bad input exits 2
with one line on stderr and no traceback; Ctrl-C exits 130; an internal error
exits 1. Each subcommand is a module of `microgpt_tui.subcommands` with
`add_parser` and `run`; this module only builds the parser from them and
dispatches. Only `debug` and `attach` import Textual, and only once they are
about to open the app, so the others start fast and work without a terminal.
"""

from __future__ import annotations

import sys

try:  # a Ctrl-C while the command line loads ends as quietly as one at any later moment
    import argparse
    import importlib
    from collections.abc import Sequence

    from microgpt_tui.subcommands import PROG
    from microgpt_tui.subcommands.options import Parser
    from microgpt_tui.subcommands.outcome import report_errors
except (KeyboardInterrupt, RuntimeError) as error:
    from microgpt_tui.subcommands import exit_if_interrupted  # (loaded again if cut short)

    exit_if_interrupted(error)
    raise

# Each subcommand's module and its line in `--help`. Only the module of the command
# being run is imported (pip's commands_dict): `train` does not pay for `attach`.
COMMANDS = {
    "debug": ("microgpt_tui.subcommands.debug", "open the debugger (the default command)"),
    "train": ("microgpt_tui.subcommands.train", "train microgpt, save a checkpoint, print samples"),
    "sample": ("microgpt_tui.subcommands.sample", "sample names from a model"),
    "grads": ("microgpt_tui.subcommands.grads", "every parameter's gradient for one document"),
    "export": ("microgpt_tui.subcommands.export", "export part of the graph with Graphviz"),
    "attach": (
        "microgpt_tui.subcommands.attach",
        "debug your own microgpt-style script (its graph at its N-th backward() call)",
    ),
}
DEFAULT_COMMAND = "debug"  # `microgpt-tui [MODEL options]` opens the debugger
TOP_LEVEL_OPTIONS = ("-h", "--help", "--version")


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The command line, with `command`'s options in full (the others only listed)."""
    parser = Parser(prog=PROG, description="A step-through debugger for microgpt.")
    parser.add_argument("--version", action=_Version, nargs=0, help="print the version and exit")
    subparsers = parser.add_subparsers(
        dest="command", metavar="COMMAND", parser_class=Parser, required=True
    )
    for name, (module, summary) in COMMANDS.items():
        if name == command:
            # Imported here, inside `report_errors`: a Ctrl-C while it loads (most of
            # a command's first tenth of a second) ends as quietly as at any moment.
            importlib.import_module(module).add_parser(subparsers)
        else:
            subparsers.add_parser(name, help=summary, add_help=False)
    return parser


class _Version(argparse.Action):
    """`--version`: the installed package's version."""

    def __call__(self, parser, namespace, values, option_string=None) -> None:  # type: ignore[override]
        from importlib.metadata import PackageNotFoundError, version

        try:
            number = version(PROG)
        except PackageNotFoundError:  # run from a source tree that was never installed
            number = "(not installed)"
        print(f"{PROG} {number}")
        parser.exit()


def with_default_command(argv: Sequence[str]) -> list[str]:
    """`microgpt-tui [MODEL options]` means `microgpt-tui debug [MODEL options]`."""
    argv = list(argv)
    if not argv or (argv[0] not in COMMANDS and argv[0] not in TOP_LEVEL_OPTIONS):
        argv.insert(0, DEFAULT_COMMAND)
    return argv


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    """`argv` parsed, with the default command put in front where none is named."""
    argv = with_default_command(argv)
    return build_parser(argv[0] if argv[0] in COMMANDS else None).parse_args(argv)


def _dispatch(argv: Sequence[str]) -> int:
    try:
        args = parse_args(argv)
    except SystemExit as e:  # --help and --version print, then exit 0
        return e.code if isinstance(e.code, int) else 0
    return args.run(args)


def main(argv: Sequence[str] | None = None) -> int:
    """The console script: run one subcommand, return its exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    return report_errors(lambda: _dispatch(argv))
