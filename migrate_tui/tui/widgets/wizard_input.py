"""An Input whose cursor does not blink when the app renders for screenshots."""

from __future__ import annotations

from textual.widgets import Input


class WizardInput(Input):
    def on_mount(self) -> None:
        if getattr(self.app, "steady", False):
            self.cursor_blink = False
