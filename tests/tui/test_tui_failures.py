"""Every worker that fails is handled in one place: a dialog says what failed and offers a
way forward, and the way works.  Faults are injected through the engine's I/O module
(``fsio.fault_hook``) wherever the worker does I/O; the two workers that only compute
(planning decisions, the fix previews) get a failing engine function instead."""

from __future__ import annotations

import errno
from pathlib import Path

import pytest

import migrate_tui.tui.app as app_module
from migrate_tui.core import fsio
from migrate_tui.tui.screens import fix as fix_module
from migrate_tui.tui.screens.backup import BackupScreen
from migrate_tui.tui.screens.failure import FailureDialog
from migrate_tui.tui.screens.fix import FixDialog
from migrate_tui.tui.screens.plan import PlanScreen
from migrate_tui.tui.screens.result import ResultScreen
from migrate_tui.tui.screens.workspace import WorkspaceScreen
from migrate_tui.tui.widgets.session_detail import SessionDetail
from migrate_tui.tui.widgets.session_table import SessionTable
from tests.tui.screen_text import screen_text
from tests.tui.tui_support import SIZE, file_id, make_app, move_to, open_plan, plan_to_backup, settle


class Fault:
    """A fault hook: ``op`` on a path containing ``where`` raises ``error``, while armed."""

    def __init__(self, op: str, where: str, error: BaseException) -> None:
        self.op, self.where, self.error = op, where, error
        self.armed = True
        self.hits = 0

    def __call__(self, op: str, path: str) -> None:
        if self.armed and op == self.op and self.where in path:
            self.hits += 1
            raise self.error


def eio(path: str = "") -> OSError:
    return OSError(errno.EIO, "Input/output error", path)


async def failure_shown(app, pilot, what: str) -> str:
    await settle(app, pilot)
    assert isinstance(app.screen, FailureDialog), type(app.screen).__name__
    text = screen_text(app)
    assert f"Something failed while {what}" in text
    return text


async def test_the_inventory(demo) -> None:
    fault = Fault("listdir", ".sessions", eio("demo/.sessions"))
    with fsio.fault_hook(fault):
        app = make_app()
        async with app.run_test(size=SIZE) as pilot:
            text = await failure_shown(app, pilot, "looking at the workspace")
            assert "Input/output error (demo/.sessions)" in text and "r      Look again" in text
            fault.armed = False
            await pilot.press("r")
            await settle(app, pilot)
            assert isinstance(app.screen, WorkspaceScreen)
            assert "Legacy session files:      18" in screen_text(app)


async def test_the_scan(demo) -> None:
    fault = Fault("listdir", ".sessions", eio())
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        with fsio.fault_hook(fault):
            await pilot.press("enter")
            await failure_shown(app, pilot, "scanning the workspace")
            fault.armed = False
            await pilot.press("r")  # scan again
            await settle(app, pilot)
        assert isinstance(app.screen, PlanScreen) and app.state.plan is not None


async def test_the_scan_way_back(demo) -> None:
    fault = Fault("listdir", ".sessions", eio())
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        with fsio.fault_hook(fault):
            await pilot.press("enter")
            await failure_shown(app, pilot, "scanning the workspace")
            fault.armed = False
            await pilot.press("b")
            await settle(app, pilot)
        assert isinstance(app.screen, WorkspaceScreen)


async def test_the_preview(demo) -> None:
    fault = Fault("open", "legacy-notes.json", RuntimeError("the disk went away"))
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await open_plan(app, pilot)
        with fsio.fault_hook(fault):
            await move_to(pilot, app.screen.query_one(SessionTable), "legacy-notes")
            await settle(app, pilot, 0.4)
            text = await failure_shown(app, pilot, "reading the session's file for the preview")
            assert "RuntimeError: the disk went away" in text
            fault.armed = False
            await pilot.press("r")
            await settle(app, pilot, 0.4)
        assert isinstance(app.screen, PlanScreen)
        detail = app.screen.query_one(SessionDetail)
        assert detail.preview is not None and detail.preview.file_id == "legacy-notes"


