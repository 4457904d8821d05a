"""SIGKILL at any instant (docs/guarantees.md: "Killed at any instant, a migration leaves a workspace
from which running migrate again finishes the job, and rollback restores the prior state").

The real command, ``python -c KILL_DRIVER migrate WS --json ...`` (the driver only installs
an ``fsio.fault_hook`` that SIGKILLs the process just before operation number k, then calls
the command's ``main``: the engine ships no test code), is killed at many points chosen by
operation count, never by sleeping.  Then the real command reruns (exit 0, verified, exactly
the files of a clean run) or rolls back (every byte outside backup_old_format/ as before);
either way no temporary file and no lock file remain, though the killed process may have
left both.  Some recoveries are themselves killed first.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.proof.proof_support import (
    CLI_FIX_ARGS,
    KILLED,
    LOCK,
    LONG,
    SESSIONS,
    STORE,
    Reference,
    _lock_pid,
    check_consistent,
    check_migrated,
    check_pristine,
    copy_workspace,
    migrate_inproc,
    report,
    run_cases,
    run_cli,
    run_killed,
    temp_files,
)


def migrate_args(ws: Path) -> tuple[str, ...]:
    return ("migrate", str(ws), "--json", "--lock-timeout", "5", *CLI_FIX_ARGS)


def rollback_args(ws: Path) -> tuple[str, ...]:
    return ("rollback", str(ws), "--yes", "--json", "--lock-timeout", "5")


@pytest.fixture(scope="module")
def kill_trace(ref: Reference, tmp_path_factory: pytest.TempPathFactory) -> list[tuple[str, str]]:
    """Every fsio operation of the real command on the scenario, in order."""
    base = tmp_path_factory.mktemp("kill-trace")
    work = copy_workspace(ref.template, base / "ws")
    trace = base / "trace.json"
    run = run_killed(*migrate_args(work), trace=trace)
    assert run.rc == 0, str(run)
    assert json.loads(run.stdout)["status"] == "success"
    ops = [tuple(x) for x in json.loads(trace.read_text())]
    assert len(ops) > 200
    return ops  # type: ignore[return-value]


def rerun_cli(ws: Path, ref: Reference, label: str) -> list[str]:
    run = run_cli(*migrate_args(ws))
    problems = []
    if run.rc != 0 or "Traceback" in run.stderr:
        return [f"{label}: the rerun did not finish:\n{run}"]
    if run.json["status"] != "success" or run.json.get("verified") is False:
        problems.append(f"{label}: rerun report: {run.stdout[:400]}")
    problems += [f"{label} rerun: {p}" for p in check_migrated(ws, ref)]
    return problems


def rollback_cli(ws: Path, ref: Reference, label: str) -> list[str]:
    run = run_cli(*rollback_args(ws))
    if run.rc != 0 or "Traceback" in run.stderr:
        return [f"{label}: the rollback did not finish:\n{run}"]
    if run.json["status"] not in ("success", "nothing_to_do"):
        return [f"{label}: rollback report: {run.stdout[:400]}"]
    return [f"{label} rollback: {p}" for p in check_pristine(ws, ref)]


@dataclass(frozen=True)
class KillCase:
    n: int  # position in the list of kill points
    k: int
    op: str
    tear: bool
    base: str
    recoveries: tuple[str, ...]  # "rerun", "rollback"
    second_kill: int | None  # kill the first recovery too, at this operation

    def __str__(self) -> str:
        torn = " torn" if self.tear else ""
        again = f" (killed again at #{self.second_kill})" if self.second_kill is not None else ""
        return f"[kill #{self.k} {self.op}{torn} -> {'/'.join(self.recoveries)}{again}]"


def kill_case(case: KillCase, ref: Reference) -> list[str]:
    base = Path(case.base) / f"w{os.getpid()}"
    killed = copy_workspace(ref.template, base / "killed")
    run = run_killed(*migrate_args(killed), kill_at=case.k, tear=case.tear)
    if run.rc != KILLED:
        return [f"the kill point was not reached (exit {run.rc}):\n{run}"]
    problems = [f"after the kill: {p}" for p in check_consistent(killed, ref)]
    if problems:
        return problems
    for recovery in case.recoveries:
        ws = copy_workspace(killed, base / recovery)
        if case.second_kill is not None:
            args = migrate_args(ws) if recovery == "rerun" else rollback_args(ws)
            again = run_killed(*args, kill_at=case.second_kill)
            if again.rc not in (KILLED, 0) or "Traceback" in again.stderr:
                problems.append(f"the {recovery} to be killed failed:\n{again}")
            problems += [f"after killing the {recovery} too: {p}" for p in check_consistent(ws, ref)]
        if recovery == "rerun":
            problems += rerun_cli(ws, ref, "after the kill")
            problems += rollback_cli(ws, ref, "after the rerun")
        else:
            problems += rollback_cli(ws, ref, "after the kill")
            # and the migration can still be done after that
            again = migrate_inproc(ws)
            if again.code != 0:
                problems.append(f"migrating after the rollback: {again}")
            problems += [f"migrated after the rollback: {p}" for p in check_migrated(ws, ref)]
    shutil.rmtree(base, ignore_errors=True)
    return problems


def kill_points(ops: list[tuple[str, str]]) -> list[tuple[int, bool]]:
    """(k, tear) pairs: in the default run every operation that changes something durable
    (rename, fsync, fsync of a folder, mkdir, the lock, unlink), every write (torn and not,
    alternately) and every 5th operation; under PROOF=long every operation, and every write
    torn as well."""
    points: list[tuple[int, bool]] = []
    writes = 0
    for k, (op, _path) in enumerate(ops):
        if LONG:
            points.append((k, False))
            if op == "write":
                points.append((k, True))
        elif op == "write":
            points.append((k, writes % 2 == 0))
            writes += 1
        elif op in ("rename", "fsync", "fsync_dir", "mkdir", "lock", "unlink") or k % 5 == 0:
            points.append((k, False))
    return points


def test_kill_at_many_points_then_rerun_or_rollback(ref: Reference, kill_trace: list[tuple[str, str]],
                                                    tmp_path: Path) -> None:
    cases = []
    for n, (k, tear) in enumerate(kill_points(kill_trace)):
        recoveries = ("rerun", "rollback") if LONG else (("rerun",) if n % 2 == 0 else ("rollback",))
        second = (k * 7919 + 11) % 250 if n % 4 in (0, 1) or LONG else None
        cases.append(KillCase(n, k, kill_trace[k][0], tear, str(tmp_path), recoveries, second))
    problems = run_cases(cases, lambda case: kill_case(case, ref))
    assert not problems, report(problems)


# ---------------------------------------------------------------- what a kill leaves behind


def _first(ops: list[tuple[str, str]], pred: Callable[[str, str], bool]) -> int:
    return next(k for k, (op, path) in enumerate(ops) if pred(op, path))


@pytest.mark.parametrize("recovery", ["rerun", "rollback"])
def test_a_lock_left_by_a_killed_migration_is_reclaimed(recovery: str, ref: Reference,
                                                        kill_trace: list[tuple[str, str]],
                                                        tmp_path: Path) -> None:
    """Killed while holding sessions.json.lock: the lock file stays, naming a dead process;
    the rerun (or the rollback) reclaims it, finishes, and leaves no lock file."""
    # the merge's lock op (the last one: the first checks, before the backup, that the lock
    # can be had, and lets go at once)
    lock_at = max(k for k, (op, _path) in enumerate(kill_trace) if op == "lock")
    ws = copy_workspace(ref.template, tmp_path / "ws")
    run = run_killed(*migrate_args(ws), kill_at=lock_at + 2)  # inside the lock: reading sessions.json
    assert run.rc == KILLED, str(run)
    lock = ws / SESSIONS / LOCK
    assert lock.is_file(), "the killed process held the lock, so its lock file must still be there"
    holder = _lock_pid(str(lock))
    assert holder is not None and holder > 0
    with pytest.raises(ProcessLookupError):
        os.kill(holder, 0)  # the holder is gone (reaped by subprocess.run)
    assert not check_consistent(ws, ref)
    problems = rerun_cli(ws, ref, "rerun") if recovery == "rerun" else rollback_cli(ws, ref, "rollback")
    assert not problems, report(problems)
    assert not lock.exists()


@pytest.mark.parametrize("where", ["backup copy", "transcript", "sessions.json", "journal"])
@pytest.mark.parametrize("recovery", ["rerun", "rollback"])
def test_what_a_torn_write_leaves_is_gone_after_recovery(where: str, recovery: str, ref: Reference,
                                                         kill_trace: list[tuple[str, str]],
                                                         tmp_path: Path) -> None:
    """Killed in the middle of a write (one byte of it on disk): a partial temporary file (in
    .sessions/ or in the backup folder) or a torn journal record is left; neither a rerun nor
    a rollback trips on it, and neither leaves a temporary file behind."""
    match = {
        "backup copy": lambda op, p: op == "write" and f"/{SESSIONS}/backup_old_format/." in p
        and p.endswith(".migrate_tui.tmp") and "manifest" not in p,
        "transcript": lambda op, p: op == "write" and p.endswith(".migrate_tui.tmp")
        and ".jsonl." in p and "/backup_old_format/" not in p,
        "sessions.json": lambda op, p: op == "write" and f"/{SESSIONS}/.{STORE}." in p,
        "journal": lambda op, p: op == "write" and p.endswith("/journal.jsonl"),
    }[where]
    k = _first(kill_trace, match)
    ws = copy_workspace(ref.template, tmp_path / "ws")
    run = run_killed(*migrate_args(ws), kill_at=k, tear=True)
    assert run.rc == KILLED, str(run)
    if where == "journal":
        journal = (ws / SESSIONS / "backup_old_format" / "journal.jsonl").read_bytes()
        assert not journal.endswith(b"\n"), "the journal's last record should be torn"
    else:
        assert temp_files(ws), "the torn write should have left its temporary file"
    assert not check_consistent(ws, ref)
    problems = rerun_cli(ws, ref, "rerun") if recovery == "rerun" else rollback_cli(ws, ref, "rollback")
    assert not problems, report(problems)


@pytest.mark.parametrize("recovery", ["rerun", "rollback"])
def test_a_rollback_killed_at_its_last_step_leaves_nothing_a_second_one_does_not_clear(
        recovery: str, ref: Reference, tmp_path: Path) -> None:
    """A rollback killed after undoing everything but before letting go of the lock (while
    it records the rollback in the journal): the next rollback has no file left to undo but
    still reclaims the lock (it used to say "nothing to do" and leave it); a migrate instead
    reclaims it as well."""
    ws = copy_workspace(ref.template, tmp_path / "ws")
    assert migrate_inproc(ws).code == 0
    counted = copy_workspace(ws, tmp_path / "counted")
    trace = tmp_path / "trace.json"
    assert run_killed(*rollback_args(counted), trace=trace).rc == 0
    ops = json.loads(trace.read_text())
    last_write = max(k for k, (op, path) in enumerate(ops)
                     if op == "write" and path.endswith("/journal.jsonl"))
    run = run_killed(*rollback_args(ws), kill_at=last_write)
    assert run.rc == KILLED, str(run)
    assert (ws / SESSIONS / LOCK).is_file()
    problems = rerun_cli(ws, ref, "rerun") if recovery == "rerun" else rollback_cli(ws, ref, "rollback")
    assert not problems, report(problems)
