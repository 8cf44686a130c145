"""Every scope of the trace as a tree with node counts, loaded lazily as branches open.

The scope tree is shallow (position > layer > attn > head > softmax) but can be
wide, so children are added only when a branch is expanded. Selecting a scope
posts ScopeSelected: the app inspects its first node, and `F` / `B` act on it.
"""

from __future__ import annotations

from rich.text import Text
from textual import events
from textual.geometry import Size
from textual.widgets import Tree
from textual.widgets.tree import TreeNode

from engine.graph import ScopeNode
from engine.session import DebugSession
from microgpt_tui.display import scope_frames as frames
from microgpt_tui.messages import ScopeSelected


class ScopeTree(Tree[str]):
    """The scope tree; a node's data is its scope path."""

    DEFAULT_CSS = """
    ScopeTree {
        background: $surface;
    }
    """

    def __init__(self, *, name: str | None = None, id: str | None = None) -> None:
        super().__init__("graph", data="", name=name, id=id)
        self.session: DebugSession | None = None
        self.show_root = False
        self.guide_depth = 2
        self._loaded: dict[str, TreeNode[str]] = {}  # path -> its tree node, once added
        self._filled: set[str] = set()  # paths whose children are added
        self._marks: tuple = (None, frozenset())  # the focus and breakpoints labels show
        self._drawn_size: Size | None = None  # the size of the last resize Tree handled

    def _on_resize(self, event: events.Resize) -> None:
        """Shown again at the size it had (back from another tab): its lines still hold.

        Textual sends a widget that shows again a resize even when its size is the same,
        and Tree drops its lines on every resize and asks for another layout of the
        screen, a frame later; at the same size that is work for nothing.
        """
        if event.size == self._drawn_size:
            event.prevent_default()  # (Tree's own handler is not called)
        self._drawn_size = event.size

    def show(self, session: DebugSession) -> None:
        """A new session: the top-level scopes (params, pos0, …, loss)."""
        self.session = session
        self.clear()
        self._loaded = {"": self.root}
        self._filled = set()
        self._marks = (session.focus, frozenset(session.breakpoints))
        self.root.data = ""
        self._fill(self.root)
        self.root.expand()

    def _scope(self, path: str) -> ScopeNode | None:
        return self.session.find_scope(path) if self.session is not None else None

    def _label(self, scope: ScopeNode) -> Text:
        session = self.session
        assert session is not None
        marks = ("◎" if session.focus == scope.path else "") + (
            "●" if scope.path in session.breakpoints else ""
        )
        return Text.assemble(
            (scope.name, "bold" if marks else ""),
            (f" {scope.total:,}", "dim"),
            (f" {marks}", "bold") if marks else "",
        )

    def _fill(self, tree_node: TreeNode[str]) -> None:
        """Add a branch's children (once)."""
        path = tree_node.data or ""
        if path in self._filled:
            return
        self._filled.add(path)
        scope = self._scope(path)
        if scope is None:
            return
        for child in scope.children.values():
            added = tree_node.add(
                self._label(child), data=child.path, allow_expand=bool(child.children)
            )
            self._loaded[child.path] = added

    def on_tree_node_expanded(self, event: Tree.NodeExpanded[str]) -> None:
        event.stop()
        self._fill(event.node)

    def on_tree_node_selected(self, event: Tree.NodeSelected[str]) -> None:
        event.stop()
        if event.node.data:
            self.post_message(ScopeSelected(event.node.data))

    def refresh_marks(self) -> None:
        """Relabel the loaded scopes if focus or breakpoints changed."""
        session = self.session
        if session is None:
            return
        marks = (session.focus, frozenset(session.breakpoints))
        if marks == self._marks:
            return
        self._marks = marks
        for path, tree_node in self._loaded.items():
            scope = self._scope(path)
            if path and scope is not None:
                tree_node.set_label(self._label(scope))

    def reveal(self, path: str) -> None:
        """Open the branches down to `path` and put the tree's cursor on it."""
        if self.session is None:
            return
        tree_node: TreeNode[str] | None = None
        for prefix in reversed(frames(path)):
            tree_node = self._loaded.get(prefix)
            if tree_node is None:
                break
            if prefix != path:
                self._fill(tree_node)
                tree_node.expand()
        if tree_node is not None and tree_node.data == path:
            # lines are laid out on the next refresh: move the cursor then
            self.call_after_refresh(self.move_cursor, tree_node, False)
