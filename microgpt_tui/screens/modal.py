"""What the debugger's modal screens share: they close exactly once, and lose no key.

Keys typed fast after the key that opens a dialog (`d`, then `olivia`) reach the app
before the dialog has put the cursor in its first field; Textual would hand them to
the dialog itself, which drops them. So a dialog is not `ready` until its first
focus is set, and the app holds the keys that arrive meanwhile, then hands them on
in order (`DebuggerApp.on_event`). Tab moves the focus at once, too, as the app
reads it: the keys typed behind it go to the next field, not the one it left.
"""

from __future__ import annotations

from typing import Any, TypeVar

from textual.await_complete import AwaitComplete
from textual.binding import Binding
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


class ReadyOnceFocused:
    """Mixin for a screen: `ready` once the focus its `on_mount` asked for is set.

    `Widget.focus()` sets the focus through the app's queue; asking the app to call
    back through the same queue afterwards marks the moment it is done.
    """

    ready = False

    def on_mount(self) -> None:
        self.app.call_later(self._now_ready)  # type: ignore[attr-defined]

    async def _now_ready(self) -> None:
        self.ready = True
        release = getattr(self.app, "release_held_keys", None)  # type: ignore[attr-defined]
        if release is not None:
            await release()


FOCUS_KEYS = [
    Binding("tab", "app.focus_next", "Next field", show=False, priority=True),
    Binding("shift+tab", "app.focus_previous", "Previous field", show=False, priority=True),
]
"""Tab and shift+tab, run as the app reads them (Textual's own wait for the focused field)."""


class Modal(ReadyOnceFocused, DismissOnce, ModalScreen[Result]):
    """A ModalScreen that closes exactly once and loses no key typed while it opens.

    Subclasses add `FOCUS_KEYS` to their BINDINGS when they have more than one field.
    """
