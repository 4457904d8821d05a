"""Rollback: put back exactly what the migrations (and clean-ups) changed, from the journal
and the backup.  Refuses, naming the files, when one changed after the migration.

It holds the workspace's operation lock for its whole run, and undoes interrupted runs as
well as committed ones.  Damaged records in the backup folder make it refuse (it could not
know what to undo).  Cancelled, it stops between two files: a second rollback finishes the
job, a migration redoes it."""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass, field
from typing import Any

from migrate_tui.core import fsio
from migrate_tui.core.error_text import describe_error
from migrate_tui.core.errors import BackupError, LockBusy, LockTimeout
from migrate_tui.core.layout import BACKUP, STORE, Layout, check_lock_path, open_layout
from migrate_tui.engine import backup, journal
from migrate_tui.engine.model import (
    CancelFlag,
    EventSink,
    LogLine,
    NeverCancel,
    PhaseStarted,
    Progress,
    no_events,
)
from migrate_tui.engine.oplock import holding, operation_lock, refuse_if_busy
from migrate_tui.engine.state import WorkspaceState, require, workspace_state
from migrate_tui.engine.targets.openclaw_lock import store_lock

ABSENT = None


@dataclass
class FileAction:
    file: str  # name inside .sessions/ (or inside ``dir``)
    op: str  # "remove" | "restore" | "none"
    backup_name: str | None = None  # what to restore from
    changed: bool = False  # the file is not in any state the migration left it in
    current_sha: str | None = None
    dir: str | None = None  # another target's folder (OpenClaw's), None: .sessions/

    @property
    def shown(self) -> str:
        """The name as reports give it: a file of another target by its full path."""
        return self.file if self.dir is None else os.path.join(self.dir, self.file)

    def path(self, layout: Layout) -> str:
        return layout.in_sessions(self.file) if self.dir is None else os.path.join(self.dir, self.file)


@dataclass
class RollbackPlan:
    workspace: str
    actions: list[FileAction] = field(default_factory=list)
    temp_files: list[str] = field(default_factory=list)
    missing_backup: list[str] = field(default_factory=list)
    stale_lock: bool = False  # sessions.json.lock left by a process that is gone (a crash)
    stale_oplock: bool = False  # the operation lock left by a command that is gone
    interrupted: list[str] = field(default_factory=list)  # runs that did not finish (undone too)
    cancelled: bool = False  # planning stopped before it looked at every file

    @property
    def remove(self) -> list[str]:
        return [a.shown for a in self.actions if a.op == "remove"]

    @property
    def restore(self) -> list[str]:
        return [a.shown for a in self.actions if a.op == "restore"]

    @property
    def changed(self) -> list[str]:
        return [a.shown for a in self.actions if a.changed]

    @property
    def nothing_to_do(self) -> bool:
        return not self.remove and not self.restore and not self.temp_files and not self.stale_lock \
            and not self.stale_oplock and not self.interrupted


@dataclass
class RollbackResult:
    ok: bool
    removed: list[str] = field(default_factory=list)
    restored: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)  # changed since the migration (no --force)
    message: str = ""
    cancelled: bool = False  # stopped at a safe point: rollback again to finish


def _current_sha(path: str) -> str | None:
    if fsio.lstat_or_none(path) is None:
        return ABSENT
    try:
        return fsio.sha256_file(path)[1]
    except fsio.NotRegularFile as exc:
        return f"<{exc.kind}>"


PLAN_PHASE = "plan-rollback"


def plan_rollback(workspace: str, *, on_event: EventSink = no_events,
                  cancel: CancelFlag | None = None) -> RollbackPlan:
    """What a rollback would do; writes nothing.  Raises WorkspaceError (unusable, or
    damaged records) and OperationBusy (another command of ours is running)."""
    layout = open_layout(workspace)
    cancel = cancel or NeverCancel()
    plan = RollbackPlan(layout.workspace)
    if not fsio.is_real_dir(layout.sessions_dir):
        return plan
    state = _state_now(layout)
    plan.interrupted = [r.describe() for r in state.interrupted]
    chains: dict[tuple[str | None, str], list[dict[str, Any]]] = {}
    for record in state.journal.changes if state.backup_present else []:
        folder = record.get("dir")
        # only what _action_for reads is kept (the journal is read a record at a time)
        chains.setdefault((folder if isinstance(folder, str) and os.path.isabs(folder) else None,
                           record["file"]), []).append({k: record[k] for k in _CHAIN_FIELDS if k in record})
    on_event(PhaseStarted(PLAN_PHASE, len(chains)))
    for n, ((folder, name), records) in enumerate(chains.items(), 1):
        if cancel.is_set():
            plan.cancelled = True
            return plan
        plan.actions.append(_action_for(layout, state.manifest, name, records, plan, folder))
        on_event(Progress(PLAN_PHASE, n, len(chains), name))
    # sessions.json first: no entry may outlive the transcript it points at
    plan.actions.sort(key=lambda a: (a.file != STORE, a.dir or "", a.file))
    # an interrupted write leaves its temporary file in .sessions/ or in the backup folder
    # (named here relative to .sessions/)
    for folder, prefix in ((layout.sessions_dir, ""), (layout.backup_dir, BACKUP + "/")):
        if fsio.is_real_dir(folder):
            plan.temp_files += [prefix + n for n in fsio.listdir(folder)
                                if n.startswith(".") and n.endswith(fsio.TEMP_SUFFIX)]
    # a run killed while holding a lock leaves it behind: rollback reclaims it too (taking
    # the operation lock reclaims and removes its own)
    plan.stale_lock = fsio.lock_left_behind(layout.lock)
    plan.stale_oplock = fsio.lstat_or_none(layout.oplock) is not None and state.holder is None \
        and not holding(layout)
    return plan


