"""How an export looks: the two themes, and how nodes, stubs and overview boxes are drawn.

Labels are Graphviz's HTML-like labels; every text in them is escaped.
"""

from __future__ import annotations

import html
import os
from dataclasses import dataclass

import graphviz

from engine.errors import InputError
from engine.export.overview import Box
from engine.graph import scope_position
from engine.value import Value

THEMES = ("light", "dark")

# How each op is drawn in a node's title (microgpt's ops; `neg sub div` are built from them).
OP_SYMBOLS = {"+": "+", "*": "×", "**": "pow", "log": "log", "exp": "exp", "relu": "relu"}


@dataclass(frozen=True)
class Theme:
    """Colours for one background."""

    background: str
    text: str
    faint: str  # secondary text: op names, counts, stub labels
    edge: str
    op_fill: str
    op_line: str
    param_fill: str
    param_line: str
    const_fill: str
    grad: str  # the grad line of a node
    cluster_fill: str
    cluster_line: str
    highlight_fill: str
    highlight_line: str


THEME_STYLES = {
    "light": Theme(
        background="white",
        text="#1f2328",
        faint="#6e7781",
        edge="#8c959f",
        op_fill="#ddeaff",
        op_line="#3b6fb6",
        param_fill="#fff1c2",
        param_line="#b07d00",
        const_fill="#eeeeee",
        grad="#b42318",
        cluster_fill="#f6f8fa",
        cluster_line="#afb8c1",
        highlight_fill="#ffd8d3",
        highlight_line="#d1242f",
    ),
    "dark": Theme(
        background="#1b1f24",
        text="#e6edf3",
        faint="#9198a1",
        edge="#6e7681",
        op_fill="#1f3a5f",
        op_line="#6ea8fe",
        param_fill="#4a3b0c",
        param_line="#e3b341",
        const_fill="#30363d",
        grad="#ff9b8a",
        cluster_fill="#22272e",
        cluster_line="#444c56",
        highlight_fill="#5c1d1d",
        highlight_line="#ff6b6b",
    ),
}

FONT = "Helvetica"


def theme_style(name: str) -> Theme:
    """The colours of theme `name`; InputError naming the themes if there is none."""
    style = THEME_STYLES.get(name)
    if style is None:
        raise InputError(f"unknown theme {name!r}: use {' or '.join(THEMES)}")
    return style


def fmt4(x: float) -> str:
    """A number to 4 significant digits (`0.3124`, `-1.235e-05`)."""
    return format(x, ".4g")


def esc(text: object) -> str:
    return html.escape(str(text), quote=True)


def html_label(body: str) -> str:
    """Mark a label as Graphviz's HTML-like label (the `graphviz` package passes <...> as is)."""
    return f"<{body}>"


def tooltip(node: Value) -> str:
    site = ""
    code = getattr(node, "code", None)
    if code is not None:
        site = f" · {os.path.basename(code.co_filename)}:{node.line}"
    name = f" {node.label}" if node.label else ""
    return (
        f"#{node.id} {node.op}{name} in {node.scope or '(top)'}{site}\n"
        f"value {node.data!r}\ngrad {node.grad!r}"
    )


def stub_text(node: Value) -> str:
    """A stub's one line: its label (or id and op), and the position it was computed at."""
    name = node.label or f"#{node.id} {OP_SYMBOLS.get(node.op, node.op)}"
    pos = scope_position(node.scope)
    return name if pos is None else f"{name} · pos{pos}"


class Styler:
    """Draws nodes, stubs and boxes in one theme."""

    def __init__(self, theme: Theme, highlight: int | None) -> None:
        self.t = theme
        self.highlight = highlight

    def _grad_line(self, grad: float, size: int) -> str:
        return f'<font point-size="{size}" color="{self.t.grad}">∇ {esc(fmt4(grad))}</font>'

    def node(self, g: graphviz.Digraph, node: Value) -> None:
        t, lit = self.t, node.id == self.highlight
        attrs: dict[str, str] = {"tooltip": tooltip(node)}
        if node.op == "const":
            # a constant: only its value matters (the 0 that `sum()` starts from, a scale, ...)
            label = f'<font point-size="10" color="{t.faint}">{esc(fmt4(node.data))}</font>'
            attrs.update(shape="ellipse", style="filled", fillcolor=t.const_fill, color=t.faint)
            attrs.update(margin="0.02,0.01", height="0.25", width="0.3", penwidth="0.6")
        elif node.op == "param":
            label = (
                f"<b>{esc(node.label or '#' + str(node.id))}</b><br/>"
                f"{esc(fmt4(node.data))}<br/>{self._grad_line(node.grad, 10)}"
            )
            attrs.update(shape="box", style="filled", fillcolor=t.param_fill, color=t.param_line)
        else:
            symbol = OP_SYMBOLS.get(node.op, node.op)
            if node.label:
                title = f'<b>{esc(node.label)}</b> <font color="{t.faint}">{esc(symbol)}</font>'
            else:
                title = f"<b>{esc(symbol)}</b>"
            label = f"{title}<br/>{esc(fmt4(node.data))}<br/>{self._grad_line(node.grad, 10)}"
            attrs.update(shape="box", style="rounded,filled", fillcolor=t.op_fill, color=t.op_line)
        if lit:
            attrs.update(fillcolor=t.highlight_fill, color=t.highlight_line, penwidth="3")
        g.node(f"n{node.id}", html_label(label), **attrs)

    def stub(self, g: graphviz.Digraph, node: Value) -> None:
        """An input from outside the selection: small, dashed, its name and its position."""
        t, lit = self.t, node.id == self.highlight
        g.node(
            f"s{node.id}",
            html_label(f'<font color="{t.faint}">{esc(stub_text(node))}</font>'),
            shape="box",
            style="dashed,rounded" + (",filled" if lit else ""),
            color=t.highlight_line if lit else t.faint,
            fillcolor=t.highlight_fill,
            fontsize="10",
            margin="0.05,0.02",
            height="0.22",
            penwidth="3" if lit else "0.8",
            tooltip=tooltip(node),
        )

    def box(self, g: graphviz.Digraph, box: Box, lit: bool) -> None:
        t = self.t
        unit = "params" if box.kind == "params" else "nodes"
        label = (
            f'<b>{esc(box.title)}</b><br/><font point-size="10" color="{t.faint}">'
            f"{box.count:,} {unit}</font>"
        )
        params = box.kind == "params"
        fill, line = (t.param_fill, t.param_line) if params else (t.op_fill, t.op_line)
        g.node(
            box_id(box.key),
            html_label(label),
            shape="box",
            style="filled" if box.kind == "params" else "rounded,filled",
            fillcolor=t.highlight_fill if lit else fill,
            color=t.highlight_line if lit else line,
            penwidth="3" if lit else "1",
            tooltip=f"{box.key}: {box.count:,} {unit}",
        )


def box_id(key: str) -> str:
    return f"box_{key}"  # no colon: in an edge, `a:b` would mean node a, port b
