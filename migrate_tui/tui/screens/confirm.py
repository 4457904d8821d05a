"""A yes/no question before something that cannot be taken back lightly."""

from __future__ import annotations

from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.widgets import Button, Static

from migrate_tui.tui.parts import Parts
from migrate_tui.tui.screen_base import WizardDialog


class ConfirmDialog(WizardDialog[bool]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "answer(False)", "Cancel"),
        Binding("n", "answer(False)", "No", show=False),
        Binding("y", "answer(True)", "Yes", show=False),
    ]

    def __init__(self, title: str, body: str | Content, yes: str, no: str = "Cancel",
                 *, danger: bool = False) -> None:
        super().__init__()
        self.title_text = title
        self.body = body
        self.yes = yes
        self.no = no
        self.danger = danger

    def compose(self) -> ComposeResult:
        with Vertical(id="confirm-dialog", classes="dialog"):
            yield Static(Parts(self.title_text, "bold").content(), classes="dialog-title")
            with VerticalScroll(id="confirm-body", can_focus=False):
                yield Static(self.body)
            with Horizontal(classes="dialog-buttons"):
                yield Button(f"{self.yes} (y)", id="yes", variant="error" if self.danger else "primary")
                yield Button(f"{self.no} (n)", id="no")

    def on_mount(self) -> None:
        self.query_one("#no", Button).focus()  # the safe answer is the default

    @on(Button.Pressed)
    def _pressed(self, message: Button.Pressed) -> None:
        self.finish(message.button.id == "yes")

    def action_answer(self, answer: bool) -> None:
        self.finish(answer)
