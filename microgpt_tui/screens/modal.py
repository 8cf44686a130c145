"""What the debugger's modal screens share: they close exactly once."""

from __future__ import annotations

from typing import Any, TypeVar

from textual.await_complete import AwaitComplete
from textual.screen import ModalScreen

Result = TypeVar("Result")


async def _nothing() -> None:
    return None


class DismissOnce:
    """Mixin for a modal screen: a second dismissal is ignored.

    Events already queued for a screen when it closes (a second escape, a click on
    Cancel, a double click on a result) still reach it; dismissing it again would
    pop the screen below it, or leave no screen at all. The screen is still the
    active one until the first pop completes, so a flag, not `is_active`, tells
    that a dismissal is already under way. (The app pushes a new instance each
    time, so the flag never needs resetting.)
    """

    _dismissing = False

    def dismiss(self, result: Any = None) -> AwaitComplete:
        if self._dismissing or not self.is_active:  # type: ignore[attr-defined]
            return AwaitComplete(_nothing())
        self._dismissing = True
        return super().dismiss(result)  # type: ignore[misc]


class Modal(DismissOnce, ModalScreen[Result]):
    """A ModalScreen that closes exactly once."""
