"""The gradient tab: for the inspected node, where its gradient came from, and proof.

The answers come from the session's `GradInspector` (`engine.explain`): the final
grad (for `attach`, what the script's own backward() left), split by position and
by consumer scope (after the grad it held before backward(), if it held one), the
top paths from the loss, why the node's local gradients are what they are, and on
`x` a check by nudging. All of it
is computed in worker threads (on a million-node graph the final grads alone take
a second or more), so no key ever waits for it: the view says "computing" until
the answer arrives, and a check shows its progress as it replays.

A check belongs to its node: it goes on while the user steps elsewhere, and its
result is shown whenever that node is shown again (in this session). One
explanation is computed at a time: steps taken meanwhile (a held key) ask only
for the node shown last, once the running one is done, so work never piles up.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual import on, work
from textual.message import Message
from textual.worker import get_current_worker

from engine.errors import InputError
from engine.explain import GradInspector
from engine.explain.local_grads import Explanation
from engine.explain.nudge import Cancelled, GradCheck
from engine.explain.paths import GradPath
from engine.explain.shares import GradSplit
from engine.session import DebugSession
from engine.value import Value
from microgpt_tui import explain_text
from microgpt_tui.display import node_name
from microgpt_tui.widgets.text_lines import Line, TextLines

TOP_PATHS = 3  # the paths listed and marked in the graph
MAX_CONSUMERS = 3  # consumers whose local gradient for the node is explained


@dataclass(frozen=True)
class Explained:
    """Everything the tab says about one node's gradient, computed together in a worker."""

    node: Value
    grad: float
    held: float  # the grad it held before backward() (a script's, accumulated), else 0
    scripts: bool  # the grads are the script's own backward()'s (attach)
    by_position: GradSplit
    by_scope: GradSplit
    paths: list[GradPath]
    count: int  # how many paths lead from the loss to the node
    why: Explanation
    consumers: list[Explanation]  # the first consumers' explanations
    more_consumers: int  # consumers not explained


def explain_node(inspector: GradInspector, node: Value, k: int = TOP_PATHS) -> Explained:
    """The inspector's answers about `node`, in one go (blocking: run it in a worker)."""
    consumers = inspector.grads.consumers_of(node)
    return Explained(
        node=node,
        grad=inspector.grad(node),
        held=inspector.held(node),
        scripts=inspector.grads.scripts,
        by_position=inspector.by_position(node),
        by_scope=inspector.by_scope(node),
        paths=inspector.paths(node, k),
        count=inspector.count_paths(node),
        why=inspector.explain(node),
        consumers=[inspector.explain(c) for c in consumers[:MAX_CONSUMERS]],
        more_consumers=max(0, len(consumers) - MAX_CONSUMERS),
    )


