"""``sessions.json.lock``, the way OpenClaw's JSON-era writers take it.

OpenClaw (TypeScript) wrote ``sessions.json`` under ``sessions.json.lock``: the lock file
is created exclusively and holds ``{"pid", "createdAt", "starttime"}`` (JSON, indent 2;
``createdAt`` an ISO time, ``starttime`` the process start time from ``/proc/<pid>/stat``
on Linux, to tell a reused pid).  It is removed on release.  A writer that finds it
treats it as stale, removes it and tries again, when the pid is missing or gone (or a
zombie), when the pid now belongs to another process (other start time), or when it is
older than the store lock's 30 s; a lock file with neither a pid nor a readable
``createdAt`` (being written, or not JSON) is stale once its mtime is 30 s old.  Otherwise
the writer waits (50 ms, growing to 1 s) up to its timeout (10 s).

OpenClaw 2026.9 keeps its sessions in SQLite and no longer takes this lock, but an older
OpenClaw, or anything else of the JSON era still running against the same state folder,
does; we speak the same protocol so that neither overwrites the other.  Two differences,
both on the careful side: a symlink, folder or other non-regular file at the lock path is
never followed, taken over or removed (we stop and say so), and a stale lock is removed
only if it is still the file we judged.  Hold it for the merge only: past 30 s any writer
of that protocol takes it over.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import stat
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from migrate_tui.core import fsio
from migrate_tui.core.errors import LockTimeout, WorkspaceError
from migrate_tui.core.iso_time import aware_time

STALE_SECONDS = 30.0
TIMEOUT_SECONDS = 10.0
_MAX_PAYLOAD = 64 * 1024
_HELD: set[str] = set()  # lock paths this process holds


@dataclass(frozen=True)
class LockState:
    """What a lock file says about its owner, and whether the protocol calls it stale."""

    pid: int | None
    created_at: str | None
    starttime: int | None
    age: float | None  # seconds since createdAt
    stale: bool
    reasons: tuple[str, ...]


def payload(pid: int | None = None, now: float | None = None) -> bytes:
    """The lock file's content for this process, as OpenClaw writes it."""
    pid = os.getpid() if pid is None else pid
    moment = datetime.fromtimestamp(time.time() if now is None else now, UTC)
    created = moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
    fields: dict[str, Any] = {"pid": pid, "createdAt": created}
    start = process_start_time(pid)
    if start is not None:
        fields["starttime"] = start
    return json.dumps(fields, indent=2).encode("utf-8")


def process_start_time(pid: int) -> int | None:
    """Field 22 of ``/proc/<pid>/stat`` (clock ticks after boot), or None."""
    try:
        text = fsio.read_bytes(f"/proc/{pid}/stat", _MAX_PAYLOAD).decode("utf-8", "replace")
    except OSError:
        return None
    end = text.rfind(")")
    fields = text[end + 1:].split() if end >= 0 else []
    try:
        value = int(fields[19])
    except (IndexError, ValueError):
        return None
    return value if value >= 0 else None


def _zombie(pid: int) -> bool:
    try:
        text = fsio.read_bytes(f"/proc/{pid}/status", _MAX_PAYLOAD).decode("utf-8", "replace")
    except OSError:
        return False
    state = next((line.split()[1:2] for line in text.splitlines() if line.startswith("State:")), [])
    threads = next((line.split()[1:2] for line in text.splitlines() if line.startswith("Threads:")), [])
    return state == ["Z"] and threads == ["1"]


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    except OSError:
        return False
    return not _zombie(pid)


