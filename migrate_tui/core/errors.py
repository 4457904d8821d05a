"""One hierarchy for every failure the program reports in words.

Each exception carries one clear sentence (its ``str``) that names the file and, where
known, the place.  The front ends catch ``MigrateError`` and print that sentence, never a
traceback; the subclasses say which exit code applies.
"""

from __future__ import annotations


class MigrateError(Exception):
    """A failure the program explains in one sentence."""


class WorkspaceError(MigrateError):
    """The workspace cannot be used (exit code 2)."""


class LockBusy(MigrateError):
    """``sessions.json.lock`` is held by another process past the timeout (exit code 3)."""


class OperationBusy(LockBusy):
    """Another migrate-tui command (migrate, rollback, clean-up) is running on this
    workspace: refused at once, nothing written (exit code 3).  ``holder`` describes it."""

    def __init__(self, message: str, holder: object = None) -> None:
        super().__init__(message)
        self.holder = holder


class DamagedRecord(WorkspaceError):
    """The journal or the manifest in the backup folder is damaged where safety depends on
    it: the command refuses (exit code 2), naming the file and the line."""


class LockTimeout(MigrateError):
    """A presence lock could not be taken in time (``fsio.presence_lock``)."""

    def __init__(self, path: str, timeout: float, holder: int | None) -> None:
        who = f" by process {holder}" if holder else ""
        super().__init__(f"{path} is held{who}; gave up after {timeout:g} s")
        self.path = path
        self.timeout = timeout
        self.holder = holder


class BackupError(MigrateError):
    """The backup could not be written or did not check out; nothing new was written."""


class ApplyError(MigrateError):
    """A failure that stopped the migration at a safe point (disk full, I/O error...)."""

