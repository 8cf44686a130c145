"""Wrapping styled lines to a width without cutting a number: at spaces, continued indented.

A line is a list of (text, style) pieces. Wrapping breaks it only between words (a
word keeps its style); a word wider than the whole row, which no layout can show in
one row, is the only thing split. Continuation rows start with `indent` spaces.
"""

from __future__ import annotations

import re

Piece = tuple[str, str]
Line = list[Piece]

# a word with the spaces before it; an operator stays with the number after it (`→ 0.023`)
_WORD = re.compile(r"\s*(?:[→=×∂]|\+=)\s+\S+|\s*\S+|\s+")


def wrap_line(line: Line, width: int, indent: int = 4) -> list[Line]:
    """`line` as rows no wider than `width` (at least one row, even for an empty line)."""
    width = max(1, width)
    if sum(len(text) for text, _ in line) <= width:
        return [line]
    indent = min(indent, width // 2)
    rows: list[Line] = [[]]
    used = 0
    for text, style in line:
        for word in _WORD.findall(text):
            if used + len(word) > width and used > indent:  # a new row, without the spaces
                rows.append([(" " * indent, "")])
                used = indent
                word = word.lstrip(" ")
            while used + len(word) > width:  # wider than a whole row: split it
                room = width - used
                rows[-1].append((word[:room], style))
                rows.append([(" " * indent, "")])
                used, word = indent, word[room:]
            rows[-1].append((word, style))
            used += len(word)
    return [_merged(row) for row in rows]


def _merged(row: Line) -> Line:
    """Neighbouring pieces of one style as one piece (fewer segments to paint)."""
    out: Line = []
    for text, style in row:
        if out and out[-1][1] == style:
            out[-1] = (out[-1][0] + text, style)
        elif text:
            out.append((text, style))
    return out
