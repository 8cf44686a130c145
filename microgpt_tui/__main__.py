"""`python -m microgpt_tui`: the same as the `microgpt-tui` command."""

from microgpt_tui.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
