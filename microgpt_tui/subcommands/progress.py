"""`train`'s progress on stderr: a rich progress bar on a terminal, plain lines otherwise.

Without a terminal (a log file, CI, a pipe) it writes about ten lines such as
`step  40/100 | loss 2.8412 | 51.3 steps/s | ETA 0:01`, and one at least every
30 s; rich is only imported when there is a terminal to draw on.
"""

from __future__ import annotations

import time
from typing import Protocol, TextIO

from engine.train import StepResult

PLAIN_LINES = 10  # about this many lines for a whole run without a terminal
PLAIN_EVERY_SECONDS = 30.0  # and one at least this often


class Progress(Protocol):
    def update(self, result: StepResult) -> None: ...

    def finish(self) -> None: ...


def progress_for(stream: TextIO, first: int, total: int) -> Progress:
    """The progress display for steps `first + 1..total` on `stream`."""
    if stream.isatty():
        from microgpt_tui.subcommands.progress_bar import BarProgress  # imports rich

        return BarProgress(stream, first, total)
    return PlainProgress(stream, first, total)


class PlainProgress:
    """A line now and then: about PLAIN_LINES per run, and the final step's."""

    def __init__(self, stream: TextIO, first: int, total: int) -> None:
        self.stream = stream
        self.first = first  # steps completed before this run
        self.total = total
        self.start = self.last_shown = time.monotonic()
        self.every = max(1, (total - first) // PLAIN_LINES)

    def update(self, result: StepResult) -> None:
        now = time.monotonic()
        done = result.step - self.first
        final = result.step == self.total
        if not (final or done % self.every == 0 or now - self.last_shown >= PLAIN_EVERY_SECONDS):
            return
        self.last_shown = now
        rate = done / max(now - self.start, 1e-9)
        eta = (self.total - result.step) / rate
        width = len(str(self.total))
        self.stream.write(
            f"step {result.step:{width}d}/{self.total} | loss {result.loss:.4f} | "
            f"{rate:.1f} steps/s | ETA {duration(eta)}\n"
        )
        self.stream.flush()

    def finish(self) -> None:
        pass


def duration(seconds: float) -> str:
    """`1:02:03`, or `2:03` under an hour."""
    seconds = round(seconds)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"
