"""Planning: the scan plus the user's decisions → exactly what apply will write.

Pure: no I/O.  Every effect of every fix is decided here, so the dry run, the wizard's
diff and apply agree by construction.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from migrate_tui.core import ids
from migrate_tui.engine.legacy import problem
from migrate_tui.engine.model import (
    _HAS_UPDATED,
    _STAT_PARTS,
    MIGRATE,
    ContentSummary,
    Decision,
    EventSink,
    PhaseStarted,
    Plan,
    PlannedSession,
    Problem,
    Progress,
    ScanResult,
    SessionScan,
    Severity,
    Totals,
    lazy_entry,
    no_events,
)

# Problems a content fix, once chosen, resolves (the variant read with it no longer has them).
_DATE_FIXES = ("use-created-at", "use-file-mtime")


PLAN_CHUNK = 2_000  # sessions planned between two progress events


def build_plan(
    scan: ScanResult,
    agent_id: str = "main",
    decisions: Mapping[str, Decision] | None = None,
    *,
    backup: bool = True,
    on_event: EventSink = no_events,
) -> Plan:
    """The plan of ``scan`` with these decisions.  ``on_event`` hears a ``plan`` phase (about
    one second at 200,000 sessions): a caller may stop it by raising from there."""
    decisions = dict(decisions or {})
    sessions = scan.sessions
    total = len(sessions)
    on_event(PhaseStarted("plan", total))
    planned: list[PlannedSession] = []
    undecided = not decisions and not scan.earlier_fixes  # (every decision MIGRATE)
    for start in range(0, total, PLAN_CHUNK):
        if undecided:
            _plan_undecided(sessions[start:start + PLAN_CHUNK], scan, agent_id, planned)
        else:
            planned += [_plan_one(s, _decision_for(s, decisions, scan), scan, agent_id)
                        for s in sessions[start:start + PLAN_CHUNK]]
        on_event(Progress("plan", len(planned), total, sessions[len(planned) - 1].file_name))
    _settle_ids(planned)
    _settle_keys(planned, scan, agent_id)
    for ps in planned:
        if ps._more is not None:  # (not is_plain: a plain session is finished as it is made)
            _finish(ps)
            ps.share_more()
    plan = Plan(scan, agent_id, backup, planned, decisions, _totals(planned), list(scan.warnings))
    if not total:
        on_event(Progress("plan", 0, 0))
    return plan


def with_decision(plan: Plan, file_id: str, decision: Decision) -> Plan:
    """The same plan with one decision changed (``with_decisions`` with one change)."""
    return with_decisions(plan, {file_id: decision})


def with_decisions(plan: Plan, changes: Mapping[str, Decision]) -> Plan:
    """The same plan with these decisions changed (file id → new decision; ``MIGRATE``
    removes a decision): the wizard calls this on every toggle and every bulk decision.

    Each changed session is planned again alone when its change cannot reach another
    session (its old and new ids are its own, counting the changes made before it, and its
    keys do not depend on what others claimed); if any cannot, the whole plan is rebuilt.
    Both give the plan ``build_plan`` gives.  Unchanged sessions are shared with ``plan``,
    so 10,000 changes cost 10,000 sessions planned, whatever the size of the plan (their keys
    are settled together: settling each alone went over every key of session_map.json each
    time, 12 s for 10,000 changes at 50,000 sessions)."""
    decisions = dict(plan.decisions)
    for file_id, decision in changes.items():
        plan.index[file_id]  # an unknown id is a KeyError, as with one decision
        if decision == MIGRATE:
            decisions.pop(file_id, None)
        else:
            decisions[file_id] = decision
    counts = plan.id_counts.copy()
    sessions = list(plan.sessions) if changes else plan.sessions
    replaced: list[tuple[int, PlannedSession, PlannedSession]] = []  # (position, old, new)
    for file_id in changes:
        at = plan.index[file_id]
        old = sessions[at]
        new = _plan_one(old.scan, _decision_for(old.scan, decisions, plan.scan), plan.scan, plan.agent_id)
        local = (
            (old.scan.keys or not _may_use_meta_key(old.scan))
            and (old.final_id is None or counts[old.final_id] == 1)
            and (new.final_id is None or new.final_id == old.final_id or counts[new.final_id] == 0)
        )
        if not local:
            return build_plan(plan.scan, plan.agent_id, decisions, backup=plan.backup)
        if old.final_id is not None:
            counts[old.final_id] -= 1
            if not counts[old.final_id]:
                del counts[old.final_id]
        if new.final_id is not None:
            counts[new.final_id] += 1
        replaced.append((at, old, new))
    replaced.sort(key=lambda item: item[0])  # keys are settled in the plan's order, as build_plan does
    _settle_keys([new for _at, _old, new in replaced], plan.scan, plan.agent_id)
    totals = replace(plan.totals)
    for at, old, new in replaced:
        _finish(new)
        sessions[at] = new
        _count(totals, old, -1)
        _count(totals, new, +1)
    updated = Plan(plan.scan, plan.agent_id, plan.backup, sessions, decisions, totals, plan.warnings)
    updated.__dict__["index"] = plan.index
    updated.__dict__["id_counts"] = counts
    return updated


def _may_use_meta_key(s: SessionScan) -> bool:
    return any(summary.meta_key for summary in [s.content, *s.variants.values()])


def _decision_for(s: SessionScan, decisions: Mapping[str, Decision], scan: ScanResult) -> Decision:
    """The user's decision; else the fixes an earlier run migrated this very file with."""
    decision = decisions.get(s.file_id)
    if decision is not None:
        return decision
    earlier = scan.earlier_fixes.get(s.file_name)
    return Decision(fixes=earlier) if earlier else MIGRATE


