"""Verify: does the migration's promise hold, long after the fact?  Writes nothing.

It holds when:

* every legacy session is migrated and matching — its transcript holds exactly its
  messages (or those, continued by the agent), and every key ``session_map.json`` gives it
  is in ``sessions.json`` pointing at it (a session no key points to: some entry does) — or
  the latest finished migration reported it as skipped or as a problem, with these bytes;
* no source changed since its migration;
* an original cleaned up since is still matched by its transcript (rebuilt from the
  backup copy);
* no entry of ``sessions.json`` points at a missing transcript (entries that were there,
  as they are, before the first migration are only noted);
* no run is interrupted, and the records in the backup folder are whole.

The legacy files are read by a scan, and compared by the plan of a migration run now: a
session the plan would find nothing to do for is migrated.  Another migrate-tui command
changing the workspace meanwhile is not read through: ``OperationBusy`` (exit code 3).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

from migrate_tui.core import fsio, heap, jsonio
from migrate_tui.core.errors import OperationBusy
from migrate_tui.core.layout import STORE, Layout, open_layout
from migrate_tui.core.object_members import MemberIndex, ObjectMembers, thinning_at_split
from migrate_tui.engine import backup, journal
from migrate_tui.engine.legacy import read_legacy, transcript_lines
from migrate_tui.engine.model import (
    CONTENT_FIXES,
    CancelFlag,
    EventSink,
    PhaseStarted,
    PlannedSession,
    Progress,
    ScanResult,
    no_events,
)
from migrate_tui.engine.oplock import operation_holder, refuse_if_busy
from migrate_tui.engine.state import Outcome, WorkspaceState, workspace_state
from migrate_tui.engine.targets.openclaw_check import read_target, target_dir
from migrate_tui.engine.transcript_compare import lines_of, same_start
from migrate_tui.engine.transcript_encoding import transcript_pieces
from migrate_tui.engine.verify_records import Compactor

PHASE = "verify"


@dataclass
class VerifyResult:
    workspace: str
    ok: bool = True
    checked: int = 0
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    interrupted: list[str] = field(default_factory=list)
    cancelled: bool = False

    def to_json(self) -> dict[str, Any]:
        return {"status": "ok" if self.ok else "different", "workspace": self.workspace,
                "checked": self.checked, "problems": self.problems, "notes": self.notes,
                "interrupted": self.interrupted}


def verify_workspace(workspace: str, *, on_event: EventSink = no_events,
                     cancel: CancelFlag | None = None, workers: bool = False) -> VerifyResult:
    """Check the whole promise (see the module's docstring).  Raises WorkspaceError
    (unusable) and OperationBusy (another command of ours is changing the workspace)."""
    layout = open_layout(workspace)
    result = VerifyResult(layout.workspace)
    with fsio.anchored(layout.sessions_dir) as present:
        if not present:
            result.notes.append("there is no .sessions folder: nothing to verify")
            return result
        refuse_if_busy(layout, "what it is changing cannot be read consistently now")
        before = journal.stamp(layout)
        _verify(layout, result, on_event, cancel, workers)
        if operation_holder(layout) is not None or journal.stamp(layout) != before:
            raise OperationBusy(f"another migrate-tui command changed {layout.workspace} while it "
                                "was verified; verify again when it has finished")
    result.ok = not result.problems and not result.cancelled
    return result


def _verify(layout: Layout, result: VerifyResult, on_event: EventSink, cancel: CancelFlag | None,
            workers: bool) -> None:
    from migrate_tui.engine.plan import build_plan
    from migrate_tui.engine.scan import scan_workspace

    # the journal is read (lean: its keys and commit records a member at a time, never
    # parsed whole) by the scan at its end, once its workers are gone, and found read by the
    # state below.  Read before the scan, it was held by the process the workers are forked
    # from: its pages, counted in the tree's memory through the scan (D, 100,000 sessions:
    # this process at the fork 150 -> 128 MB, the tree's peak at the end of the scan
    # 221 -> 203 MB, sampled)
    # each record's transcript check held small as the scan gathers it (verify_records.py:
    # 0.5 KB a session less; D, 100,000 sessions: this process's peak 254 -> 217 MB), and
    # sessions.json held thinned from its reading on, read a piece at a time (the entries
    # whose transcript the folder does not list kept whole, for _check_entries, the scan's
    # _read_store; else, read whole, its whole text compressed): at 100,000 sessions, 47 MB
    # of text held through the scan (and shared with its workers), 17 MB so
    # The journal's outcomes hold each file's id as the scan's own string from their
    # reading on (journal.sharing_ids; D: this process at the end of the plan 191 -> 181 MB)
    compactor = Compactor()
    with thinning_at_split(_READ_OF_AN_ENTRY), journal.sharing_ids(compactor.ids):
        scan = scan_workspace(layout.workspace, each=compactor.compact, on_event=on_event,
                              cancel=cancel, workers=workers)
    own = compactor.ids  # the scan's id strings, by id
    del compactor
    listed = _transcript_ids(scan, own)
    state = workspace_state(layout)
    result.problems += [str(d) for d in state.damage]
    if state.backup_unusable:
        result.problems.append(state.backup_unusable)
    for run in state.interrupted:
        result.interrupted.append(run.run)
        what = "clean-up again to finish it" if run.command == "cleanup" else "migrate to finish it"
        result.problems.append(f"the {run.describe()} did not finish (interrupted): run {what}, "
                               "or rollback to undo it")
    if cancel is not None and cancel.is_set():
        result.cancelled = True
        return
    outcomes = state.outcomes()  # their ids the scan's strings (read in sharing_ids, above)
    del own
    folder = target_dir(state)
    openclaw = folder is not None and scan.fatal is None
    # the entries of sessions.json pointing at a missing transcript, found now and said last
    # (as when they were looked for last): from here on only each entry's session id and
    # file are read, and sessions.json is held as those alone (_READ_OF_AN_ENTRY)
    entries = VerifyResult(layout.workspace)
    if not openclaw and scan.fatal is None:
        _check_entries(layout, state, scan.store_entries, listed, entries)
    del listed
    _thin_store(scan)
    pointing = _index_pointing(scan)
    # what the scan freed in the C heap given back before the plan (core/heap.py: D,
    # 100,000 sessions: 30 MB of holes; this process at the end of the plan 211 -> 189 MB)
    heap.give_back()
    if openclaw:
        assert folder is not None
        _verify_openclaw(state, folder, build_plan(scan).sessions, outcomes, result, on_event)
        return
    if scan.fatal is not None:
        result.problems.append(str(scan.fatal))
        store: Mapping[str, Any] = {}
        plan_sessions: list[PlannedSession] = []
    else:
        store = scan.store_entries
        plan_sessions = build_plan(scan).sessions
        scan.store_keys_by_id = None  # the plan's index of sessions.json: not needed from here
    if not state.journal.history and not plan_sessions:
        result.notes.append("no migration is recorded here, and there is no legacy session")
    on_event(PhaseStarted(PHASE, len(plan_sessions)))
    present = _Present()
    owned: set[str] = set()  # the session_map keys of the sessions present
    fixes = _Fixes(state)
    encoder = jsonio.LineEncoder()
    total = len(plan_sessions)
    for n in range(total):
        ps = plan_sessions[n]
        plan_sessions[n] = None  # type: ignore[call-overload]  # checked: let it go, and its
        if scan.sessions[n] is ps.scan:  # scan (the plan's n-th session is the scan's n-th)
            scan.sessions[n] = None  # type: ignore[call-overload]
        present.add(ps.scan.file_id, ps.scan.file_name)
        owned.update(ps.scan.keys)
        if _check_session(ps, outcomes.get(ps.scan.file_name), result):
            # migrated, yet not in place: say where the transcript differs, if it does
            outcome = outcomes[ps.scan.file_name]
            assert outcome.session_id is not None and outcome.sha256 is not None
            _check_transcript(layout, state, f"{outcome.session_id}.jsonl", ps.scan.file_name,
                              outcome.sha256, fixes.get(ps.scan.file_name, ps.decision.fixes),
                              encoder, result)
        on_event(Progress(PHASE, n + 1, total, ps.scan.file_id))
    plan_sessions = []
    session_map = scan.session_map
    scan.sessions = []  # what follows needs no session's scan: they go before it
    # and what they held in the C heap is given back before the journal's keys are read
    # (_check_keys: its biggest records read a member at a time; D, 100,000 sessions: this
    # process's peak was there, over the holes the records left)
    heap.give_back()
    _check_cleaned_up(layout, state, outcomes, present, store, pointing, fixes, result)
    if scan.fatal is None:  # else what sessions.json says cannot be known
        _check_keys(state, store, session_map, owned, outcomes, result)
        result.problems += entries.problems
        result.notes += entries.notes


# What the plan (plan._settle_keys_of, _free_for, _keys_reaching) and the checks after it
# (_check_keys, _check_cleaned_up) read of an entry of sessions.json.  Should the plan read
# more of an existing entry, add it here.
_READ_OF_AN_ENTRY = ("session_id", "session_file")


def _thin_store(scan: ScanResult) -> None:
    """sessions.json, once its entries are checked (_check_entries), held as the members
    of each entry read from then on: at 100,000 sessions its text is 47 MB, 12 MB thinned,
    held through the plan (verify's peak)."""
    store = scan.store_entries
    if isinstance(store, ObjectMembers):
        if store.is_thinned_at_split():  # thinned as it was read (_verify): the whole goes
            store.drop_whole()
        else:
            scan.store_entries = store.thinned(_READ_OF_AN_ENTRY)


def _pointed_id(entry: Any) -> str | None:
    """The session id an entry of sessions.json points at, with its transcript; else None."""
    if isinstance(entry, dict):
        sid = entry.get("session_id")
        if isinstance(sid, str) and entry.get("session_file") == f"{sid}.jsonl":
            return sid
    return None


def _index_pointing(scan: ScanResult) -> MemberIndex | None:
    """The keys of sessions.json by the session id their entry points at (``_pointed_id``),
    held compactly (``MemberIndex``), given to the plan as its index of them: made by the
    plan, a dict of each entry's key and id as strings, it was 30 MB at 100,000 sessions,
    held through verify's peak (the end of the plan).  None when sessions.json is not held
    as its members (not there, or not read: nothing to index)."""
    store = scan.store_entries
    if not isinstance(store, ObjectMembers):
        return None
    index = MemberIndex(store, _pointed_id)
    if scan.store_keys_by_id is None:  # the plan looks the keys up in it as in its own dict
        scan.store_keys_by_id = index  # type: ignore[assignment]
    return index


def _transcript_ids(scan: ScanResult, own: Mapping[str, str] | None = None) -> frozenset[str]:
    """The ids of the transcripts the scan found in the folder, held as a set of the scan's
    own strings where a legacy file has that id (the scan's dict of them goes: with its
    sizes and its strings of their own, 12 MB at 100,000 sessions, held through the plan)."""
    if own is None:
        own = {s.file_id: s.file_id for s in scan.sessions}
    ids = frozenset([own.get(sid, sid) for sid in scan.transcripts])
    scan.transcripts = {}
    return ids


def _verify_openclaw(state: WorkspaceState, folder: str, plan_sessions: list[PlannedSession],
                     outcomes: Mapping[str, Outcome], result: VerifyResult, on_event: EventSink) -> None:
    """The latest migration went to OpenClaw's folder: each session is checked there (or
    in OpenClaw's database, once imported)."""
    view = read_target(state, folder)
    result.problems += [p for p in (view.store_problem, view.database_problem) if p]
    result.notes.append(f"the latest migration went to OpenClaw's folder {folder}")
    on_event(PhaseStarted(PHASE, len(plan_sessions)))
    for n, ps in enumerate(plan_sessions, 1):
        name = ps.scan.file_name
        outcome = outcomes.get(name)
        if outcome is not None and outcome.sha256 != ps.scan.sha256:
            result.problems.append(f"{name} changed since the migration saw it: run migrate again")
        elif outcome is not None and outcome.session_id is None:
            why = "skipped" if outcome.why == "skip" else f"a problem: {outcome.why}"
            result.notes.append(f"{name} was not migrated ({why}), as the migration reported")
        elif outcome is None:
            result.problems.append(f"{name} is not migrated")
        else:
            result.checked += 1
            sid = outcome.session_id
            assert sid is not None
            missing = view.why_not_in_place(sid)
            if missing is not None:
                result.problems.append(f"{name} (migrated as {sid}): {missing}")
            elif view.imported(sid):
                result.notes.append(f"{name}: imported into OpenClaw's database")
        on_event(Progress(PHASE, n, len(plan_sessions), ps.scan.file_id))


# ---------------------------------------------------------------- the legacy sessions


class _Present:
    """The names of the legacy files the scan found, held as their ids (the scan's own
    strings: 100,000 names would be 9 MB more)."""

    def __init__(self) -> None:
        self._ids: set[str] = set()
        self._names: set[str] = set()  # the few whose name is not their id + ".json"

    def add(self, file_id: str, name: str) -> None:
        if len(name) == len(file_id) + 5 and name.endswith(".json") and name.startswith(file_id):
            self._ids.add(file_id)
        else:
            self._names.add(name)

    def __contains__(self, name: str) -> bool:
        return name in self._names or (name.endswith(".json") and name[:-5] in self._ids)


class _Fixes:
    """The fixes each source was last migrated with, read from the journal the first time
    one is asked for (a workspace in order never asks)."""

    def __init__(self, state: WorkspaceState) -> None:
        self._state = state
        self._by_source: dict[str, frozenset[str]] | None = None

    def get(self, source: str, default: frozenset[str]) -> frozenset[str]:
        if self._by_source is None:
            self._by_source = {}
            none: frozenset[str] = frozenset()
            for record in self._state.journal.iter_records(("create", "replace")):
                if record.get("source"):
                    self._by_source[record["source"]] = frozenset(record["fixes"]) \
                        if record.get("fixes") else none
        return self._by_source.get(source, default)


def _check_session(ps: PlannedSession, outcome: Outcome | None, result: VerifyResult) -> bool:
    """Check one legacy session as the plan sees it; True when it was migrated but is not
    in place any more (the caller then compares its transcript line by line)."""
    name = ps.scan.file_name
    if outcome is not None and outcome.sha256 != ps.scan.sha256:
        result.problems.append(f"{name} changed since the migration saw it: run migrate again")
        return False
    if ps.action == "done":
        result.checked += 1
        if ps.transcript == "keep-existing":
            result.notes.append(f"{name}: the existing {ps.final_id}.jsonl was kept, as decided; "
                                "this file's messages are in the backup only")
        elif ps.transcript == "extended":
            result.notes.append(f"{ps.final_id}.jsonl: continued by the agent since the migration")
        return False
    if outcome is not None and outcome.session_id is None:  # decided then, with these bytes
        why = "skipped" if outcome.why == "skip" else f"a problem: {outcome.why}"
        result.notes.append(f"{name} was not migrated ({why}), as the migration reported")
        return False
    if outcome is None or outcome.session_id is None:
        what = "is not migrated"
        if ps.action == "blocked" and ps.open_problems:
            what += f" ({ps.open_problems[0].code}: {ps.open_problems[0].message})"
        elif ps.action == "skip":
            what += " (and no migration reported it as skipped)"
        result.problems.append(f"{name} {what}")
        return False
    sid = outcome.session_id
    result.checked += 1
    reported = len(result.problems)
    missing_keys = [k for k in ps.keys if k in ps.scan.keys] or ps.keys
    if missing_keys:
        result.problems.append(f"{name} (migrated as {sid}): sessions.json has no entry "
                               f"{missing_keys[0]!r} pointing at it")
    others = [p for p in ps.open_problems if p.code != "transcript_conflict"]
    for problem in others:
        result.problems.append(f"{name} (migrated as {sid}): {problem.message}")
    if ps.final_id == sid and ps.transcript not in ("same", "extended", "keep-existing"):
        return True  # the transcript is missing or differs: the caller says where
    if len(result.problems) == reported:
        result.problems.append(f"{name} (migrated as {sid}) is not in place")
    return False


# ---------------------------------------------------------------- cleaned up


def _check_cleaned_up(layout: Layout, state: WorkspaceState, outcomes: Mapping[str, Outcome],
                      present: _Present, store: Mapping[str, Any], pointing: MemberIndex | None,
                      fixes: _Fixes, result: VerifyResult) -> None:
    """A migrated original that is gone: its transcript is checked against its backup copy
    (``pointing``: the keys of ``store`` by the id they point at, when made)."""
    deleted: set[str] | None = None  # the originals clean-ups removed, read once when needed
    encoder = jsonio.LineEncoder()
    pointed: set[str] | None = None  # the ids some entry points at, found once when needed
    for name in outcomes:
        if name in present:
            continue
        outcome = outcomes[name]
        if outcome.session_id is None or outcome.sha256 is None:
            continue
        if fsio.lstat_or_none(layout.in_sessions(name)) is not None:
            continue  # there, but not a session the scan could read: reported by the plan
        result.checked += 1
        sid = outcome.session_id
        if deleted is None:
            deleted = {r["file"] for r in state.journal.iter_records(("delete",))}
        if name not in deleted:
            result.notes.append(f"{name} is gone, but no clean-up removed it; its backup copy "
                                "is checked instead")
        _check_transcript(layout, state, f"{sid}.jsonl", name, outcome.sha256,
                          fixes.get(name, frozenset()), encoder, result)
        if pointing is not None:
            if pointing.get(sid) is not None:
                continue
        else:
            if pointed is None:  # one pass over the store, not one per session (quadratic)
                pointed = {e["session_id"] for e in store.values() if _pointed_id(e) is not None}
            if sid in pointed:
                continue
        result.problems.append(f"no entry of sessions.json points at {sid} (migrated from {name}, "
                               "cleaned up since)")


def _source_bytes(layout: Layout, state: WorkspaceState, name: str, sha: str) -> bytes | None:
    path = layout.in_sessions(name)
    try:
        if fsio.lstat_or_none(path) is not None:
            data = fsio.read_bytes(path)
            if fsio.sha256_bytes(data) == sha:
                return data
    except OSError:
        pass
    manifest = state.manifest
    copy = manifest.find(name, sha)
    if copy is None or backup.check_copy(layout, manifest, copy):
        return None
    try:
        return fsio.read_bytes(layout.in_backup(copy))
    except OSError:
        return None


def _check_transcript(layout: Layout, state: WorkspaceState, name: str, source_name: str,
                      source_sha: str, fixes: frozenset[str], encoder: jsonio.LineEncoder,
                      result: VerifyResult) -> None:
    path = layout.in_sessions(name)
    if fsio.lstat_or_none(path) is None:
        result.problems.append(f"{name} is missing (it was written from {source_name})")
        return
    source = _source_bytes(layout, state, source_name, source_sha)
    if source is None:
        result.problems.append(f"{name}: its source {source_name} (as migrated) is neither in "
                               "place nor in the backup")
        return
    fixes = fixes & CONTENT_FIXES
    try:
        same = same_start(path, transcript_pieces(source, source_name, fixes))
    except jsonio.NotExact:  # the piece-by-piece reading gave way: compared whole below
        same = None
    except OSError as exc:
        result.problems.append(f"{name} cannot be read: {exc.strerror or exc}")
        return
    if same is not None:
        expected_size, size = same
        if expected_size != size:
            result.notes.append(f"{name}: continued by the agent since the migration "
                                f"({size - expected_size:,} bytes more)")
        return
    content = read_legacy(source, source_name, fixes)
    del source  # the parse is held from here, not the bytes too
    lines = transcript_lines(content.messages)
    del content
    try:
        _compare_lines(path, name, source_name, lines, encoder, result)
    except OSError as exc:
        result.problems.append(f"{name} cannot be read: {exc.strerror or exc}")


def _compare_lines(path: str, name: str, source_name: str, lines: list[Any],
                   encoder: jsonio.LineEncoder, result: VerifyResult) -> None:
    """Say where the transcript at ``path`` differs from ``lines`` (its file read a line at a
    time)."""
    got = lines_of(path)
    for n, want in enumerate(lines, 1):
        raw = next(got, None)
        if not raw:
            result.problems.append(f"{name}: line {n} is missing ({len(lines)} messages in "
                                   f"{source_name})")
            return
        try:
            value = jsonio.loads(raw.decode("utf-8"))
        except (ValueError, UnicodeDecodeError, RecursionError):
            result.problems.append(f"{name}: line {n} is not valid JSON")
            return
        if not jsonio.same_value(value, want, encoder):
            result.problems.append(f"{name}: line {n} differs from message {n} of {source_name}")
            return
    got.close()
    # every line matches (the piece-by-piece reading gave way to the whole one): compare
    # the bytes, the expected ones encoded a few thousand lines at a time
    step = 4096
    same = same_start(path, (encoder.lines(lines[at:at + step]) for at in range(0, len(lines), step)))
    if same is not None:
        expected_size, size = same
        if expected_size != size:
            result.notes.append(f"{name}: continued by the agent since the migration "
                                f"({size - expected_size:,} bytes more)")
        return
    result.problems.append(f"{name} holds more than the messages of {source_name}, and not "
                           "as whole lines after them")


# ---------------------------------------------------------------- keys and entries


def _pointing(entry: Any, sid: str) -> bool:
    return isinstance(entry, dict) and entry.get("session_id") == sid \
        and entry.get("session_file") == f"{sid}.jsonl"


def _check_keys(state: WorkspaceState, store: Mapping[str, Any], session_map: dict[str, str],
                owned: set[str], outcomes: Mapping[str, Outcome], result: VerifyResult) -> None:
    # keys the migrations wrote (the latest word on each), still pointing at what they
    # wrote: checked as the journal is read, only the keys found wrong are held
    wrong: dict[str, str | None] = {}
    for key, sid in state.journal.iter_keys():
        entry = store.get(key)
        if not isinstance(entry, dict):
            wrong[key] = f"sessions.json has no entry for the migrated key {key!r}"
        elif entry.get("session_id") != sid:
            wrong[key] = (f"sessions.json: {key!r} now points at "
                          f"{entry.get('session_id')!r}, not the migrated {sid!r}")
        elif key in wrong:
            wrong[key] = None  # a later run wrote it again, as it is now
    result.problems += [said for said in wrong.values() if said is not None]
    # session_map keys of sessions cleaned up since (those of present files: _check_session)
    others = [(key, sid) for key, sid in session_map.items() if key not in owned]
    if not others:
        return
    by_file_id = {name[:-5]: name for name in outcomes if name.endswith(".json")}
    for key, sid in others:
        name = by_file_id.get(sid)
        target = outcomes[name].session_id if name is not None else None
        if target is None:
            continue  # a key pointing at no session file: reported when scanned (dangling key)
        if not _pointing(store.get(key), target):
            result.problems.append(f"session_map.json's key {key!r} does not point at {target} in "
                                   "sessions.json")


def _entries_before(layout: Layout, manifest: backup.Manifest) -> dict[str, Any] | None:
    """The entries of sessions.json before the first migration (its first backup copy);
    None when no migration is recorded (every entry is then the user's own)."""
    for name, info in manifest.files.items():
        if info.get("original") == STORE:
            if backup.check_copy(layout, manifest, name):
                return {}
            try:
                value = jsonio.loads_document(fsio.read_bytes(layout.in_backup(name)))
            except (OSError, ValueError, RecursionError):
                return {}
            return value if isinstance(value, dict) else {}
    return {}


def _check_entries(layout: Layout, state: WorkspaceState, store: Mapping[str, Any],
                   listed: Collection[str], result: VerifyResult) -> None:
    """No entry points at a missing transcript (``listed``: the transcripts the scan found
    in the folder, by id; any other file is looked for)."""
    if not store:
        return
    recorded = bool(state.journal.history)
    whole: Mapping[str, Any] | None = None  # each entry whole, read when one is missing
    before: dict[str, Any] | None = None
    looked = False  # the entries before are read when a missing transcript is first found
    for key, entry in store.items():
        name = entry.get("session_file") if isinstance(entry, dict) else None
        if not (isinstance(name, str) and name and "/" not in name and name not in (".", "..")):
            continue
        if name.endswith(".jsonl") and name[:-6] in listed:
            continue
        try:
            missing = fsio.lstat_or_none(layout.in_sessions(name)) is None
        except (OSError, ValueError):
            missing = True
        if not missing:
            continue
        if isinstance(store, ObjectMembers):  # maybe thinned as it was read: the entry whole
            whole = whole if whole is not None else store.whole()
            entry = whole[key]
        said = f"sessions.json: {key!r} points at {name}, which is missing"
        if recorded and not looked:
            before, looked = _entries_before(layout, state.manifest), True
        if before is None or (key in before and jsonio.same_value(before[key], entry)):
            result.notes.append(said + " (as it did before the migration)")
        else:
            result.problems.append(said)
