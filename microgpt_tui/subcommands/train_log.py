"""`train --log FILE.jsonl`: one JSON line per completed step, kept in step with the checkpoint.

    {"step": 12, "loss": 2.8412..., "lr": 0.0099}

The promises (the README's "Reliability"):

- A line is written only for a completed step, and every completed step gets its
  line (the trainer holds Ctrl-C and SIGTERM across a step's update and its line),
  so after Ctrl-C or SIGTERM the log ends at the step the checkpoint saved.
- A SIGKILL (or a crash) cannot save: the log may then run ahead of the checkpoint,
  and end in half a line. A run resumed from that checkpoint with the same log
  first drops those lines, so the log again agrees with the checkpoint step for
  step and goes on from there.
- The log never costs the run: when a line cannot be written (a full disk), what
  was written of it is removed, one warning says where the log stops, and
  training goes on to its checkpoint.
"""

from __future__ import annotations

import json
import os
import stat
import sys

from engine.errors import InputError
from engine.fs import reason
from engine.train import StepResult
from microgpt_tui.subcommands import PROG


class StepLog:
    """The log file, appended to one whole line at a time."""

    def __init__(self, path: str, *, resumed_at: int | None) -> None:
        """Open `path` for appending; when resuming from step `resumed_at`, reconcile first."""
        self.path = path
        self.stopped_at: int | None = None  # the last step logged before a write failed
        self.last_step: int | None = resumed_at
        try:
            self.file = open(path, "ab", buffering=0)  # noqa: SIM115 (closed by close())
        except OSError as e:
            raise InputError(f"cannot write the log {path}: {reason(e)}") from None
        try:
            dropped = self._reconcile(resumed_at)
        except OSError as e:
            self.file.close()
            raise InputError(f"cannot read the log {path}: {reason(e)}") from None
        if dropped:
            after = "" if resumed_at is None else f" after step {resumed_at}, the checkpoint's"
            print(
                f"{PROG}: note: dropped {dropped} line{'s' if dropped > 1 else ''} "
                f"from the end of {path}{after} (a run stopped without saving them)",
                file=sys.stderr,
            )

    def _reconcile(self, resumed_at: int | None) -> int:
        """Cut the trailing lines the checkpoint never saw: steps past `resumed_at`, half a line.

        Only a regular file is cut; the lines before are left as they are. The count
        of lines dropped.
        """
        if not stat.S_ISREG(os.fstat(self.file.fileno()).st_mode):
            return 0
        with open(self.path, "rb") as f:
            text = f.read()
        lines = text.splitlines(keepends=True)
        keep = len(lines)
        if keep and not lines[-1].endswith(b"\n"):
            keep -= 1  # half a line: the writer was killed in the middle of it
        while keep and resumed_at is not None and _step_of(lines[keep - 1]) > resumed_at:
            keep -= 1
        if keep < len(lines):
            os.truncate(self.file.fileno(), sum(len(line) for line in lines[:keep]))
        return len(lines) - keep

    def write(self, result: StepResult) -> None:
        """Append the step's line; on failure remove what was written, warn once, stop."""
        if self.stopped_at is not None:
            return
        line = json.dumps({"step": result.step, "loss": result.loss, "lr": result.lr}) + "\n"
        data = line.encode("utf-8")
        try:
            start = os.fstat(self.file.fileno()).st_size
        except OSError as e:
            self._stop(result.step, None, e)
            return
        try:
            written = 0
            while written < len(data):
                written += self.file.write(data[written:]) or 0
        except OSError as e:
            self._stop(result.step, start, e)
            return
        self.last_step = result.step

    def _stop(self, step: int, size: int | None, error: OSError) -> None:
        """Step `step`'s line failed: cut the file back to `size`, warn, write no more."""
        self.stopped_at = step - 1
        if size is not None:
            try:  # no half line left behind
                os.truncate(self.file.fileno(), size)
            except OSError:
                pass
        print(
            f"{PROG}: warning: cannot write the log {self.path} ({reason(error)}): "
            f"it stops before step {step}; training goes on",
            file=sys.stderr,
        )

    def close(self) -> None:
        self.file.close()


def _step_of(line: bytes) -> int:
    """A log line's step; -1 for a line that is not one of ours (it is kept)."""
    try:
        step = json.loads(line).get("step")
    except (ValueError, AttributeError):
        return -1
    return step if isinstance(step, int) else -1
