"""A fault at every I/O operation of apply (docs/guarantees.md "Guarantees").

The clean run is recorded once with a counting hook: operations #0..#N-1.  Then, for every
operation k and every fault that operation can meet (ENOSPC, a short write, a torn write for
writes; EIO for fsync, open, close, read, stat, fsync_dir, mkdir, a failing lock; EXDEV and
EACCES for rename), apply runs again on a fresh copy with that fault once at k, and (for the
operations where a fault tends to last: writes, fsyncs, renames, ...) at k and every later
operation of the same kind.  After each:

* the workspace is consistent (originals byte-identical; sessions.json absent, old or new,
  whole JSON; every entry points at a complete transcript equal to its source; whatever was
  replaced is in the backup), and the write protocol was kept (``Protocol``);
* a rerun, itself hit by a second fault, still leaves it consistent, and a clean rerun then
  finishes the job exactly (and a rollback after that restores every byte);
* a rollback instead, itself hit by a second fault, still leaves it consistent, and a clean
  rollback then restores every byte outside backup_old_format/.

No temporary file and no lock file survive a finished rerun or rollback.
"""

from __future__ import annotations

import errno
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from migrate_tui.core import fsio
from tests.proof.proof_support import (
    FAULTS,
    LOCK,
    LONG,
    NOTES,
    REPORT,
    SESSIONS,
    STORE,
    A,
    B,
    Counter,
    D,
    Fault,
    Protocol,
    Reference,
    check_consistent,
    check_migrated,
    check_pristine,
    copy_workspace,
    exact_loads,
    migrate_inproc,
    obj_get,
    obj_keys,
    report,
    rollback_inproc,
    run_cases,
    transcript_values,
)

# Operations where a fault is tried "at k and every later one of that kind" in the default
# run (all of them under PROOF=long; the rest fail the run at once either way).
PERSISTENT_OPS = {"write", "fsync", "rename", "fsync_dir", "mkdir", "lock", "unlink", "copy", "open", "close"}
# A fault of these kinds at these operations must never end in a run that says "done".
MUST_SURFACE = {("fsync", "EIO"), ("fsync_dir", "EIO"), ("write", "ENOSPC"), ("write", "torn"),
                ("write", "stall"), ("rename", "EXDEV"), ("rename", "EACCES"), ("lock", "EIO"),
                ("lock", "EACCES"), ("mkdir", "EIO"), ("mkdir", "ENOSPC")}


@pytest.fixture(scope="module")
def apply_trace(ref: Reference, tmp_path_factory: pytest.TempPathFactory) -> list[tuple[str, str]]:
    work = copy_workspace(ref.template, tmp_path_factory.mktemp("trace") / "ws")
    protocol = Protocol(work, "apply")
    counter = Counter(protocol)
    run = migrate_inproc(work, counter)
    assert run.code == 0 and run.result.error is None, run
    protocol.finish()
    assert protocol.violations == []
    return counter.trace


# ---------------------------------------------------------------- the reference and the protocol


def test_reference_run_is_what_the_spec_says(ref: Reference) -> None:
    """The clean run every case is compared with is itself checked against the model."""
    store = exact_loads(ref.migrated[os.path.join(SESSIONS, STORE)][1])
    entries = dict(store[1])
    expected_keys = {"agent:main:main": A, "agent:main:telegram:dm:12345": A,
                     "agent:main:discord:group:g-77": B, f"agent:main:{NOTES}": NOTES,
                     "agent:main:cron:daily": D, "agent:main:other": "other"}
    assert {k: obj_get(v, "session_id") for k, v in entries.items()} == expected_keys
    # the unrelated entry is kept exactly, with its key order and unknown field
    old = exact_loads(ref.pristine[os.path.join(SESSIONS, STORE)][1])
    assert entries["agent:main:other"] == dict(old[1])["agent:main:other"]
    a = entries["agent:main:main"]
    assert obj_keys(a)[:3] == ["session_id", "updated_at", "session_file"]
    assert obj_get(a, "updated_at") == ("int", "1770811200708")
    assert obj_get(a, "total_tokens") == ("int", str(2**64 + 1))
    assert obj_get(a, "thinking_level") == "high" and "x_unknown" not in obj_keys(a)
    for sid in (A, B, NOTES, D):
        rel = os.path.join(SESSIONS, f"{sid}.jsonl")
        assert transcript_values(ref.migrated[rel][1]) == ref.lines[f"{sid}.jsonl"], sid
    assert ref.migrated[os.path.join(SESSIONS, f"{D}.jsonl")][1] == b""
    # the tricky values are there, exactly
    line = ref.migrated[os.path.join(SESSIONS, f"{A}.jsonl")][1].split(b"\n")[2]
    assert b'"score":NaN' in line and b'"hi":Infinity' in line and b'"neg0":-0.0' in line
    assert b"null" not in line
    new = {rel for rel in ref.migrated if rel not in ref.pristine}
    assert new == {os.path.join(SESSIONS, f"{s}.jsonl") for s in (A, NOTES, D)}
    assert LOCK not in {os.path.basename(r) for r in ref.migrated}


