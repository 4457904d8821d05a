"""Carry out an OpenClaw plan: backup (checked) → transcripts → sessions.json (under
OpenClaw's lock) → verify → commit.

The same guarantees as the default target (apply.py), whose backup phase and journal this
uses: the whole run holds the workspace's operation lock; the legacy files are backed up
and checked first; every file written in OpenClaw's folder is announced in the journal
(with its folder, ``dir``, and ``target: "openclaw"``) before it is written atomically, so
rollback removes or restores exactly those; a file replaced there (a transcript or
sessions.json) goes to the workspace's backup first.  ``sessions.json`` is merged last,
holding ``sessions.json.lock`` the way OpenClaw's writers take it (openclaw_lock), for the
merge only.  The commit record says the target, so that verify and clean-up look there.
A rerun with nothing to write writes nothing, not even the lock.
"""

from __future__ import annotations

import os
import time
from typing import Any

from migrate_tui.core import fsio, jsonio
from migrate_tui.core.error_text import describe_error
from migrate_tui.core.errors import ApplyError, BackupError, LockBusy, LockTimeout, WorkspaceError
from migrate_tui.core.layout import open_layout
from migrate_tui.engine import backup, journal, preflight
from migrate_tui.engine.apply import Run, outcome_rows, remove_leftovers, store_as_it_is
from migrate_tui.engine.model import (
    ApplyResult,
    CancelFlag,
    EventSink,
    LogLine,
    NeverCancel,
    PhaseStarted,
    Problem,
    Progress,
    SessionFailure,
    no_events,
)
from migrate_tui.engine.oplock import operation_lock
from migrate_tui.engine.report import build_report, save_report
from migrate_tui.engine.state import workspace_state
from migrate_tui.engine.targets.openclaw_layout import STORE, OpenClawLayout
from migrate_tui.engine.targets.openclaw_lock import store_lock
from migrate_tui.engine.targets.openclaw_plan import (
    TARGET,
    OpenClawPlan,
    TargetSession,
    transcript_now,
)


def target_record(target: OpenClawLayout) -> dict[str, Any]:
    return {"target": TARGET, "dir": target.sessions_dir}


def apply_openclaw(oplan: OpenClawPlan, *, on_event: EventSink = no_events,
                   cancel: CancelFlag | None = None, lock_timeout: float = 10.0) -> ApplyResult:
    """Carry out ``oplan``.  Raises WorkspaceError (unusable workspace or target, damaged
    records, a database conflict nobody decided: nothing written), OperationBusy and
    LockBusy (found before anything is written); any other failure stops the run at a safe
    point and is said in ``result.error``."""
    plan = oplan.plan
    if plan.scan.fatal is not None:
        raise WorkspaceError(str(plan.scan.fatal))
    refused = oplan.why_refused()
    if refused is not None:
        raise WorkspaceError(refused)
    layout = open_layout(plan.scan.workspace)
    state = workspace_state(layout)
    if not oplan.todo and not state.interrupted and not state.damage and state.holder is None:
        return ApplyResult(backup_dir=layout.backup_dir)  # a rerun: nothing to write
    with fsio.anchored(layout.sessions_dir), operation_lock(layout, "migrate"):
        run = Run(plan, on_event, cancel or NeverCancel(), lock_timeout)
        run.todo = [ts.ps for ts in oplan.todo]
        result = run.result
        result.run_id = run.run_id
        started = time.monotonic()
        try:
            remove_leftovers(layout)
            state = workspace_state(layout)
            preflight.check_workspace(layout, state)
            preflight.check_scan_current(layout, plan)
            _check_target_lock(oplan, lock_timeout)
            run.backup_phase()
            changed = {f.file_id for f in result.failed}
            todo = [ts for ts in oplan.todo if ts.file_id not in changed]
            journal.append(layout, {**journal.begin_record(run.run_id, "migrate"),
                                    **target_record(oplan.target)})
            written = _transcripts(run, oplan, todo)
            if result.cancelled:
                run.log("warning", "cancelled: OpenClaw's sessions.json was not changed; run "
                        "migrate again to finish, or rollback to undo")
            else:
                intended = _merge(run, oplan, written, lock_timeout)
                _verify(run, oplan, written, intended)
                if result.verified:
                    _commit(run, oplan)
        except (LockBusy, WorkspaceError):
            raise
        except (OSError, BackupError, ApplyError) as exc:
            result.error = describe_error(exc)
            run.log("error", result.error + " — the workspace is at a safe point: run migrate "
                    "again to finish, or rollback to undo")
        run.log("info", f"done in {time.monotonic() - started:.1f} s")
        if result.written or result.error or result.committed:
            try:
                result.report_path = save_report(layout, build_report(
                    oplan.as_plan(), result, dry_run=False, target=target_info(oplan)))
            except (OSError, ValueError) as exc:
                result.report_error = f"the report could not be saved: {describe_error(exc)}"
                run.log("warning", result.report_error)
        return result


