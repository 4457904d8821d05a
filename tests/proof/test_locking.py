"""sessions.json.lock (docs/guarantees.md): a presence lock that interoperates with
``filelock.SoftFileLock``, is reclaimed only when its owner is provably gone, and makes
concurrent writers lose no update.

Already covered elsewhere and not repeated here: exit 3 with a SoftFileLock holder
(tests/engine/test_engine_cli.py::test_exit_3_when_the_lock_is_held), several processes
calling update_session_store at once (tests/test_store.py::test_concurrent_processes_lose_no_update),
a symlink at the lock path (tests/hostile/test_links.py).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from migrate_tui.core import fsio
from tests.proof.proof_support import (
    CLI_FIX_ARGS,
    KILLED,
    LOCK,
    ROOT,
    SESSIONS,
    STORE,
    A,
    Fault,
    Protocol,
    Reference,
    _lock_pid,
    check_migrated,
    check_pristine,
    cli_env,
    copy_workspace,
    exact_loads,
    migrate_inproc,
    outside_backup,
    run_cli,
    run_killed,
)

TIMEOUT = 60

# Holds the lock given on the command line until stdin closes.  "ours" takes it through the
# engine's own presence lock, "soft" through filelock.SoftFileLock directly.
HOLDER = textwrap.dedent("""
    import sys
    kind, path = sys.argv[1], sys.argv[2]
    if kind == "ours":
        from migrate_tui.core import fsio
        held = fsio.presence_lock(path, 30)
        held.__enter__()
    else:
        from filelock import SoftFileLock
        held = SoftFileLock(path)
        held.acquire()
    print("held", flush=True)
    sys.stdin.read()
    if kind == "ours":
        held.__exit__(None, None, None)
    else:
        held.release()
""")

# Tries to take the lock with SoftFileLock within the timeout; prints what happened.
TRY_SOFT = textwrap.dedent("""
    import sys
    from filelock import SoftFileLock, Timeout
    lock = SoftFileLock(sys.argv[1], timeout=float(sys.argv[2]))
    try:
        lock.acquire()
    except Timeout:
        print("timeout")
    else:
        print("acquired")
        lock.release()
