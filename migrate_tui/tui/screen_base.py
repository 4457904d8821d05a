"""What every screen of the wizard shares: typed access to the host and its state, a dismiss
that waits until the screen is on top, the ways forward it offers when one of its workers
fails, and (``RelayedScreen``) engine events relayed from a worker thread."""

from __future__ import annotations

from typing import Any, ClassVar, Generic, TypeVar

from textual.screen import ModalScreen, Screen
from textual.worker import Worker, WorkerState

from migrate_tui.engine.model import Event
from migrate_tui.tui.host import WizardHost, host_of
from migrate_tui.tui.messages import Way
from migrate_tui.tui.relay import EventRelay, Poller
from migrate_tui.tui.state import WizardState

R = TypeVar("R")
_NOTHING = object()


class _Wizardly(Generic[R]):
    """The shared part of ``WizardScreen`` and ``WizardDialog`` (a mixin of Screen)."""

    STEP: ClassVar[int | None] = None  # the step of the wizard (1-8), for the header and help
    _pending_result: Any = _NOTHING

    @property
    def wizard(self) -> WizardHost:
        return host_of(self)  # type: ignore[arg-type]

    @property
    def state(self) -> WizardState:
        return self.wizard.state

    def finish(self, result: R) -> None:
        """Dismiss with ``result`` now if this screen is on top, else as soon as it is (a
        dialog such as the help may be open over it when a worker ends)."""
        screen: Screen[Any] = self  # type: ignore[assignment]
        if screen.app.screen is screen:
            screen.dismiss(result)
        else:
            self._pending_result = result

    def on_screen_resume(self) -> None:
        if self._pending_result is not _NOTHING:
            result, self._pending_result = self._pending_result, _NOTHING
            self.call_after_refresh(self.finish, result)  # type: ignore[attr-defined]

    def ways_forward(self, worker: Worker[Any], error: BaseException) -> list[Way]:
        """What the user can do when ``worker`` (one of this screen's) failed; the failure
        dialog adds quitting.  By default: nothing but closing the dialog."""
        return []

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """A worker's messages go to the node that started it and do not bubble: every
        screen hands its failed workers to the app, which handles them all in one place.
        (A subclass that handles a failure itself calls ``event.prevent_default()``.)"""
        if event.state is WorkerState.ERROR:
            self.wizard.worker_failed(event.worker)


class WizardScreen(_Wizardly[R], Screen[R]):
    pass


class WizardDialog(_Wizardly[R], ModalScreen[R]):
    pass


class RelayedScreen(WizardScreen[R]):
    """A screen that shows engine events coming from a worker through an ``EventRelay``,
    drawn at most ``max_event_rate`` times a second while the work runs (relay.py)."""

    def __init__(self) -> None:
        super().__init__()
        self.relay = EventRelay()
        self._poller: Poller | None = None

    def start_drawing(self) -> EventRelay:
        """A fresh relay for a run of the engine (what the last run left is dropped), drawn
        until ``stop_drawing``."""
        self.relay = EventRelay()
        if self._poller is None:
            self._poller = Poller(self, self.drain_events, self.wizard.settings.max_event_rate)
        self._poller.start()
        return self.relay

    def stop_drawing(self) -> None:
        """Draw what is left, and stop polling (the worker has ended)."""
        if self._poller is not None:
            self._poller.stop()
        self.drain_events()

    def drain_events(self) -> None:
        events = self.relay.drain()
        if events:
            self.show_events(events)
        self.tick()

    def show_events(self, events: list[Event]) -> None:
        """Draw a batch of events (in order).  Subclasses draw; by default nothing is shown."""

    def tick(self) -> None:
        """Called on every poll, events or not (elapsed time, ETA).  By default nothing."""
