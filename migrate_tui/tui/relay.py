"""Carry engine events from a worker thread to a screen without flooding the event loop.

The worker calls the relay for every event (thousands per second on a big workspace).  The
relay keeps them in a buffer, folds consecutive progress events of one phase into the latest,
and posts one ``EngineEvents`` message only when none is pending; the screen drains the
buffer at most ``max_rate`` times a second.  The worker never waits for the UI.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from textual.message_pump import MessagePump

from migrate_tui.engine import Progress
from migrate_tui.engine.model import Event
from migrate_tui.tui.messages import EngineEvents


class EventRelay:
    def __init__(self, target: MessagePump, *, max_rate: float = 20.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._target = target
        self._interval = 1.0 / max_rate
        self._clock = clock
        self._lock = threading.Lock()
        self._pending: list[Event] = []
        self._posted = False
        self._last_drain = float("-inf")

    def __call__(self, event: Event) -> None:
        """The engine's ``on_event``; called in the worker thread."""
        with self._lock:
            last = self._pending[-1] if self._pending else None
            if (isinstance(event, Progress) and isinstance(last, Progress)
                    and last.phase == event.phase):
                self._pending[-1] = event
            else:
                self._pending.append(event)
            if self._posted:
                return
            self._posted = True
        self._target.post_message(EngineEvents(self))

    def wait_before_drain(self) -> float:
        """Seconds the screen should wait before draining, to keep to ``max_rate``."""
        return max(0.0, self._last_drain + self._interval - self._clock())

    def drain(self) -> list[Event]:
        """The events since the last drain (called on the event loop)."""
        with self._lock:
            events, self._pending = self._pending, []
            self._posted = False
            self._last_drain = self._clock()
        return events
