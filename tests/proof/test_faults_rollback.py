"""A fault at every I/O operation of rollback (docs/guarantees.md: "rollback restores the prior state").

Starting from a finished migration, rollback is recorded once with a counting hook, then run
again on fresh copies with a fault at each operation k (once, and for lasting kinds at k and
every later one of that kind).  After each: the workspace is consistent (never an entry
pointing at a removed transcript, sessions.json whole, originals untouched), the write
protocol was kept, and then

* a second rollback, itself hit by a fault, still leaves it consistent, and a clean one then
  restores every byte outside backup_old_format/ (no lock file, no temporary file);
* or a migrate instead finishes the migration again exactly, and a rollback after it
  restores every byte.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.proof.proof_support import (
    FAULTS,
    LONG,
    Counter,
    Fault,
    Protocol,
    Reference,
    check_consistent,
    copy_workspace,
    migrate_inproc,
    report,
    run_cases,
)
from tests.proof.test_faults_apply import (
    MUST_SURFACE,
    PERSISTENT_OPS,
    _inproc_rollback,
    faulted_recovery,
    finish_by_rerun,
    finish_by_rollback,
    second_points,
)


@pytest.fixture(scope="module")
def migrated(ref: Reference, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the scenario after a clean migration (backup, journal and all)."""
    work = copy_workspace(ref.template, tmp_path_factory.mktemp("migrated") / "ws")
    run = migrate_inproc(work)
    assert run.code == 0 and run.result.error is None, run
    return work


@pytest.fixture(scope="module")
def rollback_trace(migrated: Path, ref: Reference,
                   tmp_path_factory: pytest.TempPathFactory) -> list[tuple[str, str]]:
    work = copy_workspace(migrated, tmp_path_factory.mktemp("rollback-trace") / "ws")
    protocol = Protocol(work, "rollback")
    counter = Counter(protocol)
    result, problems = _inproc_rollback(work, counter)
    assert problems == [] and result.ok, (problems, result)
    protocol.finish()
    assert protocol.violations == []
    return counter.trace


def test_the_clean_rollback_keeps_the_write_protocol(rollback_trace: list[tuple[str, str]]) -> None:
    ops = [op for op, _ in rollback_trace]
    for needed in ("lock", "rename", "unlink", "fsync", "fsync_dir", "write"):
        assert needed in ops, needed
    lock_at = ops.index("lock")
    first_change = min(i for i, op in enumerate(ops) if op in ("rename", "unlink"))
    assert lock_at < first_change, "rollback changed sessions.json before taking the lock"


@dataclass(frozen=True)
class RollbackCase:
    k: int
    op: str
    kind: str
    persistent: bool
    base: str
    migrated: str

    def __str__(self) -> str:
        return f"[rollback #{self.k} {self.op} {self.kind}{' and after' if self.persistent else ''}]"


def rollback_case(case: RollbackCase, ref: Reference) -> list[str]:
    base = Path(case.base) / f"w{os.getpid()}"
    work = copy_workspace(Path(case.migrated), base / "ws")
    protocol = Protocol(work, "rollback")
    fault = Fault(case.k, case.kind, persistent=case.persistent, protocol=protocol)
    result, problems = _inproc_rollback(work, fault)
    if fault.fired is None or fault.fired[0] != case.op:
        return [f"the rollback's operations changed: #{case.k} is {fault.trace[case.k:case.k + 1]}"]
    problems += [f"protocol: {v}" for v in protocol.violations]
    if result is not None and result.ok and (case.op, case.kind) in MUST_SURFACE:
        problems.append(f"the fault was swallowed: the rollback says it finished ({result.message})")
    problems += [f"after the fault: {p}" for p in check_consistent(work, ref)]
    if problems:
        return problems

    # recovery 1: roll back again (itself hit by a fault), then cleanly
    back = copy_workspace(work, base / "back")
    for j in second_points(case.k, 90):
        problems += faulted_recovery(back, base / "saved", ref, "rollback", j)
    problems += finish_by_rollback(back, ref)

    # recovery 2: migrate again instead (itself hit by a fault), then cleanly, then roll back
    for j in second_points(case.k, 200):
        problems += faulted_recovery(work, base / "saved", ref, "apply", j)
    problems += finish_by_rerun(work, ref)
    shutil.rmtree(base, ignore_errors=True)
    return problems


GROUPS = {
    "write-fsync": {"write", "fsync"},
    "rename-unlink": {"rename", "unlink"},
    "other": {"open", "close", "read", "stat", "listdir", "fsync_dir", "mkdir", "lock", "copy"},
}


@pytest.mark.parametrize("persistent", [False, True], ids=["once", "and-after"])
@pytest.mark.parametrize("group", list(GROUPS))
def test_fault_at_every_operation_of_rollback(group: str, persistent: bool, ref: Reference, migrated: Path,
                                              rollback_trace: list[tuple[str, str]], tmp_path: Path) -> None:
    ops = GROUPS[group]
    if persistent and not LONG:
        ops = ops & PERSISTENT_OPS
    cases = [RollbackCase(k, op, kind, persistent, str(tmp_path), str(migrated))
             for k, (op, _path) in enumerate(rollback_trace) if op in ops
             for kind in FAULTS.get(op, ("EIO",))]
    assert cases
    problems = run_cases(cases, lambda case: rollback_case(case, ref))
    assert not problems, report(problems)


def test_rollback_removes_a_created_sessions_json_durably_before_the_transcripts(tmp_path: Path) -> None:
    """When the migration created sessions.json, rollback removes it, and makes that removal
    durable before it removes a transcript an entry pointed at (Protocol's ordering rule)."""
    from tests.proof.proof_support import OLD_MTIME, SESSIONS, check_pristine_simple, write_legacy_session

    root = tmp_path / "ws"
    write_legacy_session(root / SESSIONS, "only-one", [{"role": "user", "content": "hi"}],
                         {"label": "x"}, "2026-02-11T10:00:00+00:00", "2026-02-11T12:00:00+00:00")
    os.utime(root / SESSIONS / "only-one.json", (OLD_MTIME, OLD_MTIME))
    before = check_pristine_simple(root)
    run = migrate_inproc(root)
    assert run.code == 0 and (root / SESSIONS / "sessions.json").exists(), run
    protocol = Protocol(root, "rollback")
    result, problems = _inproc_rollback(root, Counter(protocol))
    assert problems == [] and result.ok, (problems, result)
    protocol.finish()
    assert protocol.violations == []
    assert check_pristine_simple(root) == before