# ---------------------------------------------------------------- one session


def _plan_plain(s: SessionScan, decision: Decision) -> PlannedSession | None:
    """The common case (no fix chosen, nothing wrong with the file, its id its file name,
    no transcript there yet) planned directly; None for anything else.  It gives what the
    general way below gives, in about half the time (200,000 sessions are planned after the
    scan before the plan can be shown)."""
    summary = s.content
    fid = s.file_id
    cid = summary.content_id
    updated = summary.updated_at_ms
    if s._odd is None and summary._rare is None:
        # (most sessions) nothing unusual held: no file problem, no content problem, no
        # transcript there: what is left of the checks below
        if (decision.fixes or updated is None or not summary.readable
                or (cid is not fid and cid != fid and isinstance(cid, str)) or not ids.is_safe_id(fid)):
            return None
        return PlannedSession.plain(s, decision, "skip" if decision.skip else "migrate", updated)
    if (decision.fixes or s.file_problems or not summary.readable or updated is None
            or summary.transcripts or (cid != fid and isinstance(cid, str)) or not ids.is_safe_id(fid)):
        return None
    for p in summary.problems:
        if p.severity is Severity.PROBLEM:
            return None
    # the entry ({"session_id", "updated_at", "session_file"} + the metadata carried) is
    # made from these when asked for; the sequences are the scan's own (tuples)
    # (``PlannedSession.plain``: 64 bytes, everything else read from the scan)
    return PlannedSession.plain(s, decision, "skip" if decision.skip else "migrate", updated)


_new_planned = object.__new__  # (PlannedSession's own: its slots are all set below)


