"""One function per command — migrate, verify, rollback, cleanup — for both front ends.

Each returns a typed outcome: what happened, the exit code (docs/lifecycle.md), one sentence
for a person and the JSON object for a script.  A refusal (another command runs, a lock is
held, the workspace or its records are unusable) is an outcome too, never an exception, so
the command line and the wizard end every command the same way.

Asking first is the front end's business: ``plan_rollback`` / ``plan_cleanup`` say what a
rollback or a clean-up would do, then ``rollback`` / ``cleanup`` do it.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from migrate_tui.core.error_text import describe_error
from migrate_tui.core.errors import (
    BackupError,
    DamagedRecord,
    LockBusy,
    MigrateError,
    OperationBusy,
    WorkspaceError,
)
from migrate_tui.core.layout import DEFAULT_MAX_FILE_BYTES, Layout, open_layout
from migrate_tui.engine.model import ApplyResult, CancelFlag, Decision, EventSink, Plan, no_events
from migrate_tui.engine.plan import build_plan, with_decisions
from migrate_tui.engine.preflight import check_dry_run, check_workspace
from migrate_tui.engine.report import (
    EXIT_CANCELLED,
    EXIT_LOCKED,
    EXIT_OK,
    EXIT_PROBLEMS,
    EXIT_USAGE,
    EXIT_VERIFY,
    Report,
    build_report,
)
from migrate_tui.engine.scan import scan_workspace
from migrate_tui.engine.state import workspace_state

# A dry run needs none of these: each command imports what it runs where it runs it, so
# ``import migrate_tui.cli`` stays cheap (tests/test_cli_imports.py keeps it so).
if TYPE_CHECKING:
    from migrate_tui.engine import cleanup as cleanup_engine
    from migrate_tui.engine import rollback as rollback_engine
    from migrate_tui.engine.targets.openclaw_layout import OpenClawLayout
    from migrate_tui.engine.targets.openclaw_plan import OpenClawPlan
    from migrate_tui.engine.verify import VerifyResult

RefusalKind = Literal["busy", "locked", "damaged", "unusable", "cancelled", "usage"]


@dataclass(frozen=True)
class Refusal:
    """Why a command did nothing (or stopped before changing anything)."""

    kind: RefusalKind
    message: str

    @property
    def exit_code(self) -> int:
        return {"busy": EXIT_LOCKED, "locked": EXIT_LOCKED, "cancelled": EXIT_CANCELLED}.get(
            self.kind, EXIT_USAGE)

    def to_json(self, **extra: Any) -> dict[str, Any]:
        out: dict[str, Any] = {"status": "busy" if self.kind == "busy" else "failed",
                               "error": self.message}
        if self.kind == "cancelled":
            out["cancelled"] = True
        return {**out, **extra}


def refusal_of(exc: BaseException, what: str = "") -> Refusal:
    """The refusal an engine exception stands for."""
    if isinstance(exc, OperationBusy):
        return Refusal("busy", str(exc))
    if isinstance(exc, LockBusy):
        return Refusal("locked", f"sessions.json.lock is held by another process: {exc}. The "
                       "agent may be writing sessions.json; nothing was added to it. Run again "
                       "when it is done.")
    if isinstance(exc, DamagedRecord):
        return Refusal("damaged", str(exc))
    return Refusal("unusable", what + describe_error(exc))


_REFUSED = (WorkspaceError, LockBusy, BackupError, OSError, ValueError)


def _stopped(exc: BaseException, before: str, after: str = "") -> Refusal:
    """A refusal; one that is not the engine's own sentence (an I/O error, a backup that does
    not check out) is put in words around it."""
    if isinstance(exc, (WorkspaceError, LockBusy)):
        return refusal_of(exc)
    return Refusal("unusable", before + refusal_of(exc).message + after)

# ---------------------------------------------------------------- migrate


@dataclass
class Prepared:
    """A scanned workspace and its plan with the user's decisions, or why there is none."""

    plan: Plan | None = None
    refusal: Refusal | None = None
    # each bulk decision: (option, its text, how many sessions it chose)
    chosen: list[tuple[str, str, int]] = field(default_factory=list)


