"""Step 3: the plan, i.e. the dry-run diff.  Every session in a table (filter tabs, a query,
sortable columns); ``space`` skips, ``f`` fixes, ``m`` / ``a`` mark rows so that one key
decides for all of them, ``u`` undoes; the highlighted session's legacy JSON beside what
will be written; the totals always in view.

After decisions the new plan differs from the one shown in those sessions only: their rows
are replaced and the filter counts are corrected from their old and new states, so a skip
costs the same with 50 sessions or 200,000, and ten thousand decided at once redraw once.
A replaced row stays where it is even when it no longer matches the filter or query (a
session un-skipped under "skipped", fixed under "problems"): the cursor stays on it and the
same key undoes the decision.  Choosing a filter or a query again lists exactly the sessions
that match; the tab counts are always exact.

The screen dismisses with its ``PlanView`` when the user goes back (the navigation keeps it
for the return); forward it posts requests (``ShowErrors``, ``ToBackup``, ``OpenFix``)."""

from __future__ import annotations

import time
from typing import Any, ClassVar

from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.widgets import Input, Static
from textual.worker import Worker, get_current_worker

from migrate_tui.core.ids import display
from migrate_tui.engine import Decision, Plan, PlannedSession, session_preview
from migrate_tui.engine.selection import Query, QueryError, parse_query
from migrate_tui.tui.decisions import toggled_skip
from migrate_tui.tui.formatting import plural
from migrate_tui.tui.messages import OpenFix, PreviewReady, ShowErrors, ToBackup, Way
from migrate_tui.tui.parts import Parts
from migrate_tui.tui.plan_filter import (
    FILTERS,
    NO_QUERY,
    changed_sessions,
    counts_of,
    list_sessions,
    listed,
    rows_index,
)
from migrate_tui.tui.relay import Later, Poller
from migrate_tui.tui.screen_base import WizardScreen
from migrate_tui.tui.state import PlanView
from migrate_tui.tui.widgets.key_bar import KeyBar
from migrate_tui.tui.widgets.row_list import RowList
from migrate_tui.tui.widgets.session_detail import SessionDetail
from migrate_tui.tui.widgets.session_table import (
    SORT_ORDER,
    SORTS,
    SessionTable,
    header_column_at,
    header_text,
    sorted_rows,
)
from migrate_tui.tui.widgets.step_header import StepHeader
from migrate_tui.tui.widgets.totals_bar import TotalsBar
from migrate_tui.tui.widgets.wizard_input import WizardInput
from migrate_tui.tui.workers import background

PREVIEW_DELAY = 0.12  # seconds the cursor rests on a row before its file is read
SEARCH_DELAY = 0.3  # seconds after the last key typed in the query before it is applied
QUERY_HINT = "/ search: words, key:*:cron:*, problem:…, older:30d, size>1MB, msgs<3"


