"""Keys run the bindings of the screen they were typed on, or none.

Textual runs a key's binding once the key has bubbled back up to the app, and looks the binding up
on the screen on top at that moment. Keys typed in one burst (a paste, a slow SSH link delivering
several at once) are all handed to the focused widget first; if one of them changes the screen
(``b``: BACK, ``A``: a dialog that asks), the ones after it would run on the new screen: a ``d``
typed on Download opened Download again from Manage Licenses, a ``y`` typed before the dialog
showed answered it, and a pick in a dialog that had gone stopped the app. A key whose screen is no
longer on top is dropped instead, so nothing runs that the user did not see.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual import events

if TYPE_CHECKING:
    from textual.screen import Screen

TYPED_ON = "_smartlic_typed_on"


class KeysStayOnTheirScreen:
    """Mixin for the App (before ``App`` in the bases)."""

    if TYPE_CHECKING:
        screen: Screen[object]

    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, events.Key) and not event.is_forwarded:
            setattr(event, TYPED_ON, self.screen)
        await super().on_event(event)  # type: ignore[misc]

    async def _on_key(self, event: events.Key) -> None:
        # Textual calls the ``_on_key`` of every class in the MRO in turn (no super() here);
        # prevent_default stops it before App's, which would run the binding.
        typed_on = getattr(event, TYPED_ON, None)
        if typed_on is not None and typed_on is not self.screen:
            event.prevent_default()
