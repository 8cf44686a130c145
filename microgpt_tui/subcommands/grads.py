"""`microgpt-tui grads`: the loss of one document (or position) and every parameter's gradient.

Also the gradient table for a person, which `attach --grads` prints too, and
`--check NAME`: one parameter's gradient checked by nudging (central differences
on the replayed forward pass, `engine.explain.nudge`), in one line.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Iterator, Mapping
from typing import Any

from engine.capture import Capture, capture_loss
from engine.explain.nudge import GradCheck, check_gradient, find_parameter
from engine.report import grads_report, report_json
from engine.session import resolve_position
from engine.workspace import open_workspace
from microgpt_tui.subcommands.options import add_doc_options, add_model_options, model_options
from microgpt_tui.subcommands.tracing import announced

TOP = 10  # the largest gradients listed by name


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("grads", description=__doc__.splitlines()[0])
    add_model_options(p)
    add_doc_options(p)
    p.add_argument("--json", action="store_true", help="print JSON")
    p.add_argument(
        "--check",
        metavar="NAME",
        help="instead of the table, check parameter NAME's gradient by nudging it ±h "
        "(e.g. wte[4][0], layer0.attn_wq[3][7]): one line, or with --json one object",
    )
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Trace the loss, run backward, print the report (JSON or a table)."""
    ws = open_workspace(**model_options(args))
    tokens = ws.tokenizer.encode(args.doc)
    pos = None if args.pos is None else resolve_position(ws.model, tokens, args.pos)
    with announced(ws.model, tokens, pos):
        capture = capture_loss(ws.model, tokens, pos)
    if args.check is not None:
        return _check(capture, args.check, as_json=args.json)
    capture.backward()
    # The capture's own parameter nodes hold the grads.
    report = grads_report(
        capture.root.data, args.doc, pos, len(capture.nodes), capture.model.state_dict
    )
    if args.json:
        print(report_json(report))
        return 0
    n = ws.model.config.positions(tokens)
    if pos is None:
        what = f"document loss, the mean over positions 0..{n - 1}"
    else:
        here, target = (ws.tokenizer.token_text(t) for t in tokens[pos : pos + 2])
        what = f"position {pos}'s loss ({here} -> {target})"
    print(f"model   {ws.source}")
    print(f"doc     {args.doc!r}: {what}")
    print(f"loss    {report['loss']:.6f}")
    print(
        f"nodes   {report['nodes']} (the loss depends on them, parameters and constants included)"
    )
    print_grads_table(report["grads"])
    return 0


def _check(capture: Capture, name: str, *, as_json: bool) -> int:
    """Check one parameter's gradient by central differences and print the result."""
    check = check_gradient(capture, find_parameter(capture, name))
    print(report_json(check_report(check)) if as_json else check_line(check))
    return 0


def check_report(check: GradCheck) -> dict[str, Any]:
    """A finite-difference check as JSON: the numbers, the verdict at 1e-6."""
    return {
        "parameter": check.name,
        "method": check.method,
        "x": check.x,
        "h": check.h,
        "numeric": check.numeric,
        "analytic": check.analytic,
        "rel_error": check.rel_error,
        "agrees": check.agrees(),
        "note": check.note,
    }


def check_line(check: GradCheck) -> str:
    """`wte[4][0]  (L(x+h) − L(x−h))/2h = … · grad = … · rel. error 3.1e-10 · h = 1e-08 ✓`."""
    verdict = "agrees" if check.agrees() else "DISAGREES (rel. error ≥ 1e-6)"
    note = f" ({check.note})" if check.note else ""
    return (
        f"{check.name}  (L(x+h) − L(x−h))/2h = {check.numeric:+.12e}  "
        f"grad = {check.analytic:+.12e}  rel. error {check.rel_error:.1e}  "
        f"h = {check.h:.3g}: {verdict}{note}"
    )


def print_grads_table(grads: Mapping[str, Any]) -> None:
    """The gradients for a person: the largest |grad| by name, then one line per parameter."""
    flat = [
        (abs(g), g, name + "".join(f"[{i}]" for i in index))
        for name, values in grads.items()
        for index, g in _leaves(values)
    ]
    nonzero = sum(1 for a, _, _ in flat if a)
    print(f"params  {len(flat)}, {nonzero} with a nonzero gradient")
    print("\nlargest |grad|:")
    top = sorted(flat, key=lambda t: t[0], reverse=True)[:TOP]
    width = max((len(label) for _, _, label in top), default=0)
    for rank, (_, g, label) in enumerate(top, 1):
        print(f"  {rank:2d}  {label:<{width}}  {g:+.6e}")
    print("\nper matrix:            shape    max |grad|    norm")
    for name, values in grads.items():
        flat_values = [g for _, g in _leaves(values)]
        peak = max((abs(g) for g in flat_values), default=0.0)
        norm = math.sqrt(sum(g * g for g in flat_values))
        print(f"  {name:<18} {_shape(values):>7}  {peak:.6e}  {norm:.6e}")


def _leaves(values: Any, index: tuple[int, ...] = ()) -> Iterator[tuple[tuple[int, ...], float]]:
    """(index, grad) for every number in nested lists, in row-major order."""
    if isinstance(values, list):
        for i, inner in enumerate(values):
            yield from _leaves(inner, (*index, i))
    else:
        yield index, values


def _shape(values: Any) -> str:
    """`16x27` for a matrix, `16` for a vector, `1` for a number (read along first elements)."""
    dims = []
    while isinstance(values, list):
        dims.append(len(values))
        values = values[0] if values else None
    return "x".join(map(str, dims)) or "1"
