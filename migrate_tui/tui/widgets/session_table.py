"""The plan's sessions, one row each: status, id, keys, messages, size, last update (on a wide
terminal), problems.  Sortable by each column.

A line-API list (see ``RowList``): with 200,000 sessions only the rows on screen are drawn.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from operator import attrgetter
from typing import Any, ClassVar

from rich.style import Style

from migrate_tui.core.ids import display
from migrate_tui.engine import PlannedSession
from migrate_tui.engine.selection import has_warning, last_update_ms, session_keys, status_rank
from migrate_tui.tui.formatting import column, human_bytes
from migrate_tui.tui.widgets.row_list import Cell, RowList

STATUS_WIDTH, KEYS_WIDTH, MESSAGES_WIDTH, SIZE_WIDTH, UPDATED_WIDTH = 10, 5, 7, 9, 11
FIXED_WIDTH = STATUS_WIDTH + KEYS_WIDTH + MESSAGES_WIDTH + SIZE_WIDTH
WIDE = 96  # from this width on, the last update has a column


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


_STATUS_ORDER = {"✗ problem": 0, "! warning": 1, "✓ fixed": 2, "✓ migrate": 3, "– skip": 4, "= done": 5}


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


def messages_of(ps: PlannedSession) -> str:
    return f"{ps.message_count:,}" if ps.action in ("migrate", "done") else "-"


def updated_of(ps: PlannedSession) -> str:
    return time.strftime("%Y-%m-%d", time.gmtime(last_update_ms(ps) / 1000))


# column name → (header, sort key)
SORTS: dict[str, tuple[str, Callable[[PlannedSession], Any] | None]] = {
    "plan": ("plan order", None),
    "status": ("Status", status_rank),  # the order of _STATUS_ORDER, without making the text
    "session": ("Session", attrgetter("scan.file_id")),
    "keys": ("Keys", lambda ps: len(ps.known_keys() or ps.scan.keys)),
    "msgs": ("Msgs", lambda ps: ps.message_count if ps.action in ("migrate", "done") else -1),
    "size": ("Size", attrgetter("scan.size")),
    "updated": ("Updated", last_update_ms),
}
SORT_ORDER = tuple(SORTS)


def id_width(width: int) -> int:
    return max(10, min(38, (width - FIXED_WIDTH) * 2 // 5))


def columns(width: int) -> list[tuple[str, int]]:
    """(column name, width) left to right for a table ``width`` cells wide (marks excluded)."""
    idw = id_width(width)
    out = [("status", STATUS_WIDTH), ("session", idw), ("keys", KEYS_WIDTH),
           ("msgs", MESSAGES_WIDTH), ("size", SIZE_WIDTH)]
    if width >= WIDE:
        out.append(("updated", UPDATED_WIDTH))
    used = sum(w for _, w in out)
    out.append(("remark", max(0, width - used)))
    return out


def header_text(width: int, sort: str = "plan", descending: bool = False) -> str:
    """The header over the rows (``width`` includes the two cells of the marks)."""
    text = " " * RowList.MARK_WIDTH
    for name, cell in columns(width - RowList.MARK_WIDTH):
        label = "Problem / note" if name == "remark" else SORTS[name][0]
        if name == sort:
            label += " ▼" if descending else " ▲"
        text += column(label, cell)
    return text


def header_column_at(x: int, width: int) -> str | None:
    """The sortable column under cell ``x`` of the header, if any."""
    x -= RowList.MARK_WIDTH
    for name, cell in columns(width - RowList.MARK_WIDTH):
        if 0 <= x < cell:
            return name if name in SORTS else None
        x -= cell
    return None


def sorted_rows(rows: list[PlannedSession], sort: str, descending: bool) -> list[PlannedSession]:
    key = SORTS.get(sort, ("", None))[1]
    if key is None:
        return rows[::-1] if descending else rows
    return sorted(rows, key=key, reverse=descending)  # stable: ties stay in the plan's order


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

    def key_of(self, item: PlannedSession) -> object:
        return item.file_id

    def set_items(self, items: Sequence[PlannedSession], cursor: int | None = None,
                  rows: dict[str, int] | None = None) -> None:
        """``rows``: file id → row, when the caller has it (the plan's own index, for every
        session in the plan's order): not built again over 200,000 sessions."""
        self._rows = rows
        super().set_items(items, cursor)

    def row_cells(self, item: PlannedSession, width: int) -> list[Cell]:
        status, kind = status_of(item, item.file_id in self.pending)
        style = self.get_component_rich_style(f"session-table--{kind}")
        plain = Style()
        muted = self.get_component_rich_style("session-table--muted")
        cells: list[Cell] = []
        for name, cell in columns(width):
            if name == "status":
                cells.append((status, cell, style))
            elif name == "session":
                cells.append((display(item.file_id), cell, plain))
            elif name == "keys":
                cells.append((str(len(session_keys(item))), cell, plain))
            elif name == "msgs":
                cells.append((messages_of(item), cell, plain))
            elif name == "size":
                cells.append((human_bytes(item.scan.size), cell, plain))
            elif name == "updated":
                cells.append((updated_of(item), cell, plain))
            else:
                cells.append((remark_of(item), cell, style if kind in ("problem", "warning") else muted))
        return cells

    def replace_items(self, changed: Sequence[tuple[int, PlannedSession]]) -> None:
        """Show each session in its row (same places, same cursor), drawn again at once; the
        cursor's row is announced again when it is among them."""
        for index, item in changed:
            if self._rows is not None and self._rows.get(item.file_id) != index:
                self._rows = None
            self._items[index] = item
        self.refresh()
        if any(index == self.cursor for index, _ in changed):
            self.post_message(self.Highlighted(self, self.cursor, self.current))

    def replace_item(self, index: int, item: PlannedSession) -> None:
        if self._rows is not None and self._rows.get(item.file_id) != index:
            self._rows = None
        super().replace_item(index, item)

    @property
    def listed_marked(self) -> int:
        """How many of the rows listed now are marked: each mark looked up in the rows'
        index when there are fewer marks than rows (a mark, a key, asks it: not a pass over
        200,000 rows)."""
        marked = self.marked
        if not marked or len(marked) >= len(self._items):
            return super().listed_marked
        return sum(1 for key in marked if isinstance(key, str) and self.index_of(key) is not None)

    def index_of(self, file_id: str) -> int | None:
        if self._rows is None:
            self._rows = {ps.file_id: n for n, ps in enumerate(self.items)}
        return self._rows.get(file_id)
