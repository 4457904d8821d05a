"""After the migration: what the result offers follows the engine's state of the workspace
(committed, interrupted, rolled-back runs; another command running), and roll back and
clean-up run on a progress screen that can be cancelled, and quit, at a safe point."""

from __future__ import annotations

import threading
from pathlib import Path

from migrate_tui.core.layout import open_layout
from migrate_tui.engine import PhaseStarted, Progress, commands
from migrate_tui.engine.model import Decision
from migrate_tui.engine.oplock import operation_lock
from migrate_tui.engine.state import workspace_state
from migrate_tui.tui.offers import offered_actions
from migrate_tui.tui.screens.confirm import ConfirmDialog
from migrate_tui.tui.screens.operation import OperationScreen
from migrate_tui.tui.screens.result import ResultScreen
from tests.tui.screen_text import screen_text
from tests.tui.tui_support import SIZE, held_until_cancelled, make_app, plan_to_backup, settle


def offers(workspace: str = "demo", rolled_back: bool = False) -> dict[str, str | None]:
    return offered_actions(workspace_state(workspace), rolled_back)


def migrated(decisions: dict[str, Decision] | None = None, cancel_at: int | None = None) -> None:
    """Migrate the demo (for real); ``cancel_at``: cancel once that many transcripts are written."""
    prepared = commands.prepare("demo", decisions=decisions or {})
    assert prepared.plan is not None
    cancel = threading.Event()

    def on_event(event: object) -> None:
        if cancel_at is not None and isinstance(event, Progress) and event.phase == "transcripts" \
                and event.done >= cancel_at:
            cancel.set()

    outcome = commands.migrate(prepared.plan, on_event=on_event, cancel=cancel)
    assert outcome.report is not None and outcome.report.cancelled == (cancel_at is not None)


def test_offers_follow_the_engine_state(demo) -> None:
    first = offers()
    assert first["rollback"] == "nothing was written by a migration, so there is nothing to roll back"
    assert first["cleanup"].startswith("no migration of this workspace was committed")

    plan = commands.prepare("demo").plan
    assert plan is not None
    to_migrate = [ps.file_id for ps in plan.sessions if ps.action == "migrate"]
    migrated({fid: Decision(skip=True) for fid in to_migrate[2:]})  # committed and verified
    assert offers() == {"rollback": None, "cleanup": None}

    migrated(cancel_at=0)  # a second run, cancelled: interrupted, so no clean-up now
    after_cancel = offers()
    assert after_cancel["rollback"] is None
    assert after_cancel["cleanup"] is not None and "did not finish (interrupted)" in after_cancel["cleanup"]

    holding = threading.Event()
    release = threading.Event()

    def other_command() -> None:
        with operation_lock(open_layout("demo"), "cleanup"):
            holding.set()
            release.wait(10)

    thread = threading.Thread(target=other_command)
    thread.start()
    try:
        assert holding.wait(10)
        busy = offers()
        assert busy["rollback"] == busy["cleanup"]
        assert busy["rollback"].startswith("another migrate-tui command is running here: cleanup")
    finally:
        release.set()
        thread.join()

    outcome = commands.rollback("demo")
    assert outcome.status == "success", outcome.message
    gone = offers(rolled_back=True)
    assert gone["rollback"] == gone["cleanup"] == ("the migration was rolled back: nothing of it is "
                                                   "in effect any more")


async def open_result(app, pilot) -> None:
    await settle(app, pilot)
    await pilot.press("enter")
    await settle(app, pilot)
    await plan_to_backup(app, pilot)
    await pilot.press("enter")
    await settle(app, pilot, 0.5)
    assert isinstance(app.screen, ResultScreen)


async def test_a_cancelled_run_offers_rollback_but_not_clean_up(demo, monkeypatch) -> None:
    real_migrate = commands.migrate

    def cancelled_midway(plan, *, on_event, cancel, **options):
        def watch(event: object) -> None:
            on_event(event)
            if isinstance(event, Progress) and event.phase == "transcripts" and event.done >= 2:
                cancel.set()
        return real_migrate(plan, on_event=watch, cancel=cancel, **options)

    monkeypatch.setattr(commands, "migrate", cancelled_midway)
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await open_result(app, pilot)
        text = screen_text(app)
        assert "Cancelled at a safe point" in text
        assert "r rolls the migration back" in text and "c removes the originals" not in text
        assert "clean-up is not offered: the migrate run" in text and "did not finish" in text
        await pilot.press("q")
    assert app.return_code == 5  # cancelled (EXIT_CANCELLED), not 1


async def test_rollback_shows_progress_and_quitting_waits_for_a_safe_point(demo, monkeypatch) -> None:
    started = threading.Event()
    release = threading.Event()
    real_rollback = commands.rollback

    slow_rollback = held_until_cancelled(
        real_rollback, [PhaseStarted("rollback", 40), Progress("rollback", 12, 40, "main.jsonl")],
        started, release, "quitting must cancel the rollback")

    monkeypatch.setattr(commands, "rollback", slow_rollback)
    folder = Path(demo.sessions_dir)
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await open_result(app, pilot)
        await pilot.press("r")
        await settle(app, pilot)
        assert isinstance(app.screen, ConfirmDialog)
        await pilot.press("y")
        assert started.wait(10)
        await pilot.pause(0.3)
        assert isinstance(app.screen, OperationScreen)
        text = screen_text(app)
        assert "Rolling back" in text and "rollback: 12 of 40 files" in text
        await pilot.press("ctrl+q")
        await pilot.pause(0.2)
        text = screen_text(app)
        assert ("Quitting: waiting for the rollback to stop after the file in hand (rollback: 12 of 40)"
                in text)
        release.set()
        await app.workers.wait_for_complete()
        await pilot.pause()
    assert app.return_code == 5  # the rollback was cancelled before it changed anything
    assert (folder / "sessions.json").exists()  # nothing was rolled back


async def test_cleanup_runs_on_the_progress_screen_and_cancel_stops_it(demo, monkeypatch) -> None:
    started = threading.Event()
    real_plan = commands.plan_cleanup

    def slow_plan(workspace, *, on_event, cancel, **options):
        on_event(PhaseStarted("compare", 30))
        on_event(Progress("compare", 3, 30, "main.json"))
        started.set()
        assert cancel.wait(20), "escape must cancel the planning"
        return real_plan(workspace, on_event=on_event, cancel=cancel, **options)

    monkeypatch.setattr(commands, "plan_cleanup", slow_plan)
    folder = Path(demo.sessions_dir)
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await open_result(app, pilot)
        await pilot.press("c")
        assert started.wait(10)
        await pilot.pause(0.3)
        assert isinstance(app.screen, OperationScreen)
        assert "compare: 3 of 30 files" in screen_text(app)
        await pilot.press("escape")
        await settle(app, pilot)
        assert isinstance(app.screen, ResultScreen)
        assert "Clean-up cancelled; nothing was removed." in screen_text(app)
    assert (folder / "legacy-notes.json").exists()
