"""The wizard with the OpenClaw target (Textual's Pilot): the choice on step 1, the target's
entry and first events in the plan's detail pane, the next steps on the result screen, and
OpenClaw's dry run run from there when ``openclaw`` is on PATH."""

from __future__ import annotations

import gc
import json
import os
import stat
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from textual.widgets import Button, Input, Static

from migrate_tui.demo import generate_workspace
from migrate_tui.tui.screens.backup import BackupScreen
from migrate_tui.tui.screens.plan import PlanScreen
from migrate_tui.tui.screens.result import ResultScreen
from migrate_tui.tui.widgets.session_detail import SessionDetail
from tests.tui.screen_text import screen_text
from tests.tui.tui_support import SIZE, make_app, settle


@pytest.fixture(autouse=True)
def unfreeze_gc() -> Iterator[None]:
    """The app freezes the GC's view of its scan (as in tests/tui/conftest.py)."""
    yield
    gc.unfreeze()


@pytest.fixture
def demo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("OPENCLAW_STATE_DIR", str(tmp_path / "default-state"))
    generate_workspace(tmp_path / "demo", sessions=4, seed=0)
    return tmp_path


def fake_openclaw(folder: Path) -> Path:
    """An ``openclaw`` that answers the doctor's dry run as 2026.9.6 does (its JSON shape),
    counting the entries of the store it is pointed at."""
    folder.mkdir()
    script = folder / "openclaw"
    script.write_text(f"""#!{sys.executable}
import json, os, sys
assert sys.argv[1:5] == ["doctor", "--session-sqlite", "dry-run", "--json"], sys.argv
store = os.path.join(os.environ["OPENCLAW_STATE_DIR"], "agents", "main", "sessions", "sessions.json")
entries = json.load(open(store))
print(json.dumps({{"totals": {{"legacyEntries": len(entries), "validatedEntries": len(entries),
                             "validatedTranscriptEvents": 7, "issues": 0}}, "targets": []}}))
""")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return folder


async def test_the_wizard_migrates_into_openclaw(demo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    state = demo / "state"
    monkeypatch.setenv("PATH", f"{fake_openclaw(demo / 'bin')}{os.pathsep}{os.environ['PATH']}")
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        screen = app.screen
        assert "Target" in screen_text(app)
        assert not screen.query_one("#openclaw-row").display  # default target: no state folder
        screen.query_one("#target").value = "openclaw"
        await settle(app, pilot)
        assert screen.query_one("#openclaw-row").display
        field = screen.query_one("#openclaw-state", Input)
        assert field.value == str(demo / "default-state")  # $OPENCLAW_STATE_DIR
        field.value = ""
        await settle(app, pilot)
        assert screen.query_one("#scan", Button).disabled
        field.value = str(state)
        await settle(app, pilot)
        assert not screen.query_one("#scan", Button).disabled
        await pilot.press("ctrl+s")
        await settle(app, pilot)
        assert isinstance(app.screen, PlanScreen)
        assert app.state.target is not None and app.state.target.state_dir == str(state)

        detail = app.screen.query_one(SessionDetail)
        await settle(app, pilot, 0.6)  # the preview is read in a worker
        assert detail.preview is not None and detail.preview.target is not None
        assert "into OpenClaw:" in screen_text(app)
        pane = str(detail.query_one("#written-text", Static).content)  # the whole pane, scrolled
        assert f"into OpenClaw: {state / 'agents' / 'main' / 'sessions'}" in pane
        assert '"sessionId"' in pane and '"updatedAt"' in pane and "session_id" not in pane
        assert '"type": "session"' in pane and '"type": "message"' in pane  # header, first events

        await pilot.press("enter")
        await settle(app, pilot)
        assert isinstance(app.screen, BackupScreen)
        await pilot.press("enter")  # migrate
        await settle(app, pilot, 0.5)
        assert isinstance(app.screen, ResultScreen)
        result = screen_text(app)
        assert "Verification:     passed" in result
        outcome = str(app.screen.query_one("#outcome", Static).content)
        assert f"OPENCLAW_STATE_DIR={state} openclaw doctor --session-sqlite dry-run" in outcome
        assert f"OPENCLAW_STATE_DIR={state} openclaw doctor --session-sqlite import" in outcome
        store = json.loads((state / "agents" / "main" / "sessions" / "sessions.json").read_text())
        assert len(store) >= 4 and not (demo / "demo" / ".sessions" / "sessions.json").exists()

        await pilot.press("d")  # OpenClaw's dry run, through the engine, in a worker
        await settle(app, pilot, 0.5)
        said = screen_text(app)
        assert f"OpenClaw's dry run: {len(store)} entries found, {len(store)} valid" in said
        assert "0 issue(s)" in said
        await pilot.press("q")


async def test_without_openclaw_on_path_the_dry_run_is_not_offered(demo: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(demo / "empty-bin"))
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        app.screen.query_one("#target").value = "openclaw"
        app.screen.query_one("#openclaw-state", Input).value = str(demo / "state")
        await settle(app, pilot)
        await pilot.press("ctrl+s")
        await settle(app, pilot)
        await pilot.press("enter")
        await settle(app, pilot)
        await pilot.press("enter")
        await settle(app, pilot, 0.5)
        assert isinstance(app.screen, ResultScreen)
        assert "openclaw doctor --session-sqlite import" in str(
            app.screen.query_one("#outcome", Static).content)
        assert "d runs OpenClaw's dry run" not in screen_text(app)
        await pilot.press("d")
        await settle(app, pilot)
        assert "OpenClaw's dry run:" not in screen_text(app)
        await pilot.press("q")