def prepare(workspace: str, *, agent_id: str = "main", decisions: Mapping[str, Decision] | None = None,
            skip_where: tuple[str, ...] = (), fix_where: tuple[tuple[str, str], ...] = (),
            backup: bool = True, max_file_bytes: int = DEFAULT_MAX_FILE_BYTES,
            on_event: EventSink = no_events, cancel: CancelFlag | None = None,
            workers: bool = False, now: float | None = None,
            target: OpenClawLayout | None = None) -> Prepared:
    """Scan ``workspace`` and plan it with ``decisions`` (a session named by its file name
    without ``.json``, or by the id inside), then the bulk decisions: each ``fix_where``
    (query, fix) applies the fix to every session the query chooses whose problems offer it,
    each ``skip_where`` query skips what it chooses.  A session named in ``decisions`` keeps
    that decision.  A name or a query that is wrong is a usage refusal.  With an OpenClaw
    ``target`` the queries see each session as that target does (its conflicts and SQLite
    sessions are problems a query can choose), as the wizard's plan shows them."""
    try:
        scan = scan_workspace(workspace, on_event=on_event, cancel=cancel,
                              max_file_bytes=max_file_bytes, workers=workers)
    except _REFUSED as exc:
        return Prepared(refusal=refusal_of(exc))
    if cancel is not None and cancel.is_set():
        return Prepared(refusal=Refusal("cancelled", "cancelled while scanning; nothing was written"))
    if scan.fatal is not None:
        return Prepared(refusal=Refusal("unusable", str(scan.fatal)))
    try:
        named = resolve_names(decisions or {}, scan)
        plan = build_plan(scan, agent_id, named, backup=backup)
        out = Prepared(plan)
        if skip_where or fix_where:
            out.plan, out.chosen = _decide_where(plan, named, skip_where, fix_where,
                                                 time.time() if now is None else now, target)
    except SelectionError as exc:
        return Prepared(refusal=Refusal("usage", str(exc)))
    return out


class SelectionError(MigrateError):
    """A session name or a query that chooses nothing sensible (a usage error, exit 2)."""


def resolve_names(decisions: Mapping[str, Decision], scan: Any) -> dict[str, Decision]:
    """Decisions by file id, from decisions naming a session by its file name (with or
    without ``.json``) or by the id inside the file."""
    if not decisions:  # nothing to name: no index of every session (6 ms a dry run on B)
        return {}
    index: dict[str, str] = {}
    for s in scan.sessions:
        cid = s.content.content_id
        if isinstance(cid, str):
            index.setdefault(cid, s.file_id)
    for s in scan.sessions:
        index[s.file_id] = s.file_id
    out = {}
    for name, decision in decisions.items():
        key = name[:-5] if name.endswith(".json") and name[:-5] in index else name
        if key not in index:
            raise SelectionError(f"there is no session {name!r} in this workspace")
        out[index[key]] = decision
    return out


def _decide_where(plan: Plan, named: Mapping[str, Decision], skip_queries: tuple[str, ...],
                  fix_queries: tuple[tuple[str, str], ...], now: float,
                  target: OpenClawLayout | None = None) -> tuple[Plan, list[tuple[str, str, int]]]:
    # (imported here: a run without a query, as most are, does not load the query language,
    # about 2 ms of the dry run's serial start)
    from migrate_tui.engine.selection import Query, QueryError, fixes_where, parse_query, skips_where

    def parsed(query: str) -> Query:
        try:
            return parse_query(query, now)
        except QueryError as exc:  # a usage refusal, as a name that names no session
            raise SelectionError(str(exc)) from exc

    # what the queries look at: the plan as the target will carry it out
    if target is None:
        seen = plan
    else:
        from migrate_tui.engine.targets.openclaw_plan import plan_openclaw
        seen = plan_openclaw(plan, target).as_plan()
    changes: dict[str, Decision] = {}
    chosen: list[tuple[str, str, int]] = []

    def current(fid: str) -> Decision:
        return changes.get(fid, plan.session(fid).decision)

    for query, fix in fix_queries:
        fids = [fid for fid in fixes_where(seen, parsed(query), fix) if fid not in named]
        for fid in fids:
            changes[fid] = current(fid).with_fix(fix)
        chosen.append(("--fix-where", f"{query}={fix}", len(fids)))
    for query in skip_queries:
        if not query.strip():
            raise SelectionError("an empty query would skip every session")
        fids = [fid for fid in skips_where(seen, parsed(query)) if fid not in named]
        for fid in fids:
            changes[fid] = Decision(skip=True, fixes=current(fid).fixes)
        chosen.append(("--skip-where", query, len(fids)))
    return with_decisions(plan, changes), chosen


