"""Save an SVG of every step of the wizard, the same every time::

    python -m scripts.screenshots DIR

A demo workspace (with damaged files) is generated in a temporary folder and opened as
``demo`` from there, so no temp path shows; the clock is a mock clock, the cursor does not
blink, and the free disk space is a fixed figure.  The scan and progress steps are shown
mid-way by feeding them engine events; every other step is the real thing.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import tempfile
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

from textual.clock import MockClock
from textual.pilot import Pilot

from migrate_tui.demo import generate_workspace
from migrate_tui.engine import LogLine, PhaseStarted, Progress
from migrate_tui.tui.app import MigrateApp
from migrate_tui.tui.settings import WizardSettings

SIZE = (100, 32)
FREE_BYTES = 50_000_000_000
WORKSPACE = "demo"

Step = Callable[[MigrateApp, Pilot], Awaitable[None]]


def screenshot_app(workspace: str = WORKSPACE) -> MigrateApp:
    clock = MockClock()
    settings = WizardSettings(clock=clock, steady=True, disk_free=lambda path: FREE_BYTES,
                              lock_timeout=1.0)
    return MigrateApp(workspace, "main", settings=settings)


@contextlib.contextmanager
def demo_folder() -> Iterator[Path]:
    """A temporary folder holding the demo workspace as ``demo``, made the current folder."""
    previous = os.getcwd()
    with tempfile.TemporaryDirectory(prefix="migrate-tui-shots-") as tmp:
        generate_workspace(Path(tmp) / WORKSPACE, sessions=12, damaged=True, seed=0)
        os.chdir(tmp)
        try:
            yield Path(tmp)
        finally:
            os.chdir(previous)


async def settle(app: MigrateApp, pilot: Pilot) -> None:
    for _ in range(3):
        await pilot.pause()
        await app.workers.wait_for_complete()
    await pilot.pause(0.2)
    await app.workers.wait_for_complete()
    await pilot.pause()


def _damaged_id(app: MigrateApp, code: str) -> str:
    assert app.state.plan is not None
    for ps in app.state.plan.sessions:
        if any(p.code == code for p in ps.open_problems):
            return ps.file_id
    raise LookupError(code)


# ---------------------------------------------------------------- the steps, in order


async def to_workspace(app: MigrateApp, pilot: Pilot) -> None:
    await settle(app, pilot)


async def to_scan(app: MigrateApp, pilot: Pilot) -> None:
    from migrate_tui.tui.screens.scan import ScanScreen

    await settle(app, pilot)
    clock = app.settings.clock
    assert isinstance(clock, MockClock)
    screen = ScanScreen(WORKSPACE, "main", expected_files=18, expected_bytes=95_000, autostart=False)
    await app.push_screen(screen)
    await pilot.pause()
    for at, done, size in ((0.0, 0, 0), (1.0, 3, 14_000), (2.5, 7, 31_337)):
        clock.set_time(at)
        events = [PhaseStarted("scan", 18)] if at == 0 else []
        screen.show_events([*events, Progress("scan", done, 18, "66dd7794-03c5-4c71-bca0-55362169df82.json",
                                              size)])
    await pilot.pause()


async def to_plan(app: MigrateApp, pilot: Pilot) -> None:
    from migrate_tui.tui.widgets.session_table import SessionTable

    await settle(app, pilot)
    await pilot.press("enter")
    await settle(app, pilot)
    table = app.screen.query_one(SessionTable)
    table.move_cursor(table.index_of(_damaged_id(app, "invalid_json")) or 0)
    await settle(app, pilot)


async def to_errors(app: MigrateApp, pilot: Pilot) -> None:
    from migrate_tui.tui.widgets.problem_list import ProblemList

    await to_plan(app, pilot)
    await pilot.press("e")
    await settle(app, pilot)
    problems = app.screen.query_one(ProblemList)
    problems.move_cursor(problems.index_of((_damaged_id(app, "invalid_json"), "invalid_json")) or 0)
    await pilot.pause()


async def to_fix(app: MigrateApp, pilot: Pilot) -> None:
    await to_errors(app, pilot)
    await pilot.press("f")
    await settle(app, pilot)


async def to_backup(app: MigrateApp, pilot: Pilot) -> None:
    await to_fix(app, pilot)
    await pilot.press("enter")  # salvage
    await settle(app, pilot)
    await pilot.press("enter")  # from the errors review, on to the backup step
    await settle(app, pilot)


async def to_progress(app: MigrateApp, pilot: Pilot) -> None:
    from migrate_tui.tui.screens.progress import ProgressScreen

    await to_backup(app, pilot)
    clock = app.settings.clock
    assert isinstance(clock, MockClock)
    assert app.state.plan is not None
    screen = ProgressScreen(app.state.plan, app.state.cancel, autostart=False)
    await app.push_screen(screen)
    await pilot.pause()
    steps = [
        (0.0, [PhaseStarted("backup", 19)]),
        (0.5, [Progress("backup", 19, 19, "session_map.json"), LogLine("info", "backup: 19 files checked")]),
        (1.0, [PhaseStarted("transcripts", 14, 90_000),
               Progress("transcripts", 3, 14, "legacy-notes", 18_000)]),
        (2.0, [Progress("transcripts", 5, 14, "0f3c1d5e-8e1f-4d8a-9a43-1b2c3d4e5f60", 31_000)]),
        (3.5, [Progress("transcripts", 8, 14, "a1457899-21f8-4156-9e0d-f45b992a34a1", 52_000),
               LogLine("warning", "ec2b5e21-….json: starts with a UTF-8 byte-order mark (removed)")]),
    ]
    for at, events in steps:
        clock.set_time(at)
        screen.show_events(events)
        await pilot.pause()


async def to_result(app: MigrateApp, pilot: Pilot) -> None:
    await to_backup(app, pilot)
    await pilot.press("enter")
    await settle(app, pilot)
    await pilot.pause(0.3)
    await settle(app, pilot)


async def to_help(app: MigrateApp, pilot: Pilot) -> None:
    await to_plan(app, pilot)
    await pilot.press("f1")
    await settle(app, pilot)


async def to_bulk(app: MigrateApp, pilot: Pilot) -> None:
    """The problems filter, every row marked: one key decides for all of them."""
    await to_plan(app, pilot)
    await pilot.press("2", "home", "a")
    await settle(app, pilot)


async def to_bulk_fix(app: MigrateApp, pilot: Pilot) -> None:
    await to_bulk(app, pilot)
    await pilot.press("f")
    await settle(app, pilot)


async def to_failure(app: MigrateApp, pilot: Pilot) -> None:
    """A worker that failed: what failed and the ways forward (the free space unreadable)."""

    def no_disk(path: str) -> int:
        raise OSError(5, "Input/output error")

    app.settings.disk_free = no_disk
    await to_fix(app, pilot)
    await pilot.press("enter")  # salvage
    await settle(app, pilot)
    await pilot.press("enter")  # on to the backup step, whose estimate fails
    await settle(app, pilot)


async def to_continue(app: MigrateApp, pilot: Pilot) -> None:
    """After a partial migration, back to the plan with what is left (scanned again)."""
    await to_result(app, pilot)
    await pilot.press("p")
    await settle(app, pilot)
    await pilot.pause(0.3)
    await settle(app, pilot)


async def to_lock_wait(app: MigrateApp, pilot: Pilot) -> None:
    """The migration asked for while the agent holds sessions.json.lock: it waits, and says
    for whom (a fixed holder, so the picture is the same every time)."""
    from migrate_tui.engine.preflight import BusyLock
    from migrate_tui.tui.screens.lock_wait import LockWaitScreen

    await to_backup(app, pilot)
    lock = os.path.join(app.state.workspace_abs, ".sessions", "sessions.json.lock")
    await app.push_screen(LockWaitScreen([BusyLock("sessions.json.lock", lock, 4242,
                                                   "node /usr/lib/openclaw/gateway.js")]))
    await pilot.pause()


async def to_rolling_back(app: MigrateApp, pilot: Pilot) -> None:
    """A rollback under way: its own progress screen, fed engine events."""
    from migrate_tui.tui.screens.operation import OperationScreen

    await to_result(app, pilot)
    clock = app.settings.clock
    assert isinstance(clock, MockClock)
    screen = OperationScreen("Rolling back", "the rollback", lambda on_event, cancel: None,
                             autostart=False)
    await app.push_screen(screen)
    await pilot.pause()
    clock.set_time(10.0)
    screen.show_events([PhaseStarted("rollback plan", 16)])
    clock.set_time(10.5)
    screen.show_events([Progress("rollback plan", 16, 16, "main.jsonl"), PhaseStarted("rollback", 16)])
    for at, done in ((11.0, 2), (12.5, 6), (13.5, 9)):
        clock.set_time(at)
        screen.show_events([Progress("rollback", done, 16, f"session-{done:02d}.jsonl")])
    screen.show_events([LogLine("info", "rollback: removing the transcripts the migration wrote")])
    await pilot.pause()


async def to_rolled_back(app: MigrateApp, pilot: Pilot) -> None:
    """After a rollback: the result says so and offers neither roll back nor clean-up."""
    await to_result(app, pilot)
    await pilot.press("r")
    await settle(app, pilot)
    await pilot.press("y")
    await settle(app, pilot)
    await pilot.pause(0.3)
    await settle(app, pilot)


STEPS: dict[str, Step] = {
    "1-workspace": to_workspace,
    "2-scan": to_scan,
    "3-plan": to_plan,
    "4-errors": to_errors,
    "5-fix": to_fix,
    "6-backup": to_backup,
    "7-progress": to_progress,
    "8-result": to_result,
    "9-help": to_help,
    "10-bulk": to_bulk,
    "11-bulk-fix": to_bulk_fix,
    "12-failure": to_failure,
    "13-continue": to_continue,
    "14-lock-wait": to_lock_wait,
    "15-rolling-back": to_rolling_back,
    "16-rolled-back": to_rolled_back,
}


async def save_all(out_dir: Path) -> list[Path]:
    """One SVG per step, each from a fresh app on a fresh demo workspace."""
    out_dir = out_dir.resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    saved = []
    for name, step in STEPS.items():
        with demo_folder():
            app = screenshot_app()
            async with app.run_test(size=SIZE) as pilot:
                await step(app, pilot)
                saved.append(Path(app.save_screenshot(f"{name}.svg", str(out_dir))))
    return saved


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m scripts.screenshots DIR", file=sys.stderr)
        return 2
    for path in asyncio.run(save_all(Path(args[0]))):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
