"""When a worker fails: what failed, in words, and the ways forward (each a key).

Opened by the app for every worker that ends with an error (app.py, one place); the ways
come from the screen the worker belonged to, and quitting is always one of them."""

from __future__ import annotations

from typing import ClassVar

from textual import events
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.widgets import Static

from migrate_tui.tui.messages import Way
from migrate_tui.tui.parts import Parts
from migrate_tui.tui.screen_base import WizardDialog


class FailureDialog(WizardDialog[Way | None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Close"),
    ]

    def __init__(self, what: str, error: str, ways: list[Way]) -> None:
        super().__init__()
        self.what = what
        self.error = error
        self.ways = ways

    def compose(self) -> ComposeResult:
        text = Parts("✗ ", "$text-error bold").append(f"Something failed while {self.what}.\n\n", "bold")
        text.append(self.error + "\n\n")
        text.append("Nothing was lost: what the migration writes is written atomically, and the "
                    "originals are never modified.\n\n", "italic")
        for way in self.ways:
            text.append(f"  {way.key:<7}", "bold $text-accent").append(way.label + "\n")
        text.append(f"  {'escape':<7}", "bold $text-accent").append("close this and stay here\n")
        text.append(f"  {'ctrl+q':<7}", "bold $text-accent").append("quit\n")
        with Vertical(id="failure-dialog", classes="dialog"):
            yield Static(Parts("Something went wrong", "bold").content(), classes="dialog-title")
            yield Static(text.content(), id="failure-text")

    def on_key(self, event: events.Key) -> None:
        for way in self.ways:
            if event.key == way.key or (way.key == "enter" and event.key == "enter"):
                event.stop()
                self.finish(way)
                return

    def action_close(self) -> None:
        self.finish(None)
