"""Is a session migrated to OpenClaw still in place?  For verify and clean-up.

A run into OpenClaw's folder records it in the journal (``target: "openclaw"``, ``dir``:
the agent's ``sessions/`` folder) on its begin, file, keys and commit records.  A session
that run migrated is in place when its transcript there holds the very bytes the run wrote
and every key the run wrote points at it in that ``sessions.json`` — or when OpenClaw has
imported it since (``openclaw doctor --session-sqlite import`` moves the files to an
archive): then the agent's database holds the session and its keys.  Reads only.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from migrate_tui.core import fsio, jsonio
from migrate_tui.core.errors import MigrateError
from migrate_tui.engine.state import WorkspaceState
from migrate_tui.engine.targets.openclaw_layout import DATABASE, STORE
from migrate_tui.engine.targets.openclaw_sqlite import HeldSessions, read_held_sessions


def target_dir(state: WorkspaceState) -> str | None:
    """OpenClaw's sessions folder when the latest committed migration in effect went there."""
    for run in reversed(state.journal.in_effect):
        if run.command == "migrate" and run.commit is not None:
            folder = run.commit.get("dir")
            if run.commit.get("target") == "openclaw" and isinstance(folder, str) and os.path.isabs(folder):
                return folder
            return None
    return None


@dataclass
class TargetView:
    """OpenClaw's folder and database as they are now, with what the runs wrote there."""

    folder: str
    written: dict[str, str] = field(default_factory=dict)  # file → sha256 last written
    keys: dict[str, str] = field(default_factory=dict)  # key → session id last written
    store: dict[str, Any] = field(default_factory=dict)
    store_problem: str | None = None
    held: HeldSessions | None = None
    database_problem: str | None = None

    def why_not_in_place(self, session_id: str) -> str | None:
        """None when the session is in place (written and unchanged, or imported)."""
        name = f"{session_id}.jsonl"
        path = os.path.join(self.folder, name)
        imported = self.held is not None and session_id in self.held.session_ids
        st = fsio.lstat_or_none(path)
        if st is None:
            if not imported:
                return f"{path} is missing (and OpenClaw's database has no session {session_id!r})"
        else:
            try:
                sha = fsio.sha256_file(path)[1]
            except (OSError, fsio.NotRegularFile) as exc:
                return f"{path} cannot be read: {exc}"
            if self.written.get(name) is not None and sha != self.written[name]:
                return f"{path} changed since the migration wrote it"
        for key, sid in self.keys.items():
            if sid != session_id:
                continue
            entry = self.store.get(key)
            if isinstance(entry, dict) and entry.get("sessionId") == session_id:
                continue
            if self.held is not None and self.held.keys.get(key) == session_id:
                continue
            return (f"{key!r} does not point at {session_id} in {os.path.join(self.folder, STORE)} "
                    "nor in OpenClaw's database")
        return None

    def imported(self, session_id: str) -> bool:
        return self.held is not None and session_id in self.held.session_ids \
            and fsio.lstat_or_none(os.path.join(self.folder, f"{session_id}.jsonl")) is None


def read_target(state: WorkspaceState, folder: str) -> TargetView:
    view = TargetView(folder)
    for record in state.journal.records:
        if record.get("dir") != folder:
            continue
        if record.get("op") in ("create", "replace"):
            view.written[record["file"]] = record["sha256"]
        elif record.get("op") == "keys":
            view.keys.update(record["keys"])
    store = os.path.join(folder, STORE)
    try:
        if fsio.lstat_or_none(store) is not None:
            value = jsonio.loads_document(fsio.read_bytes(store))
            view.store = value if isinstance(value, dict) else {}
    except (OSError, ValueError, RecursionError, fsio.NotRegularFile) as exc:
        view.store_problem = f"{store} cannot be read: {exc}"
    database = os.path.join(os.path.dirname(folder), "agent", DATABASE)
    try:
        held = read_held_sessions(database)
        view.held = held if held.present else None
    except (MigrateError, OSError) as exc:
        view.database_problem = str(exc)
    return view
