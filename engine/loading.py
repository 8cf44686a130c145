"""Building a session off the UI thread: the policy beside the capture code.

Two rules hold for every build in the process:

- one at a time: a trace records every Value made in the process while it is
  on (`Trace.recording`), so a second build, or a checkpoint being opened,
  while one records would put its nodes into the other's graph;
- Python's cycle collector leaves the finished graph alone: a graph of Values
  has no reference cycles (refcounting frees it), so once it is built it is
  frozen out of the collector's scans (`gc.freeze`), which would otherwise
  re-scan millions of nodes in the middle of a step; the next build unfreezes
  what the last one froze, so an old graph can still be collected.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Callable
from dataclasses import dataclass

from engine.session import DebugSession
from engine.workspace import Workspace, open_workspace

_BUILD_LOCK = threading.Lock()


@dataclass(frozen=True)
class Loaded:
    """A session built by `load_session`, and the workspace it came from."""

    session: DebugSession
    workspace: Workspace


def load_session(
    workspace: Workspace,
    doc: str,
    pos: int | None = None,
    *,
    whole_document: bool = False,
    checkpoint: str | None = None,
    cancelled: Callable[[], bool] = lambda: False,
) -> Loaded | None:
    """Trace `doc` at `pos` (None: the last position) with `workspace`'s model, indexed.

    `checkpoint` opens that model instead. Waits for any other build to finish
    first; None if `cancelled()` by then. Bad input (an unknown character, a
    position past the end, a broken checkpoint) is an `InputError`.
    """
    with _BUILD_LOCK:
        if cancelled():
            return None
        gc.unfreeze()  # what the last build froze may be collected again
        if checkpoint:
            workspace = open_workspace(checkpoint=checkpoint)
        session = DebugSession(
            workspace.model, workspace.tokenizer, doc, pos, whole_document=whole_document
        )
        session.index()  # here, not on the UI thread's first look
        gc.freeze()  # until the next build, the collector leaves all that exists now alone
    return Loaded(session, workspace)
