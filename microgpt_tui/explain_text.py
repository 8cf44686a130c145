"""The gradient tab's words: a node's grad explained, as lines of (text, style) pieces.

Four sections, each a function of the engine's answers (`engine.explain`), so the
numbers are the engine's own floats, only rounded for display:

- the check by nudging: (L(x+h) − L(x−h)) / 2h beside the analytic grad;
- where the gradient came from: shares by position and by consumer scope (after
  the grad the node held before backward(), for a script's grads accumulated over
  calls), with the remainder and how the shares were summed;
- the top paths from the loss, node by node, with the running product;
- why this local gradient: the op in words, its derivative on the numbers, and
  how microgpt builds the ops it has no node for.
"""

from __future__ import annotations

import textwrap

from engine.explain.local_grads import Explanation
from engine.explain.nudge import GradCheck
from engine.explain.paths import GradPath
from engine.explain.shares import BY_POSITION, HELD_ABOVE, SEED, GradSplit
from microgpt_tui.display import node_name, num

Line = list[tuple[str, str]]  # (text, style) pieces: what `widgets.text_lines.TextLines` shows

BAR = 16  # the widest share bar, in cells
RANKS = "①②③④⑤⑥⑦⑧⑨"


def rank_mark(rank: int) -> str:
    """①, ②, … for path 1, 2, … (then #10, #11, …)."""
    return RANKS[rank - 1] if 1 <= rank <= len(RANKS) else f"#{rank}"


def _sign(x: float) -> str:
    return "negative" if x < 0 else "positive"


def _number(x: float) -> tuple[str, str]:
    return f"{x:+.12e}", _sign(x)


def _title(text: str, hint: str = "") -> Line:
    return [(text, "title")] + ([(f"   {hint}", "muted")] if hint else [])


def wrapped(text: str, width: int, indent: str = "  ", style: str = "") -> list[Line]:
    """A paragraph wrapped to `width` columns, each line indented."""
    width = max(20, width - len(indent))
    return [[(indent + part, style)] for part in textwrap.wrap(text, width)] or [[("", "")]]


def header(node_text: str, grad: float | None, *, scripts: bool = False) -> list[Line]:
    """The node and its final grad (None: still computing); `scripts`: the grad is what the
    script's own backward() left (attach), not microgpt's."""
    shown: Line = [("  final grad ", "muted")]
    if grad is None:
        shown.append(("… computing", "muted"))
    else:
        left = "what the script's backward() left" if scripts else "what a full backward() leaves"
        shown += [(repr(float(grad)), _sign(grad)), (f"   ({left})", "muted")]
    return [[(node_text, "bold")], shown]


# -- the check by nudging ------------------------------------------------------------------


def check_lines(check: GradCheck | None, progress: float | None, error: str) -> list[Line]:
    """The check's section: how to start it, its progress, its result or why it failed."""
    lines = [_title("check by nudging", "x: replay the forward pass with the value ±h")]
    if error:
        return lines + [[("  " + error, "negative")]]
    if progress is not None:
        filled = round(progress * 20)
        bar = "█" * filled + "░" * (20 - filled)
        return lines + [[(f"  replaying… {bar} {progress:4.0%}", "accent")]]
    if check is None:
        return lines + [[("  not checked yet: press x", "muted")]]
    verdict = "agrees" if check.agrees() else "DISAGREES"
    lines += [
        [
            ("  (L(x+h) − L(x−h)) / 2h = ", "muted"),
            (f"{check.numeric:+.12e}", _sign(check.numeric)),
        ],
        [
            ("  analytic grad          = ", "muted"),
            (f"{check.analytic:+.12e}", _sign(check.analytic)),
        ],
        [
            ("  relative error ", "muted"),
            (f"{check.rel_error:.2e}", "bold"),
            ("  h = ", "muted"),
            (f"{check.h:.3g}", "bold"),
            ("  x = ", "muted"),
            (num(check.x, 6), ""),
            (f"  {verdict} (< 1e-6)" if check.agrees() else f"  {verdict} (≥ 1e-6)", "accent"),
        ],
        [(f"  L(x−h) = {check.loss_minus!r}   L(x+h) = {check.loss_plus!r}", "muted")],
    ]
    if check.note:
        lines.append([("  " + check.note, "warning")])
    return lines


# -- where the gradient came from ----------------------------------------------------------


HELD = "held before backward()"  # the line of a grad held as the call began


def split_lines(split: GradSplit) -> list[Line]:
    """One split's shares as signed bars (after the grad held before backward(), if
    any), then their sum and the remainder."""
    if split.by == BY_POSITION:
        lines = [_title("by position", "the share each position's loss sent")]
    else:
        lines = [_title("by consumer scope", "the terms its consumers sent, by their scope")]
    values = [abs(s.value) for s in split.shares] + [abs(split.held)]
    peak = max(values) or 1
    if split.held:
        lines.append(_bar_line(HELD, split.held, peak, "  before this call's shares"))
    for share in split.shares:
        key = _share_key(split, share.key)
        terms = "" if share.terms is None else f"  {share.terms} term{'s' * (share.terms != 1)}"
        lines.append(_bar_line(key, share.value, peak, terms))
    summed = "held + the shares" if split.held else "sum of the shares"
    lines.append([(f"  {summed:<24} {'':<{BAR}} {split.total:+.6e}", "")])
    lines.append(
        [
            (f"  remainder {split.remainder:+.3g}{_ulps(split)}", "accent"),
            (f"  {_how_summed(split)}", "muted"),
        ]
    )
    if split.note:
        lines.append([(f"  {split.note}", "warning")])
    return lines


