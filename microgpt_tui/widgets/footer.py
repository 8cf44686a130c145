"""The footer: the keys of the screen, fewer of them when the terminal is narrow.

Below 120 columns the footer keeps only the keys marked `narrow` in
`microgpt_tui.keys` (stepping, the level, focus, the next panel, help, quit), so it fits;
a narrow key the wide footer leaves out (`.`, the next panel) is added.

Textual's footer rebuilds itself whenever the active bindings change (the focus moves
to another panel, a dialog closes), which costs a layout of the screen; this one
rebuilds only when what it shows would change (and the panels keep their own keys
out of it, naming them in their titles: so moving between panels changes nothing here).
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.reactive import reactive
from textual.screen import Screen
from textual.widgets import Footer
from textual.widgets._footer import FooterKey

from microgpt_tui.keys import APP_KEYS, DEBUGGER_KEYS

NARROW_KEYS = frozenset(key.key for key in DEBUGGER_KEYS + APP_KEYS if key.narrow)


class KeyFooter(Footer):
    """Textual's footer; `narrow` keeps only the keys that matter most."""

    narrow: reactive[bool] = reactive(False, recompose=True)

    _shown: tuple = ()  # what the last rebuild showed

    def bindings_changed(self, screen: Screen) -> None:
        if not self.is_attached or screen is not self.screen:
            return super().bindings_changed(screen)
        if self.screen is not self.app.screen:
            return  # a dialog is up: its keys are the ones that work (it shows them itself)
        shown = (self.narrow, *self._bindings_shown(screen))
        if shown != self._shown:
            self._shown = shown
            super().bindings_changed(screen)
        else:
            self._bindings_ready = True

    def _bindings_shown(self, screen: Screen) -> list[tuple]:
        """What the footer would show of the screen's active bindings."""
        return [
            (binding.key, binding.description, enabled, tooltip)
            for _node, binding, enabled, tooltip in screen.active_bindings.values()
            if binding.show or (self.narrow and binding.key in NARROW_KEYS)
        ]

    def compose(self) -> ComposeResult:
        for widget in super().compose():
            if not self.narrow or not isinstance(widget, FooterKey):
                yield widget
                continue
            if widget.has_class("-command-palette"):
                yield from self._narrow_only()
                yield widget
            elif widget.key in NARROW_KEYS:
                yield widget

    def _narrow_only(self) -> ComposeResult:
        """The narrow keys the wide footer does not show (`show=False`), if they are active."""
        for _node, binding, enabled, tooltip in self.screen.active_bindings.values():
            if binding.key in NARROW_KEYS and not binding.show:
                yield FooterKey(
                    binding.key,
                    self.app.get_key_display(binding),
                    binding.description,
                    binding.action,
                    disabled=not enabled,
                    tooltip=tooltip or binding.description,
                ).data_bind(compact=Footer.compact)