def _valid_number(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def inspect(data: bytes | None, lock_path: str, *, now: float, mtime: float,
            stale_after: float = STALE_SECONDS) -> LockState:
    """Judge a lock file's content as OpenClaw's writers do."""
    parsed: Any = None
    if data is not None:
        with contextlib.suppress(ValueError, RecursionError):
            parsed = json.loads(data.decode("utf-8"))
    fields = parsed if isinstance(parsed, dict) else {}
    pid = fields.get("pid") if _valid_number(fields.get("pid")) and fields.get("pid", 0) > 0 else None
    created = fields.get("createdAt") if isinstance(fields.get("createdAt"), str) else None
    starttime = fields.get("starttime") if _valid_number(fields.get("starttime")) else None
    reasons: list[str] = []
    if pid is None:
        reasons.append("missing-pid")
    elif not pid_alive(pid):
        reasons.append("dead-pid")
    elif starttime is not None and process_start_time(pid) not in (None, starttime):
        reasons.append("recycled-pid")
    elif pid == os.getpid() and starttime is None and lock_path not in _HELD:
        reasons.append("orphan-self-pid")
    age = _age(created, now)
    if age is None:
        reasons.append("invalid-createdAt")
    elif age > stale_after:
        reasons.append("too-old")
    stale = bool(reasons)
    if stale and all(r in ("missing-pid", "invalid-createdAt") for r in reasons):
        stale = now - mtime > stale_after  # perhaps being written right now: judge by mtime
    return LockState(pid, created, starttime, age, stale, tuple(reasons))


def _age(created: str | None, now: float) -> float | None:
    moment = aware_time(created) if created is not None else None
    return None if moment is None else max(0.0, now - moment.timestamp())


@dataclass
class HeldLock:
    path: str
    ino: int
    dev: int
    data: bytes


def _check_regular(path: str, st: os.stat_result) -> None:
    if not stat.S_ISREG(st.st_mode):
        kind = fsio.describe_mode(st.st_mode)
        raise WorkspaceError(f"{path} is a {kind}, not a lock file; it is not followed or "
                             "touched. Move it away and run again.")


def try_acquire(lock_path: str, *, now: Callable[[], float] = time.time,
                stale_after: float = STALE_SECONDS) -> HeldLock | LockState:
    """One attempt: the lock (now ours), or the state of the lock someone else holds.
    A stale lock is removed (if unchanged since it was judged) and the attempt repeated."""
    for _ in range(8):
        data = payload(now=now())
        try:
            st = fsio.create_exclusive(lock_path, data, 0o600)
        except FileExistsError:
            pass
        else:
            _HELD.add(lock_path)
            return HeldLock(lock_path, st.st_ino, st.st_dev, data)
        before = fsio.lstat_or_none(lock_path)
        if before is None:
            continue  # released meanwhile
        _check_regular(lock_path, before)
        try:
            content: bytes | None = fsio.read_bytes(lock_path, _MAX_PAYLOAD)
        except FileNotFoundError:
            continue
        except fsio.FileTooLarge:
            content = None
        except fsio.NotRegularFile:
            _check_regular(lock_path, fsio.lstat(lock_path))
            continue
        state = inspect(content, lock_path, now=now(), mtime=before.st_mtime, stale_after=stale_after)
        if not state.stale:
            return state
        after = fsio.lstat_or_none(lock_path)
        if after is not None and (after.st_ino, after.st_dev, after.st_size, after.st_mtime_ns) == (
                before.st_ino, before.st_dev, before.st_size, before.st_mtime_ns):
            fsio.unlink_if_exists(lock_path)
    raise OSError(errno.EAGAIN, "the lock changed hands too often while it was being taken", lock_path)


def release(held: HeldLock) -> None:
    """Remove the lock file if it is still ours (a writer may have taken a lock we held
    past the stale time: theirs is left alone)."""
    _HELD.discard(held.path)
    st = fsio.lstat_or_none(held.path)
    if st is None or (st.st_ino, st.st_dev) != (held.ino, held.dev) or not stat.S_ISREG(st.st_mode):
        return
    try:
        if fsio.read_bytes(held.path, _MAX_PAYLOAD) != held.data:
            return
    except OSError:
        return
    fsio.unlink_if_exists(held.path)


@contextlib.contextmanager
def store_lock(store_path: str, timeout: float = TIMEOUT_SECONDS, *,
               stale_after: float = STALE_SECONDS,
               now: Callable[[], float] = time.time,
               sleep: Callable[[float], None] = time.sleep) -> Iterator[HeldLock]:
    """Hold ``<store_path>.lock`` for the block; raises LockTimeout (with the holder's pid)
    when it is not free within ``timeout`` seconds."""
    lock_path = f"{store_path}.lock"
    started = time.monotonic()
    attempt = 0
    while True:
        attempt += 1
        got = try_acquire(lock_path, now=now, stale_after=stale_after)
        if isinstance(got, HeldLock):
            break
        remaining = timeout - (time.monotonic() - started)
        if remaining <= 0:
            raise LockTimeout(lock_path, timeout, got.pid)
        sleep(min(1.0, 0.05 * attempt, remaining))
    try:
        yield got
    finally:
        release(got)
