"""The wizard with the OpenClaw target, on real files in temporary folders (Textual's Pilot):
the plan shows each session as OpenClaw's folder and database see it, and its conflicts are
decided there with the CLI's fixes (a session the agent's SQLite database holds, a key taken
in OpenClaw's sessions.json); OpenClaw's own lock gives the waiting screen; OpenClaw's dry
run says what it runs, can be cancelled, and a timeout is a sentence."""

from __future__ import annotations

import gc
import json
import os
import stat
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from textual.widgets import Input, OptionList, Select, Static

from migrate_tui.demo import generate_workspace
from migrate_tui.engine.targets.openclaw_lock import payload
from migrate_tui.tui.app import MigrateApp
from migrate_tui.tui.screens.backup import BackupScreen
from migrate_tui.tui.screens.errors import ErrorsScreen
from migrate_tui.tui.screens.fix import FixDialog
from migrate_tui.tui.screens.lock_wait import LockWaitScreen
from migrate_tui.tui.screens.operation import OperationScreen
from migrate_tui.tui.screens.plan import PlanScreen
from migrate_tui.tui.screens.result import ResultScreen
from migrate_tui.tui.widgets.session_table import SessionTable
from tests.openclaw.openclaw_support import database_with, strict_json
from tests.tui.screen_text import screen_text
from tests.tui.tui_support import SIZE, make_app, move_to, settle


@pytest.fixture(autouse=True)
def unfreeze_gc() -> Iterator[None]:
    yield
    gc.unfreeze()


@pytest.fixture
def demo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("OPENCLAW_STATE_DIR", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))  # OpenClaw's default state: ./.openclaw
    generate_workspace(tmp_path / "demo", sessions=4, seed=0)
    return tmp_path


def first_key(demo: Path) -> tuple[str, str]:
    """(key, session id) of the demo's first session_map.json entry."""
    session_map = json.loads((demo / "demo" / ".sessions" / "session_map.json").read_text())
    return next(iter(session_map.items()))


Shadowed = tuple[Path, str, str]  # OpenClaw's state folder, a key, its session id


@pytest.fixture
def shadowed(demo: Path) -> Shadowed:
    """OpenClaw's state folder, with the demo's first key held in its SQLite database by
    another session ("live-session"): (state folder, that key, its session id)."""
    state = demo / ".openclaw"
    key, sid = first_key(demo)
    database_with(state, key, "live-session")
    return state, key, sid


def store_of(state: Path) -> dict:
    return strict_json((state / "agents" / "main" / "sessions" / "sessions.json").read_bytes())


async def to_openclaw_plan(app: MigrateApp, pilot, state: Path | None = None) -> PlanScreen:
    """Step 1 with the OpenClaw target (its default state folder, or ``state``), scanned."""
    await settle(app, pilot)
    app.screen.query_one("#target", Select).value = "openclaw"
    await settle(app, pilot)
    if state is not None:
        app.screen.query_one("#openclaw-state", Input).value = str(state)
        await settle(app, pilot)
    await pilot.press("ctrl+s")
    await settle(app, pilot, 0.4)
    assert isinstance(app.screen, PlanScreen)
    assert app.state.target is not None and app.state.target_view is not None
    return app.screen


def current(app: MigrateApp) -> object:
    """The screen on top (typed loosely: the tests compare it with screens they hold)."""
    return app.screen


def row(app: MigrateApp, session_id: str):
    shown = app.state.shown
    assert shown is not None
    return next(ps for ps in shown.sessions if ps.final_id == session_id)