def _plan_undecided(sessions: list[SessionScan], scan: ScanResult, agent_id: str,
                    planned: list[PlannedSession]) -> None:
    """``_plan_one(s, MIGRATE, ...)`` of each session, appended to ``planned``: the most
    common of them (nothing unusual held, a date, readable, its id its file name's and
    safe: ``_plan_plain``'s first way) made here as ``PlannedSession.plain`` makes it,
    without four calls a session (200,000 sessions are planned after the scan, before the
    plan can be shown or the report printed)."""
    add, safe, kind = planned.append, ids.is_safe_id, PlannedSession
    for s in sessions:
        summary = s.content
        if s._odd is None and summary._rare is None:
            fid = s.file_id
            cid = summary.content_id
            fields = summary._fields  # (packed: its first byte says if updated_at is there)
            if ((fields[0] & _HAS_UPDATED if type(fields) is bytes
                 else type(summary.updated_at_ms) is int) and summary._count & 1  # (readable)
                    and (cid is fid or cid == fid or not isinstance(cid, str)) and safe(fid)):
                ps = _new_planned(kind)
                ps.scan = s
                ps.decision = MIGRATE
                ps.action = "migrate"
                ps._more = None
                add(ps)
                continue
        add(_plan_one(s, MIGRATE, scan, agent_id))


def _plan_one(s: SessionScan, decision: Decision, scan: ScanResult, agent_id: str) -> PlannedSession:
    plain = _plan_plain(s, decision)
    if plain is not None:
        return plain
    ps = PlannedSession(scan=s, decision=decision, action="migrate")
    if s.file_problems:
        ps.open_problems = list(s.file_problems)
        ps.action = "skip" if decision.skip else "blocked"
        return ps
    summary = s.summary_for(decision.fixes)
    ps.message_count = summary.message_count
    ps.not_carried = summary.not_carried
    open_problems = [p for p in summary.problems if p.severity is Severity.PROBLEM]
    notes = _content_notes(s, decision.fixes, summary)

    # the date
    updated = summary.updated_at_ms
    if updated is None and summary.readable:
        open_problems = [p for p in open_problems if p.code != "bad_updated_at"]
        mtime_ms = s.mtime_ns // 1_000_000
        if "use-created-at" in decision.fixes and summary.created_at_ms is not None:
            updated = summary.created_at_ms
            notes.append("updated_at is taken from created_at")
        elif "use-file-mtime" in decision.fixes or (
                "use-created-at" in decision.fixes and summary.created_at_ms is None):
            updated = mtime_ms
            notes.append("updated_at is taken from the file's modification time")
        elif "salvage" in decision.fixes:
            if summary.created_at_ms is not None:
                updated = summary.created_at_ms
                notes.append("the salvaged file has no updated_at: created_at is used instead")
            else:
                updated = mtime_ms
                notes.append("the salvaged file has no updated_at or created_at: the file's "
                             "modification time is used instead")
        else:
            bad = next(p for p in summary.problems if p.code == "bad_updated_at")
            open_problems.append(bad)

    # the id
    final_id = None
    if summary.readable:
        final_id, id_problems, id_notes = _choose_id(s, summary, decision)
        open_problems += id_problems
        notes += id_notes

    ps.final_id = final_id
    ps.open_problems = open_problems
    ps.notes = notes
    if final_id is not None and updated is not None:
        ps.entry = lazy_entry(updated)  # made from final_id, updated and the metadata when asked for
        _plan_transcript(ps, summary, decision)
    if decision.skip:
        ps.action = "skip"
    ps.share_more()  # (its values held in a shared tuple where they can be)
    return ps


def _content_notes(s: SessionScan, fixes: frozenset[str], summary: ContentSummary) -> list[str]:
    notes = []
    if "salvage" in fixes and summary.salvage_count is not None:
        missing = ", ".join(summary.salvage_missing) or "nothing"
        notes.append(f"salvage keeps {summary.salvage_count} complete message(s) before the "
                     f"damage; lost with the damage: {missing}")
    if "replace-bytes" in fixes and s.content.replaced_bytes:
        notes.append(f"{s.content.replaced_bytes} byte(s) that are not UTF-8 become U+FFFD")
    if "drop-bad-messages" in fixes:
        bad = s.summary_for(fixes - {"drop-bad-messages"}).bad_messages
        notes.append(f"{len(bad)} message(s) without a role are dropped (they stay in the backup)")
    return notes


