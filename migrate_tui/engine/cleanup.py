"""Clean-up: remove the migrated originals, and only those whose conversation the agent can
reach without them.  Each removal is journaled, so a rollback puts the originals back.

An original ``<id>.json`` is removed only when all of this holds, checked under the
operation lock just before:

* no run is interrupted, and the records in the backup folder are whole (else it refuses);
* the latest committed migration that saw the file migrated it, with these very bytes;
* its transcript is there and still holds exactly its messages (a scan compares them);
* every key ``session_map.json`` gives the session is in ``sessions.json`` pointing at that
  session and its transcript (a session no key points to: at least one entry does);
* its backup copy's size and SHA-256 match the manifest.

``session_map.json`` goes only when every key in it points where it says, and its own
backup copy checks.  Cancelled, it stops between two files.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from migrate_tui.core import fsio
from migrate_tui.core.errors import WorkspaceError
from migrate_tui.core.layout import SESSION_MAP, Layout, open_layout
from migrate_tui.engine import backup, journal
from migrate_tui.engine.model import (
    CancelFlag,
    EventSink,
    LogLine,
    NeverCancel,
    PhaseStarted,
    Plan,
    Progress,
    no_events,
)
from migrate_tui.engine.oplock import operation_lock, refuse_if_busy
from migrate_tui.engine.state import Outcome, WorkspaceState, require, workspace_state
from migrate_tui.engine.targets.openclaw_check import TargetView, read_target, target_dir

PLAN_PHASE = "plan-cleanup"


_NO_COPY = ("no backup copy with the same content (changed since the migration, or migrated "
            "with --no-backup)")

# originals removed per journal append (one fsync), see _remove
DELETE_BATCH = 512


@dataclass
class CleanupPlan:
    workspace: str
    remove: list[str] = field(default_factory=list)  # originals that may go
    backups: dict[str, str] = field(default_factory=dict)  # original → backup name
    keep: list[tuple[str, str]] = field(default_factory=list)  # (file, why it stays)
    bytes: int = 0
    shas: dict[str, str] = field(default_factory=dict)  # original → the SHA-256 checked
    refused: str | None = None  # why nothing at all may be removed now
    cancelled: bool = False


@dataclass
class CleanupResult:
    ok: bool
    removed: list[str] = field(default_factory=list)
    kept: list[tuple[str, str]] = field(default_factory=list)
    message: str = ""
    cancelled: bool = False
    refused: str | None = None


def plan_cleanup(workspace: str, *, on_event: EventSink = no_events, cancel: CancelFlag | None = None,
                 workers: bool = False) -> CleanupPlan:
    """What a clean-up would remove and what stays (and why); writes nothing.  Raises
    WorkspaceError (unusable, or damaged records) and OperationBusy (another command of ours
    is running).  ``workers``: as for ``scan_workspace``."""
    from migrate_tui.engine.plan import build_plan
    from migrate_tui.engine.scan import scan_workspace

    layout = open_layout(workspace)
    cancel = cancel or NeverCancel()
    plan = CleanupPlan(layout.workspace)
    if not fsio.is_real_dir(layout.sessions_dir):
        return plan
    state = _state_now(layout)
    plan.refused = state.cleanup_blocked
    if plan.refused or not state.backup_present:
        return plan
    scan = scan_workspace(workspace, on_event=on_event, cancel=cancel, workers=workers)
    if cancel.is_set():
        plan.cancelled = True
        return plan
    if scan.fatal is not None:
        plan.refused = f"{scan.fatal}; nothing is cleaned up"
        return plan
    migration = build_plan(scan)
    store = scan.store_entries
    outcomes = state.outcomes()
    folder = target_dir(state)
    view = read_target(state, folder) if folder is not None else None
    pointed = pointed_ids(store) if view is None else set()
    on_event(PhaseStarted(PLAN_PHASE, len(migration.sessions) + 1))
    for n, ps in enumerate(migration.sessions, 1):
        if cancel.is_set():
            plan.cancelled = True
            return plan
        name = ps.scan.file_name
        outcome = outcomes.get(name)
        if outcome is not None and outcome.session_id is not None:  # else never migrated: it stays
            if state.manifest.find(name, ps.scan.sha256 or "") is None:
                plan.keep.append((name, _NO_COPY))
            else:
                why = _why_it_stays(ps, outcomes, store, pointed) if view is None else \
                    _why_it_stays_openclaw(ps, outcomes, view)
                if why is not None:
                    plan.keep.append((name, why))
                else:
                    _check_copy(layout, state, name, ps.scan.sha256 or "", ps.scan.size, plan)
        on_event(Progress(PLAN_PHASE, n, len(migration.sessions) + 1, ps.scan.file_name))
    if scan.session_map_present and view is not None:
        plan.keep.append((SESSION_MAP, "the migration went to OpenClaw's folder, whose "
                          "sessions.json does not replace it here; it stays"))
    elif scan.session_map_present:
        _consider_session_map(layout, state, scan, migration, outcomes, plan)
    on_event(Progress(PLAN_PHASE, len(migration.sessions) + 1, len(migration.sessions) + 1, SESSION_MAP))
    return plan


def _state_now(layout: Layout) -> WorkspaceState:
    """The workspace's state, read for a clean-up: refused (OperationBusy) while another
    command runs, and (DamagedRecord) when its records are damaged."""
    refuse_if_busy(layout)
    state = workspace_state(layout)
    if state.damage:
        require(state, state.cleanup_blocked)
    return state


def _pointing(entry: Any, sid: str) -> bool:
    return isinstance(entry, dict) and entry.get("session_id") == sid \
        and entry.get("session_file") == f"{sid}.jsonl"


def pointed_ids(store: Mapping[str, Any]) -> set[str]:
    """The ids some entry of ``store`` points at (``_pointing``): one pass over the store,
    where asking ``any(_pointing(e, sid) ...)`` for every session was quadratic (20,000
    sessions without keys: about 10 s)."""
    return {e["session_id"] for e in store.values()
            if isinstance(e, dict) and isinstance(e.get("session_id"), str)
            and _pointing(e, e["session_id"])}


def _why_it_stays(ps: Any, outcomes: Mapping[str, Any], store: Mapping[str, Any],
                  pointed: set[str]) -> str | None:
    name = ps.scan.file_name
    if ps.scan.sha256 is None:
        return "it was never migrated (it cannot be read as a session)"
    outcome = outcomes.get(name)
    why = _why_not_migrated(ps, outcome)
    if why is not None:
        return why
    assert outcome is not None  # (else _why_not_migrated says so)
    sid = outcome.session_id
    if ps.final_id != sid or ps.transcript not in ("same", "extended"):
        return f"its transcript {sid}.jsonl is missing or no longer holds its messages"
    keys = ps.scan.keys
    wrong = [k for k in keys if not _pointing(store.get(k), sid)]
    if wrong:
        return (f"sessions.json does not have {wrong[0]!r} (a key session_map.json gives it) "
                f"pointing at {sid}")
    if not keys and sid not in pointed:
        return f"no entry of sessions.json points at {sid}"
    return None


def _why_it_stays_openclaw(ps: Any, outcomes: Mapping[str, Any], view: TargetView) -> str | None:
    """As ``_why_it_stays``, for a session migrated to OpenClaw's folder."""
    outcome = outcomes.get(ps.scan.file_name)
    why = _why_not_migrated(ps, outcome)
    if why is not None:
        return why
    assert outcome is not None  # (else _why_not_migrated says so)
    return view.why_not_in_place(outcome.session_id)