def _bar_line(key: str, value: float, peak: float, after: str) -> Line:
    cells = round(abs(value) / peak * BAR)
    return [
        (f"  {key:<24} ", ""),
        (" " * cells, "minus" if value < 0 else "plus"),  # a bar, as a background
        (" " * (BAR - cells), ""),
        (f" {value:+.6e}", _sign(value)),
        (after, "muted"),
    ]


def _ulps(split: GradSplit) -> str:
    return f" ({split.remainder_ulps:.3g} ulp)" if split.remainder else ""


def _how_summed(split: GradSplit) -> str:
    """Why the remainder is what it is, in words."""
    if split.note:
        return "not only rounding (below)"
    whose = "the script's backward()" if split.scripts else "backward()"
    if split.same_order_as_backward:
        return f"the same additions {whose} made: the grad exactly"
    if split.remainder == 0:
        return f"added in another order than {whose}, and still the grad exactly"
    return f"added in another order than {whose}: float addition is not associative"


def _share_key(split: GradSplit, key: int | str | None) -> str:
    if key is None:
        return "the loss's mean"
    if key == SEED:
        return "the seed 1 (the loss)"
    if key == HELD_ABOVE:
        return "held above, passed down"
    return f"pos{key}" if split.by == BY_POSITION else str(key)


# -- the top paths -------------------------------------------------------------------------


def _share_of(product: float, grad: float, what: str = "the grad") -> str:
    """What one path carries, as a part of the grad: `(41.6% of the grad)`, or a multiple."""
    if not grad:
        return ""
    ratio = product / grad
    if abs(ratio) <= 1:
        return f"  ({ratio:.1%} of {what})"
    return f"  ({ratio:.3g}× {what}: other paths cancel part of it)"


def path_lines(paths: list[GradPath], count: int, grad: float, held: float = 0) -> list[Line]:
    """The top paths, each with its product and share of the grad (of what this backward()
    added to it, when the node held a grad before), then node by node."""
    many = f"{count:,}" if count < 10**15 else f"{count:.3e}"
    lines = [
        _title(
            f"top {len(paths)} of {many} path{'s' * (count != 1)} from the loss",
            "by |product of local gradients × upstream|; ①②③ in the graph",
        )
    ]
    if not paths:
        return lines + [[("  none: this node does not feed the loss", "muted")]]
    for rank, path in enumerate(paths, 1):
        share = (
            _share_of(path.product, grad - held, "this call's part")
            if held
            else _share_of(path.product, grad)
        )
        lines.append(
            [
                (f"  {rank_mark(rank)} product ", "path"),
                (f"{path.product:+.6e}", _sign(path.product)),
                (f"  {len(path.steps)} nodes{share}", "muted"),
            ]
        )
        for i, step in enumerate(path.steps):
            edge = "upstream" if step.local_grad is None else f"× {num(step.local_grad, 6)}"
            lines.append(
                [
                    (f"    {i:>3} ", "muted"),
                    (f"{edge:<14}", "accent"),
                    (f" {node_name(step.node):<34}", ""),
                    (f" → {step.product:+.6e}", _sign(step.product)),
                ]
            )
    return lines


# -- why this local gradient -----------------------------------------------------------------


def why_lines(why: Explanation, width: int) -> list[Line]:
    """The op in words, the forward formula and each input's derivative on the numbers."""
    lines = [_title(f"why this local gradient: {why.title} ({why.op})")]
    lines += wrapped(why.words, width)
    if why.forward:
        lines.append([("  " + why.forward, "bold")])
    for local in why.inputs:
        same = "= stored, to the bit" if local.agrees else "(as stored)"
        lines.append(
            [
                (f"  input {local.slot} {node_name(local.child):<28} ", ""),
                (local.text, "accent"),
                (f"  {same}", "muted"),
            ]
        )
        if local.words:
            lines += wrapped(local.words, width, indent="      ", style="muted")
    if why.exponent is not None and why.exponent.how:
        lines += wrapped(why.exponent.how, width, style="muted")
    if why.notes:
        lines.append(_title("how microgpt builds it"))
        for note in why.notes:
            lines += wrapped(note, width)
    if why.source:
        lines.append([("  made by  ", "muted"), (why.source, "")])
    return lines


def consumer_lines(node_id: int, consumers: list[Explanation], more: int) -> list[Line]:
    """The local gradient each consumer applies to this node: what multiplies into its grad."""
    if not consumers:
        return []
    lines = [_title("its consumers' local gradients for it", "grad = Σ local gradient × theirs")]
    for why in consumers:
        lines.append([(f"  {node_name(why.node)}  ", "bold"), (why.forward, "muted")])
        for local in why.inputs:
            if local.child.id == node_id:
                lines.append([(f"    input {local.slot}: ", "muted"), (local.text, "accent")])
    if more:
        lines.append([(f"  … and {more} more consumer{'s' * (more != 1)}", "muted")])
    return lines