def _choose_id(s: SessionScan, summary: ContentSummary, decision: Decision
               ) -> tuple[str | None, list[Problem], list[str]]:
    problems: list[Problem] = []
    notes: list[str] = []
    fid, cid = s.file_id, summary.content_id
    chosen: str | None = fid
    if isinstance(cid, str) and cid != fid:
        if "use-filename" in decision.fixes:
            notes.append(f"the id is taken from the file name ({ids.display(fid)!r}), "
                         f"not from the content ({ids.display(cid)!r})")
        elif "use-content" in decision.fixes:
            chosen = cid
            notes.append(f"the id is taken from the content ({ids.display(cid)!r}), "
                         f"not from the file name ({ids.display(fid)!r})")
        else:
            problems.append(problem(
                "id_mismatch", f"the file name says the session id is {ids.display(fid)!r}, "
                f"the content says {ids.display(cid)!r}", _path(s)))
            return None, problems, notes
    assert chosen is not None
    if not ids.is_safe_id(chosen):
        renamed = ids.rename_id(chosen, fid)
        if "rename" in decision.fixes:
            notes.append(f"the unsafe id {ids.display(chosen)!r} is renamed {renamed!r}")
            return renamed, problems, notes
        problems.append(problem(
            "unsafe_id", f"the session id {ids.display(chosen)!r} cannot name a file: "
            f"{ids.why_unsafe(chosen)} (rename would make it {renamed!r})", _path(s)))
        return None, problems, notes
    return chosen, problems, notes


def _path(s: SessionScan) -> str:
    return s.path or ids.display(s.file_name)


def _plan_transcript(ps: PlannedSession, summary: ContentSummary, decision: Decision) -> None:
    check = summary.transcripts.get(ps.final_id or "")
    if check is None:
        ps.transcript = "write"
        return
    if check.state in ("same", "extended"):
        ps.transcript = check.state
        return
    name = f"{ps.final_id}.jsonl"
    if check.state == "not_regular":
        _add(ps, "open_problems", _no_fixes(problem(
            "transcript_conflict", f"{name} exists and is not a regular file; it is never "
            "written through", _path(ps.scan))))
        return
    if "keep-existing" in decision.fixes:
        ps.transcript = "keep-existing"
        _add(ps, "notes", f"the existing {name} is kept; this file's messages stay in the backup only")
    elif "replace-existing" in decision.fixes:
        ps.transcript = "replace-existing"
        _add(ps, "notes", f"the existing {name} is replaced (it goes to the backup first)")
    else:
        _add(ps, "open_problems", problem(
            "transcript_conflict", f"{name} already exists with other content "
            f"({check.size:,} bytes)", _path(ps.scan)))


def _add(ps: PlannedSession, name: str, item: Any) -> None:
    """Append to one of ``ps``'s sequences (a tuple, maybe the shared empty one: a new tuple
    is made, so nothing is ever added to a sequence another session holds)."""
    setattr(ps, name, (*getattr(ps, name), item))


def _no_fixes(p: Problem) -> Problem:
    return Problem(p.code, p.message, p.file, p.severity, p.line, p.column, (), p.excerpt)


# ---------------------------------------------------------------- across sessions


def _settle_ids(planned: list[PlannedSession]) -> None:
    """Two files must not become one transcript: a second file with the same final id
    needs ``rename`` (it keeps the first come, in file name order)."""
    owners: dict[str, PlannedSession] = {}
    for ps in planned:
        if ps.action == "skip":
            continue
        # (a plain session's final id is its file id: read without a property call)
        final_id = ps.scan.file_id if ps._more is None else ps.final_id
        if final_id is None:
            continue
        first = owners.setdefault(final_id, ps)
        if first is ps:
            continue
        if "rename" in ps.decision.fixes:
            new_id = ids.rename_id(final_id, ps.file_id)
            _add(ps, "notes", f"the id {final_id!r} is taken by {first.scan.file_name}; "
                 f"renamed {new_id!r}")
            ps.final_id = new_id  # the entry (made when asked for) follows
            ps.transcript = "write"
            owners[new_id] = ps
        else:
            _add(ps, "open_problems", problem(
                "duplicate_id", f"{first.scan.file_name} has the same session id "
                f"{ps.final_id!r}", _path(ps.scan)))


