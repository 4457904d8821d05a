"""Step 4: every per-file problem in one list (file, line:column, message) with the source
text around the error; fix or skip from here."""

from __future__ import annotations

from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Static

from migrate_tui.engine import MIGRATE, Decision, Plan, Severity
from migrate_tui.tui.formatting import column
from migrate_tui.tui.parts import Parts
from migrate_tui.tui.screens.plan import toggled_skip
from migrate_tui.tui.widgets.problem_list import (
    FILE_WIDTH,
    MARK_WIDTH,
    WHERE_WIDTH,
    ProblemList,
    ProblemRow,
    problem_rows,
)
from migrate_tui.tui.widgets.row_list import RowList
from migrate_tui.tui.widgets.step_header import StepHeader
from migrate_tui.tui.widgets.totals_bar import TotalsBar

DECISION_WORDS = {
    "blocked": "needs a decision: f fixes, space skips",
    "skip": "skipped (space migrates it again, if it can be)",
    "migrate": "migrates",
    "done": "already migrated",
}


def excerpt_text(row: ProblemRow, show_path):  # noqa: ANN001, ANN201 - Content
    p, ps = row.problem, row.session
    text = Parts()
    text.append(show_path(p.where), "bold").append("\n")
    style = "$text-warning" if p.severity is Severity.WARNING else "$text-error"
    text.append(f"{p.code}: ", style + " bold").append(p.message + "\n")
    if p.fixes:
        text.append("fixes offered: " + ", ".join(p.fixes) + "\n", "italic")
    text.append("this session: " + DECISION_WORDS.get(ps.action, ps.action) + "\n", "italic")
    if ps.decision.fixes:
        text.append("fixes chosen: " + ", ".join(sorted(ps.decision.fixes)) + "\n", "italic")
    text.append("\n")
    if p.excerpt:
        text.append(p.excerpt)
    else:
        text.append("(no source excerpt: the problem is about the file as a whole)", "$text-muted italic")
    return text.content()


class ErrorsScreen(Screen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("f", "fix", "Fix"),
        Binding("space", "toggle_skip", "Skip"),
        Binding("enter", "continue", "Next: backup"),
        Binding("escape", "back", "Back"),
    ]

    def compose(self) -> ComposeResult:
        yield StepHeader(4, "Errors review", self.app.workspace_label)
        with Vertical(id="errors-list"):
            yield Static(id="errors-header")
            yield ProblemList(id="problems")
        with VerticalScroll(id="excerpt-box", can_focus=False):
            yield Static(id="excerpt")
        yield TotalsBar(id="totals")
        yield Footer(compact=True)

    @property
    def plan(self) -> Plan:
        assert self.app.plan is not None
        return self.app.plan

    def on_mount(self) -> None:
        self.app.plan_changed.subscribe(self, lambda plan: self._refill())
        self._refill()
        self.query_one(ProblemList).focus()

    def _refill(self) -> None:
        problems = self.query_one(ProblemList)
        current = problems.current
        problems.set_items(problem_rows(self.plan))
        if current is not None:
            index = problems.index_of(current.key)
            if index is not None:
                problems.move_cursor(index, announce=True)
        width = problems.scrollable_content_region.width or self.size.width
        count = sum(1 for row in problems.items if row.problem.severity is Severity.PROBLEM)
        header = (column("", MARK_WIDTH) + column("File", FILE_WIDTH) + column("Line:col", WHERE_WIDTH)
                  + column(f"Problem ({count} open, {len(problems.items) - count} warnings)",
                        max(0, width - MARK_WIDTH - FILE_WIDTH - WHERE_WIDTH)))
        self.query_one("#errors-header", Static).update(Parts(header, "bold").content())
        self.query_one(TotalsBar).show(self.plan.totals, bool(self.app.pending_ids))
        if not problems.items:
            self.query_one("#excerpt", Static).update(
                Parts("No problems and no warnings: every session can be migrated as it is.",
                      "italic").content())

    @on(RowList.Highlighted, "#problems")
    def _highlighted(self, message: RowList.Highlighted) -> None:
        if isinstance(message.item, ProblemRow):
            self.query_one("#excerpt", Static).update(excerpt_text(message.item, self.app.show_path))

    def action_fix(self) -> None:
        from migrate_tui.tui.screens.fix import FixDialog

        row = self.query_one(ProblemList).current
        if row is None or row.problem.severity is Severity.WARNING:
            self.notify("A warning needs no fix: the session migrates with a note.", timeout=3)
            return
        file_id = row.session.file_id

        def chosen(decision: Decision | None) -> None:
            if decision is not None:
                self.app.decide(file_id, decision)

        self.app.push_screen(FixDialog(file_id), chosen)

    def action_toggle_skip(self) -> None:
        row = self.query_one(ProblemList).current
        if row is not None:
            file_id = row.session.file_id
            self.app.decide(file_id, toggled_skip(self.app.decisions.get(file_id, MIGRATE)))

    def action_continue(self) -> None:
        from migrate_tui.tui.screens.backup import BackupScreen

        if self.app.pending_ids:
            self.notify("Still planning the last decision; try again in a moment.", timeout=2)
            return
        self.app.switch_screen(BackupScreen())

    def action_back(self) -> None:
        self.app.pop_screen()
