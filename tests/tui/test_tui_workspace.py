"""Step 1: the workspace screen and its inventory."""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path

import pytest
from textual.widgets import Button

from migrate_tui.engine import SKIP, Decision, PhaseStarted, Progress, build_plan, commands, scan_workspace
from migrate_tui.engine.inventory import inventory
from migrate_tui.tui import planning as planning_module
from migrate_tui.tui.screens import workspace as workspace_module
from migrate_tui.tui.screens.plan import PlanScreen
from migrate_tui.tui.screens.workspace import WorkspaceScreen, agent_id_error
from migrate_tui.tui.widgets.session_table import SessionTable
from migrate_tui.tui.workers import still_running
from tests.tui.screen_text import screen_text
from tests.tui.tui_support import SIZE, make_app, settle


async def test_inventory_at_a_glance(demo) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        assert isinstance(app.screen, WorkspaceScreen)
        text = screen_text(app)
        assert "Legacy session files:      18" in text
        assert "Keys in session_map.json:  16" in text
        assert "none yet (no sessions.json)" in text
        assert "Lock (sessions.json.lock): free" in text
        assert not app.screen.query_one("#scan", Button).disabled
        assert app.state.inventory is not None and app.state.inventory.legacy_files == 18


async def test_recent_changes_and_lock_are_shown(demo) -> None:
    folder = Path(demo.sessions_dir)
    (folder / "sessions.json.lock").write_text("999999\n")
    (folder / "legacy-notes.json").touch()  # changed now: the agent may be running
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        text = screen_text(app)
        assert "Lock (sessions.json.lock): held" in text
        assert "changed in the last minute" in text and "legacy-notes.json" in text


async def test_a_workspace_without_sessions_is_nothing_to_migrate(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "empty").mkdir()
    app = make_app("empty")
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        text = screen_text(app)
        assert "Nothing to migrate" in text
        assert "cannot be used" not in text
        assert app.screen.query_one("#scan", Button).disabled
        await pilot.press("ctrl+q")
    assert app.return_code == 0