def target_info(oplan: OpenClawPlan) -> dict[str, Any]:
    from migrate_tui.engine.targets.openclaw_layout import default_state_dir
    from migrate_tui.engine.targets.openclaw_plan import next_steps

    return {"name": TARGET, "state_dir": oplan.target.state_dir, "agent_id": oplan.target.agent_id,
            "sessions_dir": oplan.target.sessions_dir, "store_path": oplan.target.store,
            "next_steps": next_steps(oplan.target, default_state_dir())}


def _check_target_lock(oplan: OpenClawPlan, lock_timeout: float) -> None:
    """OpenClaw's lock can be had (taken and let go at once) before anything is written."""
    if not fsio.is_real_dir(oplan.target.sessions_dir):
        return
    try:
        with store_lock(oplan.target.store, lock_timeout):
            pass
    except LockTimeout as exc:
        raise LockBusy(f"{exc}; nothing was written") from None


def _makedirs(path: str) -> None:
    missing = []
    while fsio.lstat_or_none(path) is None:
        missing.append(path)
        parent = os.path.dirname(path)
        if parent == path:
            break
        path = parent
    for folder in reversed(missing):
        fsio.mkdir(folder, 0o700)


def _transcripts(run: Run, oplan: OpenClawPlan, todo: list[TargetSession]) -> list[TargetSession]:
    layout, target = run.layout, oplan.target
    _makedirs(target.sessions_dir)
    run.on_event(PhaseStarted("transcripts", len(todo), sum(ts.ps.scan.size for ts in todo)))
    written: list[TargetSession] = []
    for n, ts in enumerate(todo, 1):
        if run.cancel.is_set():
            run.result.cancelled = True
            break
        ps = ts.ps
        if ts.transcript_state not in ("write", "replace"):
            written.append(ts)
            continue
        path = target.transcript(ts.session_id)
        data = transcript_now(ts, oplan.plan)
        if isinstance(data, str):
            _fail(run, ts, "changed_during_migration", data)
            continue
        record: dict[str, Any] = {
            "op": "create", "run": run.run_id, "file": os.path.basename(path),
            **target_record(target), "sha256": fsio.sha256_bytes(data),
            "size": len(data), "source": ps.scan.file_name,
            "source_sha256": ps.scan.sha256, "fixes": sorted(ps.decision.fixes)}
        st = fsio.lstat_or_none(path)
        if st is not None:
            existing = fsio.read_bytes(path)
            if existing == data:
                written.append(ts)
                continue
            if ts.transcript_state != "replace" or fsio.sha256_bytes(existing) != ts.old_sha256:
                _fail(run, ts, "transcript_conflict", f"{path} appeared or changed since the "
                      "scan; it is left as it is")
                continue
            _back_up_replaced(run, existing, st, record)
        journal.append(layout, record)
        fsio.write_atomic(path, data, 0o600)
        run.result.written.append(path)
        if fsio.read_bytes(path) != data:
            _fail(run, ts, "verify_failed", f"{path} reads back different from what was written")
            continue
        written.append(ts)
        run.on_event(Progress("transcripts", n, len(todo), ps.file_id))
    fsio.fsync_dir(target.sessions_dir)
    return written


def _back_up_replaced(run: Run, data: bytes, st: os.stat_result, record: dict[str, Any]) -> None:
    """Keep ``data``, what the file of ``record`` holds now (``st``), in the workspace's
    backup before it is replaced, and say so in ``record``."""
    name = backup.back_up(run.layout, run.manifest, f"openclaw-{record['file']}", data,
                          st.st_mode & 0o777, st.st_mtime_ns, run.run_id)
    backup.save_manifest(run.layout, run.manifest)
    record.update(op="replace", old_sha256=fsio.sha256_bytes(data), backup=name)


