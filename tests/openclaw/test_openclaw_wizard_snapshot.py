"""A snapshot (SVG) of the plan at 80×24 with the OpenClaw target and a session the agent's
SQLite database already holds: the conflict on its row, the refusal under the table, the
target's entry in the detail pane.  Deterministic: the demo opened as ``demo`` from a
temporary current folder that is also $HOME (OpenClaw's state: ``~/.openclaw``), a mock
clock, no blinking cursor.  Update with ``--snapshot-update`` after checking the picture."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from pathlib import Path

import pytest
from textual.widgets import Select

from migrate_tui.demo import generate_workspace
from migrate_tui.tui.widgets.session_table import SessionTable
from tests.openclaw.openclaw_support import database_with
from tests.openclaw.test_openclaw_wizard_plan import first_key
from tests.tui.tui_support import make_app, move_to, settle


@pytest.fixture(autouse=True)
def unfreeze_gc() -> Iterator[None]:
    yield
    gc.unfreeze()


@pytest.fixture
def conflicted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("OPENCLAW_STATE_DIR", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    generate_workspace(tmp_path / "demo", sessions=4, seed=0)
    key, sid = first_key(tmp_path)
    database_with(tmp_path / ".openclaw", key, "live-session")
    return sid


def test_plan_with_the_openclaw_target_and_a_sqlite_conflict_at_80x24(conflicted: str, snap_compare) -> None:
    async def to_plan(pilot) -> None:
        app = pilot.app
        await settle(app, pilot)
        app.screen.query_one("#target", Select).value = "openclaw"
        await settle(app, pilot)
        await pilot.press("ctrl+s")
        await settle(app, pilot, 0.4)
        shown = app.state.shown
        assert shown is not None
        blocked = next(ps for ps in shown.sessions if ps.final_id == conflicted)
        await move_to(pilot, app.screen.query_one(SessionTable), blocked.file_id)
        await settle(app, pilot, 0.4)  # the detail pane's preview

    assert snap_compare(make_app(), terminal_size=(80, 24), run_before=to_plan)