async def test_a_sqlite_conflict_is_decided_on_the_plan(demo: Path, shadowed: Shadowed) -> None:
    state, key, sid = shadowed
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        plan = await to_openclaw_plan(app, pilot)
        ps = row(app, sid)
        assert ps.action == "blocked"
        assert [p.code for p in ps.open_problems] == ["openclaw_database"]
        assert ps.open_problems[0].fixes == ("replace-existing",)
        said = screen_text(app)
        assert "1 session shadows OpenClaw's database: f replace-existing · space skip" in said
        assert "problems 1" in said  # the filter tab counts the target's problem
        assert "already holds: decide each on the plan" in str(app.state.target_refusal)

        # onwards is refused before anything is written, whatever the way (errors review)
        await pilot.press("enter")
        await settle(app, pilot)
        assert isinstance(app.screen, ErrorsScreen)
        await pilot.press("enter")
        await settle(app, pilot)
        assert current(app) is plan  # back on the plan, where it is decided
        assert not (state / "agents" / "main" / "sessions").exists()
        assert not (demo / "demo" / "backup_old_format").exists()

        # decided on the plan: f offers the CLI's fix for it
        await move_to(pilot, plan.query_one(SessionTable), ps.file_id)
        await pilot.press("f")
        await settle(app, pilot)
        assert isinstance(app.screen, FixDialog)
        options = app.screen.query_one(OptionList)
        ids = [options.get_option_at_index(n).id for n in range(options.option_count)]
        assert ids == ["fix:replace-existing", "skip"]
        options.highlighted = 0
        await pilot.press("enter")
        await settle(app, pilot)
        assert current(app) is plan
        assert app.state.decisions.current[ps.file_id].fixes == frozenset({"replace-existing"})
        assert row(app, sid).action == "migrate" and app.state.target_refusal is None
        assert "would shadow" not in screen_text(app)

        await pilot.press("enter")
        await settle(app, pilot)
        assert isinstance(app.screen, BackupScreen)
        await pilot.press("enter")
        await settle(app, pilot, 0.5)
        assert isinstance(app.screen, ResultScreen)
        assert app.state.outcome is not None and app.state.outcome.exit_code == 0
        assert store_of(state)[key]["sessionId"] == sid
        await pilot.press("q")


async def test_skip_and_undo_follow_the_targets_view(shadowed: Shadowed) -> None:
    state, key, sid = shadowed
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        plan = await to_openclaw_plan(app, pilot)
        ps = row(app, sid)
        await move_to(pilot, plan.query_one(SessionTable), ps.file_id)
        await pilot.press("space")
        await settle(app, pilot)
        assert row(app, sid).action == "skip" and app.state.target_refusal is None
        shown = app.state.shown
        assert shown is not None
        others = [p for p in shown.sessions if p.final_id != sid]
        assert all(p.action == "migrate" for p in others)
        await pilot.press("u")
        await settle(app, pilot)
        assert row(app, sid).action == "blocked" and app.state.target_refusal is not None
        await pilot.press("space")
        await settle(app, pilot)
        await pilot.press("enter")
        await settle(app, pilot)
        assert isinstance(app.screen, BackupScreen)
        await pilot.press("enter")
        await settle(app, pilot, 0.5)
        assert isinstance(app.screen, ResultScreen)
        store = store_of(state)
        assert key not in store and len(store) >= 3
        await pilot.press("q")


async def test_a_key_taken_in_openclaws_store_is_kept_or_replaced_on_the_plan(demo: Path) -> None:
    state = demo / ".openclaw"
    key, sid = first_key(demo)
    folder = state / "agents" / "main" / "sessions"
    folder.mkdir(parents=True)
    (folder / "sessions.json").write_text(json.dumps({key: {"sessionId": "other", "updatedAt": 5}}))
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        plan = await to_openclaw_plan(app, pilot)
        ps = row(app, sid)
        assert ps.action == "blocked" and ps.open_problems[0].code == "key_conflict"
        await move_to(pilot, plan.query_one(SessionTable), ps.file_id)
        await pilot.press("f")
        await settle(app, pilot)
        options = app.screen.query_one(OptionList)
        ids = [options.get_option_at_index(n).id for n in range(options.option_count)]
        assert ids == ["fix:keep-existing", "fix:replace-existing", "skip"]
        options.highlighted = 0  # keep-existing
        await pilot.press("enter")
        await settle(app, pilot)
        kept = row(app, sid)
        assert kept.action == "migrate" and key in kept.kept_keys
        await pilot.press("enter")
        await settle(app, pilot)
        await pilot.press("enter")
        await settle(app, pilot, 0.5)
        assert isinstance(app.screen, ResultScreen)
        assert store_of(state)[key]["sessionId"] == "other"  # kept, as decided
        assert (folder / f"{sid}.jsonl").exists()
        await pilot.press("q")


