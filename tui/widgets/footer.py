"""A Footer that rebuilds only when what it shows changes, and only while its screen is on top."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.widgets import Footer

if TYPE_CHECKING:
    from textual.screen import Screen

Shown = tuple[tuple[str, str, str, bool, str, str], ...]


class SteadyFooter(Footer):
    """Textual's Footer recomposes on every bindings refresh. A recompose relayouts its screen, and
    when that screen lies under a modal, the modal repaints the whole terminal: over a slow SSH link
    every byte counts, and the keys shown have usually not changed at all.
    """

    def __init__(self, *, compact: bool = True) -> None:
        super().__init__(compact=compact)
        self._shown: Shown | None = None

    def _what_it_would_show(self) -> Shown:
        return tuple(
            (
                binding.key,
                self.app.get_key_display(binding),
                binding.description,
                enabled,
                tooltip,
                binding.action,
            )
            for (_, binding, enabled, tooltip) in self.screen.active_bindings.values()
            if binding.show
        )

    def bindings_changed(self, screen: Screen) -> None:
        if not self.is_attached or screen is not self.screen or not screen.is_current:
            # A screen under a modal: the keys are re-read when it is on top again.
            return
        shown = self._what_it_would_show()
        if shown == self._shown:
            return
        self._shown = shown
        super().bindings_changed(screen)
