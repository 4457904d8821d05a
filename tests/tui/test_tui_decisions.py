"""Decisions are never lost by a key (back to the workspace and again, undo / redo), and many
are made at once (marks, ranges, every row of a query, every session with a problem)."""

from __future__ import annotations

from textual.widgets import Input

from migrate_tui.engine import SKIP, Decision, build_plan
from migrate_tui.engine.selection import session_keys
from migrate_tui.tui.screens.confirm import ConfirmDialog
from migrate_tui.tui.screens.fix import FixDialog
from migrate_tui.tui.screens.plan import PlanScreen
from migrate_tui.tui.screens.workspace import WorkspaceScreen
from migrate_tui.tui.widgets.session_table import SessionTable
from tests.tui.screen_text import screen_text
from tests.tui.tui_support import SIZE, cron_ids, file_id, make_app, move_to, open_plan, settle


def table_of(app) -> SessionTable:
    assert isinstance(app.screen, PlanScreen)
    return app.screen.query_one(SessionTable)


async def test_escape_from_the_plan_keeps_the_scan_and_the_decisions(demo) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await open_plan(app, pilot)
        scan = app.state.scan
        await move_to(pilot, table_of(app), "legacy-notes")
        await pilot.press("space", "2")  # a decision and a filter
        await settle(app, pilot)
        await pilot.press("escape")
        await settle(app, pilot)
        assert isinstance(app.screen, WorkspaceScreen)
        path = app.screen.query_one("#path", Input)
        assert path.selection.is_empty  # a key typed now adds to the path, never replaces it
        assert "enter returns to the plan" in screen_text(app)
        await pilot.press("enter")
        await settle(app, pilot)
        assert isinstance(app.screen, PlanScreen)
        assert app.state.scan is scan  # not scanned again
        assert app.state.decisions.current == {"legacy-notes": SKIP}
        assert app.screen.filter == "problems" and "2:problems 5" in screen_text(app)
        await pilot.press("escape")  # and escape on the workspace returns too
        await settle(app, pilot)
        await pilot.press("escape")
        await settle(app, pilot)
        assert isinstance(app.screen, PlanScreen) and app.state.scan is scan


async def test_another_agent_id_asks_before_the_plan_is_set_aside(demo) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await open_plan(app, pilot)
        await move_to(pilot, table_of(app), "legacy-notes")
        await pilot.press("space")
        await settle(app, pilot)
        await pilot.press("escape")
        await settle(app, pilot)
        agent = app.screen.query_one("#agent", Input)
        agent.value = "other"
        await pilot.press("ctrl+s")
        await settle(app, pilot)
        assert isinstance(app.screen, ConfirmDialog)
        assert "your 1 decision will be set aside" in screen_text(app)
        await pilot.press("n")  # keep my plan
        await settle(app, pilot)
        assert isinstance(app.screen, WorkspaceScreen)
        assert app.state.decisions.current == {"legacy-notes": SKIP}
        app.screen.query_one("#agent", Input).value = "other"
        await pilot.press("ctrl+s")
        await settle(app, pilot)
        await pilot.press("y")
        await settle(app, pilot)
        assert isinstance(app.screen, PlanScreen)
        assert app.state.agent_id == "other" and app.state.decisions.current == {}
        assert "agent:other:legacy-notes" in app.state.plan.session("legacy-notes").keys


async def test_undo_and_redo_across_the_plan(demo) -> None:
    truncated = file_id(demo, "invalid_json")
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await open_plan(app, pilot)
        table = table_of(app)
        await move_to(pilot, table, "legacy-notes")
        await pilot.press("space")
        await settle(app, pilot)
        await move_to(pilot, table, truncated)
        await pilot.press("f")
        await settle(app, pilot)
        await pilot.press("enter")  # salvage
        await settle(app, pilot)
        salvage = Decision(fixes=frozenset({"salvage"}))
        assert app.state.decisions.current == {"legacy-notes": SKIP, truncated: salvage}
        assert "u undoes: salvage for" in screen_text(app)
        await pilot.press("u")
        await settle(app, pilot)
        assert app.state.decisions.current == {"legacy-notes": SKIP}
        assert app.state.plan.session(truncated).action == "blocked"
        await pilot.press("u")
        await settle(app, pilot)
        assert app.state.decisions.current == {} and app.state.plan.totals.skipped == 0
        await pilot.press("ctrl+r", "ctrl+r")
        await settle(app, pilot)
        assert app.state.decisions.current == {"legacy-notes": SKIP, truncated: salvage}
        fresh = build_plan(app.state.scan, "main", app.state.decisions.current)
        assert app.state.plan.sessions == fresh.sessions


