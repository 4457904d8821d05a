"""Fixtures for the wizard's tests: a demo workspace at a fixed relative path ("demo", the
current folder being a temporary one, so screens never show temp folder names) and an app
that renders the same way every time (mock clock, no blinking cursor, fixed free space)."""

from __future__ import annotations

import gc
import json
import sys
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from textual.clock import MockClock
from textual.pilot import Pilot

from migrate_tui.demo import DemoInfo, generate_workspace, write_legacy_session
from migrate_tui.tui.app import MigrateApp
from migrate_tui.tui.settings import WizardSettings
from migrate_tui.tui.widgets.session_table import SessionTable

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parents[2]))  # the repository: scripts/, benchmarks/

SIZE = (100, 32)
FREE_BYTES = 50_000_000_000


@pytest.fixture(autouse=True)
def unfreeze_gc() -> Iterator[None]:
    """The app freezes the cyclic GC's view of its scan and plan (MigrateApp.scan_done), which
    lives as long as the wizard's process; here that is the whole test run."""
    yield
    gc.unfreeze()


def steady_settings(**overrides: object) -> WizardSettings:
    values: dict[str, object] = {"clock": MockClock(), "steady": True,
                                 "disk_free": lambda path: FREE_BYTES, "lock_timeout": 1.0}
    values.update(overrides)
    return WizardSettings(**values)  # type: ignore[arg-type]


def make_app(workspace: str = "demo", **overrides: object) -> MigrateApp:
    return MigrateApp(workspace, "main", settings=steady_settings(**overrides))


async def settle(app: MigrateApp, pilot: Pilot, delay: float = 0.2) -> None:
    """Let the screens react, the thread workers finish, and their messages land."""
    for _ in range(3):
        await pilot.pause()
        await app.workers.wait_for_complete()
    await pilot.pause(delay)
    await app.workers.wait_for_complete()
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


@pytest.fixture
def demo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> DemoInfo:
    """The demo workspace (12 good sessions + one per damaged kind) at ./demo."""
    monkeypatch.chdir(tmp_path)
    return generate_workspace(tmp_path / "demo", sessions=12, damaged=True, seed=0)


@pytest.fixture
def crowd(demo: DemoInfo) -> DemoInfo:
    """The demo, plus 20 cron sessions (8 updated 60 days ago, 12 two days ago) and 6 more
    files cut short like the demo's truncated one (7 with invalid_json in all)."""
    folder = Path(demo.sessions_dir)
    now = datetime.now(timezone.utc)
    keys = json.loads((folder / "session_map.json").read_text())
    for n in range(20):
        sid = f"cron-{n:02d}"
        when = now - timedelta(days=60 if n < 8 else 2)
        write_legacy_session(folder, sid, [{"role": "user", "content": f"run {n}"},
                                           {"role": "assistant", "content": "done"}],
                             {"label": f"cron job {n}"}, when - timedelta(minutes=5), when)
        keys[f"agent:main:cron:job-{n:02d}"] = sid
    (folder / "session_map.json").write_text(json.dumps(keys, indent=2))
    cut = (folder / demo.damaged["invalid_json"]).read_bytes()
    for n in range(6):
        (folder / f"cut-{n}.json").write_bytes(cut.replace(
            demo.damaged["invalid_json"][:-5].encode(), f"cut-{n}".encode()))
    return demo


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
