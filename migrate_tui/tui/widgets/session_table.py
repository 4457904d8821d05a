"""The plan's sessions, one row each: status, id, keys, messages, size, problems.

A line-API list (see ``RowList``): with 50,000 sessions only the rows on screen are drawn.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from rich.style import Style

from migrate_tui.core.ids import display
from migrate_tui.engine import PlannedSession
from migrate_tui.tui.formatting import column, human_bytes
from migrate_tui.tui.plan_filter import has_warning, session_keys
from migrate_tui.tui.widgets.row_list import Cell, RowList

STATUS_WIDTH, KEYS_WIDTH, MESSAGES_WIDTH, SIZE_WIDTH = 10, 5, 6, 9
FIXED_WIDTH = STATUS_WIDTH + KEYS_WIDTH + MESSAGES_WIDTH + SIZE_WIDTH


def status_of(ps: PlannedSession, pending: bool = False) -> tuple[str, str]:
    """The status cell's text and its style name (a component class suffix)."""
    if pending:
        return "… update", "muted"
    if ps.action == "blocked":
        return "✗ problem", "problem"
    if ps.action == "skip":
        return "– skip", "muted"
    if ps.action == "done":
        return "= done", "muted"
    if ps.decision.fixes:
        return "✓ fixed", "ok"
    if has_warning(ps):
        return "! warning", "warning"
    return "✓ migrate", "ok"


def remark_of(ps: PlannedSession) -> str:
    """The last column: what needs a decision, or the most useful note."""
    if ps.open_problems:
        first = ps.open_problems[0]
        more = f" (+{len(ps.open_problems) - 1})" if len(ps.open_problems) > 1 else ""
        return f"{first.code}: {first.message}{more}"
    if ps.action == "skip":
        return "skipped by you: stays in .sessions/ and in the backup"
    warnings = [p for p in ps.scan.summary_for(ps.decision.fixes).problems
                if p.severity.value == "warning"]
    if warnings:
        return f"{warnings[0].code}: {warnings[0].message}"
    if ps.action == "done":
        return "already migrated by an earlier run"
    return ps.notes[0] if ps.notes else ""


def id_width(width: int) -> int:
    return max(10, min(38, (width - FIXED_WIDTH) * 2 // 5))


def header_text(width: int) -> str:
    idw = id_width(width)
    return (column("Status", STATUS_WIDTH) + column("Session", idw) + column("Keys", KEYS_WIDTH)
            + column("Msgs", MESSAGES_WIDTH) + column("Size", SIZE_WIDTH)
            + column("Problem / note", max(0, width - FIXED_WIDTH - idw)))


class SessionTable(RowList[PlannedSession]):
    COMPONENT_CLASSES: ClassVar[set[str]] = RowList.COMPONENT_CLASSES | {
        "session-table--ok", "session-table--warning", "session-table--problem",
        "session-table--muted",
    }
    DEFAULT_CSS = """
    SessionTable > .session-table--ok { color: $text-success; }
    SessionTable > .session-table--warning { color: $text-warning; }
    SessionTable > .session-table--problem { color: $text-error; }
    SessionTable > .session-table--muted { color: $text-muted; }
    """

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.pending: set[str] = set()  # file ids whose new decision is being planned
        self._rows: dict[str, int] | None = None  # file id → row, made when first asked

    def set_items(self, items: Sequence[PlannedSession], cursor: int | None = None) -> None:
        self._rows = None
        super().set_items(items, cursor)

    def row_cells(self, item: PlannedSession, width: int) -> list[Cell]:
        status, kind = status_of(item, item.file_id in self.pending)
        style = self.get_component_rich_style(f"session-table--{kind}")
        idw = id_width(width)
        keys = session_keys(item)
        messages = str(item.message_count) if item.action in ("migrate", "done") else "-"
        plain = Style()
        return [
            (status, STATUS_WIDTH, style),
            (display(item.file_id), idw, plain),
            (str(len(keys)), KEYS_WIDTH, plain),
            (messages, MESSAGES_WIDTH, plain),
            (human_bytes(item.scan.size), SIZE_WIDTH, plain),
            (remark_of(item), max(0, width - FIXED_WIDTH - idw),
             style if kind in ("problem", "warning") else self.get_component_rich_style(
                 "session-table--muted")),
        ]

    def replace_item(self, index: int, item: PlannedSession) -> None:
        if self._rows is not None and self._rows.get(item.file_id) != index:
            self._rows = None
        super().replace_item(index, item)

    def index_of(self, file_id: str) -> int | None:
        if self._rows is None:
            self._rows = {ps.file_id: n for n, ps in enumerate(self.items)}
        return self._rows.get(file_id)