def _why_not_migrated(ps: Any, outcome: Outcome | None) -> str | None:
    """Why the latest committed migration that saw ``ps``'s file did not migrate these very
    bytes (None: it did, as ``outcome`` says)."""
    if outcome is None:
        return "no finished migration migrated it"
    if outcome.session_id is None:
        return f"it was not migrated ({outcome.why})"
    if outcome.sha256 != ps.scan.sha256:
        return "it changed since its migration (run migrate again first)"
    return None


def _check_copy(layout: Layout, state: WorkspaceState, name: str, sha: str, size: int,
                plan: CleanupPlan) -> None:
    copy = state.manifest.find(name, sha)
    if copy is None:
        plan.keep.append((name, _NO_COPY))
        return
    wrong = backup.check_copy(layout, state.manifest, copy)
    if wrong:
        plan.keep.append((name, wrong))
        return
    plan.remove.append(name)
    plan.backups[name] = copy
    plan.shas[name] = sha
    plan.bytes += size


def _consider_session_map(layout: Layout, state: WorkspaceState, scan: Any, migration: Plan,
                          outcomes: Mapping[str, Any], plan: CleanupPlan) -> None:
    store = scan.store_entries
    by_file_id = {name[:-5]: o.session_id for name, o in outcomes.items() if name.endswith(".json")}
    owners = {key: ps for ps in migration.sessions for key in ps.scan.keys}
    migrated_ids: set[str] | None = None  # every id migrated to, found once when needed
    for key, sid in scan.session_map.items():
        ps = owners.get(key)
        if ps is not None:  # the session it points at, as migrated, with its transcript in place
            target = ps.final_id if ps.transcript in ("same", "extended") else None
        else:  # its original is gone (an earlier clean-up): what it was migrated as
            target = by_file_id.get(sid)
            if not target:
                if migrated_ids is None:  # one pass over the outcomes, not one per key
                    migrated_ids = {o.session_id for o in outcomes.values() if o.session_id}
                target = sid if sid in migrated_ids else None
        if target is None or not _pointing(store.get(key), target):
            plan.keep.append((SESSION_MAP, f"its key {key!r} does not point where it says in "
                              "sessions.json (not migrated, or changed since)"))
            return
    if scan.warnings and any(w.code in ("bad_key", "duplicate_key") for w in scan.warnings):
        plan.keep.append((SESSION_MAP, "some of its keys could not be read as they are"))
        return
    try:
        size, sha = fsio.sha256_file(layout.session_map)
    except OSError as exc:
        plan.keep.append((SESSION_MAP, f"cannot be read: {exc.strerror or exc}"))
        return
    _check_copy(layout, state, SESSION_MAP, sha, size, plan)


