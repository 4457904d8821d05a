"""Where things live in a workspace (docs/formats.md), and the checks that make a path usable."""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass

from migrate_tui.core import fsio
from migrate_tui.core.errors import WorkspaceError

SESSIONS = ".sessions"
STORE = "sessions.json"
SESSION_MAP = "session_map.json"
LOCK = "sessions.json.lock"
OPLOCK = "migrate-tui.lock"  # held by our own writing commands (engine/oplock.py)
BACKUP = "backup_old_format"
MANIFEST = "manifest.json"
JOURNAL = "journal.jsonl"
REPORT = "last_report.json"
DEFAULT_MAX_FILE_BYTES = 256 * 1024 * 1024


@dataclass(frozen=True)
class Layout:
    workspace: str

    @property
    def sessions_dir(self) -> str:
        return os.path.join(self.workspace, SESSIONS)

    def in_sessions(self, name: str) -> str:
        """A path directly inside .sessions/ (``name`` must be a plain file name)."""
        if not name or "/" in name or name in (".", ".."):
            raise ValueError(f"not a plain file name: {name!r}")
        return os.path.join(self.sessions_dir, name)

    @property
    def store(self) -> str:
        return self.in_sessions(STORE)

    @property
    def session_map(self) -> str:
        return self.in_sessions(SESSION_MAP)

    @property
    def lock(self) -> str:
        return self.in_sessions(LOCK)

    @property
    def oplock(self) -> str:
        return self.in_sessions(OPLOCK)

    @property
    def backup_dir(self) -> str:
        return self.in_sessions(BACKUP)

    def in_backup(self, name: str) -> str:
        if not name or "/" in name or name in (".", ".."):
            raise ValueError(f"not a plain file name: {name!r}")
        return os.path.join(self.backup_dir, name)

    @property
    def manifest(self) -> str:
        return self.in_backup(MANIFEST)

    @property
    def journal(self) -> str:
        return self.in_backup(JOURNAL)

    @property
    def report(self) -> str:
        return self.in_backup(REPORT)


def open_layout(workspace: str) -> Layout:
    """Check the workspace folder and return its layout (.sessions may be absent)."""
    path = os.path.abspath(os.path.expanduser(workspace))
    st = fsio.lstat_or_none(path)
    if st is None:
        raise WorkspaceError(f"{path} does not exist.")
    if not stat.S_ISDIR(os.stat(path).st_mode):
        raise WorkspaceError(f"{path} is not a folder.")
    layout = Layout(path)
    sst = fsio.lstat_or_none(layout.sessions_dir)
    if sst is not None and not stat.S_ISDIR(sst.st_mode):
        kind = fsio.describe_mode(sst.st_mode)
        raise WorkspaceError(
            f"{layout.sessions_dir} is a {kind}, not a folder; it is not followed or touched.")
    return layout


def check_backup_dir(layout: Layout) -> None:
    st = fsio.lstat_or_none(layout.backup_dir)
    if st is not None and not stat.S_ISDIR(st.st_mode):
        kind = fsio.describe_mode(st.st_mode)
        raise WorkspaceError(
            f"{layout.backup_dir} is a {kind}, not a folder; move it away and run again.")


def check_lock_path(layout: Layout) -> None:
    """A lock file is a regular file; anything else at its path (a symlink, a folder, a FIFO)
    is never followed, taken over or removed: the migration stops before writing anything."""
    st = fsio.lstat_or_none(layout.lock)
    if st is not None and not stat.S_ISREG(st.st_mode):
        kind = fsio.describe_mode(st.st_mode)
        raise WorkspaceError(
            f"{layout.lock} is a {kind}, not a lock file; it is not followed or touched. "
            "Move it away and run again.")
