"""A read-only look at the sessions an OpenClaw agent already keeps in SQLite.

Since 2026.8 OpenClaw runs on ``<state>/agents/<id>/agent/openclaw-agent.sqlite``; the
files the migration writes are only an import source for ``openclaw doctor
--session-sqlite import``.  That import writes each ``sessions.json`` entry over the
SQLite entry of the same key, and adds the transcript's events to the SQLite session of
the same id.  So before writing, the migration must know which keys and session ids the
database already holds: a key it holds for another session would be shadowed (the live
conversation replaced by the migrated one), and a session id it holds would get the
migrated events mixed into its own.  This module only reads: the database is opened
read-only (``mode=ro``, ``query_only``), never through a symlink, never created.
"""

from __future__ import annotations

import os
import sqlite3
import stat
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from migrate_tui.core import fsio
from migrate_tui.core.errors import MigrateError


class OpenClawStoreError(MigrateError):
    """The agent's SQLite database exists but cannot be read."""


@dataclass
class HeldSessions:
    """What the agent's database holds (empty when there is no database)."""

    path: str
    present: bool = False
    keys: dict[str, str] = field(default_factory=dict)  # session key → session id
    session_ids: dict[str, str | None] = field(default_factory=dict)  # session id → its key


@dataclass(frozen=True)
class Conflict:
    key: str
    session_id: str  # the migrated session's id
    kind: Literal["key_taken", "already_there", "id_taken"]
    held_session_id: str | None = None  # key_taken: the id the database has for the key
    held_key: str | None = None  # id_taken: the key the database has the id under

    @property
    def message(self) -> str:
        if self.kind == "key_taken":
            return (f"OpenClaw's database already has the key {self.key!r} for session "
                    f"{self.held_session_id!r}; importing would replace that conversation with "
                    f"session {self.session_id!r}")
        if self.kind == "already_there":
            return (f"OpenClaw's database already has {self.key!r} for session "
                    f"{self.session_id!r} (imported before?)")
        return (f"OpenClaw's database already has a session {self.session_id!r} (under "
                f"{self.held_key!r}); importing would mix the migrated messages into it")


def read_held_sessions(path: str, timeout: float = 5.0) -> HeldSessions:
    """The session keys and ids in the database at ``path``.  Raises OpenClawStoreError
    (naming the file) when it is there but is no regular file or cannot be read."""
    held = HeldSessions(path)
    st = fsio.lstat_or_none(path)
    if st is None:
        return held
    if not stat.S_ISREG(st.st_mode):
        raise OpenClawStoreError(f"{path} is a {fsio.describe_mode(st.st_mode)}, not a SQLite "
                                 "database; it is not followed or read")
    held.present = True
    uri = f"{Path(os.path.abspath(path)).as_uri()}?mode=ro"
    try:
        db = sqlite3.connect(uri, uri=True, timeout=timeout)
    except sqlite3.Error as exc:
        raise OpenClawStoreError(f"{path} cannot be opened read-only: {exc}") from None
    try:
        db.execute("PRAGMA query_only = ON")
        tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        rows: Iterable[tuple[object, object]]
        if "session_nodes" in tables:
            columns = {row[1] for row in db.execute("PRAGMA table_info(session_nodes)")}
            valid = "entry_valid = 1" if "entry_valid" in columns else "entry_json <> '{}'"
            rows = db.execute(f"SELECT session_key, current_session_id FROM session_nodes WHERE {valid}")
        elif "session_entries" in tables:
            rows = db.execute("SELECT session_key, session_id FROM session_entries")
        else:
            rows = []
        for key, session_id in rows:
            if isinstance(key, str) and isinstance(session_id, str):
                held.keys[key] = session_id
                held.session_ids.setdefault(session_id, key)
        if "session_windows" in tables:
            for session_id, key in db.execute("SELECT session_id, session_key FROM session_windows"):
                if isinstance(session_id, str):
                    held.session_ids[session_id] = key if isinstance(key, str) else None
    except sqlite3.Error as exc:
        raise OpenClawStoreError(f"{path} cannot be read: {exc}") from None
    finally:
        db.close()
    return held


def conflicts(held: HeldSessions, planned: Mapping[str, str]) -> list[Conflict]:
    """Each planned entry (key → session id) the database already has a say about."""
    out = []
    for key, session_id in planned.items():
        there = held.keys.get(key)
        if there is not None and there != session_id:
            out.append(Conflict(key, session_id, "key_taken", held_session_id=there))
        elif there is not None:
            out.append(Conflict(key, session_id, "already_there"))
        elif session_id in held.session_ids:
            owner = held.session_ids[session_id]
            if owner is None or planned.get(owner) != session_id:  # not another key of ours
                out.append(Conflict(key, session_id, "id_taken", held_key=owner))
    return out
