"""The debugger's widgets, one per module."""

from microgpt_tui.widgets.attention import AttentionView
from microgpt_tui.widgets.call_stack import CallStack
from microgpt_tui.widgets.graph_view import GraphView
from microgpt_tui.widgets.inspector import Inspector
from microgpt_tui.widgets.parameters import ParametersView
from microgpt_tui.widgets.scope_tree import ScopeTree
from microgpt_tui.widgets.source import SourceView
from microgpt_tui.widgets.status import StatusLine

__all__ = [
    "AttentionView",
    "CallStack",
    "GraphView",
    "Inspector",
    "ParametersView",
    "ScopeTree",
    "SourceView",
    "StatusLine",
]
