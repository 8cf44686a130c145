"""Find a scope or a node by label: type, then pick a result.

The session finds (`find_scopes`, `find_labels`); labels are searched over every
node, so the search runs in a worker and typing stays smooth on a million-node
graph. Matches in the position the debugger is at come first (enter picks
`pos4…head1`, not `pos0…head1`), and each says which position it is in.
"""

from __future__ import annotations

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.css.query import NoMatches
from textual.widgets import Label, OptionList
from textual.widgets.option_list import Option
from textual.worker import get_current_worker

from engine.find import FIND_LIMIT as MAX_RESULTS
from engine.graph import ScopeNode, scope_position
from engine.session import DebugSession
from microgpt_tui.screens.modal import Modal
from microgpt_tui.widgets.field import Field as Input

Found = tuple[str, str]  # ("scope", path) or ("node", "123")


class FindScreen(Modal[Found | None]):
    """A search box over scopes (and, unless `scopes_only`, node labels)."""

    BINDINGS = [
        Binding("escape", "dismiss", "Cancel"),
        Binding("down", "focus_results", "Results", show=False),
    ]

    DEFAULT_CSS = """
    FindScreen {
        align: center middle;
        & > Vertical {
            width: 90%;
            max-width: 110;
            height: 80%;
            border: thick $primary;
            background: $surface;
            padding: 0 1;
        }
        #find-results { height: 1fr; }
        #find-hint { color: $text-muted; }
    }
    """

    def __init__(
        self,
        session: DebugSession,
        *,
        scopes_only: bool = False,
        title: str = "Find",
        initial: str = "",
        here: int | None = None,
        cursor_blink: bool = True,
    ) -> None:
        """`here`: the position the debugger is at (its matches come first)."""
        super().__init__()
        self.session = session
        self.here = here
        self.scopes_only = scopes_only
        self.title_text = title
        self.initial = initial
        self.cursor_blink = cursor_blink
        self._shown_for: str | None = None  # the text whose results are shown
        self._enter_pending = False  # enter came before its text's results: pick on arrival

    def compose(self) -> ComposeResult:
        with Vertical() as box:
            box.border_title = self.title_text
            hint = (
                "a scope, e.g. head1 or pos4.layer0.mlp"
                if self.scopes_only
                else ("a scope (head1, mlp) or a label (probs, wte[4], attn_weights) or #id")
            )
            field = Input(value=self.initial, placeholder=hint, id="find-input")
            field.cursor_blink = self.cursor_blink
            yield field
            yield Label("", id="find-hint")
            yield OptionList(id="find-results")

    def on_mount(self) -> None:
        self.search(self.initial)

    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        self.search(event.value)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if event.value.strip() != self._shown_for:  # typed fast: the search is still running
            self._enter_pending = True
            return
        self._pick_highlighted()

    def _pick_highlighted(self) -> None:
        results = self.query_one("#find-results", OptionList)
        if results.option_count:
            index = results.highlighted if results.highlighted is not None else 0
            self._choose(results.get_option_at_index(index).id)

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self._choose(event.option_id)

    def action_focus_results(self) -> None:
        results = self.query_one("#find-results", OptionList)
        if results.option_count:
            results.focus()
            if results.highlighted is None:
                results.highlighted = 0

    def _choose(self, option_id: str | None) -> None:
        if option_id:
            kind, _, value = option_id.partition(":")
            self.dismiss((kind, value))

    @work(thread=True, exclusive=True, group="find")
    def search(self, text: str) -> None:
        """Search in a thread; the results go back to the screen on the UI thread."""
        worker = get_current_worker()
        text = text.strip()
        scopes = self.session.find_scopes(text) if (text or self.scopes_only) else []
        nodes: list[int] = []
        if text and not self.scopes_only:
            nodes = self.session.find_labels(text, cancelled=lambda: worker.is_cancelled)
        if self.here is not None:  # the current position's first (the sorts are stable)
            scopes.sort(key=lambda s: scope_position(s.path) != self.here)
            nodes.sort(key=lambda i: self.session.position_of(self.session.node(i)) != self.here)
        if not worker.is_cancelled:
            self.app.call_from_thread(self._show_results, text, scopes, nodes)

    def _where(self, position: int | None) -> tuple[str, str]:
        """`· here` for the debugger's position, `· position 0` for another, "" for none."""
        if position is None:
            return ("", "")
        if position == self.here:
            return (f"  · here (position {position})", "$text-accent")
        return (f"  · position {position}", "$text-muted")

    def _show_results(self, text: str, scopes: list[ScopeNode], nodes: list[int]) -> None:
        try:
            results = self.query_one("#find-results", OptionList)
            hint = self.query_one("#find-hint", Label)
        except NoMatches:
            return  # dismissed while searching
        options: list[Option] = []
        for scope in scopes:
            prompt = Content.assemble(
                ("scope ", "$text-muted"),
                (scope.path, "bold"),
                (f"  {scope.total:,} nodes", "$text-muted"),
                self._where(scope_position(scope.path)),
            )
            options.append(Option(prompt, id=f"scope:{scope.path}"))
        for node_id in nodes:
            node = self.session.node(node_id)
            prompt = Content.assemble(
                ("node  ", "$text-muted"),
                (f"#{node.id} ", "bold"),
                (f"{node.op} ", "$text-accent"),
                (node.label or "", "$text-primary"),
                (f"  {node.scope}", "$text-muted"),
                self._where(self.session.position_of(node)),
            )
            options.append(Option(prompt, id=f"node:{node.id}"))
        results.clear_options()
        results.add_options(options)
        if options:
            results.highlighted = 0
        self._shown_for = text
        if self._enter_pending and text == self.query_one("#find-input", Input).value.strip():
            self._enter_pending = False
            self._pick_highlighted()
            return
        if not text and not self.scopes_only:
            hint.update("type to search; enter picks the highlighted result, ↓ to browse")
        elif not options:
            hint.update(f"nothing matches {text!r}")
        else:
            capped = (
                " (the first ones)"
                if len(scopes) >= MAX_RESULTS or len(nodes) >= MAX_RESULTS
                else ""
            )
            hint.update(
                f"{len(scopes)} scopes, {len(nodes)} nodes{capped}: enter picks the highlighted one"
            )
