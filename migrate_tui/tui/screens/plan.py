"""Step 3: the plan, i.e. the dry-run diff.  Every session in a table (filter, search);
``space`` skips, ``f`` fixes; the highlighted session's legacy JSON beside what will be
written; the totals always in view.

After a decision the new plan differs from the one shown in a session or a few: only those
rows are replaced and the filter counts are corrected from their old and new states, so a
skip costs the same with 50 sessions or 50,000.  A replaced row stays where it is even when
it no longer matches the filter or search (a session un-skipped under "skipped", fixed under
"problems"): the cursor stays on it and the same key undoes the decision.  Choosing a filter
or a search again lists exactly the sessions that match; the tab counts are always exact."""

from __future__ import annotations

from typing import ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Footer, Input, Static

from migrate_tui.core.ids import display
from migrate_tui.engine import MIGRATE, Decision, Plan, PlannedSession, session_preview
from migrate_tui.tui.messages import PreviewReady
from migrate_tui.tui.parts import Parts
from migrate_tui.tui.plan_filter import (
    FILTERS,
    changed_sessions,
    filter_counts,
    filter_sessions,
    listed,
    recount,
)
from migrate_tui.tui.widgets.row_list import RowList
from migrate_tui.tui.widgets.session_detail import SessionDetail
from migrate_tui.tui.widgets.session_table import SessionTable, header_text
from migrate_tui.tui.widgets.step_header import StepHeader
from migrate_tui.tui.widgets.totals_bar import TotalsBar
from migrate_tui.tui.widgets.wizard_input import WizardInput

PREVIEW_DELAY = 0.12  # seconds the cursor rests on a row before its file is read
ROW_BY_ROW = 500  # above this many changed sessions, the list is filled again instead


def toggled_skip(decision: Decision) -> Decision:
    """Skip, or un-skip keeping the fixes chosen before."""
    return Decision(skip=not decision.skip, fixes=decision.fixes)


