"""The plan for the OpenClaw target: what ``migrate --target openclaw`` will write, and where.

The engine's plan (scan + decisions) says which legacy sessions are migrated, under which
id and keys, with which fixes.  This module turns each into OpenClaw's entry and transcript
(openclaw_entry, openclaw_transcript) and compares them with what the OpenClaw state folder
already holds:

* ``<state>/agents/<agent>/sessions/<id>.jsonl``: the same bytes → nothing to write; other
  bytes → a ``transcript_conflict`` the user decides (keep-existing / replace-existing);
* ``sessions.json`` there: a key already pointing at the same session id is kept as it is;
  at another session → a ``key_conflict`` the user decides (keep-existing / replace-existing);
* the agent's SQLite database: an entry the import would replace, or a session id it
  already holds (openclaw_sqlite) → an ``openclaw_database`` conflict: the whole run is
  refused until the user decides for that session (replace-existing, or skip it).

It reads (the legacy files, the target's files, the database read-only) and never writes.
``as_plan`` gives the engine's ``Plan`` with each session as the target sees it, so the
report, the dry run and the wizard show the target's actions, problems and "not carried".
"""

from __future__ import annotations

import os
from collections.abc import Callable, Collection
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from migrate_tui.core import fsio, jsonio
from migrate_tui.core.errors import MigrateError
from migrate_tui.engine.legacy import problem, read_legacy
from migrate_tui.engine.model import CONTENT_FIXES, Action, Plan, PlannedSession, Problem, Totals
from migrate_tui.engine.targets.openclaw_entry import convert_entry
from migrate_tui.engine.targets.openclaw_layout import OpenClawLayout
from migrate_tui.engine.targets.openclaw_sqlite import (
    Conflict,
    HeldSessions,
    conflicts,
    read_held_sessions,
)
from migrate_tui.engine.targets.openclaw_transcript import (
    ConvertedTranscript,
    convert_transcript,
    not_json,
    transcript_bytes,
)

TARGET = "openclaw"
PREVIEW_EVENTS = 4  # the header and the first messages, for the wizard's detail pane
DATABASE_FIXES = ("replace-existing",)
PROGRESS_EVERY = 200  # sessions between two calls of plan_openclaw's on_progress


@dataclass
class TargetSession:
    """One legacy session as the OpenClaw target will write it."""

    ps: PlannedSession
    entry: dict[str, Any] | None = None  # OpenClaw's entry
    # the transcript's bytes are not held (a big workspace's would fill the memory):
    # apply converts again, and checks it gives these
    transcript_sha256: str | None = None
    transcript_size: int = 0
    transcript_lines: int = 0
    preview: list[dict[str, Any]] = field(default_factory=list)  # the first events
    transcript_state: Literal["write", "same", "replace", "keep"] = "write"
    old_sha256: str | None = None  # "replace": what is there now
    keys: list[str] = field(default_factory=list)  # entries to write
    kept_keys: list[str] = field(default_factory=list)  # entries there already (or kept)
    problems: list[Problem] = field(default_factory=list)
    database: list[Conflict] = field(default_factory=list)  # undecided
    not_carried: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    source_sha256: str | None = None

    @property
    def file_id(self) -> str:
        return self.ps.file_id

    @property
    def session_id(self) -> str:
        assert self.ps.final_id is not None
        return self.ps.final_id

    @property
    def action(self) -> Action:
        """"migrate" (something to write), "done" (all there), "blocked", "skip"."""
        if self.ps.action in ("skip", "blocked"):
            return self.ps.action
        if self.problems or self.database:
            return "blocked"
        if self.transcript_state in ("write", "replace") or self.keys:
            return "migrate"
        return "done"


