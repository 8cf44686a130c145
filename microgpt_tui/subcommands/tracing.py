"""Saying so before a long trace: its size up front, and the nodes recorded as it goes.

A graph over `estimate.WARN_NODES` nodes takes seconds to minutes to build. The
size is known exactly before the first node (`engine.estimate`), so the command
says it on stderr, then, on a terminal, counts the nodes recorded twice a second.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO

from engine.estimate import graph_size
from engine.model import GPT
from engine.trace import recording_trace
from microgpt_tui.subcommands import PROG

TICK = 0.5  # seconds between progress updates


@contextmanager
def announced(
    model: GPT, tokens: list[int], pos: int | None, stream: TextIO | None = None
) -> Iterator[None]:
    """Around building a capture: warn when it is large, and show progress on a terminal."""
    stream = sys.stderr if stream is None else stream  # (sys.stderr as it is now)
    size = graph_size(model.config, model.vocab_size, tokens, pos)
    if not size.large:
        yield
        return
    print(f"{PROG}: tracing {size.describe()}; this takes a while", file=stream, flush=True)
    done = threading.Event()
    ticker = None
    if stream.isatty():
        ticker = threading.Thread(target=_tick, args=(done, size.nodes, stream), daemon=True)
        ticker.start()
    try:
        yield
    finally:
        done.set()
        if ticker is not None:
            ticker.join()
            print(file=stream, flush=True)


def _tick(done: threading.Event, total: int, stream: TextIO) -> None:
    while not done.wait(TICK):
        trace = recording_trace()
        if trace is not None:
            recorded = len(trace.nodes)
            stream.write(f"\r  {recorded:,} nodes recorded; the graph keeps {total:,}")
            stream.flush()
