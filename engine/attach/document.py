"""The document a captured graph was built from, when the script names it as microgpt does.

microgpt keeps the current document in `doc`, its token ids in `tokens` and the
vocabulary in `uchars`. They name the captured graph's document only if

- the script bound `doc` or `tokens` anew since the previous `backward()` call: a
  script that accumulates a second document under other names (`doc2`) still
  has the first one's in `doc`;
- every loop around a binding of `doc` is still running at the call: a batch
  (`for b in range(2): doc = ...`) leaves only its last document in `doc`, while
  the graph holds them all.

Otherwise the document is unknown (None), not wrong.
"""

from __future__ import annotations

from dataclasses import dataclass

from engine.data import Tokenizer
from engine.errors import InputError

_UNSET = object()


def _lookup(spaces: list[dict], name: str) -> object:
    for space in spaces:  # innermost first
        if name in space:
            return space[name]
    return None


@dataclass(frozen=True)
class Document:
    """The script's `doc`, `tokens` and `uchars` at a backward() call."""

    doc: object
    tokens: object
    uchars: object
    fresh: bool  # the graph's own: bound anew since the call before, no loop left since

    @classmethod
    def empty(cls) -> Document:
        return cls(_UNSET, _UNSET, None, fresh=False)

    def seen_at(self, spaces: list[dict], settled: bool = True) -> Document:
        """The names at the next backward() call (`self` is the call before).

        `settled`: every loop around a binding of `doc` is running at this call.
        """
        doc, tokens = _lookup(spaces, "doc"), _lookup(spaces, "tokens")
        rebound = self.doc is _UNSET or doc is not self.doc or tokens is not self.tokens
        return Document(doc, tokens, _lookup(spaces, "uchars"), rebound and settled)

    def tokenizer(self) -> Tokenizer | None:
        """microgpt's character tokenizer over `uchars`, if the script has one."""
        uchars = self.uchars
        if not isinstance(uchars, (list, str)) or not all(
            isinstance(c, str) and len(c) == 1 for c in uchars
        ):
            return None
        try:
            return Tokenizer("".join(uchars))
        except InputError:
            return None

    def resolve(self) -> tuple[list[int], Tokenizer | None, str | None]:
        """(token ids, tokenizer, document text) of the graph; [] and None where unknown."""
        tokenizer = self.tokenizer()
        if not self.fresh:
            return [], tokenizer, None
        tokens = self.tokens
        ok_tokens = (
            tokenizer is not None
            and isinstance(tokens, list)
            and all(isinstance(t, int) and 0 <= t < tokenizer.vocab_size for t in tokens)
        )
        doc = self.doc if isinstance(self.doc, str) else None
        return (list(tokens) if ok_tokens else []), tokenizer, doc
