"""Why an export was refused, as data: the CLI words it in flags, the dialog in fields.

Each is an `InputError` (so whatever catches InputError still does), and its own
message is a complete sentence that names no command-line flag.
"""

from __future__ import annotations

from engine.errors import InputError


class TooManyNodes(InputError):
    """A selection would draw more nodes than the limit.

    `what` names it (`scope pos3.layer0.attn`), `drawn` counts the shapes it would
    draw (`inside` nodes plus `outside` stubs), `limit` is the limit, `narrower`
    a scope inside it that fits (None: none does, or it is not a scope), and
    `by_depth` says that a smaller depth (a node selection) is the way to narrow it.
    """

    def __init__(
        self,
        what: str,
        drawn: int,
        limit: int,
        *,
        outside: int = 0,
        narrower: str | None = None,
        by_depth: bool = False,
    ) -> None:
        self.what = what
        self.drawn = drawn
        self.limit = limit
        self.outside = outside
        self.inside = drawn - outside
        self.narrower = narrower
        self.by_depth = by_depth
        super().__init__(
            f"{self.summary}; try the overview, {self.narrower_phrase('a smaller depth')} "
            f"or a higher node limit ({drawn:,})"
        )

    @property
    def summary(self) -> str:
        """What was refused and why, without advice (`scope x has 1,466 nodes ...`)."""
        if self.outside:
            size = f"{self.drawn:,} nodes ({self.inside:,} + {self.outside:,} outside inputs)"
        else:
            size = f"{self.drawn:,} nodes"
        return (
            f"{self.what} has {size}, more than the limit of {self.limit:,} "
            "(dot slows steeply with size)"
        )

    def narrower_phrase(self, smaller_depth: str) -> str:
        """`a narrower scope (e.g. pos3.layer0.attn.head0)`, or `smaller_depth` for a node."""
        if self.by_depth:
            return smaller_depth
        return "a narrower scope" + (f" (e.g. {self.narrower})" if self.narrower else "")


class UnknownFormat(InputError):
    """The output format is not one we write: `given` explicitly, or read from `path`'s extension.

    `given` is the format asked for (None: none was, and the extension did not tell).
    """

    def __init__(self, path: str, given: str | None, formats: tuple[str, ...]) -> None:
        self.path = path
        self.given = given
        self.formats = formats
        super().__init__(self.explain("choose a format"))

    @property
    def extension(self) -> str:
        """The path's extension without the dot ("" for none)."""
        from pathlib import Path

        return Path(self.path).suffix.lower().lstrip(".")

    def explain(self, or_else: str) -> str:
        """The message, ending in `or_else` (how to name the format where the user is)."""
        if self.given is not None:
            return f"unknown format {self.given!r}: use one of {', '.join(self.formats)}"
        what = f"extension .{self.extension}" if self.extension else "no extension"
        names = ", ".join(f".{f}" for f in self.formats[:-1]) + f" or .{self.formats[-1]}"
        return f"cannot tell the format of {self.path!r} ({what}): name it {names}, or {or_else}"


class FormatMismatch(InputError):
    """The file's extension names one format and the format chosen is another."""

    def __init__(self, path: str, extension: str, chosen: str) -> None:
        self.path = path
        self.extension = extension
        self.chosen = chosen
        super().__init__(
            f"{path!r} ends in .{extension} but the format chosen is {chosen.upper()}: "
            f"name it .{chosen} or choose {extension.upper()}"
        )


class DotMissing(InputError):
    """Graphviz's `dot` program is not installed (or not on PATH)."""

    INSTALL_HINT = (
        "install Graphviz (apt-get install graphviz, brew install graphviz, "
        "or https://graphviz.org/download/), or export to .dot"
    )

    def __init__(self) -> None:
        super().__init__(f"Graphviz's `dot` program is not on PATH; {self.INSTALL_HINT}")


class DotTimedOut(InputError):
    """`dot` ran longer than the time limit (`seconds`) rendering `what`."""

    def __init__(self, seconds: float, what: str) -> None:
        self.seconds = seconds
        self.what = what
        super().__init__(f"{self.summary}; try {self.advice('a longer time limit')}")

    @property
    def summary(self) -> str:
        return f"Graphviz's dot timed out: stopped after {self.seconds:g} s rendering {self.what}"

    @staticmethod
    def advice(longer: str) -> str:
        """Ways out, ending in `longer` (how to allow more time where the user is)."""
        return f"a narrower selection, the overview, or {longer}"


class DotFailed(InputError):
    """`dot` exited with an error (`reason`: the first line it printed) or wrote nothing."""

    def __init__(self, what: str, reason: str) -> None:
        self.what = what
        self.reason = reason
        super().__init__(f"Graphviz's dot failed to render {what}: {reason}")
