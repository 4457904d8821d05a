"""A screen that shows engine events coming from a worker through an ``EventRelay``."""

from __future__ import annotations

from typing import Any

from textual.screen import Screen

from migrate_tui.engine.model import Event
from migrate_tui.tui.messages import EngineEvents
from migrate_tui.tui.relay import EventRelay


class RelayedScreen(Screen[Any]):
    def __init__(self) -> None:
        super().__init__()
        self._relay: EventRelay | None = None
        self._drain_scheduled = False

    @property
    def relay(self) -> EventRelay:
        """The ``on_event`` to give the engine (created on first use, bound to this screen)."""
        if self._relay is None:
            self._relay = EventRelay(self, max_rate=self.app.settings.max_event_rate)
        return self._relay

    def on_engine_events(self, message: EngineEvents) -> None:
        if self._drain_scheduled:
            return
        wait = message.relay.wait_before_drain()
        if wait > 0:
            self._drain_scheduled = True
            self.set_timer(wait, self.drain_events)
        else:
            self.drain_events()

    def drain_events(self) -> None:
        """Show every event the relay holds (also called before handling a worker's end)."""
        self._drain_scheduled = False
        if self._relay is not None:
            events = self._relay.drain()
            if events:
                self.show_events(events)

    def show_events(self, events: list[Event]) -> None:
        """Draw a batch of events (in order).  Subclasses draw; by default nothing is shown."""
