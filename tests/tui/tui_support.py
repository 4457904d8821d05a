"""Helpers for the wizard's tests: an app that renders the same way every time (mock clock,
no blinking cursor, fixed free space), and the moves from step to step.  The fixtures (the
demo workspace at ./demo) are in conftest.py."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from textual.clock import MockClock
from textual.pilot import Pilot

from migrate_tui.demo import DemoInfo
from migrate_tui.tui.app import MigrateApp
from migrate_tui.tui.settings import WizardSettings
from migrate_tui.tui.widgets.session_table import SessionTable

SIZE = (100, 32)
FREE_BYTES = 50_000_000_000


def steady_settings(**overrides: object) -> WizardSettings:
    values: dict[str, object] = {"clock": MockClock(), "steady": True,
                                 "disk_free": lambda path: FREE_BYTES, "lock_timeout": 1.0}
    values.update(overrides)
    return WizardSettings(**values)  # type: ignore[arg-type]


def make_app(workspace: str = "demo", **overrides: object) -> MigrateApp:
    return MigrateApp(workspace, "main", settings=steady_settings(**overrides))


async def workers_done(app: MigrateApp) -> None:
    """Wait for the app's workers.  A worker cancelled meanwhile is done too: an exclusive
    group (the lock wait's periodic look) cancels the one before when a new one starts, and a
    dismissed screen cancels its own — Textual's wait raises for those, so wait again."""
    from textual.worker import WorkerCancelled

    for _ in range(20):
        try:
            await app.workers.wait_for_complete()
            return
        except WorkerCancelled:
            continue
    await app.workers.wait_for_complete()


async def settle(app: MigrateApp, pilot: Pilot, delay: float = 0.2) -> None:
    """Let the screens react, the thread workers finish, and their messages land."""
    for _ in range(3):
        await pilot.pause()
        await workers_done(app)
    await pilot.pause(delay)
    await workers_done(app)
    await pilot.pause()


async def open_plan(app: MigrateApp, pilot: Pilot) -> None:
    """From the workspace step, scan and arrive on the plan."""
    from migrate_tui.tui.screens.plan import PlanScreen

    await settle(app, pilot)
    await pilot.press("enter")
    await settle(app, pilot)
    assert isinstance(app.screen, PlanScreen)


async def plan_to_backup(app: MigrateApp, pilot: Pilot) -> None:
    """From the plan, enter leads to the errors review while problems are left, then to the
    backup step."""
    from migrate_tui.tui.screens.backup import BackupScreen
    from migrate_tui.tui.screens.errors import ErrorsScreen

    await pilot.press("enter")
    await settle(app, pilot)
    if isinstance(app.screen, ErrorsScreen):
        await pilot.press("enter")
        await settle(app, pilot)
    assert isinstance(app.screen, BackupScreen)


def cron_ids(old_only: bool = False) -> set[str]:
    return {f"cron-{n:02d}" for n in range(8 if old_only else 20)}


def sessions_dir(demo: DemoInfo) -> Path:
    return Path(demo.sessions_dir)


def file_id(demo: DemoInfo, kind: str) -> str:
    """The id of the demo's damaged file of this kind."""
    return demo.damaged[kind][: -len(".json")]


async def move_to(pilot: Pilot, table: SessionTable, fid: str) -> None:
    """Put the plan table's cursor on a session."""
    index = table.index_of(fid)
    assert index is not None
    table.move_cursor(index)
    await pilot.pause()


def snapshot_files(folder: Path) -> dict[str, bytes]:
    """Every file directly in ``folder`` (not in sub-folders), by name."""
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


def held_until_cancelled(real: Any, events: Sequence[Any], started: threading.Event,
                         release: threading.Event, why: str) -> Any:
    """A stand-in for an engine command (``commands.migrate``, ``commands.rollback``) that
    reports ``events``, says it ``started``, waits for the cancel flag (failing with ``why``
    if it never comes) and for ``release``, then runs the real command with that flag."""

    def held(first: Any, *, on_event: Any, cancel: threading.Event, **options: Any) -> Any:
        for event in events:
            on_event(event)
        started.set()
        assert cancel.wait(20), why
        release.wait(20)
        return real(first, on_event=on_event, cancel=cancel, **options)

    return held