_CHAIN_FIELDS = ("op", "sha256", "old_sha256", "backup")


def _state_now(layout: Layout) -> WorkspaceState:
    """The workspace's state, read for a rollback: refused (OperationBusy) while another
    command runs, and (DamagedRecord, WorkspaceError) when it cannot be rolled back."""
    refuse_if_busy(layout)
    state = workspace_state(layout)
    require(state, state.rollback_blocked)
    return state


def _action_for(layout: Layout, manifest: backup.Manifest, name: str,
                records: list[dict[str, Any]], plan: RollbackPlan,
                folder: str | None = None) -> FileAction:
    first = records[0]
    # the states the migration may have left the file in, oldest first
    states: list[str | None] = []
    target_backup: str | None = None
    if first["op"] == "create":
        states.append(ABSENT)
    elif first["op"] == "replace":
        states.append(first["old_sha256"])
        target_backup = first["backup"]
    else:  # delete (clean-up removed an original)
        states.append(first["sha256"])
        target_backup = first["backup"]
    for r in records:
        states.append(ABSENT if r["op"] == "delete" else r["sha256"])
    action = FileAction(name, "none", target_backup, dir=folder)
    current = action.current_sha = _current_sha(action.path(layout))
    target = states[0]
    action.changed = current not in states
    if current == target:
        return action
    if target is ABSENT:
        action.op = "remove"
        return action
    if target_backup is None or backup.check_copy(layout, manifest, target_backup):
        plan.missing_backup.append(action.shown)
        return action
    action.op = "restore"
    return action


def rollback_workspace(workspace: str, *, force: bool = False, on_event: EventSink = no_events,
                       cancel: CancelFlag | None = None, lock_timeout: float = 10.0) -> RollbackResult:
    """Undo the migrations, holding the operation lock.  Raises WorkspaceError (unusable,
    or damaged records), OperationBusy (another command of ours runs) and LockBusy
    (sessions.json.lock held); an I/O error stops it where it is (every step is one a second
    rollback redoes or skips) and is reported in a result that is not ok."""
    cancel = cancel or NeverCancel()
    try:
        layout = open_layout(workspace)
        if fsio.is_real_dir(layout.sessions_dir):  # refused for damage: not even the lock is taken
            _state_now(layout)
        with operation_lock(layout, "rollback"):
            return _rollback(workspace, force=force, on_event=on_event, cancel=cancel,
                             lock_timeout=lock_timeout)
    except (OSError, BackupError) as exc:
        message = (f"rollback stopped: {describe_error(exc)}. Nothing is lost: run rollback again to "
                   "finish it, or migrate to finish the migration.")
        on_event(LogLine("error", message))
        return RollbackResult(False, message=message)


