"""Step 1: the workspace screen and its inventory."""

from __future__ import annotations

from pathlib import Path

from conftest import SIZE, make_app, settle
from screen_text import screen_text
from textual.widgets import Button

from migrate_tui.tui.screens.workspace import WorkspaceScreen, agent_id_error


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
