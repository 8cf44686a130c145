"""`train`'s last word on a terminal: the loss curve as a sparkline.

    loss ▇▆▅▄▄▃▃▃▂▂▂▂▂▂▁▂▁▁▁▁▁▁…  3.3660 → 2.6497  steps 1..1000, mean of 25 a cell

Each cell is the mean loss of an equal run of steps (so one odd document does not
make a spike), scaled between the lowest and the highest cell.
"""

from __future__ import annotations

from collections.abc import Sequence

from engine.history import History

BLOCKS = "▁▂▃▄▅▆▇█"


def binned(values: Sequence[float], cells: int) -> list[float]:
    """`values` in at most `cells` runs of (nearly) equal length, each run's mean."""
    n = len(values)
    cells = max(1, min(cells, n))
    out = []
    for i in range(cells):
        run = values[i * n // cells : (i + 1) * n // cells]
        out.append(sum(run) / len(run))
    return out


def sparkline(values: Sequence[float]) -> str:
    """One block a value, from ▁ (the lowest) to █ (the highest)."""
    if not values:
        return ""
    low, high = min(values), max(values)
    if high == low:
        return BLOCKS[0] * len(values)
    top = len(BLOCKS) - 1
    return "".join(BLOCKS[round((v - low) / (high - low) * top)] for v in values)


def curve_line(history: History, width: int) -> str:
    """The history's loss as one line of at most `width` characters ('' without steps)."""
    loss = history.loss
    if not loss:
        return ""
    tail = f"  {loss[0]:.4f} → {loss[-1]:.4f}  steps {history.first_step + 1}..{history.last_step}"
    cells = max(8, width - len("loss ") - len(tail) - len(", mean of 1000 a cell"))
    means = binned(loss, cells)
    per = len(loss) / len(means)
    if per > 1:
        tail += f", mean of {per:.3g} a cell"
    return f"loss {sparkline(means)}{tail}"[:width]
