"""`python -m microgpt_tui`: the same as the `microgpt-tui` command."""

from microgpt_tui.subcommands import EXIT_INTERRUPTED, PROG, is_ctrl_c

try:  # a Ctrl-C while the command line loads: as quiet as in microgpt_tui.cli itself
    from microgpt_tui.cli import main
except (KeyboardInterrupt, RuntimeError) as e:
    import sys

    if not is_ctrl_c(e):
        raise
    print(f"{PROG}: interrupted", file=sys.stderr)
    raise SystemExit(EXIT_INTERRUPTED) from None

if __name__ == "__main__":
    raise SystemExit(main())
