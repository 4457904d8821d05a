"""Cancel (escape or c) on the two screens that run the engine — the migration (step 7) and
an operation after it (a rollback here) — on the demo workspace: while the work runs, the
flag goes up once, the log says the work stops at its next safe point, the note under the
log says what cancelling leaves behind, and the work ends cancelled.  The operation screen
ignores cancel while nothing runs and starts a new run with the flag down and no note."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from textual.widgets import RichLog, Static

from migrate_tui.engine import PhaseStarted, Progress, commands
from migrate_tui.tui.screens.failure import FailureDialog
from migrate_tui.tui.screens.operation import OperationScreen
from migrate_tui.tui.screens.progress import ProgressScreen
from migrate_tui.tui.screens.result import ResultScreen
from tests.tui.screen_text import screen_text
from tests.tui.tui_support import SIZE, held_until_cancelled, make_app, plan_to_backup, settle

APPLY_LINE = "cancelling: apply stops at the next safe point…"
APPLY_NOTE = ("Cancelling. sessions.json is not changed once apply stops early; afterwards, run "
              "the migration again to finish, or roll back to undo.")
ROLLBACK_LINE = "cancelling: the rollback stops at the next safe point…"
ROLLBACK_NOTE = ("Cancelling the rollback: what is done so far stays done and is recorded; "
                 "running it again finishes it.")


def log_lines(screen: Any) -> list[str]:
    return [strip.text for strip in screen.query_one(RichLog).lines]


def note(screen: Any) -> str:
    return str(screen.query_one("#cancel-note", Static).content)


async def open_backup(app, pilot) -> None:
    await settle(app, pilot)
    await pilot.press("enter")
    await settle(app, pilot)
    await plan_to_backup(app, pilot)


async def test_cancel_on_the_progress_screen_stops_apply_once_and_says_so(demo, monkeypatch) -> None:
    started = threading.Event()
    release = threading.Event()
    real_migrate = commands.migrate

    waiting_migrate = held_until_cancelled(
        real_migrate, [PhaseStarted("transcripts", 13), Progress("transcripts", 2, 13, "main.json")],
        started, release, "c must set the cancel flag")

    monkeypatch.setattr(commands, "migrate", waiting_migrate)
    folder = Path(demo.sessions_dir)
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        try:
            await open_backup(app, pilot)
            await pilot.press("enter")
            assert started.wait(10)
            await pilot.pause(0.2)
            screen = app.screen
            assert isinstance(screen, ProgressScreen)
            assert app.apply_worker() is not None  # running
            assert not app.state.cancel.is_set() and note(screen) == ""
            assert not any(line.startswith("cancelling") for line in log_lines(screen))

            await pilot.press("c")
            await pilot.pause()
            assert app.state.cancel.is_set()
            assert log_lines(screen).count(APPLY_LINE) == 1
            assert note(screen) == APPLY_NOTE
            assert "Cancelling. sessions.json is not changed" in screen_text(app)

            await pilot.press("escape")  # the flag is up already: nothing more is said
            await pilot.pause()
            assert log_lines(screen).count(APPLY_LINE) == 1
            assert note(screen) == APPLY_NOTE
        finally:
            release.set()
        await settle(app, pilot, 0.5)
        assert isinstance(app.screen, ResultScreen)
    assert app.state.outcome is not None and app.state.outcome.result is not None
    assert app.state.outcome.result.cancelled
    assert not (folder / "sessions.json").exists()  # apply stopped before the index


async def test_cancel_on_the_operation_screen_stops_the_rollback_once_and_says_so(demo, monkeypatch) -> None:
    started = threading.Event()
    release = threading.Event()
    real_rollback = commands.rollback

    waiting_rollback = held_until_cancelled(
        real_rollback, [PhaseStarted("rollback", 40), Progress("rollback", 12, 40, "main.jsonl")],
        started, release, "escape must set the cancel flag")

    monkeypatch.setattr(commands, "rollback", waiting_rollback)
    folder = Path(demo.sessions_dir)
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        try:
            await open_backup(app, pilot)
            await pilot.press("enter")
            await settle(app, pilot, 0.5)
            assert isinstance(app.screen, ResultScreen)
            assert (folder / "sessions.json").exists()  # migrated for real
            await pilot.press("r")
            await settle(app, pilot)
            await pilot.press("y")  # confirm the rollback
            assert started.wait(10)
            await pilot.pause(0.3)
            screen = app.screen
            assert isinstance(screen, OperationScreen) and screen.running
            assert not screen.cancel.is_set() and note(screen) == ""

            await pilot.press("escape")
            await pilot.pause()
            assert screen.cancel.is_set()
            assert log_lines(screen).count(ROLLBACK_LINE) == 1
            assert note(screen) == ROLLBACK_NOTE
            assert "Cancelling the rollback: what is done so far stays done" in screen_text(app)

            await pilot.press("c")  # the flag is up already: nothing more is said
            await pilot.pause()
            assert log_lines(screen).count(ROLLBACK_LINE) == 1
        finally:
            release.set()
        await settle(app, pilot, 0.5)
        assert isinstance(app.screen, ResultScreen)
    assert (folder / "sessions.json").exists()  # cancelled before it removed anything


async def test_the_operation_screen_ignores_cancel_when_idle_and_starts_afresh(demo) -> None:
    """Nothing runs: escape does nothing.  A run cancelled, then failing, is tried again
    from the failure dialog: the new run starts with the flag down and no note."""
    runs: list[threading.Event] = []
    release = threading.Event()

    def job(on_event, cancel):
        runs.append(cancel)
        assert cancel.wait(20), "escape must set the cancel flag"
        release.wait(20)
        raise RuntimeError("the disk went away")

    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        try:
            await settle(app, pilot)
            screen = OperationScreen("Rolling back", "the rollback", job, autostart=False)
            await app.push_screen(screen)
            await pilot.pause()
            await pilot.press("escape")  # nothing runs yet
            await pilot.pause()
            assert not screen.cancel.is_set() and note(screen) == ""
            assert ROLLBACK_LINE not in log_lines(screen)

            screen.start()
            await pilot.pause()
            await pilot.press("escape")
            await pilot.pause()
            assert screen.cancel.is_set() and note(screen) == ROLLBACK_NOTE
            release.set()
            await app.workers.wait_for_complete()
            await pilot.pause(0.2)
            assert isinstance(app.screen, FailureDialog)
            assert not screen.running
            release.clear()
            await pilot.press("r")  # try the rollback again
            await pilot.pause()
            assert app.screen is screen and screen.running
            assert not screen.cancel.is_set() and note(screen) == ""  # a fresh start
            await pilot.press("c")
            await pilot.pause()
            assert screen.cancel.is_set() and note(screen) == ROLLBACK_NOTE
            assert log_lines(screen).count(ROLLBACK_LINE) == 2  # once per run
        finally:
            release.set()
        await app.workers.wait_for_complete()
        await pilot.pause()
    assert len(runs) == 2
