"""What the wizard asks about a workspace besides the migration itself: the default workspace,
folder completion for the path field, the free space on a disk, and what the backup will hold.

Read-only, every file-system call through ``core.fsio`` (so a fault hook sees it).  The wizard
calls these from worker threads, never from a screen's compose.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from dataclasses import dataclass

from migrate_tui.core import fsio
from migrate_tui.core.layout import SESSION_MAP, STORE, Layout
from migrate_tui.engine.model import Plan

DEFAULT_WORKSPACE = "~/.openclaw"
MAX_COMPLETIONS = 200


def default_workspace(given: str | None) -> str:
    """The path the wizard starts with: the one given, else ``~/.openclaw`` when it exists,
    else empty (the user types one)."""
    if given:
        return given
    return DEFAULT_WORKSPACE if fsio.is_dir(os.path.expanduser(DEFAULT_WORKSPACE)) else ""


def complete_folder(typed: str) -> str | None:
    """The first folder whose path starts with ``typed`` (as typed, ``~`` kept), for the
    path field's completion; None when there is none.  Hidden folders only when the typed
    name starts with a dot."""
    if not typed:
        return None
    expanded = os.path.expanduser(typed)
    parent, prefix = os.path.split(expanded)
    try:
        folders = fsio.list_folders(parent or ".", MAX_COMPLETIONS * 10)
    except OSError:
        return None
    names = sorted(name for name in folders if name.startswith(prefix)
                   and (prefix.startswith(".") or not name.startswith(".")))
    for name in names:
        if name != prefix:
            return typed + name[len(prefix):] + os.sep
    return None


@dataclass(frozen=True)
class BackupEstimate:
    backup_dir: str
    files: int  # files copied into the backup
    bytes: int  # their size (sessions from the plan; the two index files from the scan)
    free_bytes: int | None  # free space on the disk holding .sessions/, None if unknown
    enabled: bool

    @property
    def enough_room(self) -> bool | None:
        """Room for the backup plus the new transcripts (about as large as the originals)."""
        if self.free_bytes is None:
            return None
        return self.free_bytes >= 2 * self.bytes


def disk_free(path: str) -> int | None:
    """Free bytes on the disk that holds ``path`` (None when it cannot be asked)."""
    try:
        return fsio.disk_free(path)
    except OSError:
        return None


def backup_estimate(plan: Plan, free_space: Callable[[str], int | None] = disk_free) -> BackupEstimate:
    """What the backup will hold, and whether the disk has room for it and for the new
    files.  Reads nothing but sizes and the file system's free space."""
    scan = plan.scan
    layout = Layout(scan.workspace)
    files = 0
    size = 0
    if plan.backup:  # apply copies every legacy file it could read, migrated or not
        for session in scan.sessions:
            if session.sha256 is not None:
                files += 1
                size += session.size
    for name, present in ((SESSION_MAP, scan.session_map_present and plan.backup),
                          (STORE, scan.store_present)):
        if present:
            files += 1
            st = None
            with contextlib.suppress(OSError):
                st = fsio.lstat_or_none(layout.in_sessions(name))
            if st is not None:
                size += st.st_size
    return BackupEstimate(layout.backup_dir, files, size, free_space(layout.sessions_dir), plan.backup)
