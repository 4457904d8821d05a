"""The read-only look at an agent's SQLite store, and where the OpenClaw target writes."""

from __future__ import annotations

import hashlib
import os
import sqlite3
from pathlib import Path

import pytest

from migrate_tui.core.errors import WorkspaceError
from migrate_tui.engine.targets.openclaw_layout import default_state_dir, openclaw_layout
from migrate_tui.engine.targets.openclaw_sqlite import (
    OpenClawStoreError,
    conflicts,
    read_held_sessions,
)

# The tables as OpenClaw 2026.9.6 creates them (the columns this check reads).
_SCHEMA = """
CREATE TABLE session_nodes (session_key TEXT NOT NULL PRIMARY KEY, current_session_id TEXT NOT NULL,
  entry_json TEXT NOT NULL, entry_valid INTEGER NOT NULL DEFAULT 0, updated_at INTEGER NOT NULL);
CREATE TABLE session_windows (session_id TEXT PRIMARY KEY, session_key TEXT NOT NULL);
CREATE TABLE transcript_events (session_id TEXT NOT NULL, seq INTEGER NOT NULL, event_json TEXT,
  PRIMARY KEY (session_id, seq));
"""


def _database(path: Path, wal: bool = True) -> sqlite3.Connection:
    path.parent.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(path)
    if wal:
        db.execute("PRAGMA journal_mode = WAL")
    db.executescript(_SCHEMA)
    db.executemany("INSERT INTO session_nodes VALUES (?, ?, ?, ?, 0)", [
        ("agent:main:main", "live-1", '{"sessionId":"live-1"}', 1),
        ("agent:main:cron:daily", "live-2", '{"sessionId":"live-2"}', 1),
        ("agent:main:broken", "live-3", "{}", 0),  # not a valid entry: not held
    ])
    db.executemany("INSERT INTO session_windows VALUES (?, ?)", [
        ("live-1", "agent:main:main"), ("live-2", "agent:main:cron:daily"), ("orphan-9", "agent:main:gone")])
    db.commit()
    return db


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_keys_and_ids_of_a_live_wal_database_read_only(tmp_path: Path) -> None:
    path = tmp_path / "agent" / "openclaw-agent.sqlite"
    writer = _database(path)  # still open, as a running gateway would keep it
    try:
        writer.execute("INSERT INTO session_nodes VALUES ('agent:main:new', 'live-4', '{}', 1, 0)")
        writer.commit()  # only in the WAL so far
        # the -shm index is shared memory every reader updates (SQLite's read marks, as
        # OpenClaw's own read-only readers do); the database and its WAL hold the data
        before = {p.name: _digest(p) for p in path.parent.iterdir() if not p.name.endswith("-shm")}
        held = read_held_sessions(str(path))
        after = {p.name: _digest(p) for p in path.parent.iterdir() if not p.name.endswith("-shm")}
    finally:
        writer.close()
    assert held.present
    assert held.keys == {"agent:main:main": "live-1", "agent:main:cron:daily": "live-2",
                         "agent:main:new": "live-4"}
    assert held.session_ids["orphan-9"] == "agent:main:gone"
    assert before == after and len(before) == 2  # database and WAL untouched, nothing created


def test_a_closed_database(tmp_path: Path) -> None:
    path = tmp_path / "openclaw-agent.sqlite"
    _database(path, wal=False).close()
    names = sorted(os.listdir(tmp_path))
    assert read_held_sessions(str(path)).keys["agent:main:main"] == "live-1"
    assert sorted(os.listdir(tmp_path)) == names


def test_the_older_session_entries_table(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite"
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE session_entries (session_key TEXT PRIMARY KEY, session_id TEXT)")
    db.execute("INSERT INTO session_entries VALUES ('agent:main:main', 'old-1')")
    db.commit()
    db.close()
    assert read_held_sessions(str(path)).keys == {"agent:main:main": "old-1"}


def test_no_database_holds_nothing(tmp_path: Path) -> None:
    held = read_held_sessions(str(tmp_path / "missing.sqlite"))
    assert not held.present and held.keys == {} and not (tmp_path / "missing.sqlite").exists()


def test_not_a_database_is_said_plainly(tmp_path: Path) -> None:
    path = tmp_path / "openclaw-agent.sqlite"
    path.write_bytes(b"this is not SQLite" * 100)
    with pytest.raises(OpenClawStoreError, match=str(path)):
        read_held_sessions(str(path))
    assert path.read_bytes() == b"this is not SQLite" * 100


def test_a_symlink_is_not_followed(tmp_path: Path) -> None:
    real = tmp_path / "real.sqlite"
    _database(real, wal=False).close()
    link = tmp_path / "openclaw-agent.sqlite"
    link.symlink_to(real)
    with pytest.raises(OpenClawStoreError, match="symlink"):
        read_held_sessions(str(link))


def test_conflicts(tmp_path: Path) -> None:
    path = tmp_path / "openclaw-agent.sqlite"
    _database(path, wal=False).close()
    held = read_held_sessions(str(path))
    found = conflicts(held, {
        "agent:main:main": "migrated-1",  # shadows the live conversation
        "agent:main:cron:daily": "live-2",  # imported before
        "agent:main:telegram:dm:1": "live-1",  # the id is live-1's, under another key
        "agent:main:fresh": "migrated-2",  # nothing there
    })
    kinds = {c.key: c.kind for c in found}
    assert kinds == {"agent:main:main": "key_taken", "agent:main:cron:daily": "already_there",
                     "agent:main:telegram:dm:1": "id_taken"}
    shadow = next(c for c in found if c.kind == "key_taken")
    assert "live-1" in shadow.message and "migrated-1" in shadow.message
    # two keys of one migrated session, one of them imported before: the other is no conflict
    again = conflicts(held, {"agent:main:main": "live-1", "agent:main:telegram:dm:1": "live-1"})
    assert [c.kind for c in again] == ["already_there"]


def test_layout(tmp_path: Path) -> None:
    layout = openclaw_layout(str(tmp_path), "main")
    assert layout.store == f"{tmp_path}/agents/main/sessions/sessions.json"
    assert layout.lock == f"{tmp_path}/agents/main/sessions/sessions.json.lock"
    assert layout.database == f"{tmp_path}/agents/main/agent/openclaw-agent.sqlite"
    assert layout.transcript("abc") == f"{tmp_path}/agents/main/sessions/abc.jsonl"
    with pytest.raises(ValueError):
        layout.transcript("../x")
    for bad in ("Main", "-x", "a b", "", "a/b", "x" * 65):
        with pytest.raises(WorkspaceError, match="agent id"):
            openclaw_layout(str(tmp_path), bad)


def test_default_state_dir() -> None:
    assert default_state_dir({"OPENCLAW_STATE_DIR": "/srv/oc", "HOME": "/home/u"}) == "/srv/oc"
    assert default_state_dir({"OPENCLAW_STATE_DIR": "  ", "HOME": "/home/u"}) == "/home/u/.openclaw"
    assert default_state_dir({"HOME": "/home/u"}) == "/home/u/.openclaw"
