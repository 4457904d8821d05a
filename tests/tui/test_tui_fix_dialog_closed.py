"""The fix dialog works out, in a worker, what each fix would do and which other sessions
share the problem (a look over every session: long on a big workspace).  When the dialog is
closed before that work comes back, the results are let go: drawing them into a dialog
whose parts were already removed failed, and the wizard showed its failure dialog."""

from __future__ import annotations

from migrate_tui.tui.screens.fix import SKIP, FixDialog
from migrate_tui.tui.screens.plan import PlanScreen
from migrate_tui.tui.widgets.session_table import SessionTable
from tests.tui.tui_support import SIZE, file_id, make_app, move_to, open_plan, settle


async def test_results_coming_back_after_the_dialog_closed_are_let_go(crowd) -> None:  # type: ignore[no-untyped-def]
    truncated = file_id(crowd, "invalid_json")
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await open_plan(app, pilot)
        assert isinstance(app.screen, PlanScreen)
        await move_to(pilot, app.screen.query_one(SessionTable), truncated)
        await pilot.press("f")
        await settle(app, pilot)
        dialog = app.screen
        assert isinstance(dialog, FixDialog)
        await pilot.press("escape")
        await settle(app, pilot)
        assert isinstance(app.screen, PlanScreen)
        dialog._got_alike({SKIP: [truncated]})  # what the worker hands back, after the close
        await settle(app, pilot)
        assert isinstance(app.screen, PlanScreen), type(app.screen).__name__
