"""What makes a migration refuse before it writes anything, checked in one place: the real
run checks it under the operation lock, and a dry run asks the same questions (without
taking anything), so it predicts each refusal with the same exit code.

* the backup folder, sessions.json.lock or the operation lock is something else than it
  should be (a symlink, a file, a FIFO...): ``WorkspaceError`` (exit 2);
* the journal or the manifest is damaged: ``DamagedRecord`` (exit 2);
* another command holds the operation lock, or ran since the scan: ``OperationBusy`` (exit 3);
* ``sessions.json.lock`` stays held past the timeout: ``LockBusy`` (exit 3).

``held_locks`` asks only about the two locks, and says who holds them: the wizard waits
(and says for whom) before it starts a run, so the run does not give up on a held lock.
"""

from __future__ import annotations

import contextlib
import stat
import time
from dataclasses import dataclass

from migrate_tui.core import fsio
from migrate_tui.core.errors import LockBusy, LockTimeout, OperationBusy, WorkspaceError
from migrate_tui.core.layout import LOCK, OPLOCK, Layout, check_backup_dir, check_lock_path
from migrate_tui.engine import journal
from migrate_tui.engine.model import Plan
from migrate_tui.engine.oplock import operation_holder
from migrate_tui.engine.state import WorkspaceState, require
from migrate_tui.engine.targets import openclaw_lock


def check_workspace(layout: Layout, state: WorkspaceState) -> None:
    """The checks that need no plan: the paths we write through, and the records."""
    check_backup_dir(layout)
    check_lock_path(layout)
    require(state, state.migrate_blocked)


def check_scan_current(layout: Layout, plan: Plan) -> None:
    """A plan made from a scan taken before another of our commands ran is out of date."""
    if plan.scan.journal_stamp != journal.stamp(layout):
        raise OperationBusy(f"another migrate-tui command changed {layout.workspace} since it was "
                            "scanned (the journal in its backup folder changed); nothing was "
                            "written. Scan again.")


def check_store_lock(layout: Layout, lock_timeout: float, *, take: bool) -> None:
    """``sessions.json.lock`` can be had within ``lock_timeout``: taken and let go at once
    (``take``, the real run, before its backup), or only watched (a dry run must not keep
    the agent waiting).  ``LockBusy`` otherwise."""
    if take:
        try:
            with fsio.presence_lock(layout.lock, lock_timeout):
                pass
        except LockTimeout as exc:
            raise LockBusy(f"{exc}; nothing was written") from None
        return
    with contextlib.suppress(OSError):
        holder = fsio.wait_lock_free(layout.lock, lock_timeout)
        if holder is not None:
            who = f" by process {holder}" if holder > 0 else ""
            raise LockBusy(f"{layout.lock} is held{who}; the migration would give up after "
                           f"{lock_timeout:g} s")


def check_dry_run(layout: Layout, state: WorkspaceState, plan: Plan, lock_timeout: float) -> None:
    """Everything the real run would refuse for, asked without taking or writing anything."""
    if state.holder is not None:
        raise OperationBusy(state.holder.busy_message(layout, "a migration now would be refused"),
                            state.holder)
    check_workspace(layout, state)
    if plan.totals.to_migrate:
        check_store_lock(layout, lock_timeout, take=False)


@dataclass(frozen=True)
class BusyLock:
    """A lock that would make a migration refuse now, and who holds it, as far as known."""

    name: str  # the lock file's name: "migrate-tui.lock" or "sessions.json.lock"
    path: str
    pid: int | None = None
    command: str | None = None  # the holder's command line (or our command's name)
    since: str | None = None
    openclaw: bool = False  # OpenClaw's own lock, in its state folder (the OpenClaw target)

    def describe(self) -> str:
        """``sessions.json.lock is held by process 4242 (node agent.js)``."""
        who = f"process {self.pid}" if self.pid else "another process"
        if self.command:
            who += f" ({self.command})"
        since = f", since {self.since}" if self.since else ""
        return f"{self.name} is held by {who}{since}"


def _command_line(pid: int) -> str | None:
    """What process ``pid`` runs, from /proc (None when it cannot be known)."""
    try:
        raw = fsio.read_bytes(f"/proc/{pid}/cmdline", 64 * 1024)
    except OSError:
        return None
    words = [w.decode("utf-8", "replace") for w in raw.split(b"\0") if w]
    text = " ".join(words)
    return (text[:77] + "…" if len(text) > 80 else text) or None


def held_locks(layout: Layout, *, openclaw_store: str | None = None) -> list[BusyLock]:
    """The locks a migration would find held right now: the operation lock (another
    migrate-tui command) and ``sessions.json.lock`` (the agent's writers), each with its
    holder.  Read only: nothing is taken, waited for or removed; a lock file left by a
    process that is gone is not counted (the run reclaims it).  For a front end that waits
    before it starts a run, rather than let the run give up after ``lock_timeout``.

    ``openclaw_store``: the run goes into OpenClaw's folder (this ``sessions.json``): the
    lock it takes is that store's ``sessions.json.lock``, judged as OpenClaw's writers judge
    it (openclaw_lock: a stale one is taken over by the run), not the workspace's own."""
    out: list[BusyLock] = []
    with contextlib.suppress(WorkspaceError):  # not a lock file: check_workspace names it
        holder = operation_holder(layout)
        if holder is not None:
            out.append(BusyLock(OPLOCK, layout.oplock, holder.pid,
                                f"migrate-tui {holder.command}", holder.since))
    if openclaw_store is not None:
        found = _openclaw_lock_held(openclaw_store + ".lock")
        return out + ([found] if found is not None else [])
    with contextlib.suppress(OSError):
        pid = fsio.lock_holder(layout.lock)
        if pid is not None and not fsio.lock_left_behind(layout.lock):
            known = pid if pid > 0 else None
            out.append(BusyLock(LOCK, layout.lock, known,
                                _command_line(known) if known is not None else None))
    return out


def _openclaw_lock_held(path: str) -> BusyLock | None:
    """OpenClaw's ``sessions.json.lock`` when a live writer holds it (not stale by its
    protocol); read only.  Something else than a file there is left to the run, which
    refuses it by name before writing anything."""
    st = fsio.lstat_or_none(path)
    if st is None or not stat.S_ISREG(st.st_mode):
        return None
    try:
        data: bytes | None = fsio.read_bytes(path, 64 * 1024)
    except fsio.FileTooLarge:
        data = None
    except OSError:
        return None
    state = openclaw_lock.inspect(data, path, now=time.time(), mtime=st.st_mtime)
    if state.stale:
        return None
    return BusyLock(LOCK, path, state.pid,
                    _command_line(state.pid) if state.pid is not None else None,
                    state.created_at, openclaw=True)