""")


def _holder(kind: str, lock: Path) -> subprocess.Popen[str]:
    proc = subprocess.Popen([sys.executable, "-c", HOLDER, kind, str(lock)], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True, env=cli_env(), cwd=str(ROOT))
    assert proc.stdout is not None and proc.stdout.readline() == "held\n"
    return proc


def _release(proc: subprocess.Popen[str]) -> None:
    assert proc.stdin is not None
    proc.stdin.close()
    assert proc.wait(timeout=TIMEOUT) == 0


def _try_soft(lock: Path, timeout: float) -> str:
    out = subprocess.run([sys.executable, "-c", TRY_SOFT, str(lock), str(timeout)], capture_output=True,
                         text=True, timeout=TIMEOUT, env=cli_env(), cwd=str(ROOT))
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


def _store_state(ws: Path) -> tuple[bytes, int, int]:
    st = os.stat(ws / SESSIONS / STORE)
    return (ws / SESSIONS / STORE).read_bytes(), st.st_ino, st.st_mtime_ns


def test_our_lock_blocks_a_softfilelock_in_another_process_and_migrate_exits_3(ref: Reference,
                                                                               tmp_path: Path) -> None:
    """A process holding the lock the engine's way: SoftFileLock in another process cannot
    take it, migrate exits 3 and leaves sessions.json as it was; once released, both can."""
    ws = copy_workspace(ref.template, tmp_path / "ws")
    lock = ws / SESSIONS / LOCK
    holder = _holder("ours", lock)
    try:
        assert _lock_pid(str(lock)) == holder.pid  # the record SoftFileLock reads: the owner's pid
        assert _try_soft(lock, 0.3) == "timeout"
        before = _store_state(ws)
        run = run_cli("migrate", ws, "--json", "--lock-timeout", "0.3", *CLI_FIX_ARGS)
        assert run.rc == 3, str(run)
        assert run.json["status"] == "failed" and "sessions.json.lock" in run.json["error"]
        assert _store_state(ws) == before
        assert lock.exists() and _lock_pid(str(lock)) == holder.pid  # left alone
    finally:
        _release(holder)
    assert not lock.exists()
    assert _try_soft(lock, 5) == "acquired"
    again = run_cli("migrate", ws, "--json", "--lock-timeout", "5", *CLI_FIX_ARGS)
    assert again.rc == 0, str(again)
    assert not check_migrated(ws, ref)


def test_a_softfilelock_in_another_process_blocks_us_and_rollback_exits_3(ref: Reference,
                                                                          tmp_path: Path) -> None:
    ws = copy_workspace(ref.template, tmp_path / "ws")
    assert migrate_inproc(ws).code == 0
    lock = ws / SESSIONS / LOCK
    holder = _holder("soft", lock)
    try:
        with pytest.raises(fsio.LockTimeout) as info, fsio.presence_lock(str(lock), 0.3):
            pass
        assert info.value.holder == holder.pid
        before = outside_backup(ws)
        run = run_cli("rollback", ws, "--yes", "--json", "--lock-timeout", "0.3")
        assert run.rc == 3, str(run)
        assert outside_backup(ws) == before  # nothing removed or restored without the lock
    finally:
        _release(holder)
    run = run_cli("rollback", ws, "--yes", "--json", "--lock-timeout", "5")
    assert run.rc == 0, str(run)
    assert not check_pristine(ws, ref)


@pytest.mark.parametrize("kind", ["soft", "ours"])
def test_a_lock_whose_owner_was_killed_is_reclaimed(kind: str, ref: Reference, tmp_path: Path) -> None:
    """The holder is SIGKILLed: its lock file stays, naming a process that is gone; the
    migration reclaims it (and leaves no lock file), as SoftFileLock does."""
    ws = copy_workspace(ref.template, tmp_path / "ws")
    lock = ws / SESSIONS / LOCK
    holder = _holder(kind, lock)
    holder.send_signal(signal.SIGKILL)
    assert holder.wait(timeout=TIMEOUT) == KILLED
    assert lock.is_file() and _lock_pid(str(lock)) == holder.pid
    run = run_cli("migrate", ws, "--json", "--lock-timeout", "5", *CLI_FIX_ARGS)
    assert run.rc == 0, str(run)
    assert not lock.exists()
    assert not check_migrated(ws, ref)


def test_a_lock_left_by_a_killed_migration_is_reclaimed_by_softfilelock(ref: Reference,
                                                                        tmp_path: Path) -> None:
    """The other direction: the agent's own SoftFileLock reclaims a lock a killed migration
    left (so a crash of ours never blocks the agent for good)."""
    ws = copy_workspace(ref.template, tmp_path / "ws")
    trace = tmp_path / "trace.json"
    counted = copy_workspace(ref.template, tmp_path / "counted")
    assert run_killed("migrate", counted, "--json", *CLI_FIX_ARGS, trace=trace).rc == 0
    ops = json.loads(trace.read_text())
    # the last lock op is the merge's (the first only checks, before the backup, that the
    # lock can be had): killed just after it, the migration holds the lock
    inside = max(k for k, (op, _) in enumerate(ops) if op == "lock") + 1
    run = run_killed("migrate", ws, "--json", *CLI_FIX_ARGS, kill_at=inside)
    assert run.rc == KILLED, str(run)
    lock = ws / SESSIONS / LOCK
    assert lock.is_file()
    assert _try_soft(lock, 10) == "acquired"
    assert not lock.exists()


# ---------------------------------------------------------------- writers meanwhile

AGENT = textwrap.dedent("""
    import sys
    from migrate_tui.store import update_session_store
    path, key = sys.argv[1], sys.argv[2]
    print("trying", flush=True)

    def change(store):
        from migrate_tui.store.entry import SessionEntry
        store[key] = SessionEntry({"session_id": "agent-made", "updated_at": 1,
                                   "session_file": "agent-made.jsonl"})
        other = store["agent:main:other"]
        other["label"] = (other.get("label") or "") + "+" + key

    update_session_store(path, change, lock_timeout=60)
    print("done", flush=True)
