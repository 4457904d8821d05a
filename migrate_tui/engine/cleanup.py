"""Clean-up: remove the migrated originals, and only those whose backup copy checks out
byte for byte (size and SHA-256 against the manifest).  Each removal is journaled, so a
rollback puts the originals back."""

from __future__ import annotations

from dataclasses import dataclass, field

from migrate_tui.core import fsio, jsonio
from migrate_tui.core.layout import SESSION_MAP, Layout, open_layout
from migrate_tui.engine import backup, journal
from migrate_tui.engine.model import EventSink, LogLine, PhaseStarted, Progress, no_events


@dataclass
class CleanupPlan:
    workspace: str
    remove: list[str] = field(default_factory=list)  # originals whose backup checks out
    backups: dict[str, str] = field(default_factory=dict)  # original → backup name
    keep: list[tuple[str, str]] = field(default_factory=list)  # (file, why it stays)
    bytes: int = 0


@dataclass
class CleanupResult:
    ok: bool
    removed: list[str] = field(default_factory=list)
    kept: list[tuple[str, str]] = field(default_factory=list)
    message: str = ""


def plan_cleanup(workspace: str) -> CleanupPlan:
    layout = open_layout(workspace)
    plan = CleanupPlan(layout.workspace)
    if not fsio.is_real_dir(layout.backup_dir):
        return plan
    state = journal.read(layout)
    manifest = backup.load_manifest(layout)
    sources = []
    for record in state.changes:
        source = record.get("source")
        if source and source not in sources:
            sources.append(source)
    for name in sources:
        _consider(layout, manifest, name, plan)
    if fsio.lstat_or_none(layout.session_map) is not None:
        missing = _keys_not_migrated(layout)
        if missing is None:
            plan.keep.append((SESSION_MAP, "sessions.json cannot be read"))
        elif missing:
            plan.keep.append((SESSION_MAP, f"{len(missing)} of its keys are not in sessions.json"))
        else:
            _consider(layout, manifest, SESSION_MAP, plan)
    return plan


def _consider(layout: Layout, manifest: backup.Manifest, name: str, plan: CleanupPlan) -> None:
    path = layout.in_sessions(name)
    if fsio.lstat_or_none(path) is None:
        return
    try:
        size, sha = fsio.sha256_file(path)
    except OSError as exc:
        plan.keep.append((name, f"cannot be read: {exc.strerror or exc}"))
        return
    copy = manifest.find(name, sha)
    if copy is None:
        plan.keep.append((name, "no backup copy with the same content (changed since the "
                          "migration, or migrated with --no-backup)"))
        return
    wrong = backup.check_copy(layout, manifest, copy)
    if wrong:
        plan.keep.append((name, wrong))
        return
    plan.remove.append(name)
    plan.backups[name] = copy
    plan.bytes += size


def _keys_not_migrated(layout: Layout) -> list[str] | None:
    try:
        mapping = jsonio.loads_document(fsio.read_bytes(layout.session_map))
        store = (jsonio.loads_document(fsio.read_bytes(layout.store))
                 if fsio.lstat_or_none(layout.store) is not None else {})
    except (OSError, ValueError, RecursionError):
        return None
    if not isinstance(mapping, dict) or not isinstance(store, dict):
        return None
    return [k for k in mapping if k not in store]


def cleanup_workspace(workspace: str, *, on_event: EventSink = no_events) -> CleanupResult:
    plan = plan_cleanup(workspace)
    layout = Layout(plan.workspace)
    result = CleanupResult(True, kept=list(plan.keep))
    if not plan.remove:
        result.message = "nothing to clean up" + (
            f": {len(plan.keep)} file(s) stay" if plan.keep else "")
        return result
    manifest = backup.load_manifest(layout)
    on_event(PhaseStarted("cleanup", len(plan.remove)))
    for n, name in enumerate(plan.remove, 1):
        path = layout.in_sessions(name)
        copy = plan.backups[name]
        size, sha = fsio.sha256_file(path)
        if manifest.files[copy]["sha256"] != sha or backup.check_copy(layout, manifest, copy):
            result.kept.append((name, "changed while cleaning up"))
            continue
        journal.append(layout, {"op": "delete", "file": name, "sha256": sha, "size": size,
                                "backup": copy})
        fsio.unlink(path)
        result.removed.append(name)
        on_event(Progress("cleanup", n, len(plan.remove), name))
    fsio.fsync_dir(layout.sessions_dir)
    result.message = (f"removed {len(result.removed)} original(s) after checking their backup "
                      f"copies; {len(result.kept)} stay")
    on_event(LogLine("info", result.message))
    return result
