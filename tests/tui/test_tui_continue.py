"""After a partial migration, back to the plan with what is left (scanned again, decisions
kept), fix it, migrate again, without restarting the wizard; checked on the files."""

from __future__ import annotations

import json
from pathlib import Path

from migrate_tui.engine import SKIP
from migrate_tui.tui.screens.fix import FixDialog
from migrate_tui.tui.screens.plan import PlanScreen
from migrate_tui.tui.screens.result import ResultScreen
from migrate_tui.tui.widgets.session_table import SessionTable
from tests.tui.screen_text import screen_text
from tests.tui.tui_support import SIZE, file_id, make_app, move_to, open_plan, plan_to_backup, settle


async def test_from_the_result_back_to_the_plan_with_what_is_left(demo) -> None:
    folder = Path(demo.sessions_dir)
    truncated = file_id(demo, "invalid_json")
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await open_plan(app, pilot)
        await move_to(pilot, app.screen.query_one(SessionTable), "legacy-notes")
        await pilot.press("space")  # skipped: it must stay skipped after the round trip
        await settle(app, pilot)
        await plan_to_backup(app, pilot)
        await pilot.press("enter")
        await settle(app, pilot, 0.5)
        assert isinstance(app.screen, ResultScreen)
        assert "p: back to the plan with what is left" in screen_text(app)
        first = json.loads((folder / "sessions.json").read_text())
        assert not (folder / f"{truncated}.jsonl").exists()

        await pilot.press("p")
        await settle(app, pilot, 0.5)
        assert isinstance(app.screen, PlanScreen)
        plan = app.state.plan
        migrated = {ps.file_id for ps in plan.sessions if ps.action == "done"}
        assert len(migrated) == 12  # what the first run wrote is now already migrated
        assert plan.session("legacy-notes").action == "skip"  # the decision kept
        assert app.state.decisions.current == {"legacy-notes": SKIP}
        assert "already done 12" in screen_text(app)
        assert plan.totals.blocked == 5

        table = app.screen.query_one(SessionTable)
        await move_to(pilot, table, truncated)
        await pilot.press("f")
        await settle(app, pilot)
        assert isinstance(app.screen, FixDialog)
        await pilot.press("enter")  # salvage
        await settle(app, pilot)
        await move_to(pilot, table, "legacy-notes")
        await pilot.press("space")  # and migrate the one skipped after all
        await settle(app, pilot)
        assert app.state.plan.totals.to_migrate == 2
        await plan_to_backup(app, pilot)
        await pilot.press("enter")
        await settle(app, pilot, 0.5)
        assert isinstance(app.screen, ResultScreen)
        text = screen_text(app)
        assert "2 sessions migrated" in text and "Already migrated: 12" in text
        assert app.state.runs == 2

    store = json.loads((folder / "sessions.json").read_text())
    assert set(first) < set(store)  # the first run's entries are all still there
    assert {k: v for k, v in store.items() if k in first} == first
    assert (folder / f"{truncated}.jsonl").exists()
    assert len((folder / f"{truncated}.jsonl").read_text().splitlines()) == demo.truncated_messages
    assert (folder / "legacy-notes.jsonl").exists()
    assert any(entry["session_id"] == "legacy-notes" for entry in store.values())
