"""A quick look at a workspace before scanning it: counts only, nothing parsed but the
two small index files.  The wizard's first screen shows it."""

from __future__ import annotations

import json
import stat
import time
from dataclasses import dataclass, field

from migrate_tui.core import fsio
from migrate_tui.core.errors import WorkspaceError
from migrate_tui.core.layout import BACKUP, OPLOCK, Layout, open_layout
from migrate_tui.engine.scan import RECENT_SECONDS, is_legacy_name
from migrate_tui.engine.state import workspace_state


@dataclass
class Inventory:
    workspace: str
    sessions_dir: str = ""
    sessions_dir_exists: bool = False
    legacy_files: int = 0
    legacy_bytes: int = 0
    session_map_keys: int | None = None  # None: no session_map.json; -1: unreadable
    store_entries: int | None = None  # None: no sessions.json; -1: unreadable
    transcripts: int = 0
    backup_present: bool = False
    backup_files: int = 0
    migrated_before: bool = False  # a journal with changes in effect (rollback possible)
    interrupted_runs: int = 0
    interrupted: list[str] = field(default_factory=list)  # each interrupted run, described
    lock_holder: int | None = None
    operation: str | None = None  # another migrate-tui command running here, described
    damage: list[str] = field(default_factory=list)  # damaged records in the backup folder
    cleanup_blocked: str | None = None  # why a clean-up would refuse now
    recently_changed: list[str] = field(default_factory=list)
    error: str | None = None  # the workspace cannot be used, and why


def _count_keys(path: str) -> int | None:
    if fsio.lstat_or_none(path) is None:
        return None
    try:
        value = json.loads(fsio.read_bytes(path, 64 * 1024 * 1024))
    except (OSError, ValueError, RecursionError):
        return -1
    return len(value) if isinstance(value, dict) else -1


def inventory(workspace: str, now: float | None = None) -> Inventory:
    now = time.time() if now is None else now
    try:
        layout = open_layout(workspace)
    except WorkspaceError as exc:
        return Inventory(workspace, error=str(exc))
    inv = Inventory(layout.workspace, layout.sessions_dir)
    inv.sessions_dir_exists = fsio.is_real_dir(layout.sessions_dir)
    if not inv.sessions_dir_exists:
        return inv
    recent: dict[str, float] = {}  # name → modification time, changed in the last minute
    for name in fsio.listdir(layout.sessions_dir):
        st = fsio.lstat_or_none(layout.in_sessions(name))
        if st is None:
            continue
        if is_legacy_name(name):
            inv.legacy_files += 1
            inv.legacy_bytes += st.st_size if stat.S_ISREG(st.st_mode) else 0
        elif name.endswith(".jsonl"):
            inv.transcripts += 1
        if name not in (BACKUP, OPLOCK) and now - st.st_mtime < RECENT_SECONDS:
            recent[name] = st.st_mtime
    inv.session_map_keys = _count_keys(layout.session_map)
    inv.store_entries = _count_keys(layout.store)
    inv.recently_changed = sorted(recent)
    try:
        state = workspace_state(layout)
    except WorkspaceError as exc:  # something else than a lock file at the operation lock's path
        inv.error = str(exc)
        return inv
    except OSError as exc:
        inv.damage = [f"the backup folder cannot be read: {exc.strerror or exc}"]
        return inv
    if state.holder is not None:
        inv.operation = state.holder.describe()
    inv.damage = [str(d) for d in state.damage]
    if state.backup_present:
        inv.backup_present = True
        inv.backup_files = len(fsio.listdir(layout.backup_dir))
        inv.migrated_before = state.migrated_before
        inv.interrupted = [r.describe() for r in state.interrupted]
        inv.interrupted_runs = len(inv.interrupted)
        inv.cleanup_blocked = state.cleanup_blocked
    if fsio.lstat_or_none(layout.lock) is not None:
        inv.lock_holder = fsio.lock_holder(layout.lock)
    inv.recently_changed = sorted(not_ours(layout, recent))
    return inv


def not_ours(layout: Layout, recent: dict[str, float]) -> list[str]:
    """The files changed recently that no command of ours changed: our own writes (the
    transcripts and sessions.json a migration wrote, what a rollback restored or a clean-up
    removed) all come before the record that ends the run in the journal, so a file not
    changed since the journal's last record was last changed by us, or before us.  Without
    them the wizard's own run made the next start say "the agent may be running"."""
    if not recent:
        return []
    st = fsio.lstat_or_none(layout.journal)
    if st is None:
        return list(recent)
    return [name for name, mtime in recent.items() if mtime > st.st_mtime]