@dataclass
class OpenClawPlan:
    plan: Plan  # the engine's plan (the legacy side)
    target: OpenClawLayout
    sessions: list[TargetSession] = field(default_factory=list)
    store_present: bool = False
    store_entries: dict[str, Any] = field(default_factory=dict)
    database_present: bool = False
    refusal: str | None = None  # the target cannot be used at all (said in one sentence)
    held: HeldSessions | None = None  # what the agent's database holds, as read for this plan

    @property
    def database_conflicts(self) -> list[tuple[TargetSession, Conflict]]:
        return [(ts, c) for ts in self.sessions if ts.ps.action != "skip" for c in ts.database]

    @property
    def todo(self) -> list[TargetSession]:
        return [ts for ts in self.sessions if ts.action == "migrate"]

    def why_refused(self) -> str | None:
        """Why a run into the target is refused before anything is written: the target
        cannot be used (``refusal``), else ``refused_for_database`` (None: it may go ahead)."""
        return self.refusal if self.refusal is not None else self.refused_for_database()

    def refused_for_database(self) -> str | None:
        """The sentence that refuses the run while the agent's database holds entries the
        import would shadow and the user has not decided (None: no such conflict)."""
        found = self.database_conflicts
        if not found:
            return None
        first = found[0][1]
        names = sorted({ts.ps.scan.file_id for ts, _ in found})
        more = f" (and {len(found) - 1} more)" if len(found) > 1 else ""
        return (f"the OpenClaw agent {self.target.agent_id!r} already keeps its sessions in "
                f"SQLite ({self.target.database}): {first.message}{more}. Nothing was written. "
                "Decide per session: --fix ID=replace-existing to import over it, or --skip ID "
                f"({', '.join(names[:5])}{' …' if len(names) > 5 else ''})")

    def session(self, file_id: str) -> TargetSession:
        for ts in self.sessions:
            if ts.file_id == file_id:
                return ts
        raise KeyError(file_id)

    def as_plan(self, previous: Plan | None = None, changed: Collection[str] = ()) -> Plan:
        """The engine's plan with every session as this target sees it.  ``previous``: the
        view made before the sessions ``changed`` were planned again (``replan``); the others'
        rows are shared with it, and so is its index (a front end then redraws only those)."""
        if previous is not None and len(previous.sessions) == len(self.sessions):
            planned = list(previous.sessions)
            for file_id in changed:
                at = previous.index[file_id]
                planned[at] = _as_planned(self.sessions[at])
        else:
            previous = None
            planned = [_as_planned(ts) for ts in self.sessions]
        totals = Totals(found=len(planned))
        for ps in planned:
            if ps.action == "migrate":
                totals.to_migrate += 1
                totals.messages += ps.message_count
                totals.bytes += ps.scan.size
                totals.fixed += bool(ps.decision.fixes)
            elif ps.action == "skip":
                totals.skipped += 1
            elif ps.action == "blocked":
                totals.blocked += 1
            elif ps.action == "done":
                totals.done += 1
        totals.warnings = self.plan.totals.warnings
        out = Plan(self.plan.scan, self.plan.agent_id, self.plan.backup, planned,
                   self.plan.decisions, totals, self.plan.warnings)
        if previous is not None:
            out.__dict__["index"] = previous.index  # the same files in the same order
        return out

    def session_after(self, ps: PlannedSession) -> PlannedSession:
        """``ps`` (the engine's session, a fix or skip decided) as this target would see it,
        against the folder and database as read for this plan (a fix's preview)."""
        ts = TargetSession(ps)
        if self.refusal is None:
            _plan_session(ts, self.plan, self.target, self.store_entries,
                          self.held or HeldSessions(self.target.database), {})
        return _as_planned(ts)


def _as_planned(ts: TargetSession) -> PlannedSession:
    where = ts.ps.scan.path or ts.ps.scan.file_name
    problems = [*ts.ps.open_problems, *ts.problems, *(
        Problem("openclaw_database", c.message, where, fixes=DATABASE_FIXES) for c in ts.database)]
    return replace(ts.ps, action=ts.action, keys=list(ts.keys), kept_keys=list(ts.kept_keys),
                   entry=ts.entry, open_problems=problems, notes=list(ts.ps.notes) + ts.notes,
                   not_carried=list(ts.not_carried),
                   transcript={"write": "write", "same": "same", "replace": "replace-existing",
                               "keep": "keep-existing"}[ts.transcript_state])


def read_target_store(target: OpenClawLayout) -> tuple[bool, dict[str, Any]]:
    """(present, entries) of the target's sessions.json; ValueError naming the file when it
    is not a JSON object (nothing would be merged into it)."""
    if fsio.lstat_or_none(target.store) is None:
        return False, {}
    try:
        value = jsonio.loads_document(fsio.read_bytes(target.store))
    except (ValueError, RecursionError) as exc:
        raise ValueError(f"{target.store} is not readable JSON ({exc}); nothing is merged into it") from None
    if not isinstance(value, dict):
        raise ValueError(f"{target.store} is not a JSON object; nothing is merged into it")
    return True, value