class PlanScreen(Screen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("space", "toggle_skip", "Skip"),
        Binding("f", "fix", "Fix"),
        Binding("t", "next_filter", "Filter"),
        Binding("slash", "search", "Search"),
        Binding("e", "errors", "Errors"),
        Binding("enter", "continue", "Next"),
        Binding("escape", "back", "Back"),
        Binding("1", "filter('all')", show=False),
        Binding("2", "filter('problems')", show=False),
        Binding("3", "filter('warnings')", show=False),
        Binding("4", "filter('skipped')", show=False),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.filter = "all"
        self.search = ""
        self._search_timer: Timer | None = None
        self._preview_timer: Timer | None = None
        self._shown: Plan | None = None  # the plan the table and the filter tabs show
        self._counts: dict[str, int] = {}  # filter_counts(self._shown)

    @property
    def plan(self) -> Plan:
        assert self.app.plan is not None
        return self.app.plan

    def compose(self) -> ComposeResult:
        yield StepHeader(3, "Plan (dry run: nothing is written yet)", self.app.workspace_label)
        with Horizontal(id="plan-filters"):
            yield Static(id="filter-tabs")
            yield WizardInput(placeholder="/ search id or key", id="search")
        with Vertical(id="plan-list"):
            yield Static(id="table-header")
            yield SessionTable(id="sessions")
        yield SessionDetail(id="detail")
        yield TotalsBar(id="totals")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.app.plan_changed.subscribe(self, self._plan_changed)
        self.app.decision_pending.subscribe(self, self._decision_pending)
        self._refill(keep=None)
        self.query_one(SessionTable).focus()

    def on_resize(self) -> None:
        self._draw_header()

    def _draw_header(self) -> None:
        table = self.query_one(SessionTable)
        width = table.scrollable_content_region.width or self.size.width
        self.query_one("#table-header", Static).update(Parts(header_text(width), "bold").content())

    # ------------------------------------------------------------ data

    def _refill(self, keep: str | None) -> None:
        """Fill the table from the app's plan (the filter and search applied), keeping the
        cursor on session ``keep`` when it is still listed."""
        table = self.query_one(SessionTable)
        table.pending = self.app.pending_ids
        rows = filter_sessions(self.plan, self.filter, self.search)
        table.set_items(rows, cursor=None)
        if keep is not None:
            index = table.index_of(keep)
            if index is not None:
                table.move_cursor(index, announce=True)
        if self._shown is not self.plan:  # a filter or a search alone leaves the counts
            self._counts = filter_counts(self.plan)
            self._shown = self.plan
        self._draw_filters()
        self._draw_header()
        self.query_one(TotalsBar).show(self.plan.totals, bool(table.pending))

    def _draw_filters(self) -> None:
        text = Parts()
        for n, name in enumerate(FILTERS, 1):
            text.append(f"{n}:{name} {self._counts[name]:,}",
                        "reverse bold" if name == self.filter else "")
            text.append("  ")
        self.query_one("#filter-tabs", Static).update(text.content())

    def _plan_changed(self, plan: Plan) -> None:
        table = self.query_one(SessionTable)
        pairs = changed_sessions(self._shown, plan) if self._shown is not None else None
        if pairs is None or len(pairs) > ROW_BY_ROW:
            current = table.current
            self._refill(keep=current.file_id if current else None)
            return
        self._counts = recount(self._counts, pairs)
        self._shown = plan
        table.pending = self.app.pending_ids
        self._update_rows(table, plan, [new for _, new in pairs])
        table.refresh()  # the rows no longer pending
        self._draw_filters()
        self.query_one(TotalsBar).show(plan.totals, bool(table.pending))

    def _update_rows(self, table: SessionTable, plan: Plan, changed: list[PlannedSession]) -> None:
        """Replace the rows of the sessions that changed (listed or not, they stay); list the
        ones not listed that now match the filter and search, in the plan's order."""
        added = []
        for ps in changed:
            row = table.index_of(ps.file_id)
            if row is not None:
                table.replace_item(row, ps)
            elif listed(ps, self.filter, self.search):
                added.append(ps)
        if added:
            current = table.current
            order = plan.index
            rows = sorted([*table.items, *added], key=lambda ps: order[ps.file_id])
            table.set_items(rows, cursor=None)
            if current is not None:
                table.move_cursor(table.index_of(current.file_id) or 0, announce=True)

    def _decision_pending(self, file_id: str) -> None:
        table = self.query_one(SessionTable)
        table.pending = self.app.pending_ids
        table.refresh()
        self.query_one(TotalsBar).show(self.plan.totals, True)

    # ------------------------------------------------------------ the highlighted session

    @on(RowList.Highlighted, "#sessions")
    def _highlighted(self, message: RowList.Highlighted) -> None:
        detail = self.query_one(SessionDetail)
        ps = message.item if isinstance(message.item, PlannedSession) else None
        keep_preview = detail.preview if (ps is not None and detail.preview is not None
                                          and detail.preview.file_id == ps.file_id) else None
        detail.show(ps, keep_preview)
        if self._preview_timer is not None:
            self._preview_timer.stop()
        if ps is not None:
            self._preview_timer = self.set_timer(PREVIEW_DELAY, lambda: self._load_preview(ps.file_id))

    @work(thread=True, exclusive=True, group="preview", exit_on_error=False)
    def _load_preview(self, file_id: str) -> None:
        self.post_message(PreviewReady(session_preview(self.plan, file_id)))

    def on_preview_ready(self, message: PreviewReady) -> None:
        current = self.query_one(SessionTable).current
        if current is not None and current.file_id == message.preview.file_id:
            self.query_one(SessionDetail).show(current, message.preview)

    # ------------------------------------------------------------ actions

    def action_toggle_skip(self) -> None:
        ps = self.query_one(SessionTable).current
        if ps is None:
            return
        self.app.decide(ps.file_id, toggled_skip(self.app.decisions.get(ps.file_id, MIGRATE)))

    def action_fix(self) -> None:
        from migrate_tui.tui.screens.fix import FixDialog

        ps = self.query_one(SessionTable).current
        if ps is None:
            return
        if not ps.open_problems and not ps.decision.fixes:
            self.notify(f"{display(ps.file_id)} has no problem to fix.", timeout=3)
            return
        self.app.push_screen(FixDialog(ps.file_id), self._fixed(ps.file_id))

    def _fixed(self, file_id: str):  # noqa: ANN202 - a dismiss callback
        def apply(decision: Decision | None) -> None:
            if decision is not None:
                self.app.decide(file_id, decision)
        return apply

    def action_next_filter(self) -> None:
        self.action_filter(FILTERS[(FILTERS.index(self.filter) + 1) % len(FILTERS)])

    def action_filter(self, name: str) -> None:
        self.filter = name
        current = self.query_one(SessionTable).current
        self._refill(keep=current.file_id if current else None)

    def action_search(self) -> None:
        self.query_one("#search", Input).focus()

    @on(Input.Changed, "#search")
    def _search_changed(self, message: Input.Changed) -> None:
        if self._search_timer is not None:
            self._search_timer.stop()
        self._search_timer = self.set_timer(0.2, lambda: self._apply_search(message.value))

    def _apply_search(self, value: str) -> None:
        self.search = value
        self._refill(keep=None)

    @on(Input.Submitted, "#search")
    def _search_done(self) -> None:
        self._apply_search(self.query_one("#search", Input).value)
        self.query_one(SessionTable).focus()

    def action_errors(self) -> None:
        from migrate_tui.tui.screens.errors import ErrorsScreen

        self.app.push_screen(ErrorsScreen())

    def action_continue(self) -> None:
        from migrate_tui.tui.screens.backup import BackupScreen

        if self.app.pending_ids:
            self.notify("Still planning the last decision; try again in a moment.", timeout=2)
            return
        if self.plan.totals.blocked:
            # problems are reviewed before anything is committed
            from migrate_tui.tui.screens.errors import ErrorsScreen

            self.app.push_screen(ErrorsScreen())
            return
        self.app.push_screen(BackupScreen())

    def action_back(self) -> None:
        search = self.query_one("#search", Input)
        if search.has_focus:
            self.query_one(SessionTable).focus()
            return
        self.app.pop_screen()
