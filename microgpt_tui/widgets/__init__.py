"""The debugger's widgets, one per module."""

from microgpt_tui.widgets.attention import AttentionView
from microgpt_tui.widgets.call_stack import CallStack
from microgpt_tui.widgets.gradient_view import GradientView
from microgpt_tui.widgets.graph_view import GraphView
from microgpt_tui.widgets.inspector import Inspector
from microgpt_tui.widgets.parameters import ParametersView
from microgpt_tui.widgets.path_graph import PathGraphView
from microgpt_tui.widgets.scope_tree import ScopeTree
from microgpt_tui.widgets.source import SourceView
from microgpt_tui.widgets.status import StatusLine
from microgpt_tui.widgets.training_view import TrainingView

__all__ = [
    "AttentionView",
    "CallStack",
    "GradientView",
    "GraphView",
    "Inspector",
    "ParametersView",
    "PathGraphView",
    "ScopeTree",
    "SourceView",
    "StatusLine",
    "TrainingView",
]