async def test_an_unusable_workspace_says_why_and_exits_2(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    app = make_app("missing")
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        assert "This workspace cannot be used" in screen_text(app)
        assert app.screen.query_one("#scan", Button).disabled
        await pilot.press("ctrl+q")
    assert app.return_code == 2


async def test_typing_another_path_refreshes_the_inventory(demo) -> None:
    app = make_app("nowhere")
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        assert "cannot be used" in screen_text(app)
        path = app.screen.query_one("#path")
        path.value = "demo"
        await pilot.pause(0.4)
        await settle(app, pilot)
        assert "Legacy session files:      18" in screen_text(app)


def test_agent_id_rules() -> None:
    assert agent_id_error("main") is None
    assert agent_id_error("") is not None
    assert agent_id_error("a b") is not None
    assert agent_id_error("a:b") is not None


class Gate:
    """Holds a worker until released (what a slow disk or a huge workspace does)."""

    def __init__(self, real) -> None:
        self.real = real
        self.entered = threading.Event()
        self.open = threading.Event()

    def __call__(self, *args, **kwargs):
        self.entered.set()
        assert self.open.wait(20)
        return self.real(*args, **kwargs)


async def test_an_early_enter_is_remembered(demo, monkeypatch) -> None:
    gate = Gate(workspace_module.inventory)
    monkeypatch.setattr(workspace_module, "inventory", gate)
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert gate.entered.wait(10)
        await pilot.pause(0.1)
        assert "Looking at the workspace" in screen_text(app) and "escape stops" in screen_text(app)
        await pilot.press("enter")  # before the workspace has been looked at
        await pilot.pause(0.1)
        assert "the scan starts as soon as this is done" in screen_text(app)
        assert isinstance(app.screen, WorkspaceScreen)
        gate.open.set()
        await settle(app, pilot)
        assert isinstance(app.screen, PlanScreen)  # scanned without another key


async def test_escape_stops_looking_and_enter_looks_again(demo, monkeypatch) -> None:
    gate = Gate(workspace_module.inventory)
    monkeypatch.setattr(workspace_module, "inventory", gate)
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert gate.entered.wait(10)
        await pilot.press("escape")
        await pilot.pause()
        assert "Stopped looking at the workspace" in screen_text(app)
        gate.open.set()  # the answer that comes now is not shown: nobody waits for it
        await settle(app, pilot)
        assert "Stopped looking" in screen_text(app) and app.state.inventory is None
        await pilot.press("enter")
        await settle(app, pilot)
        await settle(app, pilot)
        assert isinstance(app.screen, PlanScreen)


async def test_the_plan_screen_shows_the_first_rows_while_the_rest_is_planned(demo, monkeypatch) -> None:
    monkeypatch.setattr(planning_module, "FIRST_ROWS", 5)
    reached, release = threading.Event(), threading.Event()
    real = planning_module.build_plan

    def slow_plan(scan, agent_id, decisions, *, backup, on_event=None):
        if on_event is None:  # the first rows
            return real(scan, agent_id, decisions, backup=backup)
        on_event(PhaseStarted("plan", 18))
        on_event(Progress("plan", 9, 18, "legacy-notes.json"))
        reached.set()
        assert release.wait(20)
        return real(scan, agent_id, decisions, backup=backup, on_event=on_event)

    monkeypatch.setattr(planning_module, "build_plan", slow_plan)
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press("enter")
        assert reached.wait(20)
        await pilot.pause(0.5)
        assert isinstance(app.screen, PlanScreen)
        table = app.screen.query_one(SessionTable)
        whole = build_plan(app.state.scan, "main")
        assert list(table.items) == whole.sessions[:5]  # the first rows of the whole plan, exactly
        text = screen_text(app)
        assert "planning 18 sessions: 50%" in text and "the first 5 are listed" in text
        assert "1:all …" in text and "Planning 18 sessions: the totals come when it is done" in text
        await pilot.press("space")  # deciding waits for the whole plan
        await pilot.pause()
        assert app.state.decisions.current == {}
        release.set()
        await settle(app, pilot)
        assert len(table.items) == 18 and app.state.planning is None
        assert "To migrate 13" in screen_text(app) and "1:all 18" in screen_text(app)
        await pilot.press("space")
        await settle(app, pilot)
        assert len(app.state.decisions.current) == 1


@pytest.mark.parametrize("rows", [1, 2, 3, 7, 11, 20, 31])
def test_the_first_rows_are_the_first_rows_of_the_whole_plan(crowd, monkeypatch, rows: int) -> None:
    """Ids and keys are settled in the plan's order, first come first served: the plan of the
    first sessions is the start of the whole plan, whatever the duplicates, the keys taken
    from metadata or the conflicts with sessions.json."""
    folder = Path(crowd.sessions_dir)
    (folder / "copy-of-main.json").write_bytes((folder / f"{crowd.session_ids[0]}.json").read_bytes())
    (folder / "sessions.json").write_text(json.dumps(
        {next(iter(crowd.session_map)): {"session_id": "someone-else", "updated_at": 1}}))
    monkeypatch.setattr(planning_module, "FIRST_ROWS", rows)
    scan = scan_workspace(str(crowd.root))
    decisions = {"cut-1": Decision(fixes=frozenset({"salvage"})), "cron-03": SKIP}
    head, complete = planning_module.first_rows(scan, "main", decisions)
    whole = build_plan(scan, "main", decisions)
    assert not complete and head.sessions == whole.sessions[:rows]


async def test_quitting_says_which_work_the_process_still_waits_for(demo, monkeypatch) -> None:
    """A thread cannot be stopped from outside: once the terminal is given back, the process
    waits for it, and run_wizard says for what (it left a blank terminal for seconds)."""
    gate = Gate(workspace_module.inventory)
    monkeypatch.setattr(workspace_module, "inventory", gate)
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        assert gate.entered.wait(10)
        await pilot.press("ctrl+q")
    assert still_running() == ["looking at the workspace"]
    gate.open.set()
    for _ in range(100):
        if not still_running():
            break
        time.sleep(0.05)
    assert still_running() == []


def test_the_wizards_own_writes_are_not_recent_changes_by_the_agent(demo) -> None:
    """After a migration (and a rollback), the next start does not say "files changed in the
    last minute, the agent may be running" for what we wrote; a write after ours still shows."""
    folder = Path(demo.sessions_dir)
    settled = time.time() - 3600
    for path in folder.iterdir():
        os.utime(path, (settled, settled))
    assert inventory("demo").recently_changed == []
    prepared = commands.prepare("demo")
    assert prepared.plan is not None
    assert commands.migrate(prepared.plan).report is not None
    assert inventory("demo").recently_changed == []
    later = time.time() + 5  # the agent writes after our run
    os.utime(folder / "sessions.json", (later, later))
    assert inventory("demo").recently_changed == ["sessions.json"]
    assert commands.rollback("demo", force=True).status == "success"
    assert inventory("demo").recently_changed == []
