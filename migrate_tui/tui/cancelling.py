"""Cancelling a long engine operation shown on a screen (apply, a rollback, a clean-up…):
escape or c sets the cancel flag once and logs that the work stops at its next safe point;
quitting cancels first and says what it waits for; the ``#cancel-note`` under the log says
what cancelling leaves behind.  ``CancellableScreen`` holds that; each screen supplies its
words (``cancelled_work``, ``cancel_note_text``, ``waiting_for``)."""

from __future__ import annotations

import threading
from abc import abstractmethod
from typing import ClassVar, TypeVar

from textual.binding import Binding, BindingType
from textual.widgets import Static

from migrate_tui.tui.parts import Parts
from migrate_tui.tui.screen_base import RelayedScreen

R = TypeVar("R")
CANCEL_NOTE = "cancel-note"  # the id of the Static that says what cancelling leaves behind


class CancellableScreen(RelayedScreen[R]):
    """A ``RelayedScreen`` whose engine operation can be cancelled at a safe point, by the
    user (escape or c) or by quitting (``quit_requested``, asked by the app)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel"),
        Binding("c", "cancel", "Cancel", show=False),
    ]

    def __init__(self, cancel: threading.Event) -> None:
        super().__init__()
        self.cancel = cancel  # the flag the engine polls at its safe points
        self.quitting = False

    # ------------------------------------------------------------ what each screen says

    @abstractmethod
    def cancelled_work(self) -> str:
        """The work that stops, as the log line names it ("apply", "the rollback")."""

    @abstractmethod
    def cancel_note_text(self) -> str:
        """What cancelling leaves behind, shown under the log once cancelled."""

    @abstractmethod
    def waiting_for(self) -> str:
        """What quitting waits for (the phase in hand and how far it is)."""

    def can_cancel(self) -> bool:
        """Whether there is anything to cancel now; by default always."""
        return True

    @abstractmethod
    def log_line(self, level: str, text: str) -> None:
        """Add a line to the screen's log (each screen draws its own)."""

    # ------------------------------------------------------------ shared

    def cancel_note(self) -> Static:
        """The note's widget, for ``compose`` (empty until cancelled)."""
        return Static(id=CANCEL_NOTE)

    def reset_cancel(self) -> None:
        """Before a new run: the flag down, the note empty."""
        self.cancel.clear()
        self.query_one(f"#{CANCEL_NOTE}", Static).update("")

    def action_cancel(self) -> None:
        if self.cancel.is_set() or not self.can_cancel():
            return
        self.cancel.set()
        self.log_line("warning", f"cancelling: {self.cancelled_work()} stops at the next safe point…")
        self.draw_cancel_note()

    def quit_requested(self) -> str:
        """Quitting waits for the work to stop at a safe point: cancel it, say so, and return
        what it waits for."""
        self.quitting = True
        self.action_cancel()
        self.draw_cancel_note()
        return self.waiting_for()

    def draw_cancel_note(self) -> None:
        text = Parts()
        if self.quitting:
            text.append("Quitting: ", "$text-warning bold").append(f"waiting for {self.waiting_for()}.\n")
        text.append(self.cancel_note_text(), "$text-warning")
        self.query_one(f"#{CANCEL_NOTE}", Static).update(text.content())
