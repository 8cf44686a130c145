"""The command line's subcommands, one module each (pip's `commands/`, ruff's CLI).

Each module has `add_parser(subparsers)`, which declares the subcommand's options
and sets `run` as its handler, and `run(args) -> int`, the exit status. Options
shared by several subcommands (the MODEL options, number parsers) live in
`options`. `microgpt_tui.cli` only builds the parser from these and dispatches.
"""
