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
    pop the screen below it, or raise when that is the last one.
    """

    def dismiss(self, result: Any = None) -> AwaitComplete:
        if not self.is_active:  # type: ignore[attr-defined]
            return AwaitComplete(_nothing())
        return super().dismiss(result)  # type: ignore[misc]


class Modal(DismissOnce, ModalScreen[Result]):
    """A ModalScreen that closes exactly once."""
