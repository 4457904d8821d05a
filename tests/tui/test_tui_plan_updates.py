"""The plan screen after a decision: only the changed rows and the filter counts are updated
(not a refilter of every session), so each check compares what is shown with what a full
refilter of the new plan gives (``filter_sessions`` / ``filter_counts`` from scratch).

The chosen behaviour: a row whose session no longer matches the filter or search stays
listed (showing its new state, the cursor on it) until a filter or search is chosen again;
the counts on the tabs and the totals are always those of the new plan."""

from __future__ import annotations

import gc

from migrate_tui.engine import SKIP, Decision, build_plan, scan_workspace
from migrate_tui.tui.app import replanned
from migrate_tui.tui.plan_filter import (
    FILTERS,
    changed_sessions,
    counts_of,
    filter_counts,
    filter_sessions,
    recount,
)
from migrate_tui.tui.screens.fix import FixDialog
from migrate_tui.tui.screens.plan import PlanScreen
from migrate_tui.tui.widgets.session_table import SessionTable
from tests.tui.screen_text import screen_text
from tests.tui.tui_support import SIZE, file_id, make_app, move_to, settle


async def open_plan(app, pilot) -> PlanScreen:
    await settle(app, pilot)
    await pilot.press("enter")
    await settle(app, pilot)
    assert isinstance(app.screen, PlanScreen)
    return app.screen


def listed_ids(table: SessionTable) -> list[str]:
    return [ps.file_id for ps in table.items]


def check_against_full_refilter(app, kept: frozenset[str] | set[str] = frozenset()) -> None:
    """The table lists what a full refilter of the app's plan lists, plus at most the rows
    ``kept`` (changed since the filter was chosen), each showing its session as now planned,
    in the plan's order; the tabs and the totals bar show the new plan's numbers."""
    screen = app.screen
    assert isinstance(screen, PlanScreen)
    table = screen.query_one(SessionTable)
    plan = app.state.plan
    fresh = {ps.file_id for ps in filter_sessions(plan, screen.filter, screen.search)}
    shown = listed_ids(table)
    assert len(shown) == len(set(shown))
    assert fresh <= set(shown) <= fresh | set(kept)
    assert shown == sorted(shown, key=plan.index.__getitem__)
    for ps in table.items:
        assert ps == plan.session(ps.file_id)  # no stale row
    assert table.index_of(table.current.file_id) == table.cursor
    counts = filter_counts(plan)
    text = screen_text(app)
    for n, name in enumerate(FILTERS, 1):
        assert f"{n}:{name} {counts[name]:,}" in text
    totals = plan.totals
    assert f"To migrate {totals.to_migrate}" in text and f"skipped {totals.skipped}" in text
    assert f"fixed {totals.fixed}" in text and f"problems left {totals.blocked}" in text
    assert "updating" not in text


async def test_a_skip_under_problems_stays_listed_until_the_filter_is_chosen_again(demo) -> None:
    fid = file_id(demo, "not_utf8")
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_plan(app, pilot)
        table = screen.query_one(SessionTable)
        await pilot.press("2")  # problems
        before = listed_ids(table)
        assert fid in before and len(before) == 5
        await move_to(pilot, table, fid)
        await pilot.press("space")
        await settle(app, pilot)
        assert app.state.plan.session(fid).action == "skip"
        assert listed_ids(table) == before  # the row stays where it was, the cursor on it
        assert table.current.file_id == fid and table.current.action == "skip"
        check_against_full_refilter(app, kept={fid})
        assert "problems left 4" in screen_text(app) and "2:problems 4" in screen_text(app)
        await pilot.press("space")  # the same key undoes it, in place
        await settle(app, pilot)
        assert table.current.file_id == fid and table.current.action == "blocked"
        check_against_full_refilter(app)
        await pilot.press("space")
        await settle(app, pilot)
        await pilot.press("2")  # choosing the filter again: only what matches
        check_against_full_refilter(app)
        assert fid not in listed_ids(table) and len(table.items) == 4


async def test_an_unskip_under_skipped_updates_the_row_and_the_counts(demo) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_plan(app, pilot)
        table = screen.query_one(SessionTable)
        skipped = [table.items[1].file_id, table.items[4].file_id]
        for fid in skipped:
            await move_to(pilot, table, fid)
            await pilot.press("space")
            await settle(app, pilot)
        check_against_full_refilter(app)
        await pilot.press("4")  # skipped
        assert listed_ids(table) == sorted(skipped, key=app.state.plan.index.__getitem__)
        await move_to(pilot, table, skipped[1])
        await pilot.press("space")  # un-skip
        await settle(app, pilot)
        assert table.current.file_id == skipped[1] and table.current.action != "skip"
        assert "– skip" in screen_text(app) and "4:skipped 1" in screen_text(app)
        check_against_full_refilter(app, kept={skipped[1]})
        await pilot.press("4")
        assert listed_ids(table) == [skipped[0]]
        check_against_full_refilter(app)


