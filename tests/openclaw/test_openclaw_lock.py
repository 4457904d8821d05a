"""sessions.json.lock as OpenClaw's JSON-era writers take it, on real files and processes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from migrate_tui.core.errors import LockTimeout, WorkspaceError
from migrate_tui.engine.targets import openclaw_lock
from migrate_tui.engine.targets.openclaw_lock import (
    inspect,
    payload,
    process_start_time,
    store_lock,
    try_acquire,
)


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def _iso(seconds_ago: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(time.time() - seconds_ago))


def _write_lock(path: Path, fields: dict | None = None, raw: bytes | None = None, age: float = 0) -> None:
    path.write_bytes(raw if raw is not None else json.dumps(fields, indent=2).encode())
    stamp = time.time() - age
    os.utime(path, (stamp, stamp))


def _no_wait(_: float) -> None:
    return None


def test_payload_is_what_openclaw_writes() -> None:
    fields = json.loads(payload())
    assert list(fields)[:2] == ["pid", "createdAt"]
    assert fields["pid"] == os.getpid()
    assert fields["createdAt"].endswith("Z") and len(fields["createdAt"]) == 24  # toISOString()
    if sys.platform == "linux":
        assert fields["starttime"] == process_start_time(os.getpid())
    assert payload().startswith(b'{\n  "pid": ')  # JSON.stringify(payload, null, 2)


def test_lock_created_exclusively_and_removed_on_release(tmp_path: Path) -> None:
    store = tmp_path / "sessions.json"
    lock = tmp_path / "sessions.json.lock"
    with store_lock(str(store)) as held:
        assert lock.read_bytes() == held.data
        assert oct(lock.stat().st_mode & 0o777) == "0o600"
        state = try_acquire(str(lock))  # a second taker (this process) finds it held
        assert not isinstance(state, openclaw_lock.HeldLock)
        assert state.pid == os.getpid() and not state.stale
    assert not lock.exists()


def test_a_live_holder_makes_us_wait_then_time_out(tmp_path: Path) -> None:
    holder = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        lock = tmp_path / "sessions.json.lock"
        _write_lock(lock, {"pid": holder.pid, "createdAt": _iso(1),
                           "starttime": process_start_time(holder.pid)})
        sleeps: list[float] = []
        with (
            pytest.raises(LockTimeout) as caught,
            store_lock(str(tmp_path / "sessions.json"), timeout=0.3, sleep=sleeps.append),
        ):
            pass
        assert caught.value.holder == holder.pid
        assert sleeps[:3] == pytest.approx([0.05, 0.1, 0.15])  # OpenClaw's back-off: 50 ms more each time
        assert json.loads(lock.read_bytes())["pid"] == holder.pid  # left alone
    finally:
        holder.kill()
        holder.wait()


@pytest.mark.parametrize("case", ["dead-pid", "too-old", "recycled-pid", "old-garbage"])
def test_a_stale_lock_is_taken_over(tmp_path: Path, case: str) -> None:
    lock = tmp_path / "sessions.json.lock"
    live = os.getppid()
    fields = {
        "dead-pid": {"pid": _dead_pid(), "createdAt": _iso(1)},
        "too-old": {"pid": live, "createdAt": _iso(31), "starttime": process_start_time(live)},
        "recycled-pid": {"pid": live, "createdAt": _iso(1), "starttime": (process_start_time(live) or 0) + 1},
    }.get(case)
    if case == "recycled-pid" and process_start_time(live) is None:
        pytest.skip("no /proc here")
    _write_lock(lock, fields, raw=b"garbage" if fields is None else None, age=40 if fields is None else 0)
    with store_lock(str(tmp_path / "sessions.json"), timeout=0.2, sleep=_no_wait) as held:
        assert json.loads(lock.read_bytes())["pid"] == os.getpid() == json.loads(held.data)["pid"]
    assert not lock.exists()


def test_a_lock_being_written_is_judged_by_its_mtime(tmp_path: Path) -> None:
    lock = tmp_path / "sessions.json.lock"
    _write_lock(lock, raw=b"", age=0)  # created, payload not written yet
    with pytest.raises(LockTimeout), store_lock(str(tmp_path / "sessions.json"), timeout=0.1, sleep=_no_wait):
        pass
    assert lock.read_bytes() == b""
    state = inspect(b"", str(lock), now=time.time(), mtime=time.time() - 31)
    assert state.stale and state.reasons == ("missing-pid", "invalid-createdAt")


def test_the_stale_time_is_thirty_seconds() -> None:
    now = time.time()
    me = {"pid": os.getpid(), "starttime": process_start_time(os.getpid())}
    openclaw_lock._HELD.add("x")
    try:
        fresh = inspect(json.dumps({**me, "createdAt": _iso(29)}).encode(), "x", now=now, mtime=now)
        old = inspect(json.dumps({**me, "createdAt": _iso(31)}).encode(), "x", now=now, mtime=now)
    finally:
        openclaw_lock._HELD.discard("x")
    assert not fresh.stale
    assert old.stale and old.reasons == ("too-old",)


def test_a_symlink_at_the_lock_path_is_never_followed_or_removed(tmp_path: Path) -> None:
    target = tmp_path / "elsewhere"
    target.write_text("precious")
    lock = tmp_path / "sessions.json.lock"
    lock.symlink_to(target)
    with (
        pytest.raises(WorkspaceError, match="symlink"),
        store_lock(str(tmp_path / "sessions.json"), timeout=0.1, sleep=_no_wait),
    ):
        pass
    assert lock.is_symlink() and target.read_text() == "precious"


def test_release_leaves_a_lock_someone_else_took_over(tmp_path: Path) -> None:
    lock = tmp_path / "sessions.json.lock"
    with store_lock(str(tmp_path / "sessions.json")):
        lock.unlink()  # we held it past 30 s: another writer reclaimed it and took it
        _write_lock(lock, {"pid": os.getppid(), "createdAt": _iso(0)})
    assert json.loads(lock.read_bytes())["pid"] == os.getppid()
    lock.unlink()
    with store_lock(str(tmp_path / "sessions.json")) as held:
        theirs = held.data.replace(b'"pid": %d' % os.getpid(), b'"pid": %d' % os.getppid())
        lock.write_bytes(theirs)  # same file, someone else's content
    assert lock.read_bytes() == theirs


_CHILD = """
import sys, time
from migrate_tui.engine.targets.openclaw_lock import store_lock
with store_lock(sys.argv[1]):
    print("held", flush=True)
    sys.stdin.readline()
"""


def test_two_processes_take_turns(tmp_path: Path) -> None:
    store = str(tmp_path / "sessions.json")
    child = subprocess.Popen([sys.executable, "-c", _CHILD, store], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == "held"
        with pytest.raises(LockTimeout) as caught, store_lock(store, timeout=0.2):
            pass
        assert caught.value.holder == child.pid
        child.stdin.write("\n")
        child.stdin.flush()
        assert child.wait(timeout=30) == 0
        with store_lock(store, timeout=5):
            pass
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
