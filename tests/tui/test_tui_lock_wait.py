"""A lock the migration needs is held when the user starts it: the wizard waits on its own
screen (who holds it, a countdown to the next look, r to look now, escape back to the plan)
and writes nothing until the lock is free — never a failure after the backup."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

from textual.clock import Clock

from migrate_tui.core.layout import open_layout
from migrate_tui.engine.preflight import held_locks
from migrate_tui.tui.screens.lock_wait import LockWaitScreen
from migrate_tui.tui.screens.plan import PlanScreen
from migrate_tui.tui.screens.result import ResultScreen
from tests.tui.screen_text import screen_text
from tests.tui.tui_support import SIZE, make_app, plan_to_backup, settle

HOLDER = f"{os.getpid()}\n{socket.gethostname()}\n"  # a live holder: this very process
HOLD_OPLOCK = """
import sys
from migrate_tui.core.layout import open_layout
from migrate_tui.engine.oplock import operation_lock
with operation_lock(open_layout(sys.argv[1]), "rollback"):
    print("held", flush=True)
    sys.stdin.read()
"""


async def open_backup(app, pilot) -> None:
    await settle(app, pilot)
    await pilot.press("enter")
    await settle(app, pilot)
    await plan_to_backup(app, pilot)


def nothing_written(folder: Path) -> bool:
    return not (folder / "sessions.json").exists() and not (folder / "backup_old_format").exists()


def test_held_locks_names_the_holder_of_sessions_json_lock(demo) -> None:
    folder = Path(demo.sessions_dir)
    layout = open_layout("demo")
    assert held_locks(layout) == []
    (folder / "sessions.json.lock").write_text(HOLDER)
    [held] = held_locks(layout)
    assert held.name == "sessions.json.lock" and held.pid == os.getpid()
    assert held.command is not None and "python" in held.command
    assert held.describe().startswith(f"sessions.json.lock is held by process {os.getpid()} (")
    gone = f"999999999\n{socket.gethostname()}\n"  # a holder that is gone
    (folder / "sessions.json.lock").write_text(gone)
    assert held_locks(layout) == []


async def test_a_held_store_lock_waits_then_migrates_once_it_is_free(demo) -> None:
    folder = Path(demo.sessions_dir)
    lock = folder / "sessions.json.lock"
    lock.write_text(HOLDER)
    app = make_app(lock_retry=30.0)
    async with app.run_test(size=SIZE) as pilot:
        await open_backup(app, pilot)
        await pilot.press("enter")
        await settle(app, pilot)
        assert isinstance(app.screen, LockWaitScreen)
        text = screen_text(app)
        assert "The migration has not started: nothing was written." in text
        assert f"sessions.json.lock is held by process {os.getpid()} (" in text
        assert "Next try in 30 s" in text and "r: try now" in text
        assert nothing_written(folder)
        await pilot.press("r")  # still held: it says so and waits again
        await settle(app, pilot)
        assert isinstance(app.screen, LockWaitScreen)
        assert "Still held after 1 try." in screen_text(app)
        assert nothing_written(folder)
        lock.unlink()
        await pilot.press("r")
        await settle(app, pilot, 0.5)
        assert isinstance(app.screen, ResultScreen), type(app.screen).__name__
        assert app.state.outcome is not None and app.state.outcome.report is not None
        assert app.state.outcome.report.migrated > 0
    assert (folder / "sessions.json").exists()


async def test_escape_goes_back_to_the_plan_with_the_decisions(demo) -> None:
    folder = Path(demo.sessions_dir)
    (folder / "sessions.json.lock").write_text(HOLDER)
    app = make_app(lock_retry=30.0)
    async with app.run_test(size=SIZE) as pilot:
        await open_backup(app, pilot)
        decisions = dict(app.state.decisions.current)
        await pilot.press("enter")
        await settle(app, pilot)
        assert isinstance(app.screen, LockWaitScreen)
        await pilot.press("escape")
        await settle(app, pilot)
        assert isinstance(app.screen, PlanScreen)
        assert app.state.plan is not None and app.state.decisions.current == decisions
        await pilot.press("enter")  # and again: still held, still waiting
        await settle(app, pilot)
        if not isinstance(app.screen, LockWaitScreen):
            await plan_to_backup(app, pilot)
            await pilot.press("enter")
            await settle(app, pilot)
        assert isinstance(app.screen, LockWaitScreen)
        await pilot.press("ctrl+q")
    assert app.return_code == 3  # a lock is held; nothing was written
    assert nothing_written(folder)


async def test_another_command_holding_the_operation_lock_is_waited_for_and_retried(demo) -> None:
    folder = Path(demo.sessions_dir)
    root = Path(__file__).parents[2]
    child = subprocess.Popen([sys.executable, "-c", HOLD_OPLOCK, "demo"], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, text=True, cwd=os.getcwd(),
                             env={**os.environ, "PYTHONPATH": str(root)})
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "held"
        app = make_app(clock=Clock(), lock_retry=0.3)  # real time: the countdown runs
        async with app.run_test(size=SIZE) as pilot:
            await open_backup(app, pilot)
            await pilot.press("enter")
            await settle(app, pilot, 0.1)
            assert isinstance(app.screen, LockWaitScreen), type(app.screen).__name__
            [held] = app.screen.holders
            assert (held.name, held.pid, held.command) == ("migrate-tui.lock", child.pid,
                                                           "migrate-tui rollback")
            text = " ".join(screen_text(app).split())  # however the line wraps
            assert f"migrate-tui.lock is held by process {child.pid} (migrate-tui rollback" in text
            assert nothing_written(folder)
            assert child.stdin is not None
            child.stdin.close()
            child.wait(10)
            for _ in range(50):  # the next automatic look finds it free and migrates
                await settle(app, pilot, 0.1)
                if isinstance(app.screen, ResultScreen):
                    break
            assert isinstance(app.screen, ResultScreen), type(app.screen).__name__
        assert (folder / "sessions.json").exists()
    finally:
        child.kill()
        child.wait()