""")


def _agent(store: Path, key: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-c", AGENT, str(store), key], stdout=subprocess.PIPE,
                            text=True, env=cli_env(), cwd=str(ROOT))


def test_an_agent_writing_before_and_during_the_merge_loses_nothing(ref: Reference, tmp_path: Path) -> None:
    """An agent updates sessions.json just before the migration takes the lock, and another
    tries while the migration holds it (it waits): the migration merges with the first
    (never overwrites blind), the second merges with the migration's, nothing is lost."""
    ws = copy_workspace(ref.template, tmp_path / "ws")
    store = ws / SESSIONS / STORE
    protocol = Protocol(ws, "apply")
    waiting: list[subprocess.Popen[str]] = []
    started: list[int] = []

    def on_call(i: int, op: str, path: str) -> None:
        if op == "lock" and not started:  # the first lock op: the check before the backup
            started.append(i)
            before = _agent(store, "agent:main:before")
            out, _ = before.communicate(timeout=TIMEOUT)
            assert before.returncode == 0 and out.split() == ["trying", "done"]
        elif op == "rename" and path == str(store):
            # we hold the lock: this agent must wait for it
            during = _agent(store, "agent:main:during")
            assert during.stdout is not None and during.stdout.readline() == "trying\n"
            waiting.append(during)

    run = migrate_inproc(ws, Fault(None, protocol=protocol, on_call=on_call))
    assert run.code == 0, run
    assert protocol.violations == []
    assert waiting
    out, _ = waiting[0].communicate(timeout=TIMEOUT)
    assert waiting[0].returncode == 0 and out == "done\n"
    entries = dict(exact_loads(store.read_bytes())[1])
    assert "agent:main:before" in entries and "agent:main:during" in entries
    labels = dict(entries["agent:main:other"][1])["label"]
    assert labels == "+agent:main:before+agent:main:during"
    migrated = dict(exact_loads(ref.migrated[os.path.join(SESSIONS, STORE)][1])[1])
    for key, entry in migrated.items():
        if key != "agent:main:other":
            assert entries[key] == entry, key
    assert not (ws / SESSIONS / LOCK).exists()


COUNTER = textwrap.dedent("""
    import os, sys
    from migrate_tui.store import update_session_store
    path, go, rounds = sys.argv[1], sys.argv[2], int(sys.argv[3])
    while not os.path.exists(go):
        pass

    def bump(store):
        entry = store["agent:main:other"]
        entry["counter"] = entry.get("counter", 0) + 1

    for _ in range(rounds):
        update_session_store(path, bump, lock_timeout=60)
""")


def test_agents_hammering_the_store_while_migrate_runs_lose_no_update(ref: Reference, tmp_path: Path) -> None:
    """Two agent processes update sessions.json in a loop while the real migrate command
    runs: every one of their updates and every entry of the migration is there after."""
    ws = copy_workspace(ref.template, tmp_path / "ws")
    store = ws / SESSIONS / STORE
    go = tmp_path / "go"
    rounds = 40
    agents = [subprocess.Popen([sys.executable, "-c", COUNTER, str(store), str(go), str(rounds)],
                               env=cli_env(), cwd=str(ROOT)) for _ in range(2)]
    try:
        go.touch()
        run = run_cli("migrate", ws, "--json", "--lock-timeout", "60", *CLI_FIX_ARGS)
        assert run.rc == 0, str(run)
        for agent in agents:
            assert agent.wait(timeout=TIMEOUT) == 0
    finally:
        for agent in agents:
            if agent.poll() is None:
                agent.kill()
                agent.wait()
    entries: dict[str, Any] = json.loads(store.read_bytes())
    assert entries["agent:main:other"]["counter"] == 2 * rounds
    migrated = json.loads(ref.migrated[os.path.join(SESSIONS, STORE)][1])
    for key, entry in migrated.items():
        if key != "agent:main:other":
            assert entries[key] == entry, key
    assert entries["agent:main:main"]["session_id"] == A
    assert not (ws / SESSIONS / LOCK).exists()