@dataclass
class CommandOutcome(ABC):
    """What every command's outcome shares: a refusal (the command did nothing, or stopped
    before changing anything) gives the exit code and the JSON; otherwise the command's
    own ``_exit_code`` and ``_json`` do."""

    refusal: Refusal | None = field(default=None, kw_only=True)

    @property
    def exit_code(self) -> int:
        return self.refusal.exit_code if self.refusal is not None else self._exit_code()

    def to_json(self) -> dict[str, Any]:
        return self.refusal.to_json() if self.refusal is not None else self._json()

    @abstractmethod
    def _exit_code(self) -> int:
        """The exit code when nothing was refused."""

    @abstractmethod
    def _json(self) -> dict[str, Any]:
        """The JSON when nothing was refused."""


@dataclass
class MigrateOutcome(CommandOutcome):
    """How ``migrate`` (or its dry run) ended: a report, or a refusal before anything was
    written."""

    report: Report | None = None
    elapsed: float | None = None  # seconds

    @property
    def result(self) -> ApplyResult | None:
        """What apply did (None: a dry run, or refused before it started)."""
        return self.report.result if self.report is not None else None

    @property
    def error(self) -> str | None:
        """Why it did not run, or what stopped it."""
        if self.refusal is not None:
            return self.refusal.message
        return self.report.error if self.report is not None else None

    @property
    def message(self) -> str:
        return self.error or (self.report.status if self.report is not None else "")

    def _exit_code(self) -> int:
        assert self.report is not None
        return self.report.exit_code

    def _json(self) -> dict[str, Any]:
        assert self.report is not None
        return self.report.to_json()


def migrate(plan: Plan, *, dry_run: bool = False, on_event: EventSink = no_events,
            cancel: CancelFlag | None = None, lock_timeout: float = 10.0, workers: bool = False,
            clock: Callable[[], float] = time.monotonic,
            target: OpenClawLayout | None = None) -> MigrateOutcome:
    """Carry out ``plan`` (apply builds the report and saves it beside the backup) and
    report it.  A dry run writes nothing, but asks what would make the real run refuse and
    refuses the same way, with the same exit code.  ``target``: migrate into that OpenClaw
    state folder instead of the workspace's own sessions.json (docs/openclaw-target.md)."""
    if target is not None:
        return _migrate_openclaw(plan, target, dry_run=dry_run, on_event=on_event, cancel=cancel,
                                 lock_timeout=lock_timeout, clock=clock)
    started = clock()
    result = None
    try:
        if dry_run:
            layout = open_layout(plan.scan.workspace)
            check_dry_run(layout, workspace_state(layout), plan, lock_timeout)
        else:
            from migrate_tui.engine.apply import apply_plan
            result = apply_plan(plan, on_event=on_event, cancel=cancel, lock_timeout=lock_timeout,
                                workers=workers)
    except _REFUSED as exc:
        return MigrateOutcome(refusal=refusal_of(exc), elapsed=clock() - started)
    # the report apply built (and saved) is the one printed: it is not built twice
    report = result.report if result is not None and result.report is not None else \
        build_report(plan, result, dry_run=dry_run)
    return MigrateOutcome(report, elapsed=clock() - started)


def openclaw_target(state_dir: str | None, agent_id: str) -> OpenClawLayout | Refusal:
    """The OpenClaw target folder (``state_dir`` or its default), or a usage refusal."""
    from migrate_tui.engine.targets.openclaw_layout import openclaw_layout
    try:
        return openclaw_layout(state_dir, agent_id)
    except WorkspaceError as exc:
        return Refusal("usage", str(exc))


def plan_for_openclaw(plan: Plan, target: OpenClawLayout) -> OpenClawPlan:
    """What the OpenClaw target will write for ``plan`` (the wizard's plan screen)."""
    from migrate_tui.engine.targets.openclaw_plan import plan_openclaw
    return plan_openclaw(plan, target)


