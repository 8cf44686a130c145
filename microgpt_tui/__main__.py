"""`python -m microgpt_tui`: the same as the `microgpt-tui` command."""

try:  # a Ctrl-C while the command line loads: as quiet as in microgpt_tui.cli itself
    from microgpt_tui.cli import main
except (KeyboardInterrupt, RuntimeError) as error:
    from microgpt_tui.subcommands import exit_if_interrupted

    exit_if_interrupted(error)
    raise

if __name__ == "__main__":
    raise SystemExit(main())
