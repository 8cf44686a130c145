"""`train`'s progress bar on a terminal, drawn by rich (imported only when there is one)."""

from __future__ import annotations

from typing import TextIO

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
)

from engine.train import StepResult


class BarProgress:
    """`step  40/100 ━━━━━━━━━━━━━━╺━━━ loss 2.8412 51.3 steps/s ETA 0:00:01`, redrawn in place."""

    def __init__(self, stream: TextIO, first: int, total: int) -> None:
        self.progress = Progress(
            TextColumn("step"),
            MofNCompleteColumn(),
            BarColumn(),
            TextColumn("loss {task.fields[loss]}"),
            TextColumn("{task.fields[rate]} steps/s"),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            console=Console(file=stream),
        )
        self.first = first
        self.task = self.progress.add_task(
            "train", total=total, completed=first, loss="-", rate="-"
        )
        self.progress.start()

    def update(self, result: StepResult) -> None:
        task = self.progress.tasks[0]
        speed = task.speed
        self.progress.update(
            self.task,
            completed=result.step,
            loss=f"{result.loss:.4f}",
            rate="-" if speed is None else f"{speed:.1f}",
        )

    def finish(self) -> None:
        self.progress.stop()
