"""A text field whose editing keys act in the order they are typed.

Textual's `Input` inserts a printable key as soon as it reads it, but an editing
key (ctrl+u, home, backspace…) is a binding that runs only after the key has gone
up to the app and back, so in a burst (`ctrl+u` `2`, typed fast or pasted) the `2`
lands first and ctrl+u then deletes it. `Field` runs its own bindings as it reads
the key, so every key acts in order.
"""

from __future__ import annotations

from textual import events
from textual.widgets import Input


class Field(Input):
    """An `Input` whose own bindings act in the order the keys come."""

    async def _on_key(self, event: events.Key) -> None:
        # (Textual then calls Input._on_key too, unless the default is prevented)
        if event.is_printable:
            return
        for binding in self._bindings.key_to_bindings.get(event.key, ()):
            if await self.app.run_action(binding.action, self):
                event.stop()
                event.prevent_default()
                return