def cleanup_workspace(workspace: str, *, on_event: EventSink = no_events,
                      cancel: CancelFlag | None = None, workers: bool = False) -> CleanupResult:
    """Remove the originals ``plan_cleanup`` allows, holding the operation lock (the plan
    is made again under it).  Raises WorkspaceError and OperationBusy as ``plan_cleanup``
    does; an I/O error stops it between two files (``OSError``)."""
    layout = open_layout(workspace)
    cancel = cancel or NeverCancel()
    if fsio.is_real_dir(layout.sessions_dir):  # a refusal takes no lock and leaves no trace
        state = _state_now(layout)
        if state.cleanup_blocked:
            return _refused(state.cleanup_blocked, on_event)
    with operation_lock(layout, "cleanup"):
        plan = plan_cleanup(workspace, on_event=on_event, cancel=cancel, workers=workers)
        result = CleanupResult(True, kept=list(plan.keep), refused=plan.refused)
        if plan.refused:
            result.ok = False
            result.message = f"clean-up refused: {plan.refused}"
            on_event(LogLine("error", result.message))
            return result
        if plan.cancelled:
            result.ok, result.cancelled = False, True
            result.message = "clean-up cancelled before anything was removed"
            return result
        if not plan.remove:
            result.message = "nothing to clean up" + (
                f": {len(plan.keep)} file(s) stay" if plan.keep else "")
            return result
        _remove(layout, plan, result, on_event, cancel)
    return result


def _refused(why: str, on_event: EventSink) -> CleanupResult:
    result = CleanupResult(False, refused=why, message=f"clean-up refused: {why}")
    on_event(LogLine("error", result.message))
    return result


def _remove(layout: Layout, plan: CleanupPlan, result: CleanupResult, on_event: EventSink,
            cancel: CancelFlag) -> None:
    manifest = backup.load_manifest(layout)
    run = journal.new_run_id()
    journal.append(layout, journal.begin_record(run, "cleanup"))
    on_event(PhaseStarted("cleanup", len(plan.remove)))
    # Checked files are removed a batch at a time: the batch's "delete" records are appended
    # (one fsync) before any of its files is removed.  A crash in between leaves records of
    # files still there, as a crash between one record and its file did before: rollback
    # and the state read the file's content, not the record alone.
    ready: list[tuple[int, str, dict[str, Any]]] = []

    def remove_ready() -> None:
        if ready:
            journal.append(layout, *[record for _n, _name, record in ready])
        for n, name, _record in ready:
            if cancel.is_set():  # stop between two files (records say no more than a crash would)
                result.cancelled = True
                break
            fsio.unlink(layout.in_sessions(name))
            result.removed.append(name)
            on_event(Progress("cleanup", n, len(plan.remove), name))
        ready.clear()

    for n, name in enumerate(plan.remove, 1):
        if cancel.is_set():
            result.cancelled = True
            ready.clear()  # checked, not yet recorded: they stay
            break
        path = layout.in_sessions(name)
        copy = plan.backups[name]
        size, sha = fsio.sha256_file(path)
        if sha != plan.shas[name] or backup.check_copy(layout, manifest, copy):
            result.kept.append((name, "changed while cleaning up"))
            continue
        ready.append((n, name, {"op": "delete", "run": run, "file": name, "sha256": sha,
                                "size": size, "backup": copy}))
        if len(ready) >= DELETE_BATCH:
            remove_ready()
            if result.cancelled:
                break
    if not result.cancelled:
        remove_ready()
    fsio.fsync_dir(layout.sessions_dir)
    if result.cancelled:
        result.ok = False
        result.message = (f"clean-up stopped at a safe point after removing {len(result.removed)} "
                          f"original(s); run cleanup again to go on, rollback to put them back")
        on_event(LogLine("warning", result.message))
        return
    journal.append(layout, {"op": "commit", "run": run, "removed": len(result.removed)})
    result.message = (f"removed {len(result.removed)} original(s) after checking their backup "
                      f"copies; {len(result.kept)} stay")
    on_event(LogLine("info", result.message))


__all__ = ["CleanupPlan", "CleanupResult", "WorkspaceError", "cleanup_workspace", "plan_cleanup"]
