"""Every parameter of the model with its value and grad: a virtual list and a heatmap.

The list (`parameter_list.ParameterList`) is sortable (model order, name, |grad|
largest first) and filterable by matrix; with one matrix chosen, a heatmap of
its gradient sits beside the list. Grads show only in the backward phase, and
fill in as the steps reach them.

Opened from the debugger (`opened`), the view shows a heatmap at once: of the
inspected parameter's matrix, else the first, until a matrix is chosen by hand
(`[`, `]`, the drop-down; "all matrices" shows every parameter and no heatmap).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Self

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.reactive import reactive
from textual.timer import Timer
from textual.widgets import Select, Static

from microgpt_tui.widgets.heatmap import GradHeatmap
from microgpt_tui.widgets.parameter_list import SORTS, ParameterIndex, ParameterList

if TYPE_CHECKING:
    from engine.session import DebugSession
    from engine.value import Value

SORT_TITLES = {"model": "model order", "name": "name", "grad": "|grad| ↓"}
LARGE_VIEW = 20_000
"""Views longer than this re-sort by |grad| once stepping pauses, not after every step."""
RESORT_DELAY = 0.3
"""Seconds without a step before a large view re-sorts."""


class ParametersView(Vertical):
    """All parameters (a virtual list), sortable and filterable, and one matrix's heatmap.

    The app calls `show(session)` for a new session and `refresh_state()` after
    every step; picking a parameter (Enter, click) posts `NodeSelected`.
    """

    DEFAULT_CSS = """
    ParametersView {
        height: 1fr;
        & > #parameters-bar { height: 1; }
        & #parameters-matrix { width: 30; }
        & #parameters-header { width: 1fr; height: 1; padding: 0 1; color: $text-muted; }
        & > #parameters-body { height: 1fr; }
        & GradHeatmap { display: none; max-width: 60%; margin-left: 1; }
        &.-matrix GradHeatmap { display: block; }
    }
    """

    BINDINGS = [
        Binding(
            "S",
            "cycle_sort",
            "Sort",
            show=False,  # (the header lists these keys: the footer stays the same, see KeyFooter)
            tooltip="Order the parameters: model order, name, |grad| largest first",
            id="parameters.sort",
        ),
        Binding(
            "left_square_bracket",
            "step_matrix(-1)",
            "Prev matrix",
            show=False,
            key_display="[",
            tooltip="Show only the previous matrix (and its heatmap)",
            id="parameters.previous_matrix",
        ),
        Binding(
            "right_square_bracket",
            "step_matrix(1)",
            "Next matrix",
            show=False,
            key_display="]",
            tooltip="Show only the next matrix (and its heatmap)",
            id="parameters.next_matrix",
        ),
        Binding(
            "R",
            "resort",
            "Re-sort",
            show=False,
            tooltip="Sort again by the current grads now",
            id="parameters.resort",
        ),
    ]

    sort_key: reactive[str] = reactive("model", init=False)
    """The order of the list: "model", "name" or "grad" (|grad|, largest first)."""

    matrix: reactive[str | None] = reactive(None, init=False)
    """The matrix the list is filtered to (and the heatmap shows), or None for all."""

    stale: reactive[bool] = reactive(False, init=False)
    """A large |grad| order not yet redone since the grads last changed."""

    def __init__(self, *, name: str | None = None, id: str | None = None) -> None:
        super().__init__(name=name, id=id)
        self.session: DebugSession | None = None
        self.index: ParameterIndex | None = None
        self._resort_timer: Timer | None = None
        self._matrix_chosen = False  # by hand: then opening the view keeps it

    def compose(self) -> ComposeResult:
        with Horizontal(id="parameters-bar"):
            yield Select[str]([], prompt="all matrices", id="parameters-matrix", compact=True)
            yield Static(id="parameters-header")
        with Horizontal(id="parameters-body"):
            yield ParameterList(id="parameters-list")
            yield GradHeatmap(id="parameters-heatmap")

    @property
    def parameter_list(self) -> ParameterList:
        return self.query_one(ParameterList)

    @property
    def heatmap(self) -> GradHeatmap:
        return self.query_one(GradHeatmap)

    def focus(self, scroll_visible: bool = True) -> Self:
        """Focus the list (so its keys work), e.g. when the app switches to this view."""
        self.parameter_list.focus(scroll_visible)
        return self

    def on_mount(self) -> None:
        if self.session is not None:
            self.show(self.session)
        else:
            self._update_header()

    # -- the contract with the app ------------------------------------------------------

    def show(self, session: DebugSession) -> None:
        """A new session: index its parameters and show them (the filter is kept if it fits)."""
        self.session = session
        if not self.is_mounted:
            return
        self.index = ParameterIndex(session)
        if self.matrix not in self.index.matrices:
            self.set_reactive(ParametersView.matrix, None)
        select = self.query_one(Select)
        with select.prevent(Select.Changed):
            select.set_options((name, name) for name in self.index.matrices)
            select.value = self.matrix if self.matrix is not None else Select.NULL
        self._apply_matrix()
        self.parameter_list.cursor = 0

    def refresh_state(self) -> None:
        """Values or grads changed (a step, a phase switch): redraw, re-sort if needed.

        A view of up to LARGE_VIEW rows re-sorts at once (a few ms); a larger one
        (all 200k parameters of a big model: ~0.1 s) re-sorts once stepping has
        paused for RESORT_DELAY, or when shown again if it is hidden meanwhile,
        and says so in the header until then.
        """
        if self.index is None or self.session is None:
            return
        if len(self.parameter_list.order) > LARGE_VIEW:
            # the order is stale only when it is by |grad|; the bars' scale is redone anyway
            self.stale = self.sort_key == "grad" and self.session.phase == "backward"
            if self._resort_timer is not None:
                self._resort_timer.stop()
            self._resort_timer = self.set_timer(RESORT_DELAY, self._resort_if_visible)
        else:
            self._rebuild_view()
        self.parameter_list.refresh()
        if self.matrix is not None:
            self.heatmap.refresh_state()

    def _resort_if_visible(self) -> None:
        self._resort_timer = None
        if self.parameter_list.is_on_screen:
            self._rebuild_view()

    def on_show(self) -> None:
        if self.stale:
            self._rebuild_view()

    def set_matrix(self, matrix: str | None) -> None:
        """Filter to one matrix (its heatmap shows beside the list), or None for all."""
        if matrix is not None and self.index is not None and matrix not in self.index.matrices:
            raise ValueError(f"no matrix {matrix!r}")
        self._matrix_chosen = True
        self.matrix = matrix

    def opened(self, node: Value | None) -> None:
        """The view is shown: focus the list (its keys work at once) and, unless a matrix was
        chosen by hand, show `node`'s matrix if it is a parameter, else the first one."""
        self.focus()
        if self._matrix_chosen or self.index is None or not self.index.matrices:
            return
        matrix = self.index.matrices[0]
        if node is not None and node.op == "param":
            found = self.index.row_of_param(node)
            if found is not None:
                matrix = self.index.locate(found)[0]
        if matrix != self.matrix:
            self.set_reactive(ParametersView.matrix, matrix)
            self.watch_matrix()
        if node is not None:
            self.move_cursor_to(node)

    def sort_by(self, key: str) -> None:
        """Order the list by "model" order, "name" or "grad" (|grad|, largest first)."""
        if key not in SORTS:
            raise ValueError(f"unknown sort {key!r}: one of {', '.join(SORTS)}")
        self.sort_key = key

    def move_cursor_to(self, param: Value) -> bool:
        """Put the cursor on this parameter if the current view has it."""
        if self.index is None:
            return False
        for k, p in enumerate(self.index.params):
            if p is param:
                return self._move_to_row(k)
        return False

    # -- reacting -----------------------------------------------------------------------

    def watch_sort_key(self) -> None:
        if not self.is_mounted:
            return  # on_mount's show() builds the view
        # a new order starts at its top: sorting by |grad| shows the largest first
        self._rebuild_view()
        self.parameter_list.cursor = 0
        self.parameter_list.scroll_to_cursor()

    def watch_matrix(self) -> None:
        if not self.is_mounted:
            return
        select = self.query_one(Select)
        with select.prevent(Select.Changed):
            select.value = self.matrix if self.matrix is not None else Select.NULL
        self._apply_matrix()

    def watch_stale(self) -> None:
        self._update_header()

    def _apply_matrix(self) -> None:
        self.set_class(self.matrix is not None, "-matrix")
        if self.matrix is not None and self.session is not None:
            self.heatmap.show_matrix(self.session, self.matrix)
        self._rebuild_view(follow=True)

    def _rebuild_view(self, follow: bool = False) -> None:
        """Recompute the order and the bar scale; `follow`: the cursor keeps its parameter."""
        if self.index is None or self.session is None:
            return
        if self._resort_timer is not None:
            self._resort_timer.stop()
            self._resort_timer = None
        plist = self.parameter_list
        previous = plist.current_row
        backward = self.session.phase == "backward"
        order = self.index.view(self.matrix, self.sort_key, by_grad=backward)
        scale = self.index.max_abs_grad(order) if backward else 0.0
        plist.set_view(self.session, self.index, order, scale)
        if follow and previous is not None:
            if not self._move_to_row(previous):
                plist.cursor = 0
        self.stale = False
        self._update_header()
        self._mark_cursor_on_heatmap()

    def _move_to_row(self, k: int) -> bool:
        plist = self.parameter_list
        order = plist.order
        if isinstance(order, range):
            found = k in order
            row = k - order.start if found else -1
        else:
            try:
                row = order.index(k)
                found = True
            except ValueError:
                found = False
        if found:
            plist.cursor = row
            plist.scroll_to_cursor()
        return found

    def _update_header(self) -> None:
        if not self.is_mounted:
            return
        parts: list[str] = []
        if self.index is not None:
            shown = len(self.parameter_list.order)
            parts.append(f"{shown:,} of {len(self.index):,} params")
        order = SORT_TITLES[self.sort_key]
        if (
            self.sort_key == "grad"
            and self.session is not None
            and self.session.phase != "backward"
        ):
            order += " (no grads in forward)"
        parts.append(f"order: {order}")
        if self.stale:
            parts.append("re-sorts when stepping pauses (R now)")
        parts.append("S sort · [ ] matrix · ⏎ inspect")
        # (the header has a fixed size: a new text needs no layout of the screen)
        self.query_one("#parameters-header", Static).update(" · ".join(parts), layout=False)

    # -- keys and messages ----------------------------------------------------------------

    def action_cycle_sort(self) -> None:
        self.sort_key = SORTS[(SORTS.index(self.sort_key) + 1) % len(SORTS)]

    def action_step_matrix(self, delta: int) -> None:
        if self.index is None:
            return
        self._matrix_chosen = True
        choices: list[str | None] = [None, *self.index.matrices]
        at = choices.index(self.matrix)
        self.matrix = choices[(at + delta) % len(choices)]

    def action_resort(self) -> None:
        self._rebuild_view()

    @on(Select.Changed, "#parameters-matrix")
    def _matrix_picked(self, event: Select.Changed) -> None:
        event.stop()
        self._matrix_chosen = True
        self.matrix = None if event.value is Select.NULL else str(event.value)

    @on(ParameterList.Highlighted)
    def _highlighted(self, event: ParameterList.Highlighted) -> None:
        event.stop()
        self._mark_cursor_on_heatmap()

    def _mark_cursor_on_heatmap(self) -> None:
        k = self.parameter_list.current_row
        if self.index is None or self.matrix is None or k is None:
            return
        matrix, i, j = self.index.locate(k)
        self.heatmap.marker = (i, j) if matrix == self.matrix else None

    @on(GradHeatmap.CellClicked)
    def _cell_clicked(self, event: GradHeatmap.CellClicked) -> None:
        event.stop()
        if self.index is not None:
            self._move_to_row(self.index.row_of(event.name, event.row, event.col))
            self.parameter_list.focus()