async def test_choosing_the_target_again_keeps_the_scan_and_shows_its_view(shadowed: Shadowed) -> None:
    _, _, sid = shadowed
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press("ctrl+s")  # the workspace's own .sessions/ first
        await settle(app, pilot)
        assert isinstance(app.screen, PlanScreen)
        assert row(app, sid).action == "migrate" and app.state.target_view is None
        scan = app.state.scan
        await pilot.press("escape")
        await settle(app, pilot)
        app.screen.query_one("#target", Select).value = "openclaw"
        await settle(app, pilot)
        await pilot.press("ctrl+s")
        await settle(app, pilot, 0.4)
        assert isinstance(app.screen, PlanScreen) and app.state.scan is scan  # not scanned again
        assert row(app, sid).action == "blocked"
        await pilot.press("q")


async def test_openclaws_held_lock_gives_the_waiting_screen(demo: Path) -> None:
    state = demo / ".openclaw"
    folder = state / "agents" / "main" / "sessions"
    folder.mkdir(parents=True)
    lock = folder / "sessions.json.lock"
    lock.write_bytes(payload(os.getpid()))  # a live writer: this very process
    app = make_app(lock_retry=60.0)
    async with app.run_test(size=SIZE) as pilot:
        await to_openclaw_plan(app, pilot)
        await pilot.press("enter")
        await settle(app, pilot)
        assert isinstance(app.screen, BackupScreen)
        await pilot.press("enter")
        await settle(app, pilot)
        assert isinstance(app.screen, LockWaitScreen)
        said = screen_text(app)
        assert f"sessions.json.lock is held by process {os.getpid()}" in said
        assert "OpenClaw (or another writer of its sessions.json)" in said
        assert not (demo / "demo" / "backup_old_format").exists()  # nothing written
        lock.unlink()
        await pilot.press("r")
        await settle(app, pilot, 0.5)
        assert isinstance(app.screen, ResultScreen)
        assert app.state.outcome is not None and app.state.outcome.exit_code == 0
        await pilot.press("q")


def slow_openclaw(folder: Path, seconds: float) -> Path:
    """An ``openclaw`` whose dry run takes ``seconds`` (it writes its pid first)."""
    folder.mkdir()
    script = folder / "openclaw"
    script.write_text(f"""#!{sys.executable}
import os, time
open(os.path.join({str(folder)!r}, "pid"), "w").write(str(os.getpid()))
time.sleep({seconds})
print('{{"totals": {{"legacyEntries": 0, "issues": 0}}, "targets": []}}')
""")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return folder


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


async def migrated(app: MigrateApp, pilot) -> None:
    await to_openclaw_plan(app, pilot)
    await pilot.press("enter")
    await settle(app, pilot)
    await pilot.press("enter")
    await settle(app, pilot, 0.5)
    assert isinstance(app.screen, ResultScreen)


