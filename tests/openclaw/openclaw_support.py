"""Helpers for the OpenClaw target's tests."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any


def strict_json(text: str | bytes) -> Any:
    """Parse as OpenClaw's JavaScript reader would accept it: NaN/Infinity refused."""
    def refuse(name: str) -> Any:
        raise ValueError(f"{name} is not JSON")
    return json.loads(text, parse_constant=refuse)


def database_with(state: Path, key: str, session_id: str) -> None:
    """The agent's SQLite database (OpenClaw 2026.9's tables we read) holding ``key``."""
    path = state / "agents" / "main" / "agent" / "openclaw-agent.sqlite"
    path.parent.mkdir(parents=True)
    db = sqlite3.connect(path)
    db.executescript("""
        CREATE TABLE session_nodes (session_key TEXT NOT NULL PRIMARY KEY, current_session_id TEXT NOT NULL,
          entry_json TEXT NOT NULL, entry_valid INTEGER NOT NULL DEFAULT 0, updated_at INTEGER NOT NULL);
        CREATE TABLE session_windows (session_id TEXT PRIMARY KEY, session_key TEXT NOT NULL);
    """)
    db.execute("INSERT INTO session_nodes VALUES (?, ?, '{}', 1, 0)", (key, session_id))
    db.execute("INSERT INTO session_windows VALUES (?, ?)", (session_id, key))
    db.commit()
    db.close()