def _fail(run: Run, ts: TargetSession, code: str, message: str) -> None:
    run.result.failed.append(SessionFailure(ts.file_id, Problem(code, message, ts.ps.scan.path
                                                                  or ts.ps.scan.file_name)))
    run.log("error", f"{ts.ps.scan.file_name}: {message}")


def _merge(run: Run, oplan: OpenClawPlan, written: list[TargetSession],
           lock_timeout: float) -> dict[str, dict[str, Any]]:
    """Merge the new entries into OpenClaw's sessions.json, holding its lock."""
    layout, target = run.layout, oplan.target
    run.on_event(PhaseStarted("index", 1))
    intended: dict[str, dict[str, Any]] = {}
    try:
        held = store_lock(target.store, lock_timeout)
        held.__enter__()
    except LockTimeout as exc:
        raise ApplyError(f"{exc}: OpenClaw's sessions.json was not changed") from None
    try:
        st, current_bytes, current = store_as_it_is(target.store)
        merged = dict(current)
        keys_written: dict[str, str] = {}
        for ts in written:
            assert ts.entry is not None
            for key in ts.keys:
                there = merged.get(key)
                if isinstance(there, dict) and there.get("sessionId") != ts.session_id \
                        and key not in oplan.store_entries and "replace-existing" not in ts.ps.decision.fixes:
                    run.log("warning", f"{key!r} was written by someone else since the scan; it "
                            "keeps that entry")
                    continue
                merged[key] = dict(ts.entry)
                intended[key] = ts.entry
                keys_written[key] = ts.session_id
        new_bytes = jsonio.dumps_document(merged)
        if new_bytes != current_bytes:
            record: dict[str, Any] = {"op": "create", "run": run.run_id, "file": STORE,
                                      **target_record(target), "sha256": fsio.sha256_bytes(new_bytes),
                                      "size": len(new_bytes)}
            mode = 0o600
            if current_bytes is not None and st is not None:
                _back_up_replaced(run, current_bytes, st, record)
                mode = st.st_mode & 0o777
            journal.append(layout, record, {"op": "keys", "run": run.run_id, "keys": keys_written,
                                            **target_record(target)})
            fsio.write_atomic(target.store, new_bytes, mode)
            run.result.written.append(target.store)
    finally:
        held.__exit__(None, None, None)
    run.on_event(Progress("index", 1, 1, STORE))
    return intended


def _verify(run: Run, oplan: OpenClawPlan, written: list[TargetSession],
            intended: dict[str, dict[str, Any]]) -> None:
    target = oplan.target
    problems = run.result.verify_problems
    store: dict[str, Any] = {}
    if fsio.lstat_or_none(target.store) is not None:
        store = jsonio.loads_document(fsio.read_bytes(target.store))
    for key, entry in intended.items():
        if not jsonio.same_value(store.get(key), entry):
            problems.append(f"{target.store}: the entry {key!r} is not what was written")
    run.on_event(PhaseStarted("verify", len(written)))
    for n, ts in enumerate(written, 1):
        reachable = [k for k in ts.keys + ts.kept_keys
                     if isinstance(store.get(k), dict) and store[k].get("sessionId") == ts.session_id]
        if not reachable and ts.transcript_state != "keep":
            problems.append(f"{ts.ps.scan.file_name}: no key in {target.store} points at "
                            f"{ts.session_id!r}")
        path = target.transcript(ts.session_id)
        if fsio.lstat_or_none(path) is None:
            problems.append(f"{path} is missing")
        else:
            run.result.migrated.append(ts.file_id)
        run.on_event(Progress("verify", n, len(written), ts.file_id))
    run.result.verified = not problems
    if problems:
        run.log("error", "verification found a difference: the run is not committed; run "
                "migrate again or rollback")


def _commit(run: Run, oplan: OpenClawPlan) -> None:
    result = run.result
    journal.append_lines(run.layout, journal.commit_record(
        run.run_id, len(result.migrated), outcome_rows(oplan.as_plan(), result.failed, set(result.migrated)),
        target_record(oplan.target)))
    run.result.committed = True
    run.on_event(LogLine("info", f"committed: {len(run.result.migrated)} session(s) in "
                         f"{oplan.target.sessions_dir}"))
