"""The footer: the keys of the screen, fewer of them when the terminal is narrow.

Below 120 columns the footer keeps only the keys marked `narrow` in
`microgpt_tui.keys` (stepping, focus, the next panel, help, quit), so it fits; a
narrow key the wide footer leaves out (`v`, the next panel) is added.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.reactive import reactive
from textual.widgets import Footer
from textual.widgets._footer import FooterKey

from microgpt_tui.keys import APP_KEYS, DEBUGGER_KEYS

NARROW_KEYS = frozenset(key.key for key in DEBUGGER_KEYS + APP_KEYS if key.narrow)


class KeyFooter(Footer):
    """Textual's footer; `narrow` keeps only the keys that matter most."""

    narrow: reactive[bool] = reactive(False, recompose=True)

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