def plan_openclaw(plan: Plan, target: OpenClawLayout,
                  on_progress: Callable[[int], None] | None = None) -> OpenClawPlan:
    """What the OpenClaw target will write for ``plan`` (reads, never writes).
    ``on_progress(sessions planned)`` is called as it goes (it may raise to stop it)."""
    out = OpenClawPlan(plan, target)
    for folder in (target.state_dir, os.path.dirname(target.agent_dir), target.agent_dir,
                   target.sessions_dir):
        st = fsio.lstat_or_none(folder)
        if st is None:
            break  # created by the run
        if not fsio.is_real_dir(folder):
            out.refusal = (f"{folder} is a {fsio.describe_mode(st.st_mode)}, not a folder; "
                           "it is not followed, and nothing was written")
            return out
    try:
        out.store_present, out.store_entries = read_target_store(target)
        held = read_held_sessions(target.database)
    except (ValueError, OSError, MigrateError) as exc:
        out.refusal = str(exc)
        return out
    out.database_present = held.present
    out.held = held
    claimed: dict[str, str] = {}
    for n, ps in enumerate(plan.sessions, 1):
        ts = TargetSession(ps)
        out.sessions.append(ts)
        _plan_session(ts, plan, target, out.store_entries, held, claimed)
        if on_progress is not None and (n % PROGRESS_EVERY == 0 or n == len(plan.sessions)):
            on_progress(n)
    return out


def replan(oplan: OpenClawPlan, plan: Plan, changed: Collection[str]) -> OpenClawPlan:
    """``oplan`` for ``plan``, the engine's plan after decisions on the sessions ``changed``:
    only those are planned again (against the folder and database as read for ``oplan``);
    the others are shared.  A plan whose files are not those of ``oplan`` (rebuilt by the
    engine), or a target that could not be read, is planned again whole."""
    old = oplan.plan
    if oplan.refusal is not None or oplan.held is None or plan.index is not old.index:
        return plan_openclaw(plan, oplan.target)
    out = replace(oplan, plan=plan, sessions=list(oplan.sessions))
    others: dict[str, str] = {}
    for file_id in changed:
        at = plan.index[file_id]
        ts = TargetSession(plan.sessions[at])
        _plan_session(ts, plan, oplan.target, oplan.store_entries, oplan.held, others)
        out.sessions[at] = ts
    return out


def preview_session(plan: Plan, target: OpenClawLayout, file_id: str) -> TargetSession:
    """One session as the target will write it (the wizard's detail pane): its entry,
    its first transcript events, what is not carried, and its conflicts there."""
    ts = TargetSession(plan.session(file_id))
    try:
        _present, store = read_target_store(target)
        held = read_held_sessions(target.database)
    except (ValueError, OSError, MigrateError) as exc:
        ts.problems.append(Problem("target_unusable", str(exc), target.sessions_dir))
        return ts
    _plan_session(ts, plan, target, store, held, {})
    return ts


def _plan_session(ts: TargetSession, plan: Plan, target: OpenClawLayout, store: dict[str, Any],
                  held: HeldSessions, claimed: dict[str, str]) -> None:
    ps = ts.ps
    if ps.action not in ("migrate", "done") or ps.entry is None or ps.final_id is None:
        return
    _convert(ts, plan)
    if ts.entry is None:
        return
    _compare_transcript(ts, target)
    for key in [*ps.keys, *ps.kept_keys]:
        if key in claimed:
            continue
        claimed[key] = ts.session_id
        there = store.get(key)
        there_id = there.get("sessionId") if isinstance(there, dict) else None
        if there is None:
            ts.keys.append(key)
        elif there_id == ts.session_id:
            ts.kept_keys.append(key)
        elif "keep-existing" in ps.decision.fixes:
            ts.kept_keys.append(key)
            ts.notes.append(f"{key!r} keeps its existing entry in OpenClaw's sessions.json "
                            f"(session {there_id!r})")
        elif "replace-existing" in ps.decision.fixes:
            ts.keys.append(key)
            ts.notes.append(f"{key!r} is replaced in OpenClaw's sessions.json (it pointed at "
                            f"{there_id!r}; the old file goes to the backup)")
        else:
            ts.problems.append(problem(
                "key_conflict", f"the key {key!r} already points at session {there_id!r} "
                f"in {target.store}", ps.scan.path or ps.scan.file_name))
    if held.present and "replace-existing" not in ps.decision.fixes:
        planned = {key: ts.session_id for key in ts.keys}
        ts.database = list(conflicts(held, planned))
        if not planned and ts.session_id in held.session_ids and ts.transcript_state != "same":
            ts.database.append(Conflict(ps.keys[0] if ps.keys else "", ts.session_id, "id_taken",
                                        held_key=held.session_ids[ts.session_id]))


