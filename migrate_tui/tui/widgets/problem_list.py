"""Every per-file problem of a plan in one list (the errors review), one row each:
decision, file, line:column, message.  A line-API list like the session table."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from rich.style import Style

from migrate_tui.core.ids import display
from migrate_tui.engine import Plan, PlannedSession, Problem, Severity
from migrate_tui.tui.widgets.row_list import Cell, RowList

SIGN_WIDTH, FILE_WIDTH, WHERE_WIDTH = 3, 22, 9


@dataclass(frozen=True)
class ProblemRow:
    session: PlannedSession
    problem: Problem

    @property
    def position(self) -> str:
        if self.problem.line is None:
            return "-"
        if self.problem.column is None:
            return str(self.problem.line)
        return f"{self.problem.line}:{self.problem.column}"

    @property
    def key(self) -> tuple[str, str]:
        return self.session.file_id, self.problem.code


def problem_rows(plan: Plan) -> list[ProblemRow]:
    """Problems still open (on sessions blocked or skipped), then the warnings."""
    rows = [ProblemRow(ps, p) for ps in plan.sessions for p in ps.open_problems]
    rows += [ProblemRow(ps, p) for ps in plan.sessions
             for p in ps.scan.summary_for(ps.decision.fixes).problems if p.severity is Severity.WARNING]
    return rows


def mark_of(row: ProblemRow) -> tuple[str, str]:
    if row.problem.severity is Severity.WARNING:
        return "!", "warning"
    if row.session.action == "skip":
        return "–", "muted"
    return "✗", "problem"


class ProblemList(RowList[ProblemRow]):
    COMPONENT_CLASSES: ClassVar[set[str]] = RowList.COMPONENT_CLASSES | {
        "problem-list--warning", "problem-list--problem", "problem-list--muted"}
    DEFAULT_CSS = """
    ProblemList > .problem-list--warning { color: $text-warning; }
    ProblemList > .problem-list--problem { color: $text-error; }
    ProblemList > .problem-list--muted { color: $text-muted; }
    """

    def row_cells(self, item: ProblemRow, width: int) -> list[Cell]:
        mark, kind = mark_of(item)
        style = self.get_component_rich_style(f"problem-list--{kind}")
        plain = Style()
        return [
            (mark, SIGN_WIDTH, style),
            (display(item.session.scan.file_name), FILE_WIDTH, plain),
            (item.position, WHERE_WIDTH, plain),
            (f"{item.problem.code}: {item.problem.message}",
             max(0, width - SIGN_WIDTH - FILE_WIDTH - WHERE_WIDTH), style if kind != "muted" else plain),
        ]

    def key_of(self, item: ProblemRow) -> object:
        return item.key

    def index_of(self, key: tuple[str, str]) -> int | None:
        for n, row in enumerate(self.items):
            if row.key == key:
                return n
        return None
