"""Carry engine events from a worker thread to a screen without flooding the event loop, and
without a wake-up that can be lost.

The worker calls the relay for every event (thousands per second on a big workspace); the
relay keeps them in a buffer, folding consecutive progress events of one phase into the
latest.  The screen takes them (``drain``) on a repeating timer while the work runs
(``Poller``), and once more when the worker has ended.  The worker never waits for the UI
and never posts a message per event.

Why a repeating timer: an earlier version posted one message when the buffer went from
empty to not empty, and the screen drew after a one-shot ``set_timer`` of up to 50 ms.
Textual skips a one-shot timer whose clock has already passed its deadline when the timer's
task first reads it, and then never fires it.  Under load (the apply thread, its fsync
threads and the worker processes all busy) the UI thread can lose the processor between
those two clock reads for longer than the delay: the drawing was never scheduled again, and
the progress stood still until apply ended (at 50,000 sessions, once in about four runs,
for the remaining 80 s).  A repeating timer that misses a tick just ticks again.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from textual.dom import DOMNode
from textual.timer import Timer

from migrate_tui.engine import Progress
from migrate_tui.engine.model import Event


class EventRelay:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pending: list[Event] = []

    def __call__(self, event: Event) -> None:
        """The engine's ``on_event``; called in the worker thread."""
        with self._lock:
            last = self._pending[-1] if self._pending else None
            if (isinstance(event, Progress) and isinstance(last, Progress)
                    and last.phase == event.phase):
                self._pending[-1] = event
            else:
                self._pending.append(event)

    def drain(self) -> list[Event]:
        """The events since the last drain (called on the event loop)."""
        with self._lock:
            events, self._pending = self._pending, []
        return events


class Poller:
    """Call ``callback`` ``rate`` times a second on ``node``'s repeating timer, until stopped."""

    def __init__(self, node: DOMNode, callback: Callable[[], object], rate: float) -> None:
        self._node = node
        self._callback = callback
        self._interval = 1.0 / rate
        self._timer: Timer | None = None

    @property
    def running(self) -> bool:
        return self._timer is not None

    def start(self) -> None:
        if self._timer is None:
            self._timer = self._node.set_interval(self._interval, self._callback)

    def stop(self) -> None:
        if self._timer is not None:
            self._timer.stop()
            self._timer = None


class Later:
    """Call ``callback`` once, ``delay`` seconds after the last ``poke`` (a debounce), on a
    repeating timer that stops itself (see the module's docstring)."""

    def __init__(self, node: DOMNode, delay: float, callback: Callable[[], object],
                 clock: Callable[[], float]) -> None:
        self._node = node
        self._delay = delay
        self._callback = callback
        self._clock = clock
        self._due: float | None = None
        self._timer: Timer | None = None

    def poke(self) -> None:
        self._due = self._clock() + self._delay
        if self._timer is None:
            self._timer = self._node.set_interval(max(0.02, self._delay / 4), self._check)

    def cancel(self) -> None:
        self._due = None
        if self._timer is not None:
            self._timer.stop()
            self._timer = None

    def fire_now(self) -> None:
        if self._due is not None:
            self.cancel()
            self._callback()

    def _check(self) -> None:
        if self._due is not None and self._clock() >= self._due:
            self.fire_now()
