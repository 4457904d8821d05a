"""The interop stand-in migration (scripts/interop/convert.py), without OpenClaw itself."""

from __future__ import annotations

from pathlib import Path

from migrate_tui.demo import generate_workspace
from scripts.interop.convert import migrate
from scripts.interop.every_kind import DOTTED_ID, KINDS_ID, write_every_kind
from tests.openclaw.openclaw_support import strict_json


def _files(state: Path) -> dict[str, bytes]:
    folder = state / "agents" / "main" / "sessions"
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def test_every_kind_into_an_openclaw_state_folder(tmp_path: Path) -> None:
    workspace, state = tmp_path / "ws", tmp_path / "state"
    session_map = write_every_kind(workspace)
    done = migrate(str(workspace), str(state))
    files = _files(state)
    store = strict_json(files["sessions.json"])
    assert set(store) == set(session_map) | {f"agent:main:{DOTTED_ID}"}
    assert store["agent:main:main"] == store["agent:main:telegram:dm:12345"]
    assert store["agent:main:main"]["sessionId"] == KINDS_ID
    assert "sessions.json.lock" not in files  # released
    for sid, data in done.transcripts.items():
        assert files[f"{sid}.jsonl"] == data
        lines = [strict_json(line) for line in data.decode().splitlines()]
        assert lines[0]["type"] == "session" and lines[0]["id"] == sid
    assert "created_at" not in done.not_carried[KINDS_ID]  # carried as sessionStartedAt
    again = tmp_path / "state2"
    migrate(str(workspace), str(again))
    assert _files(again) == files  # stable ids: the same bytes every time


def test_the_damaged_demo_with_first_fixes(tmp_path: Path) -> None:
    workspace, state = tmp_path / "ws", tmp_path / "state"
    info = generate_workspace(workspace, damaged=True)
    plain = migrate(str(workspace), str(tmp_path / "plain"))
    fixed = migrate(str(workspace), str(state), fix_all=True)
    assert len(fixed.transcripts) > len(plain.transcripts) >= len(info.session_ids)
    assert len(fixed.skipped) < len(plain.skipped)
    store = strict_json(_files(state)["sessions.json"])
    assert all(entry["sessionFile"] == f"{entry['sessionId']}.jsonl" for entry in store.values())