async def test_a_fix_from_the_dialog_under_problems_updates_the_row(demo) -> None:
    fid = file_id(demo, "invalid_json")
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_plan(app, pilot)
        table = screen.query_one(SessionTable)
        await pilot.press("2")
        await move_to(pilot, table, fid)
        await pilot.press("f")
        await settle(app, pilot)
        assert isinstance(app.screen, FixDialog)
        await pilot.press("enter")  # salvage
        await settle(app, pilot)
        assert app.screen is screen
        assert table.current.file_id == fid and table.current.action == "migrate"
        assert "✓ fixed" in screen_text(app)
        check_against_full_refilter(app, kept={fid})
        assert app.state.plan.totals.fixed == 1 and "2:problems 4" in screen_text(app)


async def test_a_skip_while_searching_keeps_the_search(demo) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_plan(app, pilot)
        table = screen.query_one(SessionTable)
        await pilot.press("slash", *"discord", "enter")
        await settle(app, pilot)
        found = listed_ids(table)
        assert len(found) == 2
        await pilot.press("down", "space")
        await settle(app, pilot)
        assert listed_ids(table) == found and table.current.file_id == found[1]
        assert table.current.action == "skip"
        check_against_full_refilter(app, kept={found[1]})
        await pilot.press("4")  # skipped, the search still applied
        assert listed_ids(table) == [found[1]]
        check_against_full_refilter(app)


async def test_decisions_in_quick_succession_end_in_the_plan_built_from_scratch(demo) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_plan(app, pilot)
        table = screen.query_one(SessionTable)
        # skip rows 0, 2 and 3, then un-skip row 2, without waiting for the plans
        await pilot.press("space", "down", "down", "space", "down", "space", "up", "space")
        await settle(app, pilot)
        ids = [ps.file_id for ps in app.state.plan.sessions]
        assert app.state.decisions.current == {ids[0]: SKIP, ids[3]: SKIP} == app.state.plan.decisions
        fresh = build_plan(app.state.scan, app.state.agent_id, app.state.decisions.current, backup=True)
        assert app.state.plan.sessions == fresh.sessions and app.state.plan.totals == fresh.totals
        check_against_full_refilter(app)
        assert table.current.file_id == ids[2]


def test_replanned_is_build_plan(demo) -> None:
    """Replanning the decisions that changed gives the plan ``build_plan`` gives; the counts
    corrected from the changed sessions are exact."""
    scan = scan_workspace(str(demo.root))
    plan = build_plan(scan, "main", {}, backup=True)
    ids = [ps.file_id for ps in plan.sessions]
    blocked = [ps.file_id for ps in plan.sessions if ps.action == "blocked"]
    steps = [
        {ids[0]: SKIP},
        {ids[0]: SKIP, blocked[0]: SKIP,
         file_id(demo, "invalid_json"): Decision(fixes=frozenset({"salvage"}))},
        {blocked[0]: SKIP},
        {fid: SKIP for fid in ids},
        {},
    ]
    counts = filter_counts(plan)
    for decisions in steps:
        new = replanned(plan, decisions)
        fresh = build_plan(scan, "main", decisions, backup=True)
        assert new.sessions == fresh.sessions and new.totals == fresh.totals
        assert new.decisions == decisions
        pairs = changed_sessions(plan, new)
        assert pairs is not None
        assert changed_sessions(plan, fresh) == pairs  # by equality when nothing is shared
        counts = recount(counts, pairs)
        assert counts == filter_counts(fresh) == counts_of(new)  # the totals count the same
        plan = new


async def test_a_session_skipped_on_the_errors_review_joins_the_skipped_filter(demo) -> None:
    """A session not listed that comes to match (decided on another screen) is listed, in
    the plan's order."""
    from migrate_tui.tui.screens.errors import ErrorsScreen
    from migrate_tui.tui.widgets.problem_list import ProblemList

    fid = file_id(demo, "invalid_json")
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_plan(app, pilot)
        table = screen.query_one(SessionTable)
        await pilot.press("4")  # skipped: none yet
        assert table.items == []
        await pilot.press("e")
        await settle(app, pilot)
        assert isinstance(app.screen, ErrorsScreen)
        problems = app.screen.query_one(ProblemList)
        problems.move_cursor(problems.index_of((fid, "invalid_json")))
        await pilot.pause()
        await pilot.press("f")
        await settle(app, pilot)
        await pilot.press("down", "enter")  # skip
        await settle(app, pilot)
        await pilot.press("escape")
        await settle(app, pilot)
        assert app.screen is screen
        assert listed_ids(table) == [fid] and table.current.file_id == fid
        check_against_full_refilter(app)


async def test_the_scan_and_plan_are_left_out_of_garbage_collection(demo) -> None:
    """At 50,000 sessions each full collection walked the scan and plan (~0.25 s on a key);
    they are frozen once planned, and thawed when a new scan starts."""
    gc.unfreeze()
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await open_plan(app, pilot)
        assert gc.get_freeze_count() > 0
        app.navigator.scan(app.state.workspace, app.state.agent_id)
        assert gc.get_freeze_count() == 0
        await settle(app, pilot)
        assert gc.get_freeze_count() > 0