def _convert(ts: TargetSession, plan: Plan) -> None:
    ps = ts.ps
    converted = _converted(ts, plan)
    if converted is None:
        return
    summary = ps.scan.summary_for(ps.decision.fixes)
    assert ps.entry is not None
    entry = convert_entry(ps.entry, summary.created_at_ms)
    ts.entry = entry.entry
    data = transcript_bytes(converted)
    ts.transcript_sha256 = fsio.sha256_bytes(data)
    ts.transcript_size = len(data)
    ts.transcript_lines = len(converted.events)
    ts.preview = converted.events[:PREVIEW_EVENTS]
    # created_at has a place here (sessionStartedAt): it is no longer "not carried"
    carried_names = [n for n in ps.not_carried if n != "created_at" or summary.created_at_ms is None]
    ts.not_carried = carried_names + entry.not_carried + converted.not_carried
    ts.notes += entry.notes + converted.notes


def transcript_now(ts: TargetSession, plan: Plan) -> bytes | str:
    """The transcript's bytes, converted again for apply, or why not (the legacy file
    changed since the plan, say)."""
    probe = TargetSession(ts.ps)
    converted = _converted(probe, plan)
    if converted is None:
        return probe.problems[0].message if probe.problems else "cannot be converted"
    data = transcript_bytes(converted)
    if fsio.sha256_bytes(data) != ts.transcript_sha256:
        return "gives another transcript than the plan showed (changed since the scan?); scan again"
    return data


def _converted(ts: TargetSession, plan: Plan) -> ConvertedTranscript | None:
    """The legacy file read (checked against the scan) and converted; None with the problem
    added to ``ts.problems``."""
    ps = ts.ps
    path = os.path.join(plan.scan.sessions_dir, ps.scan.file_name)
    where = ps.scan.path or ps.scan.file_name
    try:
        data = fsio.read_bytes(path)
    except OSError as exc:
        ts.problems.append(problem("unreadable", f"cannot be read: {exc.strerror or exc}", where))
        return None
    ts.source_sha256 = fsio.sha256_bytes(data)
    if ps.scan.sha256 is not None and ts.source_sha256 != ps.scan.sha256:
        ts.problems.append(problem("changed_during_migration", "changed since the scan (is the "
                                   "agent running?); scan again", where))
        return None
    content = read_legacy(data, where, ps.decision.fixes & CONTENT_FIXES)
    try:
        converted = convert_transcript(
            ps.final_id or "", content.messages, created_at=content.created_at,
            updated_at=content.updated_at, provider=content.metadata.get("model_provider"),
            model=content.metadata.get("model"))
    except ValueError as exc:
        ts.problems.append(problem("bad_messages", str(exc), where))
        return None
    bad = not_json(converted.events)
    if bad:
        ts.problems.append(problem("bad_messages", "has values OpenClaw cannot read: "
                                   + ", ".join(bad[:5]), where))
        return None
    return converted


def _compare_transcript(ts: TargetSession, target: OpenClawLayout) -> None:
    path = target.transcript(ts.session_id)
    name = os.path.basename(path)
    st = fsio.lstat_or_none(path)
    if st is None:
        return
    try:
        existing_sha = fsio.sha256_file(path)[1]
    except fsio.NotRegularFile:
        ts.problems.append(Problem("transcript_conflict", f"{path} is not a regular file; it is "
                                   "never written through", ts.ps.scan.path or ts.ps.scan.file_name))
        return
    if existing_sha == ts.transcript_sha256:
        ts.transcript_state = "same"
        return
    fixes = ts.ps.decision.fixes
    if "keep-existing" in fixes:
        ts.transcript_state = "keep"
        ts.notes.append(f"the existing {name} in OpenClaw's folder is kept; this file's messages "
                        "stay in the backup only")
    elif "replace-existing" in fixes:
        ts.transcript_state = "replace"
        ts.old_sha256 = existing_sha
        ts.notes.append(f"the existing {name} in OpenClaw's folder is replaced (it goes to the "
                        "backup first)")
    else:
        ts.problems.append(problem(
            "transcript_conflict", f"{path} already exists with other content "
            f"({st.st_size:,} bytes)", ts.ps.scan.path or ts.ps.scan.file_name))


def next_steps(target: OpenClawLayout, default_state: str) -> list[str]:
    """The commands that take the migrated files into OpenClaw's database."""
    env = "" if os.path.abspath(target.state_dir) == os.path.abspath(default_state) else \
        f"OPENCLAW_STATE_DIR={_quote(target.state_dir)} "
    # the doctor's default is the configured default agent (main); another one is named
    agent = "" if target.agent_id == "main" else f" --session-sqlite-agent {_quote(target.agent_id)}"
    return [f"{env}openclaw doctor --session-sqlite dry-run{agent}",
            f"{env}openclaw doctor --session-sqlite import{agent}"]


def _quote(text: str) -> str:
    import shlex

    return shlex.quote(text)