# update_session_store in another process, paused (by its own fault hook) just before it
# renames its temporary sessions.json into place, holding the lock, until stdin says go.
PAUSED_AGENT = textwrap.dedent("""
    import sys
    from migrate_tui.core import fsio
    from migrate_tui.store import update_session_store
    path = sys.argv[1]

    def pause(op, target):
        if op == "rename" and target == path:
            print("renaming", flush=True)
            sys.stdin.readline()

    def change(store):
        store["agent:main:other"]["label"] = "written by the agent"

    with fsio.fault_hook(pause):
        update_session_store(path, change, lock_timeout=60)
    print("done", flush=True)
""")


def test_the_migration_never_removes_a_live_writers_temporary_file(ref: Reference, tmp_path: Path) -> None:
    """The store's writers use the same temporary-file names.  A migration starting while an
    agent is between writing its temporary sessions.json and renaming it (holding the lock)
    must leave that file alone: tidying up after crashes is not for files in flight."""
    ws = copy_workspace(ref.template, tmp_path / "ws")
    store = ws / SESSIONS / STORE
    agent = subprocess.Popen([sys.executable, "-c", PAUSED_AGENT, str(store)], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, text=True, env=cli_env(), cwd=str(ROOT))
    assert agent.stdout is not None and agent.stdin is not None
    try:
        assert agent.stdout.readline() == "renaming\n"
        in_flight = [p.name for p in (ws / SESSIONS).iterdir() if p.name.startswith(".sessions.json.")]
        assert len(in_flight) == 1

        told: list[int] = []

        def on_call(i: int, op: str, path: str) -> None:
            if op == "lock" and not told:  # about to wait for the agent's lock: let the
                told.append(i)  # agent finish (once: the merge's lock op comes later)
                agent.stdin.write("go\n")
                agent.stdin.flush()

        run = migrate_inproc(ws, Fault(None, on_call=on_call), lock_timeout=60)
        out, _ = agent.communicate(timeout=TIMEOUT)
    finally:
        if agent.poll() is None:
            agent.kill()
            agent.wait()
    assert agent.returncode == 0 and out == "done\n", "the agent's update failed"
    assert run.code == 0, run
    entries = dict(exact_loads(store.read_bytes())[1])
    assert dict(entries["agent:main:other"][1])["label"] == "written by the agent"
    assert "agent:main:main" in entries
    assert not [p for p in (ws / SESSIONS).iterdir() if p.name.endswith(".migrate_tui.tmp")]


# ---------------------------------------------------------------- processes made by fork

FORKED_WRITER = textwrap.dedent("""
    import os, signal, sys
    from migrate_tui.core import fsio
    folder = sys.argv[1]
    fsio.write_atomic_many([fsio.PendingWrite(os.path.join(folder, f"parent-{i}"), b"p") for i in range(4)])
    pid = os.fork()
    if pid == 0:
        signal.alarm(60)  # a hang ends the child rather than the test run
        fsio.write_atomic_many([fsio.PendingWrite(os.path.join(folder, f"child-{i}"), b"c")
                                for i in range(2)])
        os._exit(0)
    _, status = os.waitpid(pid, 0)
    print("ok" if os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0 else f"child failed: {status}")
""")


def test_a_process_forked_after_parallel_writes_can_still_write(tmp_path: Path) -> None:
    """Found by this suite (its fault loops run in forked workers): the engine's shared pool
    of writer threads was inherited by a forked child without its threads, so the child's
    next batch of writes waited for ever."""
    out = subprocess.run([sys.executable, "-c", FORKED_WRITER, str(tmp_path)], capture_output=True,
                         text=True, timeout=TIMEOUT * 2, env=cli_env(), cwd=str(ROOT))
    assert out.stdout.strip() == "ok", out.stdout + out.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["child-0", "child-1", "parent-0", "parent-1",
                                                          "parent-2", "parent-3"]