def test_the_clean_run_keeps_the_write_protocol(apply_trace: list[tuple[str, str]]) -> None:
    """Every rename onto a new file is of a temporary file fsynced first, on that same path;
    sessions.json is renamed only under the lock (Protocol checks, on the recorded run)."""
    ops = [op for op, _ in apply_trace]
    for needed in ("open", "write", "fsync", "close", "rename", "fsync_dir", "lock", "mkdir", "read", "stat"):
        assert needed in ops, needed
    renamed = [os.path.basename(p) for op, p in apply_trace if op == "rename"]
    for name in (STORE, f"{A}.jsonl", f"{B}.jsonl", f"{NOTES}.jsonl", f"{D}.jsonl"):
        assert name in renamed
    # the fsync of each temporary file precedes its rename, on the same temporary path
    for i, (op, path) in enumerate(apply_trace):
        if op != "rename":
            continue
        opened = max(j for j in range(i) if apply_trace[j][0] == "open"
                     and os.path.basename(apply_trace[j][1]).startswith("." + os.path.basename(path) + "."))
        tmp = apply_trace[opened][1]
        assert ("fsync", tmp) in apply_trace[opened:i], f"no fsync of {tmp} before its rename"
    lock_at = ops.index("lock")
    store_renames = [i for i, (op, p) in enumerate(apply_trace)
                     if op == "rename" and p.endswith(f"/{SESSIONS}/{STORE}")]
    assert store_renames and all(i > lock_at for i in store_renames)


def test_the_protocol_checker_catches_what_it_is_for(tmp_path: Path) -> None:
    """The checker is what makes the fault loops fail if an fsync before a rename is removed,
    a write goes through without the lock, or an fsync failure is ignored: show it does."""
    root = tmp_path / "ws"
    (root / SESSIONS / "backup_old_format").mkdir(parents=True)
    s = str(root / SESSIONS)
    tmp = f"{s}/.x.jsonl.0123abcd.migrate_tui.tmp"
    store_tmp = f"{s}/.sessions.json.89abcdef.migrate_tui.tmp"

    def run(ops: list[tuple[str, str, bool]], mode: str = "store") -> list[str]:
        p = Protocol(root, mode)
        for op, path, failed in ops:
            p.see(op, path, failed=failed)
        return p.violations

    ok = [("open", tmp, False), ("write", tmp, False), ("fsync", tmp, False), ("close", tmp, False),
          ("rename", f"{s}/x.jsonl", False), ("fsync_dir", s, False)]
    assert run(ok) == []
    no_fsync = [o for o in ok if o[0] != "fsync"]
    assert any("before an fsync" in v for v in run(no_fsync))
    other_fsync = [("open", tmp, False), ("fsync", tmp + "x", False), ("rename", f"{s}/x.jsonl", False)]
    assert any("before an fsync" in v for v in run(other_fsync))
    failed_fsync = [("open", tmp, False), ("fsync", tmp, True), ("fsync", tmp, False),
                    ("rename", f"{s}/x.jsonl", False)]
    assert any("failed" in v for v in run(failed_fsync))
    store = [("open", store_tmp, False), ("fsync", store_tmp, False), ("rename", f"{s}/sessions.json", False)]
    violations = run(store)
    assert any("without a lock op" in v for v in violations)
    assert any("lock file names None" in v for v in violations)
    transcript_then_store = [*ok[:-1], ("lock", f"{s}/{LOCK}", False), *store]
    assert any("before the folder was fsynced" in v for v in run(transcript_then_store))
    p = Protocol(root, "store")
    for op, path, failed in ok[:-1]:
        p.see(op, path, failed=failed)
    p.finish()
    assert any("never fsynced" in v for v in p.violations)
    # apply: a new file must be announced in the journal first
    (root / SESSIONS / ".x.jsonl.0123abcd.migrate_tui.tmp").write_bytes(b"{}\n")
    assert any("journal" in v for v in run(ok, "apply"))