def _settle_keys(planned: list[PlannedSession], scan: ScanResult, agent_id: str) -> None:
    existing = scan.store_entries
    claimed: set[str] = set(scan.session_map)
    for ps in planned:
        if ps._more is None:  # (is_plain)
            # most sessions: their keys (none in sessions.json yet) are what they are
            # written under, with nothing to note (what _settle_keys_of finds for them)
            held = ps.scan._keys  # (SessionScan.keys: one key held as its string)
            if type(held) is str:
                if held not in existing:
                    claimed.add(held)
                    continue
            elif held and not any(key in existing for key in held):
                claimed.update(held)
                continue
        if not ps.has_entry:
            continue
        new_keys: list[str] = []
        kept: list[str] = list(ps.kept_keys)
        notes: list[str] = list(ps.notes)
        problems: list[Problem] = list(ps.open_problems)
        try:
            _settle_keys_of(ps, scan, agent_id, existing, claimed, new_keys, kept, notes, problems)
        finally:
            # the sequences the session holds: tuples, the scan's own keys when they are the
            # same; set only when they change (an ordinary session then stays ``plain``)
            scan_keys = ps.scan.keys
            if new_keys != list(ps.keys):
                ps.keys = scan_keys if new_keys == list(scan_keys) else tuple(new_keys)
            if kept != list(ps.kept_keys):
                ps.kept_keys = tuple(kept)
            if notes != list(ps.notes):
                ps.notes = tuple(notes)
            if problems != list(ps.open_problems):
                ps.open_problems = tuple(problems)
        ps.share_more()


def _settle_keys_of(ps: PlannedSession, scan: ScanResult, agent_id: str,
                    existing: Mapping[str, Any], claimed: set[str], new_keys: list[str],
                    kept: list[str], notes: list[str], problems: list[Problem]) -> None:
    keys = list(ps.scan.keys)
    summary = ps.scan.summary_for(ps.decision.fixes)
    if not keys and ps.transcript in ("same", "extended"):
        # migrated already (by an earlier run, perhaps with another --agent-id): the
        # entries that reach it are kept, and no second key is made for it
        reaching = _keys_reaching(scan, ps.final_id or "")
        if reaching:
            claimed.update(reaching)
            kept += reaching
            notes.append(f"already migrated: reachable as {reaching[0]!r}; no other key is "
                         "made for it")
            return
    if not keys:
        meta = summary.meta_key
        if meta and meta not in claimed and _free_for(existing, meta, ps.final_id):
            keys = [meta]
            notes.append(f"no key points at this session: metadata.session_key {meta!r} is used")
        else:
            fallback = ids.fallback_key(agent_id, ps.final_id or "")
            if fallback in claimed:
                # another session's key (rule 1): never taken over, not even by this rule
                owner = scan.session_map.get(fallback)
                whose = f"session {owner!r} (session_map.json)" if owner else "another session"
                problems.append(_no_fixes(problem(
                    "key_conflict", f"no key points at this session, and the key it would "
                    f"get, {fallback!r}, already belongs to {whose}; add a key for it to "
                    "session_map.json, or skip it", _path(ps.scan))))
                return
            keys = [fallback]
            why = " (its metadata.session_key is taken)" if meta else ""
            notes.append(f"no key points at this session: it gets {fallback!r}{why}")
    for key in keys:
        claimed.add(key)
        current = existing.get(key)
        if current is None:
            new_keys.append(key)
        elif current.get("session_id") == ps.final_id:
            kept.append(key)
        elif "keep-existing" in ps.decision.fixes:
            kept.append(key)
            notes.append(f"{key!r} keeps its existing entry (session "
                         f"{current.get('session_id')!r})")
        elif "replace-existing" in ps.decision.fixes:
            new_keys.append(key)
            notes.append(f"{key!r} is replaced (it pointed at session "
                         f"{current.get('session_id')!r}; the old sessions.json goes to the backup)")
        else:
            problems.append(problem(
                "key_conflict", f"the key {key!r} already points at session "
                f"{current.get('session_id')!r} in sessions.json", _path(ps.scan)))
    reachable = new_keys or any(
        existing.get(k, {}).get("session_id") == ps.final_id for k in kept)
    if not reachable and not problems:
        fallback = ids.fallback_key(agent_id, ps.final_id or "")
        if _free_for(existing, fallback, ps.final_id) and fallback not in keys \
                and fallback not in claimed:
            new_keys.append(fallback)
            notes.append(f"all its keys keep their existing entries: it is reachable as {fallback!r}")