class GradientView(TextLines):
    """Where the shown node's gradient came from, its top paths, why, and the check."""

    @dataclass
    class PathsFound(Message):
        """The top paths to `node_id` are known (each a list of node ids, loss first)."""

        node_id: int
        paths: list[list[int]]

    @dataclass
    class _Done(Message):
        session: DebugSession
        node: Value
        explained: Explained | None  # None: it failed (see error)
        error: str = ""

    @dataclass
    class _Checked(Message):
        session: DebugSession
        node_id: int
        check: GradCheck | None  # None: the check failed (see error) or was cancelled
        error: str = ""

    @dataclass
    class _Progress(Message):
        session: DebugSession
        node_id: int
        fraction: float

    def __init__(self, *, name: str | None = None, id: str | None = None) -> None:
        super().__init__(name=name, id=id)
        self.session: DebugSession | None = None
        self.node: Value | None = None
        self.explained: Explained | None = None
        self.checks: dict[int, GradCheck | str] = {}  # by node id: a result, or why it failed
        self.checking: tuple[int, float] | None = None  # (node id, fraction done) of a check
        self.error = ""  # why the shown node could not be explained
        self._inspector: GradInspector | None = None
        self._explaining = False  # a worker is explaining a node
        self._wanted: tuple[DebugSession, Value] | None = None  # asked for meanwhile

    # -- what the screen calls ---------------------------------------------------------------

    def show(self, session: DebugSession, node: Value | None) -> None:
        """Explain `node` of `session` (in a worker, unless it is already explained)."""
        if session is not self.session:
            self.session, self._inspector = session, GradInspector(session)
            self.checks, self.checking = {}, None
            self.workers.cancel_group(self, "nudge")
        if node is self.node and self.explained is not None:
            self.paint()
            return
        self.node, self.explained, self.error = node, None, ""
        self.paint(to_top=True)
        if node is None:
            return
        if self._explaining:
            self._wanted = (session, node)  # after the running one
        else:
            self._explaining = True
            self._explain(session, self.inspector, node)

    @property
    def inspector(self) -> GradInspector:
        assert self._inspector is not None, "show() a session first"
        return self._inspector

    def start_check(self) -> bool:
        """Check the shown node's gradient by nudging, in a worker; False if there is none."""
        if self.session is None or self.node is None:
            return False
        self.checks.pop(self.node.id, None)
        self.checking = (self.node.id, 0.0)
        self.paint()
        self._check(self.session, self.inspector, self.node)
        return True

    # -- workers -------------------------------------------------------------------------------

    @work(thread=True, group="explain")
    def _explain(self, session: DebugSession, inspector: GradInspector, node: Value) -> None:
        try:
            self.post_message(self._Done(session, node, explain_node(inspector, node)))
        except InputError as error:  # (e.g. a graph whose ops cannot be read)
            self.post_message(self._Done(session, node, None, str(error)))

    @work(thread=True, exclusive=True, group="nudge")
    def _check(self, session: DebugSession, inspector: GradInspector, node: Value) -> None:
        worker = get_current_worker()
        last = [-1.0]

        def progress(done: int, total: int) -> None:
            fraction = done / total if total else 1.0
            if fraction - last[0] >= 0.01:  # a message a percent, not one a chunk
                last[0] = fraction
                self.post_message(self._Progress(session, node.id, fraction))

        try:
            check = inspector.check(
                node, progress=progress, should_stop=lambda: worker.is_cancelled
            )
        except Cancelled:
            self.post_message(self._Checked(session, node.id, None))
        except InputError as error:
            self.post_message(self._Checked(session, node.id, None, str(error)))
        else:
            self.post_message(self._Checked(session, node.id, check))

    @on(_Done)
    def _on_done(self, message: _Done) -> None:
        self._explaining = False
        wanted, self._wanted = self._wanted, None
        if wanted is not None and wanted[0] is self.session and wanted[1] is self.node:
            self._explaining = True
            self._explain(wanted[0], self.inspector, wanted[1])
        explained = message.explained
        if message.session is not self.session or message.node is not self.node:
            return  # an answer for a node no longer shown
        if explained is None:
            self.error = message.error
            self.paint()
            return
        self.explained = explained
        self.paint()
        paths = [path.node_ids for path in explained.paths]
        self.post_message(self.PathsFound(explained.node.id, paths))

    @on(_Progress)
    def _on_progress(self, message: _Progress) -> None:
        if message.session is self.session and self.checking is not None:
            if self.checking[0] == message.node_id:
                self.checking = (message.node_id, message.fraction)
                self.paint()

    @on(_Checked)
    def _on_checked(self, message: _Checked) -> None:
        if message.session is not self.session:
            return
        if self.checking is not None and self.checking[0] == message.node_id:
            self.checking = None
        if message.check is not None:
            self.checks[message.node_id] = message.check
        elif message.error:
            self.checks[message.node_id] = message.error
        self.paint()

    # -- painting ------------------------------------------------------------------------------

    def paint(self, *, to_top: bool = False) -> None:
        self.set_lines(self.describe(), to_top=to_top)

    def on_resize(self) -> None:
        self.paint()  # paragraphs wrap to the width

    def describe(self) -> list[Line]:
        """The tab's lines for the shown node."""
        node = self.node
        if node is None:
            return [[("Inspect a node to see where its gradient came from.", "muted")]]
        explained = self.explained
        lines = explain_text.header(
            node_name(node),
            explained.grad if explained else None,
            scripts=self.session is not None and self.session.script_backward is not None,
        )
        lines.append([])
        lines += self._check_section(node)
        if explained is None:
            if self.error:
                lines += [[], [("could not explain it: " + self.error, "negative")]]
            return lines
        width = self.scrollable_content_region.width or 80
        for section in (
            explain_text.split_lines(explained.by_position),
            explain_text.split_lines(explained.by_scope),
            explain_text.path_lines(
                explained.paths, explained.count, explained.grad, explained.held
            ),
            explain_text.why_lines(explained.why, width),
            explain_text.consumer_lines(node.id, explained.consumers, explained.more_consumers),
        ):
            if section:
                lines.append([])
                lines += section
        return lines

    def _check_section(self, node: Value) -> list[Line]:
        done = self.checks.get(node.id)
        running = self.checking is not None and self.checking[0] == node.id
        return explain_text.check_lines(
            done if isinstance(done, GradCheck) else None,
            self.checking[1] if running and self.checking else None,
            done if isinstance(done, str) else "",
        )
