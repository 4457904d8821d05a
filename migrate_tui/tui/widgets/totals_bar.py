"""The plan's totals, always visible: to migrate, skipped, fixed, problems left."""

from __future__ import annotations

from textual.content import Content
from textual.widgets import Static

from migrate_tui.engine.model import Totals
from migrate_tui.tui.parts import Parts


def totals_text(totals: Totals, pending: bool = False) -> Content:
    text = Parts()
    parts = [
        ("To migrate", totals.to_migrate, "bold"),
        ("skipped", totals.skipped, ""),
        ("fixed", totals.fixed, ""),
        ("problems left", totals.blocked, "$text-error bold" if totals.blocked else ""),
    ]
    if totals.done:
        parts.append(("already done", totals.done, ""))
    for n, (label, value, style) in enumerate(parts):
        if n:
            text.append("  ·  ", style="$text-muted")
        text.append(f"{label} ")
        text.append(f"{value:,}", style=style or "bold")
    text.append(f"  ·  {totals.messages:,} messages", style="$text-muted")
    if pending:
        text.append("  (updating…)", style="italic $text-muted")
    return text.content()


class TotalsBar(Static):
    DEFAULT_CSS = """
    TotalsBar {
        height: 1;
        padding: 0 1;
        background: $boost;
    }
    """

    def show(self, totals: Totals, pending: bool = False) -> None:
        self.update(totals_text(totals, pending))

    def show_planning(self, sessions: int) -> None:
        self.update(Parts(f"Planning {sessions:,} sessions: the totals come when it is done…",
                          "italic $text-muted").content())
