"""One writing command at a time: migrate, rollback and cleanup hold the workspace's operation
lock for their whole run; a second one refuses at once (exit 3) naming the holder's pid,
command and since when; verify and a dry run say an operation is in progress; a lock left by
a killed command is reclaimed; sessions.json.lock stays free for the agent meanwhile."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from migrate_tui.core.errors import OperationBusy
from migrate_tui.core.layout import open_layout
from migrate_tui.engine.oplock import operation_holder, operation_lock
from migrate_tui.engine.rollback import rollback_workspace
from migrate_tui.store import load_session_store, update_session_store
from tests.lifecycle.lifecycle_support import (
    HOLD_OPLOCK,
    ROOT,
    TIMEOUT,
    A,
    B,
    C,
    Workspace,
    diff,
    migrate_inproc,
    oplock_held,
    three,
    tree,
)

OPLOCK = "migrate-tui.lock"


@pytest.mark.parametrize("command", [
    ("migrate", "--json"),
    ("migrate", "--json", "--dry-run"),
    ("rollback", "--yes", "--json"),
    ("cleanup", "--yes", "--json"),
    ("verify", "--json"),
])
def test_a_second_command_refuses_at_once_naming_the_holder(ws: Workspace, command: tuple[str, ...]) -> None:
    three(ws)
    assert ws.migrate().rc == 0  # something for rollback and cleanup to do
    with oplock_held(ws.root, "rollback") as holder:
        before = tree(ws.root)
        run = ws.cli(command[0], *command[1:])
        after = tree(ws.root)
    assert run.rc == 3, str(run)
    out = json.loads(run.stdout)  # one JSON object
    assert f"process {holder.pid}" in out["error"] and "rollback (" in out["error"], out
    assert "since 20" in out["error"]
    assert diff(before, after) == []  # nothing written, not even the lock


def test_the_plain_text_refusal_names_the_holder_too(ws: Workspace) -> None:
    three(ws)
    with oplock_held(ws.root, "cleanup") as holder:
        run = ws.cli("migrate")
    assert run.rc == 3, str(run)
    assert f"cleanup (process {holder.pid}, since " in run.stderr
    assert run.stdout == ""


def test_a_lock_left_by_a_killed_command_is_reclaimed(ws: Workspace) -> None:
    three(ws)
    proc = subprocess.Popen([sys.executable, "-c", HOLD_OPLOCK, str(ws.root), "migrate"],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=str(ROOT))
    assert proc.stdout is not None and proc.stdout.readline() == "held\n"
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=TIMEOUT)
    assert (ws.sessions / OPLOCK).is_file()  # left behind, naming a process that is gone
    assert operation_holder(open_layout(str(ws.root))) is None
    run = ws.migrate()
    assert run.rc == 0, str(run)
    assert not (ws.sessions / OPLOCK).exists()


def test_a_live_holder_is_not_taken_over_even_with_a_record_of_a_dead_pid(ws: Workspace,
                                                                          tmp_path: Path) -> None:
    """Only the holder's flock proves it gone: a live holder whose record says otherwise
    (rewritten by someone) keeps the lock."""
    three(ws)
    with oplock_held(ws.root, "migrate"):
        (ws.sessions / OPLOCK).write_text('{"pid": 999999999, "command": "migrate"}\n')
        run = ws.migrate()
    assert run.rc == 3, str(run)


def test_rollback_during_a_running_migration_is_refused(ws: Workspace) -> None:
    """The issue's scenario: a rollback started while a migration writes transcripts used to
    leave hundreds of entries pointing at deleted transcripts.  Now it is refused at once."""
    three(ws)
    refused: list[BaseException] = []

    def hook(op: str, path: str) -> None:
        if op == "rename" and path.endswith(".jsonl") and not refused:
            def other() -> None:
                try:
                    rollback_workspace(str(ws.root))
                except OperationBusy as exc:
                    refused.append(exc)
            thread = threading.Thread(target=other)
            thread.start()
            thread.join(TIMEOUT)
            assert refused, "the rollback was not refused"

    _result, report, code = migrate_inproc(ws.root, hook=hook)
    assert code == 0, report
    assert "migrate (process" in str(refused[0])
    assert ws.cli("verify").rc == 0


@pytest.mark.parametrize("second", ["migrate", "cleanup"])
def test_a_command_started_during_a_running_rollback_is_refused(ws: Workspace, second: str) -> None:
    from migrate_tui.core import fsio
    from migrate_tui.engine.cleanup import cleanup_workspace

    three(ws)
    assert ws.migrate().rc == 0
    refused: list[BaseException] = []

    def other() -> None:
        try:
            if second == "migrate":
                migrate_inproc(ws.root)
            else:
                cleanup_workspace(str(ws.root))
        except OperationBusy as exc:
            refused.append(exc)

    def hook(op: str, path: str) -> None:
        if op == "unlink" and path.endswith(".jsonl") and not refused:
            thread = threading.Thread(target=other)
            thread.start()
            thread.join(TIMEOUT)
            assert refused, f"the {second} was not refused"

    with fsio.fault_hook(hook):
        result = rollback_workspace(str(ws.root))
    assert result.ok, result.message
    assert "rollback (process" in str(refused[0])
    assert sorted(p.name for p in ws.sessions.iterdir()) == sorted(
        [f"{s}.json" for s in (A, B, C)] + ["backup_old_format", "session_map.json"])


def test_two_migrations_at_once_one_refuses_the_other_finishes(ws: Workspace) -> None:
    for n in range(40):
        ws.add(f"s-{n:03d}", keys=(f"agent:main:s{n}",), n=20)
    procs = [subprocess.Popen([sys.executable, "-m", "migrate_tui", "migrate", str(ws.root), "--json"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=str(ROOT))
             for _ in range(2)]
    outs = [p.communicate(timeout=TIMEOUT) for p in procs]
    codes = sorted(p.returncode for p in procs)
    for out, err in outs:
        assert "Traceback" not in err, err
        json.loads(out)  # one JSON object each
    assert codes in ([0, 0], [0, 3]), (codes, outs)
    assert ws.cli("verify").rc == 0
    assert not (ws.sessions / OPLOCK).exists()


def test_the_agent_can_write_sessions_json_while_an_operation_runs(ws: Workspace) -> None:
    """The operation lock is ours alone: sessions.json.lock stays free for the agent."""
    three(ws)
    assert ws.migrate().rc == 0
    store = str(ws.sessions / "sessions.json")
    with oplock_held(ws.root, "migrate"):
        update_session_store(store, lambda s: s["agent:main:main"].__setitem__("label", "new"),
                             lock_timeout=1)
    assert load_session_store(store)["agent:main:main"]["label"] == "new"


@pytest.mark.parametrize("kind", ["symlink", "folder"])
def test_something_else_at_the_lock_path_is_never_followed(ws: Workspace, tmp_path: Path, kind: str) -> None:
    three(ws)
    target = tmp_path / "elsewhere.lock"
    if kind == "symlink":
        os.symlink(target, ws.sessions / OPLOCK)
    else:
        (ws.sessions / OPLOCK).mkdir()
    before = tree(ws.root)
    for args in (("--json",), ("--json", "--dry-run")):
        run = ws.cli("migrate", *args)
        assert run.rc == 2, str(run)
        assert OPLOCK in json.loads(run.stdout)["error"]
    assert diff(before, tree(ws.root)) == []
    assert not target.exists()


def test_the_lock_is_reentrant_in_one_thread_and_refused_to_another(ws: Workspace) -> None:
    three(ws)
    layout = open_layout(str(ws.root))
    seen: list[str] = []
    with operation_lock(layout, "migrate"):
        with operation_lock(layout, "migrate"):
            seen.append("nested")

        def other() -> None:
            try:
                with operation_lock(layout, "cleanup"):
                    seen.append("BAD")
            except OperationBusy:
                seen.append("refused")
        thread = threading.Thread(target=other)
        thread.start()
        thread.join(TIMEOUT)
        assert operation_holder(layout) is None  # this thread holds it
    assert seen == ["nested", "refused"]
    assert not (ws.sessions / OPLOCK).exists()