def _migrate_openclaw(plan: Plan, target: OpenClawLayout, *, dry_run: bool, on_event: EventSink,
                      cancel: CancelFlag | None, lock_timeout: float,
                      clock: Callable[[], float]) -> MigrateOutcome:
    from migrate_tui.engine.targets.openclaw_apply import apply_openclaw, target_info
    from migrate_tui.engine.targets.openclaw_plan import plan_openclaw
    started = clock()
    oplan = plan_openclaw(plan, target)
    refused = oplan.why_refused()
    if refused is not None:
        return MigrateOutcome(refusal=Refusal("unusable", refused), elapsed=clock() - started)
    result = None
    try:
        if dry_run:
            layout = open_layout(plan.scan.workspace)
            state = workspace_state(layout)
            if state.holder is not None:
                raise OperationBusy(state.holder.busy_message(layout, "a migration now would be "
                                                              "refused"), state.holder)
            check_workspace(layout, state)
        else:
            result = apply_openclaw(oplan, on_event=on_event, cancel=cancel, lock_timeout=lock_timeout)
    except _REFUSED as exc:
        return MigrateOutcome(refusal=refusal_of(exc), elapsed=clock() - started)
    report = build_report(oplan.as_plan(), result, dry_run=dry_run, target=target_info(oplan))
    return MigrateOutcome(report, elapsed=clock() - started)


# ---------------------------------------------------------------- verify


@dataclass
class VerifyOutcome(CommandOutcome):
    result: VerifyResult | None = None

    @property
    def status(self) -> Literal["ok", "different", "cancelled", "refused"]:
        if self.refusal is not None:
            return "refused"
        assert self.result is not None
        if self.result.cancelled:
            return "cancelled"
        return "ok" if self.result.ok else "different"

    def _exit_code(self) -> int:
        return {"ok": EXIT_OK, "cancelled": EXIT_CANCELLED}.get(self.status, EXIT_VERIFY)

    def _json(self) -> dict[str, Any]:
        assert self.result is not None
        if self.result.cancelled:
            return Refusal("cancelled", "verify cancelled").to_json()
        return self.result.to_json()


def verify(workspace: str, *, on_event: EventSink = no_events, cancel: CancelFlag | None = None,
           workers: bool = False) -> VerifyOutcome:
    """Check the whole promise: every legacy session migrated and matching (or reported as
    skipped), every key pointing right, no interrupted run (docs/lifecycle.md)."""
    from migrate_tui.engine.verify import verify_workspace
    try:
        return VerifyOutcome(verify_workspace(workspace, on_event=on_event, cancel=cancel,
                                              workers=workers))
    except _REFUSED as exc:
        return VerifyOutcome(refusal=refusal_of(exc, "cannot verify: "))


# ---------------------------------------------------------------- rollback and clean-up


OperationStatus = Literal["success", "nothing_to_do", "refused", "cancelled", "failed"]


@dataclass
class OperationOutcome(CommandOutcome):
    """A rollback's or a clean-up's outcome: its plan (asked what it would do), what it did,
    or a refusal (status "failed").  Its status gives the exit code; each says its own
    status (``_status``), sentence (``_message``) and JSON."""

    @property
    def status(self) -> OperationStatus:
        return "failed" if self.refusal is not None else self._status()

    @property
    def message(self) -> str:
        return self.refusal.message if self.refusal is not None else self._message()

    def _exit_code(self) -> int:
        return {"success": EXIT_OK, "nothing_to_do": EXIT_OK, "cancelled": EXIT_CANCELLED}.get(
            self.status, EXIT_PROBLEMS)

    @abstractmethod
    def _status(self) -> OperationStatus:
        """The status when nothing was refused."""

    @abstractmethod
    def _message(self) -> str:
        """The sentence when nothing was refused."""


def _records_unread(exc: BaseException) -> Refusal:
    """Why a rollback or a clean-up cannot be planned."""
    return _stopped(exc, "cannot read what the migration did: ", "; nothing was changed")


@dataclass
class RollbackOutcome(OperationOutcome):
    plan: rollback_engine.RollbackPlan | None = None
    result: rollback_engine.RollbackResult | None = None

    def _status(self) -> OperationStatus:
        if self.result is None:
            return "nothing_to_do"
        if self.result.ok:
            return "success"
        return "cancelled" if self.result.cancelled else "refused"

    def _message(self) -> str:
        return "nothing to roll back" if self.result is None else self.result.message

    def _json(self) -> dict[str, Any]:
        if self.result is None:
            return {"status": "nothing_to_do", "removed": [], "restored": []}
        return {"status": self.status, "removed": self.result.removed,
                "restored": self.result.restored, "refused": self.result.refused,
                "message": self.result.message}


