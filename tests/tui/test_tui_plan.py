"""Steps 3-5: the plan table, the detail panel, the errors review and the fix dialog."""

from __future__ import annotations

from textual.widgets import OptionList

from migrate_tui.engine import SKIP, Decision
from migrate_tui.tui.screens.errors import ErrorsScreen
from migrate_tui.tui.screens.fix import FixDialog
from migrate_tui.tui.screens.plan import PlanScreen
from migrate_tui.tui.widgets.problem_list import ProblemList
from migrate_tui.tui.widgets.session_table import SessionTable
from tests.tui.screen_text import screen_text
from tests.tui.tui_support import SIZE, file_id, make_app, move_to, settle


async def open_plan(app, pilot) -> None:
    await settle(app, pilot)
    await pilot.press("enter")
    await settle(app, pilot)
    assert isinstance(app.screen, PlanScreen)


async def test_every_session_is_listed_with_totals(demo) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await open_plan(app, pilot)
        table = app.screen.query_one(SessionTable)
        assert len(table.items) == 18
        text = screen_text(app)
        assert "To migrate 13" in text and "problems left 5" in text
        assert "✗ problem" in text and "✓ migrate" in text


async def test_filter_and_search(demo) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await open_plan(app, pilot)
        table = app.screen.query_one(SessionTable)
        await pilot.press("2")  # problems
        assert len(table.items) == 5 and all(ps.action == "blocked" for ps in table.items)
        await pilot.press("3")  # warnings
        assert [ps.file_id for ps in table.items] == [file_id(demo, "bom")]
        await pilot.press("t")  # → skipped
        assert table.items == []
        await pilot.press("1", "slash")
        await pilot.press(*"discord")
        await pilot.pause(0.4)
        assert {k for ps in table.items for k in ps.keys} >= {"agent:main:discord:group:g-77"}
        assert len(table.items) == 2
        await pilot.press("enter")
        assert table.has_focus


async def test_space_skips_and_the_plan_is_rebuilt(demo) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await open_plan(app, pilot)
        table = app.screen.query_one(SessionTable)
        await move_to(pilot, table, "legacy-notes")
        await pilot.press("space")
        await settle(app, pilot)
        assert app.state.decisions.current == {"legacy-notes": SKIP}
        assert app.state.plan.session("legacy-notes").action == "skip"
        assert app.state.plan.totals.to_migrate == 12 and app.state.plan.totals.skipped == 1
        assert "skipped 1" in screen_text(app)
        assert table.current.file_id == "legacy-notes"  # the cursor stays on the session
        await pilot.press("space")
        await settle(app, pilot)
        assert app.state.decisions.current == {} and app.state.plan.totals.to_migrate == 13


async def test_detail_shows_the_legacy_json_beside_the_entry(demo) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await open_plan(app, pilot)
        table = app.screen.query_one(SessionTable)
        await move_to(pilot, table, "legacy-notes")
        await settle(app, pilot, 0.3)
        text = screen_text(app)
        assert "legacy-notes.json" in text
        assert '"session_id": "legacy-notes"' in text  # the legacy file and the entry
        assert "sessions.json['agent:main:legacy-notes']" in text


async def test_fix_dialog_previews_salvage_and_applies_it(demo) -> None:
    fid = file_id(demo, "invalid_json")
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await open_plan(app, pilot)
        await move_to(pilot, app.screen.query_one(SessionTable), fid)
        await pilot.press("f")
        await settle(app, pilot)
        assert isinstance(app.screen, FixDialog)
        text = screen_text(app)
        assert f"{demo.truncated_messages} messages come back" in text
        assert "salvage" in text and "skip" in text
        options = app.screen.query_one(OptionList)
        assert [options.get_option_at_index(i).id for i in range(options.option_count)] == \
            ["fix:salvage", "skip"]
        await pilot.press("enter")  # the first option: salvage
        await settle(app, pilot)
        assert isinstance(app.screen, PlanScreen)
        assert app.state.decisions.current[fid] == Decision(fixes=frozenset({"salvage"}))
        assert app.state.plan.session(fid).action == "migrate"
        assert app.state.plan.session(fid).message_count == demo.truncated_messages
        assert app.state.plan.totals.fixed == 1


async def test_fix_dialog_escape_keeps_the_decision(demo) -> None:
    fid = file_id(demo, "bad_updated_at")
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await open_plan(app, pilot)
        await move_to(pilot, app.screen.query_one(SessionTable), fid)
        await pilot.press("f")
        await settle(app, pilot)
        assert "use-created-at" in screen_text(app) and "use-file-mtime" in screen_text(app)
        await pilot.press("escape")
        await settle(app, pilot)
        assert isinstance(app.screen, PlanScreen) and app.state.decisions.current == {}


async def test_errors_review_lists_every_problem_with_its_source(demo) -> None:
    fid = file_id(demo, "invalid_json")
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await open_plan(app, pilot)
        await pilot.press("e")
        await settle(app, pilot)
        assert isinstance(app.screen, ErrorsScreen)
        problems = app.screen.query_one(ProblemList)
        codes = sorted(row.problem.code for row in problems.items)
        assert codes == sorted(["bad_messages", "bad_updated_at", "id_mismatch", "invalid_json",
                                "not_utf8", "bom"])
        index = problems.index_of((fid, "invalid_json"))
        problems.move_cursor(index)
        await pilot.pause()
        row = problems.current
        text = screen_text(app)
        assert f"{row.problem.line}:{row.problem.column}" in text
        assert "^" in text and "|" in text  # the numbered source excerpt with its caret
        await pilot.press("f")
        await settle(app, pilot)
        assert isinstance(app.screen, FixDialog)
        await pilot.press("down", "enter")  # skip
        await settle(app, pilot)
        assert isinstance(app.screen, ErrorsScreen)
        assert app.state.decisions.current[fid].skip
        await pilot.press("escape")
        assert isinstance(app.screen, PlanScreen)
        assert app.state.plan.totals.skipped == 1


async def test_escape_goes_back_from_the_plan_to_the_workspace(demo) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await open_plan(app, pilot)
        await pilot.press("escape")
        await settle(app, pilot)
        assert type(app.screen).__name__ == "WorkspaceScreen"
