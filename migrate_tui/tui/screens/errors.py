"""Step 4: every per-file problem in one list (file, line:column, message) with the source
text around the error; fix or skip from here (``m`` marks rows for one decision on all of
them).  Dismisses with "next" (on to the backup) or "back" (to the plan)."""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.content import Content
from textual.widgets import Static

from migrate_tui.core.ids import display
from migrate_tui.engine import Decision, Plan, Severity
from migrate_tui.tui.decisions import toggled_skip
from migrate_tui.tui.formatting import column, plural
from migrate_tui.tui.messages import OpenFix
from migrate_tui.tui.parts import Parts
from migrate_tui.tui.screen_base import WizardScreen
from migrate_tui.tui.widgets.key_bar import KeyBar
from migrate_tui.tui.widgets.problem_list import (
    FILE_WIDTH,
    SIGN_WIDTH,
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


def excerpt_text(row: ProblemRow, show_path: Callable[[str], str]) -> Content:
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


def header_counts(rows: list[ProblemRow]) -> str:
    """The list's title: sessions and problems still open, warnings (counted as the totals
    bar counts "problems left": sessions)."""
    open_rows = [row for row in rows if row.problem.severity is Severity.PROBLEM]
    blocked = {row.session.file_id for row in open_rows if row.session.action == "blocked"}
    skipped = {row.session.file_id for row in open_rows if row.session.action == "skip"}
    warnings = len(rows) - len(open_rows)
    text = (f"Problem ({plural(len(blocked), 'session')} left with "
            f"{plural(sum(1 for r in open_rows if r.session.action == 'blocked'), 'problem')}")
    if skipped:
        text += f", {len(skipped):,} skipped"
    return text + f"; {plural(warnings, 'warning')})"


class ErrorsScreen(WizardScreen[str]):
    STEP = 4
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("f", "fix", "Fix"),
        Binding("space", "toggle_skip", "Skip"),
        Binding("m", "mark", "Mark"),
        Binding("a", "mark_all", "Mark all", show=False),
        Binding("u", "undo", "Undo"),
        Binding("ctrl+r", "redo", "Redo", show=False),
        Binding("enter", "continue", "Next: backup"),
        Binding("escape", "back", "Back"),
    ]

    def compose(self) -> ComposeResult:
        yield StepHeader(4, "Errors review", self.state.workspace)
        with Vertical(id="errors-list"):
            yield Static(id="errors-header")
            yield ProblemList(id="problems")
        with VerticalScroll(id="excerpt-box", can_focus=False):
            yield Static(id="excerpt")
        yield TotalsBar(id="totals")
        yield KeyBar()

    @property
    def plan(self) -> Plan:
        assert self.state.shown is not None
        return self.state.shown

    def on_mount(self) -> None:
        self.wizard.plan_changed.subscribe(self, lambda plan: self._refill())
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
        width = (problems.scrollable_content_region.width or self.size.width) - problems.MARK_WIDTH
        header = (" " * problems.MARK_WIDTH + column("", SIGN_WIDTH) + column("File", FILE_WIDTH)
                  + column("Line:col", WHERE_WIDTH)
                  + column(header_counts(list(problems.items)),
                           max(0, width - SIGN_WIDTH - FILE_WIDTH - WHERE_WIDTH)))
        self.query_one("#errors-header", Static).update(Parts(header, "bold").content())
        self.query_one(TotalsBar).show(self.plan.totals, bool(self.state.pending_ids))
        if not problems.items:
            self.query_one("#excerpt", Static).update(
                Parts("No problems and no warnings: every session can be migrated as it is.",
                      "italic").content())

    @on(RowList.Highlighted, "#problems")
    def _highlighted(self, message: RowList.Highlighted) -> None:
        if isinstance(message.item, ProblemRow):
            self.query_one("#excerpt", Static).update(excerpt_text(message.item, self.wizard.show_path))

    def _targets(self) -> list[str]:
        """File ids of the marked rows, else of the row under the cursor (problems only)."""
        problems = self.query_one(ProblemList)
        rows = [row for row in problems.items if row.key in problems.marked] if problems.marked \
            else ([problems.current] if problems.current is not None else [])
        out: list[str] = []
        for row in rows:
            if row.problem.severity is Severity.PROBLEM and row.session.file_id not in out:
                out.append(row.session.file_id)
        return out

    def action_fix(self) -> None:
        targets = self._targets()
        if not targets:
            self.notify("A warning needs no fix: the session migrates with a note.", timeout=3)
            return
        self.post_message(OpenFix(targets))
        self.query_one(ProblemList).clear_marks()

    def action_toggle_skip(self) -> None:
        targets = self._targets()
        if not targets:
            return
        book = self.state.decisions
        if len(targets) == 1:
            decision = toggled_skip(book.get(targets[0]))
            self.wizard.decide({targets[0]: decision},
                               f"{'skip' if decision.skip else 'un-skip'} {display(targets[0])}")
            return
        skip = not all(book.get(fid).skip for fid in targets)
        self.wizard.decide({fid: Decision(skip=skip, fixes=book.get(fid).fixes) for fid in targets},
                           f"{'skip' if skip else 'un-skip'} {plural(len(targets), 'session')}")
        self.query_one(ProblemList).clear_marks()

    def action_mark(self) -> None:
        problems = self.query_one(ProblemList)
        problems.toggle_mark()
        problems.move_cursor(problems.cursor + 1)

    def action_mark_all(self) -> None:
        problems = self.query_one(ProblemList)
        if problems.items and problems.listed_marked == len(problems.items):
            problems.clear_marks()
        else:
            problems.mark_all()

    def action_undo(self) -> None:
        if self.state.decisions.can_undo:
            self.wizard.undo()
        else:
            self.notify("Nothing to undo.", timeout=2)

    def action_redo(self) -> None:
        if self.state.decisions.can_redo:
            self.wizard.redo()
        else:
            self.notify("Nothing to redo.", timeout=2)

    def action_continue(self) -> None:
        if self.state.pending_ids:
            self.notify("Still planning the last decision; try again in a moment.", timeout=2)
            return
        self.finish("next")

    def action_back(self) -> None:
        problems = self.query_one(ProblemList)
        if problems.marked:
            problems.clear_marks()
            return
        self.finish("back")
