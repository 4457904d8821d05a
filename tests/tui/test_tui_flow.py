"""The whole wizard on a real workspace: scan → skip one → fix one (salvage) → review the
errors → confirm the backup → apply → result → roll back; checked on the files."""

from __future__ import annotations

import json
from pathlib import Path

from migrate_tui.tui.screens.backup import BackupScreen
from migrate_tui.tui.screens.confirm import ConfirmDialog
from migrate_tui.tui.screens.errors import ErrorsScreen
from migrate_tui.tui.screens.plan import PlanScreen
from migrate_tui.tui.screens.result import ResultScreen
from migrate_tui.tui.widgets.session_table import SessionTable
from tests.tui.screen_text import screen_text
from tests.tui.tui_support import SIZE, make_app, plan_to_backup, settle, snapshot_files


async def test_the_whole_flow_writes_what_the_plan_showed_and_rolls_back(demo) -> None:
    folder = Path(demo.sessions_dir)
    before = snapshot_files(folder)
    truncated = demo.damaged["invalid_json"][:-5]
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press("enter")  # scan
        await settle(app, pilot)
        assert isinstance(app.screen, PlanScreen)
        table = app.screen.query_one(SessionTable)

        table.move_cursor(table.index_of("legacy-notes"))
        await pilot.press("space")  # skip
        await settle(app, pilot)
        table.move_cursor(table.index_of(truncated))
        await pilot.press("f")
        await settle(app, pilot)
        await pilot.press("enter")  # salvage
        await settle(app, pilot)
        assert app.state.plan.session(truncated).action == "migrate"

        await pilot.press("e")  # review the errors that are left
        await settle(app, pilot)
        assert isinstance(app.screen, ErrorsScreen)
        assert "invalid_json" not in screen_text(app)
        await pilot.press("escape")

        await pilot.press("enter")  # problems are left: next is the errors review
        await settle(app, pilot)
        assert isinstance(app.screen, ErrorsScreen)
        await pilot.press("enter")  # the backup step
        await settle(app, pilot)
        assert isinstance(app.screen, BackupScreen)
        text = screen_text(app)
        assert "demo/.sessions/backup_old_format" in text
        assert "Originals are never modified" in text
        await pilot.press("enter")  # migrate
        await settle(app, pilot, 0.5)
        assert isinstance(app.screen, ResultScreen)
        result = screen_text(app)
        assert "Verification:     passed" in result
        assert "legacy-notes.json: skipped by you" in result

        store = json.loads((folder / "sessions.json").read_text())
        plan = app.state.plan
        expected_keys = {k for ps in plan.sessions if ps.action == "migrate" for k in ps.keys}
        assert set(store) == expected_keys
        assert "agent:main:main" in store and "agent:main:legacy-notes" not in store
        assert not (folder / "legacy-notes.jsonl").exists()
        lines = (folder / f"{truncated}.jsonl").read_text().splitlines()
        assert len(lines) == demo.truncated_messages
        for ps in plan.sessions:
            if ps.action == "migrate":
                transcript = folder / f"{ps.final_id}.jsonl"
                assert transcript.exists()
                assert len(transcript.read_text().splitlines()) == ps.message_count
        for name, data in before.items():  # originals are never modified
            assert (folder / name).read_bytes() == data
        report = json.loads((folder / "backup_old_format" / "last_report.json").read_text())
        assert report["migrated"] == plan.totals.to_migrate
        assert app.exit_code_now() == 1  # some sessions were not migrated because of problems

        await pilot.press("r")  # roll back
        await settle(app, pilot)
        assert isinstance(app.screen, ConfirmDialog)
        await pilot.press("y")
        await settle(app, pilot)
        text = screen_text(app)
        assert "Rolled back" in text
        assert snapshot_files(folder) == before  # byte for byte, nothing left over
        # the engine's records say nothing of the migration is in effect: neither is offered
        assert "r rolls the migration back" not in text and "c removes the originals" not in text
        assert "roll back and clean-up are not offered: the migration was rolled back" in text
        await pilot.press("q")
    assert app.return_code == 6  # rolled back (EXIT_ROLLED_BACK)


async def test_clean_up_after_a_full_migration_removes_checked_originals(demo) -> None:
    folder = Path(demo.sessions_dir)
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press("enter")
        await settle(app, pilot)
        await plan_to_backup(app, pilot)
        await pilot.press("enter")
        await settle(app, pilot, 0.5)
        assert isinstance(app.screen, ResultScreen)
        await pilot.press("c")
        await settle(app, pilot)
        assert isinstance(app.screen, ConfirmDialog)
        assert "Remove" in screen_text(app)
        await pilot.press("n")
        await settle(app, pilot)
        assert (folder / "legacy-notes.json").exists()
        await pilot.press("c")
        await settle(app, pilot)
        await pilot.press("y")
        await settle(app, pilot)
        assert "removed" in screen_text(app)
        assert not (folder / "legacy-notes.json").exists()
        assert (folder / demo.damaged["invalid_json"]).exists()  # not migrated: stays
        assert (folder / "backup_old_format" / "legacy-notes.json").exists()


async def test_turning_the_backup_off_needs_a_second_confirmation(demo) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press("enter")
        await settle(app, pilot)
        await plan_to_backup(app, pilot)
        screen = app.screen
        assert isinstance(screen, BackupScreen)
        assert "50.0 GB free" in screen_text(app) and "enough" in screen_text(app)
        await pilot.press("b")
        await settle(app, pilot)
        assert isinstance(app.screen, ConfirmDialog)
        await pilot.press("enter")  # the focused button is the safe one: keep the backup
        await settle(app, pilot)
        assert app.screen is screen and screen.backup
        await pilot.press("b", "y")
        await settle(app, pilot)
        assert not screen.backup and "Backup: OFF" in screen_text(app)
        await pilot.press("escape")
        assert isinstance(app.screen, PlanScreen)