# ---------------------------------------------------------------- one case


@dataclass(frozen=True)
class ApplyCase:
    k: int
    op: str
    kind: str
    persistent: bool
    base: str

    def __str__(self) -> str:
        return f"[apply #{self.k} {self.op} {self.kind}{' and after' if self.persistent else ''}]"


def second_points(k: int, span: int) -> list[int]:
    """Where the second fault hits the recovery (spread over its operations)."""
    points = [(k * 7919 + 13) % span]
    if LONG:
        points += [(k * 104729 + 71) % span, (k * 31 + span // 2) % span]
    return points


def _inproc_migrate(work: Path, hook: Any) -> tuple[Any, list[str]]:
    try:
        return migrate_inproc(work, hook), []
    except Exception as exc:  # apply must report (its result.error), not raise
        return None, [f"migrate raised {type(exc).__name__}: {exc}"]


def _inproc_rollback(work: Path, hook: Any) -> tuple[Any, list[str]]:
    try:
        return rollback_inproc(work, hook), []
    except OSError as exc:
        return None, [] if hook is not None and getattr(hook, "fired", None) else [f"rollback raised {exc!r}"]
    except Exception as exc:
        return None, [f"rollback raised {type(exc).__name__}: {exc}"]


def faulted_recovery(work: Path, saved: Path, ref: Reference, what: str, j: int) -> list[str]:
    """Rerun (``what`` = "apply") or roll back with a fault at operation ``j``; if it has
    fewer operations than that, again from the same state with the fault at ``j`` modulo
    their number, so the second fault always lands.  The result must be consistent."""
    copy_workspace(work, saved)
    for attempt in range(2):
        protocol = Protocol(work, what)
        hook = Fault(j, protocol=protocol)
        if what == "apply":
            _run, found = _inproc_migrate(work, hook)
        else:
            _run, found = _inproc_rollback(work, hook)
        if hook.fired is not None or attempt == 1 or hook.n == 0:
            break
        j %= hook.n
        copy_workspace(saved, work)
    label = f"{'rerun' if what == 'apply' else 'rollback'} faulted at #{j} {hook.fired}"
    problems = [f"{label}: {p}" for p in found + protocol.violations]
    problems += [f"after {label}: {p}" for p in check_consistent(work, ref)]
    return problems


def finish_by_rerun(work: Path, ref: Reference) -> list[str]:
    """A clean rerun finishes the job exactly; a rollback after it restores every byte."""
    protocol = Protocol(work, "apply")
    run, problems = _inproc_migrate(work, Counter(protocol))
    if run is None:
        return problems
    if run.code != 0 or run.result.error is not None:
        return [f"the clean rerun did not finish: {run}"]
    protocol.finish()
    problems += [f"rerun: {v}" for v in protocol.violations]
    problems += [f"after rerun: {p}" for p in check_migrated(work, ref)]
    problems += finish_by_rollback(work, ref, "after rerun")
    return problems


def finish_by_rollback(work: Path, ref: Reference, label: str = "") -> list[str]:
    protocol = Protocol(work, "rollback")
    result, problems = _inproc_rollback(work, Counter(protocol))
    if result is None:
        return problems
    if not result.ok:
        return [f"{label} the clean rollback refused: {result.message}"]
    protocol.finish()
    problems += [f"{label} rollback: {v}" for v in protocol.violations]
    problems += [f"{label} after rollback: {p}" for p in check_pristine(work, ref)]
    return problems


def apply_case(case: ApplyCase, ref: Reference) -> list[str]:
    base = Path(case.base) / f"w{os.getpid()}"
    work = copy_workspace(ref.template, base / "ws")
    protocol = Protocol(work, "apply")
    fault = Fault(case.k, case.kind, persistent=case.persistent, protocol=protocol)
    run, problems = _inproc_migrate(work, fault)
    if fault.fired is None or fault.fired[0] != case.op:
        return [f"the run's operations changed: #{case.k} is {fault.trace[case.k:case.k + 1]}"]
    problems += [f"protocol: {v}" for v in protocol.violations]
    if run is not None:
        done = run.code == 0 and run.result.error is None and not run.result.failed
        # the report is saved last: a fault from then on is a warning (the report could not
        # be saved), and the run keeps its outcome
        report_at = next((n for n, (_op, path) in enumerate(fault.trace) if REPORT in path), None)
        on_report = report_at is not None and case.k >= report_at
        if on_report:
            if run.result.report_error is None and (case.op, case.kind) in MUST_SURFACE:
                problems.append(f"the report's fault was not reported as a warning ({run})")
        elif done and (case.op, case.kind) in MUST_SURFACE:
            problems.append(f"the fault was swallowed: the run says it finished ({run})")
        if run.result.error is None and not on_report:
            protocol.finish()
            problems += [f"protocol: {v}" for v in protocol.violations if "never fsynced" in v]
    problems += [f"after the fault: {p}" for p in check_consistent(work, ref)]
    if problems:
        return problems

    # recovery 1: a rerun hit by a second fault, then a clean rerun (then a rollback)
    forward = copy_workspace(work, base / "forward")
    for j in second_points(case.k, 200):
        problems += faulted_recovery(forward, base / "saved", ref, "apply", j)
    problems += finish_by_rerun(forward, ref)

    # recovery 2: a rollback hit by a second fault, then a clean rollback
    for j in second_points(case.k, 90):
        problems += faulted_recovery(work, base / "saved", ref, "rollback", j)
    problems += finish_by_rollback(work, ref)
    shutil.rmtree(base, ignore_errors=True)
    return problems


def _cases(trace: list[tuple[str, str]], ops: set[str], persistent: bool, base: Path) -> list[ApplyCase]:
    cases = []
    for k, (op, _path) in enumerate(trace):
        if op not in ops:
            continue
        for kind in FAULTS.get(op, ("EIO",)):
            cases.append(ApplyCase(k, op, kind, persistent, str(base)))
    return cases


GROUPS = {
    "write": {"write"},
    "fsync": {"fsync"},
    "rename": {"rename"},
    "open-close": {"open", "close"},
    "read-stat-listdir": {"read", "stat", "listdir"},
    "dir-lock-copy-unlink": {"fsync_dir", "mkdir", "lock", "copy", "unlink"},
}


@pytest.mark.parametrize("persistent", [False, True], ids=["once", "and-after"])
@pytest.mark.parametrize("group", list(GROUPS))
def test_fault_at_every_operation_of_apply(group: str, persistent: bool, ref: Reference,
                                           apply_trace: list[tuple[str, str]], tmp_path: Path) -> None:
    ops = GROUPS[group]
    if persistent and not LONG:
        ops = ops & PERSISTENT_OPS
    cases = _cases(apply_trace, ops, persistent, tmp_path)
    if not cases:
        assert persistent and not LONG
        pytest.skip("faults that last are tried here under PROOF=long only")
    problems = run_cases(cases, lambda case: apply_case(case, ref))
    assert not problems, report(problems)


# ---------------------------------------------------------------- symlinks swapped in mid-run


OUTSIDE = b"OUTSIDE-7f3a: must never be read, written or replaced\n"


def _swap_in_symlink(at_op: str, match: Any, make_target: Any) -> Any:
    """A hook that, the first time ``at_op`` is about to act on a path ``match`` accepts,
    replaces that path with a symlink to a file outside the workspace."""
    state = {"done": False}

    def hook(op: str, path: str) -> None:
        if not state["done"] and op == at_op and match(path):
            state["done"] = True
            target = make_target(path)
            if os.path.lexists(path):
                os.unlink(path)
            os.symlink(target, path)
    hook.state = state  # type: ignore[attr-defined]
    return hook


@pytest.mark.parametrize("where", ["source-read", "temp-open", "rename-target", "journal-open",
                                   "store-rename"])
def test_a_symlink_swapped_in_mid_run_is_never_followed(where: str, ref: Reference, tmp_path: Path) -> None:
    """Whatever path the engine is about to open or replace becomes a symlink to a file
    outside the workspace at that very moment: the outside file is never read into a
    transcript, written or replaced, and once the symlink is gone a rerun finishes."""
    work = copy_workspace(ref.template, tmp_path / "ws")
    outside = tmp_path / "outside"
    outside.mkdir()
    s = str(work / SESSIONS)
    legacy_a = os.path.join(s, f"{A}.json")

    def outside_copy(path: str) -> str:
        target = outside / os.path.basename(path).lstrip(".")
        # for the source: the very same bytes, so only refusing the symlink tells it apart
        target.write_bytes(Path(legacy_a).read_bytes() if path == legacy_a else OUTSIDE)
        return str(target)

    first_read = {"seen": 0}

    def is_second_open_of_a(path: str) -> bool:  # apply reads the source again to write it
        if path != legacy_a:
            return False
        first_read["seen"] += 1
        return first_read["seen"] == 2

    match = {
        "source-read": ("open", is_second_open_of_a),
        "temp-open": ("open", lambda p: p.endswith(".migrate_tui.tmp") and f".{NOTES}.jsonl." in p),
        "rename-target": ("rename", lambda p: p == os.path.join(s, f"{NOTES}.jsonl")),
        "journal-open": ("open", lambda p: p.endswith("/journal.jsonl")),
        "store-rename": ("rename", lambda p: p == os.path.join(s, STORE)),
    }[where]
    hook = _swap_in_symlink(match[0], match[1], outside_copy)
    run = migrate_inproc(work, hook)
    assert hook.state["done"], "the swap point was never reached"
    before_outside = {p.name: p.read_bytes() for p in outside.iterdir()}
    for name, data in before_outside.items():
        expected = (Path(ref.template, SESSIONS, f"{A}.json").read_bytes()
                    if name == f"{A}.json" else OUTSIDE)
        assert data == expected, f"{name} outside the workspace was written"
    for p in Path(s).iterdir():
        if p.is_symlink():
            # never replaced by writing through: still a link, to the untouched outside file
            assert Path(os.readlink(p)).parent == outside
    if where == "source-read":
        failed = {f.file_id for f in run.result.failed}
        assert A in failed, f"the swapped-in symlink was read through: {run}"
    if where == "store-rename":
        # rename replaces the link itself (the outside file keeps its bytes, checked above)
        assert not os.path.islink(os.path.join(s, STORE))
    if where == "rename-target":
        # a new transcript is renamed only where nothing is: the link another writer put
        # there is left as it is (to the untouched outside file), and the session fails
        assert os.path.islink(os.path.join(s, f"{NOTES}.jsonl"))
        assert [f.problem.code for f in run.result.failed] == ["transcript_conflict"], run
    # the user puts things right: the symlink goes, and an original it replaced comes back
    for folder in (Path(s), Path(s) / "backup_old_format"):
        for p in list(folder.iterdir()) if folder.is_dir() else []:
            if p.is_symlink():
                p.unlink()
                rel = os.path.join(SESSIONS, p.name)
                if folder == Path(s) and rel in ref.pristine and rel in ref.originals:
                    p.write_bytes(ref.pristine[rel][1])
                    os.chmod(p, ref.pristine[rel][2])
                    os.utime(p, (1_767_225_600, 1_767_225_600))
    again = migrate_inproc(work)
    assert again.code == 0 and again.result.error is None, again
    problems = check_migrated(work, ref)
    assert not problems, report(problems)


def test_a_write_that_makes_no_progress_is_an_error(tmp_path: Path) -> None:
    """A write that takes none of the bytes (what a fault hook's 0 simulates) is an I/O error,
    not a loop: found by the lasting "stall" fault of the PROOF=long loops, which spun."""
    calls: list[str] = []

    def stalled(op: str, path: str) -> Any:
        if op == "write":
            calls.append(path)
            if len(calls) > 100:
                raise AssertionError("fsio keeps retrying a write that makes no progress")
            return 0
        return None

    with pytest.raises(OSError) as info, fsio.fault_hook(stalled):
        fsio.write_atomic(str(tmp_path / "x.json"), b"data")
    assert info.value.errno == errno.EIO
    assert list(tmp_path.iterdir()) == []