def _rollback(workspace: str, *, force: bool, on_event: EventSink, cancel: CancelFlag,
              lock_timeout: float) -> RollbackResult:
    plan = plan_rollback(workspace, on_event=on_event, cancel=cancel)
    layout = Layout(plan.workspace)
    if plan.cancelled:
        return RollbackResult(False, cancelled=True, message="rollback cancelled before anything "
                              "was undone: the workspace is as it was")
    if plan.missing_backup:
        return RollbackResult(False, message="cannot roll back: the backup copy of "
                              + ", ".join(plan.missing_backup) + " is missing or damaged")
    if plan.changed and not force:
        return RollbackResult(False, refused=plan.changed, message=(
            "refused: changed after the migration (the agent may have written to them): "
            + ", ".join(plan.changed) + ". Run with --force to roll back anyway; their "
            "current content is saved in the backup first."))
    if plan.nothing_to_do and not fsio.is_real_dir(layout.backup_dir):
        return RollbackResult(True, message="nothing to roll back: no migration was recorded here")
    check_lock_path(layout)
    result = RollbackResult(True)
    manifest = backup.load_manifest(layout) if fsio.is_real_dir(layout.backup_dir) else backup.Manifest()
    todo = [a for a in plan.actions if a.op != "none"]
    run_id = journal.new_run_id()
    on_event(PhaseStarted("rollback", len(todo)))
    with contextlib.ExitStack() as held:
        if any(a.file == STORE and a.dir is None for a in todo) \
                or fsio.lstat_or_none(layout.lock) is not None:
            try:
                held.enter_context(fsio.presence_lock(layout.lock, lock_timeout))
            except LockTimeout as exc:
                raise LockBusy(str(exc)) from None
        recorded = fsio.is_real_dir(layout.backup_dir) and bool(plan.actions or plan.interrupted)
        if recorded:
            journal.append(layout, journal.begin_record(run_id, "rollback"))
        for n, action in enumerate(todo, 1):
            if cancel.is_set():
                result.cancelled = True
                break
            if action.dir is not None and action.file == STORE:  # OpenClaw's, under its lock
                try:
                    with store_lock(os.path.join(action.dir, STORE), lock_timeout):
                        _undo(layout, manifest, action, force, run_id)
                except LockTimeout as exc:
                    raise LockBusy(str(exc)) from None
            else:
                _undo(layout, manifest, action, force, run_id)
            (result.removed if action.op == "remove" else result.restored).append(action.shown)
            on_event(Progress("rollback", n, len(todo), action.file))
        if not result.cancelled:
            for name in plan.temp_files:
                in_backup = name.startswith(BACKUP + "/")
                fsio.unlink_if_exists(layout.in_backup(name[len(BACKUP) + 1:]) if in_backup
                                      else layout.in_sessions(name))
        fsio.fsync_dir(layout.sessions_dir)
        for folder in sorted({a.dir for a in todo if a.dir is not None}):
            if fsio.is_real_dir(folder):
                fsio.fsync_dir(folder)
        if recorded:
            backup.save_manifest(layout, manifest)
            if not result.cancelled:
                journal.append(layout, {"op": "rollback", "run": run_id, "removed": result.removed,
                                        "restored": result.restored})
    if result.cancelled:
        result.ok = False
        result.message = (f"rollback stopped at a safe point after {len(result.removed)} file(s) "
                          f"removed and {len(result.restored)} restored, of {len(todo)}: run "
                          "rollback again to finish it, or migrate to redo the migration")
        on_event(LogLine("warning", result.message))
        return result
    result.message = (f"rolled back: {len(result.removed)} file(s) removed, "
                      f"{len(result.restored)} restored")
    if not todo:
        result.message = "nothing to roll back: the workspace is as it was before the migration"
        if plan.interrupted:
            result.message += " (the run that did not finish had changed nothing)"
    on_event(LogLine("info", result.message))
    return result


def _undo(layout: Layout, manifest: backup.Manifest, action: FileAction, force: bool,
          run_id: str) -> None:
    path = action.path(layout)
    folder = os.path.dirname(path)
    if action.changed and force and action.current_sha and not action.current_sha.startswith("<"):
        # keep what someone wrote after the migration: it goes to the backup first
        data = fsio.read_bytes(path)
        st = fsio.lstat(path)
        backup.back_up(layout, manifest, action.file if action.dir is None else
                       f"openclaw-{action.file}", data, st.st_mode & 0o777, st.st_mtime_ns,
                       run_id, (st.st_uid, st.st_gid))
        backup.save_manifest(layout, manifest)
    if action.op == "remove":
        if fsio.unlink_if_exists(path) and action.file == STORE:
            fsio.fsync_dir(folder)  # durable before the transcripts go (see below)
        return
    assert action.backup_name is not None
    info = manifest.files[action.backup_name]
    data = backup.read_copy(layout, manifest, action.backup_name)
    # sessions.json is restored first, and made durable before any transcript it pointed at
    # is removed: no entry may outlive its transcript, even across a power cut
    owner = (info["uid"], info["gid"]) if "uid" in info and "gid" in info else None
    fsio.write_atomic(path, data, info.get("mode", 0o600), sync_dir=action.file == STORE,
                      mtime_ns=info.get("mtime_ns"), owner=owner)


def describe(plan: RollbackPlan) -> str:
    lines = []
    if plan.remove:
        lines.append(f"remove {len(plan.remove)} file(s) the migration created: "
                     + ", ".join(plan.remove[:10]) + (" …" if len(plan.remove) > 10 else ""))
    if plan.restore:
        lines.append(f"restore {len(plan.restore)} file(s) from the backup: "
                     + ", ".join(plan.restore[:10]) + (" …" if len(plan.restore) > 10 else ""))
    if plan.temp_files:
        lines.append(f"remove {len(plan.temp_files)} temporary file(s) left by an interrupted run")
    if plan.stale_lock:
        lines.append("remove the sessions.json.lock an interrupted run left (its process is gone)")
    if plan.stale_oplock:
        lines.append("remove the migrate-tui.lock an interrupted command left (its process is gone)")
    if plan.changed:
        lines.append("changed since the migration: " + ", ".join(plan.changed))
    if plan.interrupted:
        lines.append("undo what did not finish too: " + "; ".join(plan.interrupted))
    return "\n".join(lines) or "nothing to roll back"


__all__ = ["RollbackPlan", "RollbackResult", "describe", "plan_rollback", "rollback_workspace"]
