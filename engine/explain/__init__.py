"""Explaining a gradient: where it came from, why each local gradient is what it is, and a check.

`GradInspector(session)` answers all of it for one session and caches the work:

- `final_grads`: the grads a full `backward()` leaves, computed aside (the walk is untouched);
  `recorded_grads`: for a script's own backward() (attach), the script's, from its record;
- `shares`: a grad split by the position whose loss sent it, and by consumer scope;
- `paths`: the top-k paths from the loss to a node, ranked by their product;
- `local_grads` (with `ops` and `composites`): each op's local gradient in words and
  a formula on the real numbers, and how microgpt builds the ops it has no node for;
- `replay` and `nudge`: the forward pass replayed with one value nudged, and the
  central finite-difference check of a gradient.
"""

from engine.explain.inspector import GradInspector

__all__ = ["GradInspector"]