def plan_rollback(workspace: str, *, on_event: EventSink = no_events,
                  cancel: CancelFlag | None = None) -> RollbackOutcome:
    """What a rollback would do (``outcome.plan``), or why it cannot be planned."""
    from migrate_tui.engine import rollback as rollback_engine
    try:
        return RollbackOutcome(rollback_engine.plan_rollback(workspace, on_event=on_event,
                                                             cancel=cancel))
    except _REFUSED as exc:
        return RollbackOutcome(refusal=_records_unread(exc))


def rollback(workspace: str, *, force: bool = False, on_event: EventSink = no_events,
             cancel: CancelFlag | None = None, lock_timeout: float = 10.0) -> RollbackOutcome:
    """Undo the migrations (an interrupted run too): remove what they created, restore what
    they replaced.  Refuses, naming them, files changed since (unless ``force``)."""
    from migrate_tui.engine import rollback as rollback_engine
    try:
        result = rollback_engine.rollback_workspace(workspace, force=force, on_event=on_event,
                                                    cancel=cancel, lock_timeout=lock_timeout)
    except _REFUSED as exc:
        return RollbackOutcome(refusal=refusal_of(exc))
    return RollbackOutcome(result=result)


# ---------------------------------------------------------------- cleanup


@dataclass
class CleanupOutcome(OperationOutcome):
    plan: cleanup_engine.CleanupPlan | None = None
    result: cleanup_engine.CleanupResult | None = None

    def _status(self) -> OperationStatus:
        done = self.result or self.plan
        assert done is not None
        if done.cancelled:
            return "cancelled"
        if done.refused:
            return "refused"
        if self.result is None:
            return "nothing_to_do" if not self.plan or not self.plan.remove else "success"
        return "success" if self.result.ok else "failed"

    def _message(self) -> str:
        if self.result is not None:
            return self.result.message
        assert self.plan is not None
        if self.plan.cancelled:
            return "Clean-up cancelled; nothing was removed."
        if self.plan.refused:
            return f"Clean-up refused: {self.plan.refused}."
        return "Nothing to clean up." if not self.plan.remove else (
            f"{len(self.plan.remove)} original(s), {self.plan.bytes:,} bytes, have a verified "
            f"backup copy in {Layout(self.plan.workspace).backup_dir}.")

    def _json(self) -> dict[str, Any]:
        removed = self.result.removed if self.result is not None else []
        kept = self.result.kept if self.result is not None else (self.plan.keep if self.plan else [])
        return {"status": self.status, "message": self.message, "removed": list(removed),
                "kept": [{"file": f, "why": w} for f, w in kept]}


def plan_cleanup(workspace: str, *, on_event: EventSink = no_events,
                 cancel: CancelFlag | None = None, workers: bool = False) -> CleanupOutcome:
    """Which originals a clean-up would remove and which stay (and why), or why none may."""
    from migrate_tui.engine import cleanup as cleanup_engine
    try:
        return CleanupOutcome(cleanup_engine.plan_cleanup(workspace, on_event=on_event,
                                                          cancel=cancel, workers=workers))
    except _REFUSED as exc:
        return CleanupOutcome(refusal=_records_unread(exc))


def cleanup(workspace: str, *, on_event: EventSink = no_events, cancel: CancelFlag | None = None,
            workers: bool = False) -> CleanupOutcome:
    """Remove the migrated originals that may go (docs/lifecycle.md), each checked again
    under the operation lock just before it is removed."""
    from migrate_tui.engine import cleanup as cleanup_engine
    try:
        result = cleanup_engine.cleanup_workspace(workspace, on_event=on_event, cancel=cancel,
                                                  workers=workers)
    except _REFUSED as exc:
        return CleanupOutcome(refusal=_stopped(
            exc, "clean-up stopped: ", ". Every original removed so far has a checked copy in "
            "the backup, and rollback restores it."))
    return CleanupOutcome(result=result)


__all__ = [
    "CleanupOutcome", "CommandOutcome", "MigrateOutcome", "OperationOutcome", "OperationStatus",
    "Prepared", "Refusal", "RollbackOutcome", "SelectionError", "VerifyOutcome", "cleanup",
    "migrate", "openclaw_target", "plan_cleanup", "plan_for_openclaw", "plan_rollback", "prepare",
    "refusal_of", "resolve_names", "rollback", "verify",
]
