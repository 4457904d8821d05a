"""Helpers for the lifecycle suite (tests/lifecycle): the engine suite's workspace builder,
commands run in this process (with a fault hook or a cancel flag), and other processes that
hold our locks.

Imported as ``lifecycle_support`` (the name is unique among the test folders' helpers).
"""

from __future__ import annotations

import contextlib
import json
import os
import stat
import subprocess
import sys
import textwrap
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from migrate_tui.core import fsio
from migrate_tui.engine import Decision, apply_plan, build_plan, build_report, scan_workspace
from migrate_tui.engine.model import ApplyResult
from tests.engine.engine_support import (  # noqa: F401 - re-exported for the tests
    OLD_MTIME,
    UPDATED_MS,
    Run,
    Workspace,
    conversation,
    diff,
    message,
    read_jsonl,
    run_cli,
    sha,
    tree,
    without_nulls,
)

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT = 60
A = "a1b2c3d4-0000-4000-8000-00000000000a"
B = "a1b2c3d4-0000-4000-8000-00000000000b"
C = "a1b2c3d4-0000-4000-8000-00000000000c"


def three(ws: Workspace) -> None:
    """Three sessions: two with keys in session_map.json, one with none."""
    ws.add(A, keys=("agent:main:main", "agent:main:telegram:dm:1"))
    ws.add(B, keys=("agent:main:discord:group:g",))
    ws.add(C, n=2)


def migrate_inproc(root: Path, *, hook: Callable[[str, str], Any] | None = None,
                   cancel: Any = None, decisions: dict[str, Decision] | None = None,
                   agent_id: str = "main",
                   lock_timeout: float = 5.0) -> tuple[ApplyResult, dict[str, Any], int]:
    """scan → plan → apply in this process, the hook (if any) installed around apply."""
    scan = scan_workspace(str(root))
    plan = build_plan(scan, agent_id, decisions or {})
    with fsio.fault_hook(hook) if hook is not None else contextlib.nullcontext():
        result = apply_plan(plan, cancel=cancel, lock_timeout=lock_timeout)
    built = build_report(plan, result, dry_run=False)
    report = built.to_json()
    return result, report, built.exit_code


class CancelAt:
    """A cancel flag that turns on at the first operation ``when(op, path)`` accepts (use it
    as the fault hook too)."""

    def __init__(self, when: Callable[[str, str], bool]) -> None:
        self.when = when
        self.flag = threading.Event()

    def is_set(self) -> bool:
        return self.flag.is_set()

    def __call__(self, op: str, path: str) -> None:
        if not self.flag.is_set() and self.when(op, path):
            self.flag.set()


def while_preparing(name: str) -> Callable[[str, str], bool]:
    """For ``CancelAt``: true while apply prepares ``name``'s transcript, at the second
    opening of that legacy file (the first is its backup copy's)."""
    opened: list[str] = []

    def when(op: str, path: str) -> bool:
        if op == "open" and path.endswith(os.sep + name):
            opened.append(path)
        return len(opened) == 2
    return when


HOLD_OPLOCK = textwrap.dedent("""
    import sys
    from migrate_tui.core.layout import open_layout
    from migrate_tui.engine.oplock import operation_lock
    with operation_lock(open_layout(sys.argv[1]), sys.argv[2]):
        print("held", flush=True)
        sys.stdin.read()
""")


@contextlib.contextmanager
def oplock_held(root: Path, command: str = "migrate") -> Iterator[subprocess.Popen[str]]:
    """Another process holding the workspace's operation lock (as a running command would)."""
    proc = subprocess.Popen([sys.executable, "-c", HOLD_OPLOCK, str(root), command],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=str(ROOT))
    try:
        assert proc.stdout is not None and proc.stdout.readline() == "held\n"
        yield proc
    finally:
        if proc.poll() is None:
            assert proc.stdin is not None
            proc.stdin.close()
            proc.wait(timeout=TIMEOUT)


HOLD_STORE_LOCK = textwrap.dedent("""
    import sys
    from filelock import SoftFileLock
    lock = SoftFileLock(sys.argv[1])
    lock.acquire()
    print("locked", flush=True)
    sys.stdin.read()
    lock.release()
""")


@contextlib.contextmanager
def store_lock_held(root: Path) -> Iterator[subprocess.Popen[str]]:
    """The agent holding sessions.json.lock (SoftFileLock, its own protocol)."""
    lock = root / ".sessions" / "sessions.json.lock"
    proc = subprocess.Popen([sys.executable, "-c", HOLD_STORE_LOCK, str(lock)],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=str(ROOT))
    try:
        assert proc.stdout is not None and proc.stdout.readline() == "locked\n"
        yield proc
    finally:
        if proc.poll() is None:
            assert proc.stdin is not None
            proc.stdin.close()
            proc.wait(timeout=TIMEOUT)


def journal_records(ws: Workspace) -> list[dict[str, Any]]:
    path = ws.backup / "journal.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def outside_backup(ws: Workspace) -> dict[str, Any]:
    """The workspace's tree (as ``tree`` gives it) without the backup folder, which is not
    even looked into (it may hold a FIFO): what a rollback must restore, and what a refusal
    must leave as it was."""
    out: dict[str, Any] = {}
    for folder, dirs, files in os.walk(ws.root):
        if Path(folder) == ws.sessions:
            dirs[:] = [d for d in dirs if d != "backup_old_format"]
        for name in sorted(dirs + files):
            path = Path(folder) / name
            st = os.lstat(path)
            rel = str(path.relative_to(ws.root))
            if stat.S_ISLNK(st.st_mode):
                out[rel] = ("symlink", os.readlink(path), st.st_mtime_ns)
            elif stat.S_ISDIR(st.st_mode):
                out[rel] = ("dir", stat.S_IMODE(st.st_mode), st.st_mtime_ns)
            elif stat.S_ISREG(st.st_mode):
                out[rel] = ("file", sha(path.read_bytes()), stat.S_IMODE(st.st_mode), st.st_mtime_ns)
            else:
                out[rel] = ("special", stat.S_IFMT(st.st_mode))
    return out


def no_traceback(run: Run) -> None:
    assert "Traceback" not in run.stdout + run.stderr, str(run)