def _keys_reaching(scan: ScanResult, session_id: str) -> list[str]:
    """The keys of the existing sessions.json whose entry points at ``session_id`` and its
    transcript (indexed once per scan)."""
    index = scan.store_keys_by_id
    if index is None:
        index = {}
        for key, entry in scan.store_entries.items():
            sid = entry.get("session_id")
            if isinstance(sid, str) and entry.get("session_file") == f"{sid}.jsonl":
                index.setdefault(sid, []).append(key)
        scan.store_keys_by_id = index
    return list(index.get(session_id, ()))


def _free_for(existing: Mapping[str, Any], key: str, session_id: str | None) -> bool:
    current = existing.get(key)
    return current is None or current.get("session_id") == session_id


def _finish(ps: PlannedSession) -> None:
    """The session's action once its ids and keys are settled.  (Nothing to do for a plain
    session: its sequences are tuples, its action "skip" or "migrate" as made, and nothing
    here would change that: no open problem, an entry, a new transcript.)"""
    # the sequences held as tuples (the shared empty one when there is nothing), as
    # _settle_keys leaves those it settles
    for name in ("open_problems", "notes"):
        held = getattr(ps, name)
        if type(held) is not tuple:
            setattr(ps, name, tuple(held))
    if ps.action == "skip":
        return
    if ps.open_problems or not ps.has_entry:
        ps.action = "blocked"
        return
    if ps.transcript in ("same", "extended", "keep-existing") and not ps.keys:
        ps.action = "done"
        return
    ps.action = "migrate"


def _totals(planned: list[PlannedSession]) -> Totals:
    t = Totals(found=len(planned))
    # a plain session ("migrate" or "skip", no fix, every value the scan's) counted here,
    # as _count counts it, without its properties; any other by _count
    to_migrate = messages = size = skipped = warned = 0
    warning = Severity.WARNING
    unpack_stat = _STAT_PARTS.unpack_from
    for ps in planned:
        if ps._more is not None or ps.decision.fixes or ps.action not in ("migrate", "skip"):
            _count(t, ps, +1)
            continue
        scan = ps.scan
        content = scan.content
        if ps.action == "migrate":
            to_migrate += 1
            messages += content._count >> 1  # (message_count)
            low, middle, high, _ = unpack_stat(scan._stat)  # (size)
            size += low | middle << 32 | high << 48
        else:
            skipped += 1
        if content._rare is None:  # (no problem: most sessions)
            continue
        problems = content.problems  # (summary_for(no fix))
        if problems and any(p.severity is warning for p in problems):
            warned += 1
    t.to_migrate += to_migrate
    t.messages += messages
    t.bytes += size
    t.skipped += skipped
    t.warnings += warned
    return t


def _count(t: Totals, ps: PlannedSession, sign: int) -> None:
    if ps.action == "migrate":
        t.to_migrate += sign
        t.messages += sign * ps.message_count
        t.bytes += sign * ps.scan.size
        if ps.decision.fixes:
            t.fixed += sign
    elif ps.action == "skip":
        t.skipped += sign
    elif ps.action == "blocked":
        t.blocked += sign
    elif ps.action == "done":
        t.done += sign
    problems = ps.scan.summary_for(ps.decision.fixes).problems
    if problems and any(p.severity is Severity.WARNING for p in problems):
        t.warnings += sign