async def test_marks_ranges_and_one_key_for_all(demo) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await open_plan(app, pilot)
        table = table_of(app)
        ids = [ps.file_id for ps in table.items]
        await pilot.press("m")  # row 0, then the cursor goes down
        await pilot.press("down")  # row 2
        await pilot.press("shift+down", "shift+down")  # rows 2, 3, 4
        assert table.marked == {ids[0], ids[2], ids[3], ids[4]}
        assert "4 marked" in screen_text(app)
        await pilot.press("space")
        await settle(app, pilot)
        skipped = {fid for fid, d in app.state.decisions.current.items() if d.skip}
        assert skipped == {ids[0], ids[2], ids[3], ids[4]}
        assert table.marked == set()  # marks go once used
        assert "u undoes: skip 4 sessions" in screen_text(app)
        await pilot.press("u")
        await settle(app, pilot)
        assert app.state.decisions.current == {}


async def test_a_query_then_every_listed_row_skipped_in_a_few_keys(crowd) -> None:
    """2,700 cron sessions in the issue, 20 here: the old ones skipped with / a query, enter,
    a (mark all listed), space."""
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await open_plan(app, pilot)
        table = table_of(app)
        demo_cron = {ps.file_id for ps in app.state.plan.sessions if not ps.file_id.startswith("cron-")
                     and any(":cron:" in key for key in session_keys(ps))}  # months old
        old = cron_ids(old_only=True) | demo_cron
        await pilot.press("slash", *"key:*:cron:* older:30d", "enter")
        await settle(app, pilot)
        assert {ps.file_id for ps in table.items} == old
        assert f"row 1 of {len(old)}" in screen_text(app)
        await pilot.press("a", "space")
        await settle(app, pilot)
        skipped = {fid for fid, d in app.state.decisions.current.items() if d.skip}
        assert skipped == old and app.state.plan.totals.skipped == len(old)
        # the recent ones, and everything else, untouched
        assert all(app.state.plan.session(fid).action == "migrate"
                   for fid in cron_ids() - cron_ids(old_only=True))


async def test_a_query_that_cannot_be_read_says_why_and_keeps_the_list(crowd) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await open_plan(app, pilot)
        table = table_of(app)
        before = list(table.items)
        await pilot.press("slash", *"status:nope", "enter")
        await settle(app, pilot)
        assert "'status:nope': the statuses are" in screen_text(app)
        assert list(table.items) == before


async def test_the_fix_dialog_applies_to_every_session_with_the_problem(crowd) -> None:
    truncated = file_id(crowd, "invalid_json")
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await open_plan(app, pilot)
        await move_to(pilot, table_of(app), truncated)
        await pilot.press("f")
        await settle(app, pilot)
        assert isinstance(app.screen, FixDialog)
        assert "invalid_json: 6 others" in screen_text(app)
        await pilot.press("a")
        assert "[x] a: apply to every session with this problem" in screen_text(app)
        await pilot.press("enter")  # salvage, for all seven
        await settle(app, pilot)
        salvaged = {fid for fid, d in app.state.decisions.current.items() if "salvage" in d.fixes}
        assert salvaged == {truncated, *(f"cut-{n}" for n in range(6))}
        assert all(app.state.plan.session(fid).action == "migrate" for fid in salvaged)
        assert "u undoes: salvage for 7 sessions" in screen_text(app)


async def test_the_fix_dialog_on_marked_sessions(crowd) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await open_plan(app, pilot)
        await pilot.press("2")  # problems: 7 cut short and 4 others
        table = table_of(app)
        await pilot.press("a", "f")
        await settle(app, pilot)
        assert isinstance(app.screen, FixDialog)
        text = screen_text(app)
        assert f"Fix {len(table.items)} sessions" in text
        assert "salvage" in text and "for 7 of the 11 sessions" in text
        assert "skip all 11" in text
        await pilot.press("enter")
        await settle(app, pilot)
        salvaged = {fid for fid, d in app.state.decisions.current.items() if "salvage" in d.fixes}
        assert len(salvaged) == 7 and app.state.plan.totals.blocked == 4