class PlanScreen(WizardScreen[PlanView]):
    STEP = 3
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("space", "skip", "Skip"),
        Binding("f", "fix", "Fix"),
        Binding("m", "mark", "Mark"),
        Binding("a", "mark_all", "Mark all listed", show=False),
        Binding("shift+down,J", "mark_move(1)", "Mark and go down", show=False),
        Binding("shift+up,K", "mark_move(-1)", "Mark and go up", show=False),
        Binding("u", "undo", "Undo"),
        Binding("ctrl+r", "redo", "Redo", show=False),
        Binding("slash", "search", "Search"),
        Binding("t", "next_filter", "Next filter", show=False),
        Binding("1", "filter('all')", "All sessions", show=False),
        Binding("2", "filter('problems')", "Sessions with problems", show=False),
        Binding("3", "filter('warnings')", "Sessions with warnings", show=False),
        Binding("4", "filter('skipped')", "Skipped sessions", show=False),
        Binding("s", "sort", "Sort by the next column", show=False),
        Binding("S", "reverse_sort", "Reverse the sort", show=False),
        Binding("e", "errors", "Review the errors", show=False),
        Binding("enter", "continue", "Next"),
        Binding("escape", "back", "Back"),
    ]

    def __init__(self, view: PlanView | None = None) -> None:
        super().__init__()
        self.view = view or PlanView()
        self.query_error: str | None = None
        self.listing = False  # a filter, query or sort is being applied (in a worker)
        self._query: Query = NO_QUERY
        self._shown: Plan | None = None  # the plan the table and the filter tabs show
        self._counts: dict[str, int] = {}  # filter_counts(self._shown)
        self._preview_later: Later | None = None
        self._search_later: Later | None = None
        self._preview_for: str | None = None
        self._planning_ticker: Poller | None = None

    @property
    def plan(self) -> Plan:
        """The plan as the chosen target sees it (target_plan.py)."""
        plan = self.state.shown
        assert plan is not None
        return plan

    @property
    def filter(self) -> str:
        return self.view.filter

    @property
    def search(self) -> str:
        return self.view.query

    def compose(self) -> ComposeResult:
        yield StepHeader(3, "Plan (dry run: nothing is written yet)", self.state.workspace)
        with Horizontal(id="plan-filters"):
            yield Static(id="filter-tabs")
            yield WizardInput(self.view.query, placeholder=QUERY_HINT, id="search",
                              select_on_focus=False)
        with Vertical(id="plan-list"):
            yield Static(id="table-header")
            yield SessionTable(id="sessions")
            yield Static(id="plan-status")
        yield SessionDetail(id="detail")
        yield TotalsBar(id="totals")
        yield KeyBar()

    def on_mount(self) -> None:
        clock = time.monotonic
        self._preview_later = Later(self, PREVIEW_DELAY, self._load_current_preview, clock)
        self._search_later = Later(self, SEARCH_DELAY, self._apply_typed_query, clock)
        self.wizard.plan_changed.subscribe(self, self._plan_changed)
        self.wizard.decision_pending.subscribe(self, self._decision_pending)
        table = self.query_one(SessionTable)
        table.marked = set(self.view.marked)
        self._compile_query(self.view.query)
        self._refill(keep=self.view.cursor)
        table.focus()
        if self.state.planning is not None:  # the first rows only: say how far the rest is
            self._planning_ticker = Poller(self, self._draw_planning, 4)
            self._planning_ticker.start()

    def _draw_planning(self) -> None:
        if self.state.planning is None and self._planning_ticker is not None:
            self._planning_ticker.stop()
        self._draw_status()
        self._draw_filters()

    def _still_planning(self) -> bool:
        """While the whole plan is being made, only moving around is possible: say so."""
        planning = self.state.planning
        if planning is None:
            return False
        what = "planning the sessions" if planning.stage == "planning" else planning.stage
        self.notify(f"Still {what} ({planning.fraction:.0%}): the first "
                    f"{len(self.plan.sessions):,} are listed meanwhile; deciding, filtering and "
                    "sorting wait for the rest.", timeout=3)
        return True

    def on_resize(self) -> None:
        self._draw_header()

    @property
    def table(self) -> SessionTable:
        return self.query_one(SessionTable)

    def _draw_header(self) -> None:
        table = self.table
        width = table.scrollable_content_region.width or self.size.width
        self.query_one("#table-header", Static).update(
            Parts(header_text(width, self.view.sort, self.view.descending), "bold").content())

    # ------------------------------------------------------------ data

    def _refill(self, keep: str | None) -> None:
        """Fill the table from the plan (the filter, query and sort applied), keeping the
        cursor on session ``keep`` when it is still listed.  Every session in the plan's
        order is at hand at once; a filter, a query or a sort goes over every session (a
        second or more at 200,000): that runs in a worker, and the line under the table says
        so meanwhile."""
        plan = self.plan
        if self.filter == "all" and self._query.is_empty and self.view.sort == "plan" \
                and not self.view.descending:
            self._listed(plan, list(plan.sessions), counts_of(plan), keep)
            return
        self.listing = True
        self._draw_status()
        self._list(plan, self.filter, self._query, self.view.sort, self.view.descending, keep)

    @background("listing the sessions", group="refill", exclusive=True)
    def _list(self, plan: Plan, which: str, query: Query, sort: str, descending: bool,
              keep: str | None) -> None:
        worker = get_current_worker()

        def stopped() -> bool:
            return worker.is_cancelled

        rows = list_sessions(plan, which, query, SORTS.get(sort, ("", None))[1], descending, stopped)
        if rows is None:  # replaced by another listing: stopped within a slice
            return
        counts = counts_of(plan)
        index = None  # file id → row, made here rather than on a key (the plan's own, in its order)
        if len(rows) != len(plan.sessions) or sort != "plan" or descending:
            index = rows_index(rows, stopped)
            if index is None:
                return
        if not worker.is_cancelled:
            self.app.call_from_thread(self._listed, plan, rows, counts, keep, index)

    def _listed(self, plan: Plan, rows: list[PlannedSession], counts: dict[str, int],
                keep: str | None, index: dict[str, int] | None = None) -> None:
        if plan is not self.plan:  # decided meanwhile: list the new plan
            self._refill(keep)
            return
        self.listing = False
        table = self.table
        table.pending = self.state.pending_ids
        in_plan_order = len(rows) == len(plan.sessions) and self.view.sort == "plan" \
            and not self.view.descending
        table.set_items(rows, cursor=0 if keep is None else None,
                        rows=plan.index if in_plan_order else index)
        if keep is not None:
            row = table.index_of(keep)
            table.move_cursor(row if row is not None else 0, announce=True)
        self._counts = counts
        self._shown = plan
        self._draw_filters()
        self._draw_header()
        self._draw_status()
        totals = self.query_one(TotalsBar)
        if self.state.planning is not None:
            totals.show_planning(self.state.planning.total)
        else:
            totals.show(plan.totals, bool(table.pending))

    def _draw_filters(self) -> None:
        text = Parts()
        planning = self.state.planning is not None
        for n, name in enumerate(FILTERS, 1):
            count = "…" if planning else f"{self._counts[name]:,}"
            text.append(f"{n}:{name} {count}", "reverse bold" if name == self.filter else "")
            text.append("  ")
        self.query_one("#filter-tabs", Static).update(text.content())

    def _draw_status(self) -> None:
        """Under the table: where the cursor is, what is marked, the sort, what u undoes."""
        table = self.table
        text = Parts()
        if self.query_error:
            text.append("✗ " + self.query_error, "$text-error bold")
            self.query_one("#plan-status", Static).update(text.content())
            return
        if self.listing:
            text.append(f"listing the sessions that match (of {len(self.plan.sessions):,})…", "italic")
            self.query_one("#plan-status", Static).update(text.content())
            return
        planning = self.state.planning
        if planning is not None:
            text.append(f"planning {planning.total:,} sessions: {planning.fraction:.0%}"
                        if planning.stage == "planning" else
                        f"{planning.stage}: {planning.total:,} sessions, {planning.fraction:.0%}", "bold")
            text.append(f" · the first {len(self.plan.sessions):,} are listed; deciding waits for "
                        "the rest", "italic")
            self.query_one("#plan-status", Static).update(text.content())
            return
        refused = self.state.target_refused(short=True)
        if refused is not None:  # the whole sentence comes when the user tries to go on
            text.append("✗ " + refused, "$text-error bold")
            self.query_one("#plan-status", Static).update(text.content())
            return
        count = len(table.items)
        if count:
            text.append(f"row {table.cursor + 1:,} of {count:,}", "bold")
        else:
            text.append("no session " + ("matches" if (self.search or self.filter != "all") else "here"),
                        "bold")
        if self.search.strip():
            text.append(f" · query {self.search.strip()!r}")
        marked = len(table.marked)
        if marked:
            shown = table.listed_marked
            text.append(" · ").append(plural(marked, "marked", "marked"), "$text-accent bold")
            if shown != marked:
                text.append(f" ({shown:,} listed)")
        if self.view.sort != "plan":
            arrow = "▼" if self.view.descending else "▲"
            text.append(f" · sorted by {SORTS[self.view.sort][0].lower()} {arrow}")
        book = self.state.decisions
        if book.undo_label:
            text.append(f" · u undoes: {book.undo_label}", "$text-muted")
        self.query_one("#plan-status", Static).update(text.content())

    def _plan_changed(self, plan: Plan) -> None:
        table = self.table
        pairs = changed_sessions(self._shown, plan) if self._shown is not None else None
        if pairs is None:
            current = table.current
            self._refill(keep=current.file_id if current else None)
            return
        self._counts = counts_of(plan)
        self._shown = plan
        table.pending = self.state.pending_ids
        self._update_rows(table, [new for _, new in pairs])
        self._draw_filters()
        self._draw_status()
        self.query_one(TotalsBar).show(plan.totals, bool(table.pending))

    def _update_rows(self, table: SessionTable, changed: list[PlannedSession]) -> None:
        """Replace the rows of the sessions that changed (listed or not, they stay); list the
        ones not listed that now match the filter and query, in the sort's order."""
        replaced = []
        added = []
        for ps in changed:
            row = table.index_of(ps.file_id)
            if row is not None:
                replaced.append((row, ps))
            elif listed(ps, self.filter, self._query):
                added.append(ps)
        table.replace_items(replaced)
        if added:
            current = table.current
            order = self.plan.index
            rows = sorted([*table.items, *added], key=lambda ps: order[ps.file_id])
            rows = sorted_rows(rows, self.view.sort, self.view.descending)
            table.set_items(rows, cursor=None)
            if current is not None:
                table.move_cursor(table.index_of(current.file_id) or 0, announce=True)

    def _decision_pending(self, file_ids: set[str]) -> None:
        table = self.table
        table.pending = self.state.pending_ids
        table.refresh()
        self._draw_status()
        self.query_one(TotalsBar).show(self.plan.totals, True)

    # ------------------------------------------------------------ the highlighted session

    @on(RowList.Highlighted, "#sessions")
    def _highlighted(self, message: RowList.Highlighted) -> None:
        detail = self.query_one(SessionDetail)
        ps = message.item if isinstance(message.item, PlannedSession) else None
        self.view.cursor = ps.file_id if ps is not None else None
        keep_preview = detail.preview if (ps is not None and detail.preview is not None
                                          and detail.preview.file_id == ps.file_id) else None
        detail.show(ps, keep_preview)
        self._draw_status()
        if ps is not None and keep_preview is None and self._preview_later is not None:
            self._preview_later.poke()

    def _load_current_preview(self) -> None:
        current = self.table.current
        if current is not None:
            self._preview_for = current.file_id
            engine_plan = self.state.plan  # the legacy side: the target's part is added to it
            assert engine_plan is not None
            self._load_preview(engine_plan, current.file_id)

    @background("reading the session's file for the preview", group="preview", exclusive=True)
    def _load_preview(self, plan: Plan, file_id: str) -> None:
        self.post_message(PreviewReady(session_preview(plan, file_id, target=self.state.target)))

    def on_preview_ready(self, message: PreviewReady) -> None:
        current = self.table.current
        if current is not None and current.file_id == message.preview.file_id:
            self.query_one(SessionDetail).show(current, message.preview)

    def ways_forward(self, worker: Worker[Any], error: BaseException) -> list[Way]:
        if worker.group == "preview":
            return [Way("r", "Read the file again", self._load_current_preview)]
        return []

    # ------------------------------------------------------------ decisions

    def _targets(self) -> list[PlannedSession]:
        """The marked sessions (listed or not), else the one under the cursor."""
        table = self.table
        if table.marked:
            plan = self.plan
            marked = [fid for fid in table.marked if isinstance(fid, str) and fid in plan.index]
            return [plan.session(fid) for fid in sorted(marked, key=plan.index.__getitem__)]
        return [table.current] if table.current is not None else []

    def action_skip(self) -> None:
        if self._still_planning():
            return
        targets = self._targets()
        if not targets:
            return
        book = self.state.decisions
        if len(targets) == 1:
            fid = targets[0].file_id
            decision = toggled_skip(book.get(fid))
            self.wizard.decide({fid: decision}, f"{'skip' if decision.skip else 'un-skip'} "
                               f"{display(fid)}")
            return
        skip = not all(book.get(ps.file_id).skip for ps in targets)
        changes = {ps.file_id: Decision(skip=skip, fixes=book.get(ps.file_id).fixes) for ps in targets}
        self.wizard.decide(changes, f"{'skip' if skip else 'un-skip'} {plural(len(targets), 'session')}")
        self._clear_marks()

    def action_fix(self) -> None:
        if self._still_planning():
            return
        targets = self._targets()
        if not targets:
            return
        fixable = [ps for ps in targets if ps.open_problems or ps.decision.fixes]
        if not fixable:
            what = display(targets[0].file_id) if len(targets) == 1 else "none of the marked sessions"
            self.notify(f"{what} has no problem to fix.", timeout=3)
            return
        self.post_message(OpenFix([ps.file_id for ps in fixable]))
        if len(targets) > 1:
            self._clear_marks()

    def action_undo(self) -> None:
        if self._still_planning():
            return
        if not self.state.decisions.can_undo:
            self.notify("Nothing to undo.", timeout=2)
            return
        self.wizard.undo()

    def action_redo(self) -> None:
        if self._still_planning():
            return
        if not self.state.decisions.can_redo:
            self.notify("Nothing to redo.", timeout=2)
            return
        self.wizard.redo()

    # ------------------------------------------------------------ marks

    def action_mark(self) -> None:
        if self._still_planning():
            return
        table = self.table
        table.toggle_mark()
        table.move_cursor(table.cursor + 1)
        self._marks_changed()

    def action_mark_move(self, step: int) -> None:
        if self._still_planning():
            return
        table = self.table
        table.mark(table.cursor)
        table.move_cursor(table.cursor + step)
        table.mark(table.cursor)
        self._marks_changed()

    def action_mark_all(self) -> None:
        """Mark every listed row (all rows of the filter and query); again: unmark them."""
        if self._still_planning():
            return
        table = self.table
        if table.items and table.listed_marked == len(table.items):
            table.marked.difference_update(table.key_of(ps) for ps in table.items)
            table.refresh()
        else:
            table.mark_all()
        self._marks_changed()

    def _clear_marks(self) -> None:
        self.table.clear_marks()
        self._marks_changed()

    def _marks_changed(self) -> None:
        self.view.marked = {fid for fid in self.table.marked if isinstance(fid, str)}
        self._draw_status()

    # ------------------------------------------------------------ filter, query, sort

    def action_next_filter(self) -> None:
        if self._still_planning():
            return
        self.action_filter(FILTERS[(FILTERS.index(self.filter) + 1) % len(FILTERS)])

    def action_filter(self, name: str) -> None:
        if self._still_planning():
            return
        self.view.filter = name
        current = self.table.current
        self._refill(keep=current.file_id if current else None)

    def action_search(self) -> None:
        if self._still_planning():
            return
        self.query_one("#search", Input).focus()

    @on(Input.Changed, "#search")
    def _search_changed(self, message: Input.Changed) -> None:
        if self._search_later is not None:
            self._search_later.poke()

    def _apply_typed_query(self) -> None:
        self._apply_query(self.query_one("#search", Input).value)

    def _compile_query(self, text: str) -> bool:
        try:
            self._query = parse_query(text)
        except QueryError as exc:
            self.query_error = str(exc)
            return False
        self.query_error = None
        return True

    def _apply_query(self, value: str) -> None:
        if value == self.view.query and self.query_error is None:
            return
        if not self._compile_query(value):
            self._draw_status()
            return
        self.view.query = value
        current = self.table.current
        self._refill(keep=current.file_id if current else None)

    @on(Input.Submitted, "#search")
    def _search_done(self) -> None:
        if self._search_later is not None:
            self._search_later.cancel()
        self._apply_typed_query()
        if self.query_error is None:
            self.table.focus()

    def action_sort(self) -> None:
        if self._still_planning():
            return
        self.view.sort = SORT_ORDER[(SORT_ORDER.index(self.view.sort) + 1) % len(SORT_ORDER)]
        self.view.descending = False
        self._resort()

    def action_reverse_sort(self) -> None:
        if self._still_planning():
            return
        self.view.descending = not self.view.descending
        self._resort()

    def _resort(self) -> None:
        current = self.table.current
        self._refill(keep=current.file_id if current else None)

    @on(events.Click, "#table-header")
    def _header_clicked(self, event: events.Click) -> None:
        if self._still_planning():
            return
        width = self.table.scrollable_content_region.width or self.size.width
        name = header_column_at(event.x, width)
        if name is None:
            return
        if name == self.view.sort:
            self.view.descending = not self.view.descending
        else:
            self.view.sort, self.view.descending = name, False
        self._resort()

    # ------------------------------------------------------------ moving on

    def action_errors(self) -> None:
        if self._still_planning():
            return
        self.post_message(ShowErrors())

    def action_continue(self) -> None:
        if self._still_planning():
            return
        if self.state.pending_ids:
            self.notify("Still planning the last decision; try again in a moment.", timeout=2)
            return
        if self.plan.totals.blocked:
            self.post_message(ShowErrors())  # problems are reviewed before anything is written
        else:
            self.post_message(ToBackup())

    def action_back(self) -> None:
        search = self.query_one("#search", Input)
        if search.has_focus:
            self.table.focus()
            return
        if self.table.marked:
            self._clear_marks()
            self.notify("Marks cleared; escape again goes back to the workspace.", timeout=3)
            return
        self.finish(self.view)