async def test_planning_a_decision(demo, monkeypatch) -> None:
    real = app_module.with_decisions
    calls = {"n": 0}

    def failing_once(plan, changes):
        calls["n"] += 1
        if calls["n"] == 1:
            raise MemoryError("no room to plan")
        return real(plan, changes)

    monkeypatch.setattr(app_module, "with_decisions", failing_once)
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await open_plan(app, pilot)
        await move_to(pilot, app.screen.query_one(SessionTable), "legacy-notes")
        await pilot.press("space")
        text = await failure_shown(app, pilot, "planning your decisions")
        assert "MemoryError: no room to plan" in text and "Undo the last decision" in text
        await pilot.press("u")
        await settle(app, pilot)
        assert isinstance(app.screen, PlanScreen)
        assert app.state.decisions.current == {} and app.state.pending_ids == set()
        assert "updating" not in screen_text(app)


async def test_the_fix_previews(demo, monkeypatch) -> None:
    real = fix_module.effects_for
    monkeypatch.setattr(fix_module, "effects_for", lambda *a: (_ for _ in ()).throw(ValueError("odd plan")))
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await open_plan(app, pilot)
        await move_to(pilot, app.screen.query_one(SessionTable), file_id(demo, "invalid_json"))
        await pilot.press("f")
        await failure_shown(app, pilot, "working out what each fix would do")
        monkeypatch.setattr(fix_module, "effects_for", real)
        await pilot.press("r")
        await settle(app, pilot)
        assert isinstance(app.screen, FixDialog)
        assert "messages come back" in screen_text(app)


async def test_the_backup_estimate(demo) -> None:
    def no_disk(path: str) -> int:
        raise eio(path)

    app = make_app(disk_free=no_disk)
    async with app.run_test(size=SIZE) as pilot:
        await open_plan(app, pilot)
        await pilot.press("enter")
        await settle(app, pilot)
        await pilot.press("enter")  # errors review → backup
        await failure_shown(app, pilot, "measuring the backup and the free space")
        await pilot.press("m")
        await settle(app, pilot)
        assert isinstance(app.screen, BackupScreen)
        assert "unknown (the free space could not be read)" in screen_text(app)


async def test_the_migration(demo) -> None:
    folder = Path(demo.sessions_dir)
    fault = Fault("write", "backup_old_format", RuntimeError("controller reset"))
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await open_plan(app, pilot)
        await plan_to_backup(app, pilot)
        with fsio.fault_hook(fault):
            await pilot.press("enter")
            await settle(app, pilot, 0.5)
            text = await failure_shown(app, pilot, "migrating")
            assert "RuntimeError: controller reset" in text
        await pilot.press("enter")  # see the result
        await settle(app, pilot)
        assert isinstance(app.screen, ResultScreen)
        text = screen_text(app)
        assert "the migration stopped: controller reset" in text
        # what is offered follows the engine's records: the backup failed before any change
        assert "clean-up is not offered: no migration of this workspace was committed" in text
        assert "roll back is not offered: nothing was written by a migration" in text
    assert not (folder / "sessions.json").exists()


@pytest.mark.parametrize(("key", "what", "where"), [
    ("r", "the rollback planning", ".jsonl"),  # it checks what the migration wrote
    ("c", "the clean-up planning", "legacy-notes.json"),  # it compares originals and copies
])
async def test_rollback_and_cleanup_planning(demo, key: str, what: str, where: str) -> None:
    fault = Fault("open", where, RuntimeError("bad sector"))
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await open_plan(app, pilot)
        await plan_to_backup(app, pilot)
        await pilot.press("enter")
        await settle(app, pilot, 0.5)
        assert isinstance(app.screen, ResultScreen)
        with fsio.fault_hook(fault):
            await pilot.press(key)
            text = await failure_shown(app, pilot, what)
            assert "RuntimeError: bad sector" in text
            assert f"r      Try {what} again" in text
            fault.armed = False
            await pilot.press("r")  # plan it again
            await settle(app, pilot)
        assert type(app.screen).__name__ == "ConfirmDialog"
