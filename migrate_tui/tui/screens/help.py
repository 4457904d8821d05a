"""The help (? or F1): the keys of the screen it was opened on, taken from that screen's live
bindings (so it is never out of date), then the steps of the wizard, the current one marked."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.widgets import Static

from migrate_tui.tui.parts import Parts
from migrate_tui.tui.screen_base import WizardDialog

STEPS = (
    ("Workspace", "the folder and the agent id; what is there, the lock, recent changes"),
    ("Scan", "every legacy file read once (nothing is written); escape stops"),
    ("Plan", "every session, its status and problems; decide one by one or in bulk"),
    ("Errors", "every problem with the source around it"),
    ("Fix", "the fixes a problem offers, each with its effect, or skip"),
    ("Backup", "where, how much, whether there is room"),
    ("Progress", "the migration; escape cancels at a safe point"),
    ("Result", "what was done; back to the plan with what is left, roll back, clean up"),
)

QUERIES = ("Queries (/ on the plan): words match ids and keys; key:*:cron:*  problem:invalid_json  "
           "status:blocked  channel:telegram  older:30d  newer:2026-01-31  size>1MB  msgs<3  "
           "empty  -key:…  (every term must match)")


def help_text(step: int | None, title: str, keys: list[tuple[str, str]]) -> Parts:
    text = Parts()
    text.append(f"Keys on this screen ({title})\n", "bold")
    width = max((len(k) for k, _ in keys), default=0) + 2
    for key, description in keys:
        text.append(f"  {key:<{width}}", "bold $text-accent").append(description + "\n")
    text.append("\nThe steps\n", "bold")
    for n, (name, what) in enumerate(STEPS, 1):
        here = n == step
        text.append(("▸ " if here else "  ") + f"{n} {name}: ", "bold" if here else "")
        text.append(what + "\n", "" if here else "$text-muted")
    text.append("\nNothing is written before step 7, and originals are never modified. Every "
                "decision here is one the command line takes too (migrate --skip, --fix, "
                "--skip-where, --fix-where).\n", "italic")
    text.append(QUERIES, "$text-muted")
    return text


class HelpScreen(WizardDialog[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Close"),
        Binding("q", "close", "Close", show=False),
        Binding("question_mark", "close", "Close", show=False),
        Binding("f1", "close", "Close", show=False),
    ]

    def __init__(self, step: int | None, title: str, keys: list[tuple[str, str]]) -> None:
        super().__init__()
        self.step = step
        self.title_text = title
        self.keys = keys

    def compose(self) -> ComposeResult:
        with Vertical(id="help-dialog", classes="dialog"):
            yield Static(Parts("Help", "bold").content(), classes="dialog-title")
            with VerticalScroll(id="help-body"):
                yield Static(help_text(self.step, self.title_text, self.keys).content(), id="help-text")
            yield Static(Parts("escape closes · ↑/↓ scroll", "italic $text-muted").content())

    def on_mount(self) -> None:
        self.query_one("#help-body").focus()

    def action_close(self) -> None:
        self.finish(None)
