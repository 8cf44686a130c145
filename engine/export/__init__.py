"""Export part of a captured graph with Graphviz: DOT source, or SVG / PNG / PDF through `dot`.

Three selections (`selection`): the nodes of a scope (`pos3.layer0.attn.head1`),
a node and its inputs (or consumers) a few levels away, or an overview
(`overview`) where each scope is one box with its node count and the edges
between boxes count the values that flow. Inputs from outside a selection are
drawn as small dashed stubs, never dropped.

At vector level (`Selection.level`), a scope or the overview (one token's
forward pass) is drawn as vectors and the ops between them, each vector's
values and grads as cells (`vector_view`, `vector_style`, `vector_digraph`);
`export_frames` writes one picture per vector step of the backward pass.
`export_routes` (`routes`) draws the routes carrying most of a node's gradient
(`export --paths-to`).

`build_digraph` (`digraph`, drawn with `style` and `clusters`) makes a
`graphviz.Digraph` (pure Python, no binary needed); `export` (`exporting`)
writes it: DOT directly, images by running Graphviz's `dot` under a timeout
(`render`). Every refusal is an `InputError`; the structured ones
(`errors`: too many nodes, an unknown format, no `dot`, a timeout) carry
their data, so the command line and the dialog can word their own advice.
"""

from engine.export.digraph import build_digraph
from engine.export.errors import (
    DotFailed,
    DotMissing,
    DotTimedOut,
    FormatMismatch,
    TooManyNodes,
    UnknownFormat,
)
from engine.export.exporting import DEFAULT_MAX_NODES, Exported, export, too_many
from engine.export.overview import Box, Overview, box_paths, overview
from engine.export.render import (
    DEFAULT_DPI,
    DEFAULT_TIMEOUT,
    FORMATS,
    INSTALL_HINT,
    dot_binary,
    format_for_file,
    render_source,
    resolve_format,
)
from engine.export.routes import export_routes
from engine.export.selection import (
    LEVELS,
    Selection,
    Subgraph,
    outside_inputs,
    scope_paths,
    select,
    unknown_scope_message,
)
from engine.export.style import OP_SYMBOLS, THEME_STYLES, THEMES, Theme, fmt4, stub_text
from engine.export.vector_export import export_frames
from engine.export.vector_view import VectorView, vector_view

__all__ = [
    "DEFAULT_DPI",
    "DEFAULT_MAX_NODES",
    "DEFAULT_TIMEOUT",
    "FORMATS",
    "INSTALL_HINT",
    "LEVELS",
    "OP_SYMBOLS",
    "THEMES",
    "THEME_STYLES",
    "Box",
    "DotFailed",
    "DotMissing",
    "DotTimedOut",
    "Exported",
    "FormatMismatch",
    "Overview",
    "Selection",
    "Subgraph",
    "Theme",
    "TooManyNodes",
    "UnknownFormat",
    "box_paths",
    "build_digraph",
    "dot_binary",
    "export",
    "export_frames",
    "export_routes",
    "fmt4",
    "format_for_file",
    "outside_inputs",
    "overview",
    "render_source",
    "resolve_format",
    "scope_paths",
    "select",
    "stub_text",
    "too_many",
    "unknown_scope_message",
    "vector_view",
    "VectorView",
]