async def test_the_doctor_dry_run_says_what_runs_and_escape_stops_it(
        demo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bin_dir = slow_openclaw(demo / "bin", 60)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await migrated(app, pilot)
        result = app.screen
        await pilot.press("d")
        for _ in range(100):  # the program starts (its pid written)
            await pilot.pause(0.05)
            if (bin_dir / "pid").exists() and (bin_dir / "pid").read_text():
                break
        assert isinstance(app.screen, OperationScreen)
        said = screen_text(app)
        assert "Running OpenClaw's dry run" in said
        assert "openclaw doctor --session-sqlite dry-run --json" in said
        pid = int((bin_dir / "pid").read_text())
        assert alive(pid)
        await pilot.press("escape")
        await settle(app, pilot, 0.3)
        assert current(app) is result
        assert "OpenClaw's dry run was cancelled" in str(result.query_one("#after", Static).content)
        for _ in range(50):
            if not alive(pid):
                break
            await pilot.pause(0.05)
        assert not alive(pid)  # stopped, not left running
        await pilot.press("q")


async def test_a_doctor_that_does_not_answer_in_time_is_a_sentence(
        demo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bin_dir = slow_openclaw(demo / "bin", 60)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    app = make_app(doctor_timeout=0.5)
    async with app.run_test(size=SIZE) as pilot:
        await migrated(app, pilot)
        result = app.screen
        await pilot.press("d")
        await settle(app, pilot, 0.3)
        assert current(app) is result
        after = str(result.query_one("#after", Static).content)
        assert "OpenClaw's dry run did not give an answer: no answer within 0.5 s; it was stopped" in after
        await pilot.press("q")


async def test_a_doctor_that_cannot_start_or_is_gone_is_a_sentence(
        demo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bin_dir = slow_openclaw(demo / "bin", 0)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await migrated(app, pilot)
        result = app.screen
        script = bin_dir / "openclaw"  # its interpreter is gone: it cannot be started
        script.write_text("#!/nonexistent/interpreter\n" + script.read_text().split("\n", 1)[1])
        await pilot.press("d")
        await settle(app, pilot, 0.3)
        assert current(app) is result
        after = str(result.query_one("#after", Static).content)
        assert "OpenClaw's dry run did not give an answer:" in after and "could not be started" in after
        # gone from PATH between the offer and the run
        monkeypatch.setattr("migrate_tui.tui.screens.result.openclaw_executable", lambda: str(script))
        monkeypatch.setenv("PATH", str(demo / "empty"))
        await pilot.press("d")
        await settle(app, pilot, 0.3)
        after = str(result.query_one("#after", Static).content)
        assert "OpenClaw's dry run did not give an answer: openclaw is not on PATH" in after
        await pilot.press("q")


def test_held_locks_judges_openclaws_lock_by_its_protocol(demo: Path) -> None:
    from migrate_tui.core.layout import open_layout
    from migrate_tui.engine.preflight import held_locks

    folder = demo / ".openclaw" / "agents" / "main" / "sessions"
    folder.mkdir(parents=True)
    store = str(folder / "sessions.json")
    layout = open_layout(str(demo / "demo"))
    assert held_locks(layout, openclaw_store=store) == []
    lock = folder / "sessions.json.lock"
    lock.write_bytes(payload(os.getpid()))
    [held] = held_locks(layout, openclaw_store=store)
    assert held.openclaw and held.pid == os.getpid() and held.path == str(lock)
    assert held_locks(layout) == []  # the workspace's own lock is another file
    lock.write_bytes(payload(os.getpid(), now=0))  # 1970: stale, the run takes it over
    assert held_locks(layout, openclaw_store=store) == []
    assert lock.exists()  # only looked at


def test_the_view_after_decisions_is_the_view_planned_whole(demo: Path, shadowed: Shadowed) -> None:
    from migrate_tui.engine import Decision, commands
    from migrate_tui.engine.plan import with_decisions
    from migrate_tui.engine.targets.openclaw_layout import openclaw_layout
    from migrate_tui.tui.target_plan import target_view, view_after

    state, _, sid = shadowed
    prepared = commands.prepare(str(demo / "demo"))
    assert prepared.plan is not None
    target = openclaw_layout(str(state))
    view = target_view(prepared.plan, target)
    assert view is not None
    fid = next(ps.file_id for ps in prepared.plan.sessions if ps.final_id == sid)
    other = next(ps.file_id for ps in prepared.plan.sessions if ps.final_id != sid)
    changes = {fid: Decision(fixes=frozenset({"replace-existing"})), other: Decision(skip=True)}
    plan = with_decisions(prepared.plan, changes)
    after = view_after(view, plan, changes.keys())
    whole = target_view(plan, target)
    assert whole is not None
    assert after.shown.sessions == whole.shown.sessions and after.shown.totals == whole.shown.totals
    assert after.shown.index is view.shown.index  # rows shared: the screen redraws two
    assert after.shown.sessions[0] is view.shown.sessions[0] or 0 in (
        plan.index[fid], plan.index[other])
