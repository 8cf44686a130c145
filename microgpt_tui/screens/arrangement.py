"""How the debugger's panels share the terminal: side by side when it is wide, in turns when not.

At 120 columns and more every panel shows (source | inspector over call stack and
scopes | graph). Below that they take turns, full width, named in a one-line bar
that also names the tabs, in place of the two-line tab strip (`.` shows the next
panel, `,` the previous one, a click picks a tab or a panel): with 40 rows or more two
at a time (the inspector over the graph; the code over the call stack and scopes), with
fewer one at a time. The graph's and the inspector's places show the level's panels (at
vector level the vector panel and inspector: `screens.vector_level`), and the bar names
them so. The footer keeps only the keys that matter most, and the parameters tab
puts its heatmap under the list instead of beside it.

A mixin of `DebuggerScreen`; it switches tabs (and brings a tab's view up to date when
it shows), shows and hides panels and sets their sizes, on a resize, a tab or a page
change (never at a step, so stepping costs no layout). A tab's keys work as soon as it
shows (the parameters list takes the focus).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.geometry import Size
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import TabbedContent

from microgpt_tui.widgets.attention import AttentionView
from microgpt_tui.widgets.footer import KeyFooter
from microgpt_tui.widgets.panel_bar import PANEL, PanelBar
from microgpt_tui.widgets.parameters import ParametersView

if TYPE_CHECKING:
    from engine.controller import Controller
    from engine.session import DebugSession

WIDE = 120
"""Columns from which every panel shows."""
TALL = 40
"""Rows from which, when narrow, two panels share the screen."""

PANELS = ("source", "inspector", "call-stack", "scope-tree", "graph")
"""The panels' places; the level decides which widget shows in the inspector's and the graph's
(`VectorLevelViews.place_level_panels`)."""
LEVEL_PLACES = frozenset({"inspector", "graph"})
SHORT_PAGES = {
    "inspector": ("inspector",),
    "graph": ("graph",),
    "code": ("source",),
    "scopes": ("call-stack", "scope-tree"),
}
TALL_PAGES = {
    "step": ("inspector", "graph"),
    "code": ("source", "call-stack", "scope-tree"),
}


class Arrangement(Screen):
    """Wide, or narrow with pages (mixed into `DebuggerScreen`, which composes the panels)."""

    page = 0  # the narrow layout's page shown (an index into its pages)
    narrow = False
    places_shown: frozenset[str] = frozenset(PANELS)  # the panels' places shown now
    controller: Controller

    if TYPE_CHECKING:  # what DebuggerScreen provides

        @property
        def session(self) -> DebugSession | None: ...
        def place_level_panels(self, places: frozenset[str]) -> None: ...
        def place_names(self) -> dict[str, str]: ...
        def refresh_explaining(self, active: str) -> None: ...

    def action_tab(self, tab: str) -> None:
        self.query_one("#tabs", TabbedContent).active = tab
        self.tab_shown(tab)

    def tab_shown(self, tab: str) -> None:
        """A tab is shown (a key, a click): its keys work at once, the bar names it."""
        view = self.query_one(ParametersView)
        if tab == "parameters" and self.session is not None and not view.has_focus_within:
            view.opened(self.controller.inspected_node())
        self.name_panels()

    def refresh_tab_views(self) -> None:
        """The parameters and attention views follow the session while they are shown.

        A hidden one is brought up to date when its tab is opened: refreshing it at
        every step would cost a layout of the screen each time for nothing visible.
        """
        session = self.session
        if session is None:
            return
        active = self.query_one("#tabs", TabbedContent).active
        if active == "parameters":
            self.query_one(ParametersView).refresh_state()
        elif active == "attention":
            view = self.query_one(AttentionView)
            cursor = session.cursor_node()
            view.set_position(session.position_of(cursor) if cursor is not None else None)
            view.refresh_state()
        else:
            self.refresh_explaining(active)  # the gradient and training tabs

    def on_tabbed_content_tab_activated(self, event: TabbedContent.TabActivated) -> None:
        self.refresh_tab_views()
        self.tab_shown(event.pane.id or "")

    def pages(self) -> dict[str, tuple[str, ...]]:
        """The narrow layout's pages for this height, and the panels each shows."""
        return SHORT_PAGES if self.size.height < TALL else TALL_PAGES

    def on_resize(self) -> None:
        self.arrange_panels(self.size)

    def arrange_panels(self, size: Size) -> None:
        """Show the panels for `size` (and the narrow layout's current page)."""
        narrow = size.width < WIDE
        self.narrow = narrow
        self.set_class(narrow, "-narrow")
        self.query_one(KeyFooter).narrow = narrow
        pages = self.pages()
        self.page %= len(pages)
        names = tuple(pages)
        shown = frozenset(PANELS if not narrow else pages[names[self.page]])
        self.places_shown = shown
        for panel in PANELS:
            if panel not in LEVEL_PLACES:
                self.query_one(f"#{panel}").display = panel in shown
        self.place_level_panels(shown)  # (the inspector's and the graph's: the level's widgets)
        top = self.query_one("#top")
        bottom = self.query_one("#bottom")
        top.display = bool(shown & {"source", "inspector"})
        bottom.display = bool(shown & {"call-stack", "scope-tree", "graph"})
        self.query_one("#scopes").display = bool(shown & {"call-stack", "scope-tree"})
        _height(top, "50%" if not narrow or bottom.display else "1fr")
        self.query_one(PanelBar).display = narrow
        self.name_panels()

    def name_panels(self) -> None:
        """Narrow: the bar names the tabs and (in the debugger tab) the pages of panels."""
        if not self.narrow:
            return
        tabbed = self.query_one("#tabs", TabbedContent)
        tabs = [(pane.id or "", str(pane._title)) for pane in tabbed.query("TabPane")]
        names = self.place_names()  # (at vector level the graph's place is the vectors')
        pages = tuple(names.get(p, p) for p in self.pages()) if tabbed.active == "debugger" else ()
        self.query_one(PanelBar).show_names(tabs, tabbed.active, pages, self.page)

    def action_next_panel(self) -> None:
        """Below 120 columns: show the next page of panels (`.`)."""
        self._turn_page(1)

    def action_previous_panel(self) -> None:
        """Below 120 columns: show the previous page of panels (`,`)."""
        self._turn_page(-1)

    def _turn_page(self, by: int) -> None:
        if not self.narrow:
            self.notify("Every panel is shown: the window is 120 columns wide or more.", timeout=3)
            return
        self.page += by  # (arrange_panels wraps it round)
        self.arrange_panels(self.size)

    def show_page(self, name: str) -> None:
        """Narrow: show the page named `name` (or the one holding panel `name`)."""
        if not self.narrow:
            return
        for i, (page, panels) in enumerate(self.pages().items()):
            if name == page or name in panels:
                self.page = i
                self.arrange_panels(self.size)
                return

    def on_panel_bar_picked(self, message: PanelBar.Picked) -> None:
        if message.kind == PANEL:
            self.page = int(message.value)
            self.arrange_panels(self.size)
        else:
            self.action_tab(str(message.value))


def _height(widget: Widget, height: str) -> None:
    if str(widget.styles.height) != height:
        widget.styles.height = height
