"""The line at the top of every step: where the user is in the wizard, and on what."""

from __future__ import annotations

from textual.content import Content
from textual.widgets import Static

from migrate_tui.tui.parts import Parts

STEPS = ("Workspace", "Scan", "Plan", "Errors", "Fix", "Backup", "Progress", "Result")


class StepHeader(Static):
    DEFAULT_CSS = """
    StepHeader {
        height: 1;
        padding: 0 1;
        background: $primary;
        color: $text;
        text-style: bold;
    }
    """

    def __init__(self, step: int, title: str, where: str = "") -> None:
        super().__init__(self._text(step, title, where))

    @staticmethod
    def _text(step: int, title: str, where: str) -> Content:
        text = Parts(f"migrate-tui  ·  step {step} of {len(STEPS)}: {title}")
        if where:
            text.append(f"  ·  {where}", style="not bold")
        return text.content()
