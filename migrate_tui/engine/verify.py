"""Verify: compare what the migrations wrote with their sources, long after the fact.

Driven by the journal: each transcript is rebuilt from its source (the original, or its
backup copy once the original is cleaned up) and compared with the file on disk; each key
written must still point at its session.  A transcript the agent has continued since (the
migrated lines, then more) is fine.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from migrate_tui.core import fsio, jsonio
from migrate_tui.core.layout import STORE, Layout, open_layout
from migrate_tui.engine import backup, journal
from migrate_tui.engine.legacy import read_legacy, transcript_lines
from migrate_tui.engine.transcript_encoding import transcript_pieces
from migrate_tui.engine.model import CONTENT_FIXES, EventSink, PhaseStarted, Progress, no_events


@dataclass
class VerifyResult:
    workspace: str
    ok: bool = True
    checked: int = 0
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"status": "ok" if self.ok else "different", "workspace": self.workspace,
                "checked": self.checked, "problems": self.problems, "notes": self.notes}


def _source_bytes(layout: Layout, manifest: backup.Manifest, name: str, sha: str) -> bytes | None:
    path = layout.in_sessions(name)
    try:
        if fsio.lstat_or_none(path) is not None:
            data = fsio.read_bytes(path)
            if fsio.sha256_bytes(data) == sha:
                return data
    except OSError:
        pass
    copy = manifest.find(name, sha)
    if copy is None or backup.check_copy(layout, manifest, copy):
        return None
    return fsio.read_bytes(layout.in_backup(copy))


def verify_workspace(workspace: str, *, on_event: EventSink = no_events) -> VerifyResult:
    layout = open_layout(workspace)
    result = VerifyResult(layout.workspace)
    if not fsio.is_real_dir(layout.sessions_dir):
        result.notes.append("there is no .sessions folder: nothing to verify")
        return result
    store = _load_store(layout, result)
    state = journal.read(layout) if fsio.is_real_dir(layout.backup_dir) else journal.JournalState()
    if not state.changes:
        result.notes.append("no migration is recorded here; only sessions.json was checked")
    manifest = backup.load_manifest(layout) if fsio.is_real_dir(layout.backup_dir) else backup.Manifest()
    transcripts = {f: r for f, r in journal.latest(state.records).items() if r.get("source")}
    on_event(PhaseStarted("verify", len(transcripts)))
    encoder = jsonio.LineEncoder()
    for n, (name, record) in enumerate(transcripts.items(), 1):
        _check_transcript(layout, manifest, name, record, encoder, result)
        on_event(Progress("verify", n, len(transcripts), name))
    for record in state.records:
        if record.get("op") != "keys":
            continue
        for key, sid in record["keys"].items():
            entry = store.get(key) if store is not None else None
            if not isinstance(entry, dict):
                result.problems.append(f"sessions.json has no entry for the migrated key {key!r}")
            elif entry.get("session_id") != sid:
                result.problems.append(f"sessions.json: {key!r} now points at "
                                       f"{entry.get('session_id')!r}, not the migrated {sid!r}")
    written_keys = {k for r in state.records if r.get("op") == "keys" for k in r["keys"]}
    for key, entry in (store or {}).items():
        name = entry.get("session_file") if isinstance(entry, dict) else None
        if isinstance(name, str) and "/" not in name and name not in (".", "..") and name:
            if fsio.lstat_or_none(layout.in_sessions(name)) is None:
                said = f"sessions.json: {key!r} points at {name}, which is missing"
                if key in written_keys:
                    result.problems.append(said)
                else:
                    result.notes.append(said + " (an entry the migration did not write)")
    result.ok = not result.problems
    return result


def _load_store(layout: Layout, result: VerifyResult) -> dict[str, Any] | None:
    if fsio.lstat_or_none(layout.store) is None:
        return {}
    try:
        store = jsonio.loads_document(fsio.read_bytes(layout.store))
    except (OSError, ValueError, RecursionError) as exc:
        result.problems.append(f"{STORE} cannot be read: {exc}")
        return None
    if not isinstance(store, dict):
        result.problems.append(f"{STORE} is not a JSON object")
        return None
    return store


def _same_start(actual: bytes, pieces: Iterator[bytes]) -> int | None:
    """The size of the expected transcript (given a piece at a time, so that a huge session
    is never held whole) when ``actual`` starts with it, and it ends a line; else None."""
    at = 0
    last = b""
    try:
        for piece in pieces:
            if not actual.startswith(piece, at):
                return None
            at += len(piece)
            last = piece or last
    except jsonio.NotExact:
        return None
    return at if at == len(actual) or not last or last.endswith(b"\n") else None


def _check_transcript(layout: Layout, manifest: backup.Manifest, name: str, record: dict[str, Any],
                      encoder: jsonio.LineEncoder, result: VerifyResult) -> None:
    result.checked += 1
    path = layout.in_sessions(name)
    if fsio.lstat_or_none(path) is None:
        result.problems.append(f"{name} is missing (it was written from {record['source']})")
        return
    source = _source_bytes(layout, manifest, record["source"], record["source_sha256"])
    if source is None:
        result.problems.append(f"{name}: its source {record['source']} (as migrated) is neither in "
                               "place nor in the backup")
        return
    fixes = frozenset(record.get("fixes", [])) & CONTENT_FIXES
    actual = fsio.read_bytes(path)
    expected_size = _same_start(actual, transcript_pieces(source, record["source"], fixes))
    if expected_size == len(actual):
        return
    if expected_size is not None:
        result.notes.append(f"{name}: continued by the agent since the migration "
                            f"({len(actual) - expected_size:,} bytes more)")
        return
    content = read_legacy(source, record["source"], fixes)
    lines = transcript_lines(content.messages)
    got = actual.split(b"\n")
    for n, want in enumerate(lines, 1):
        if n > len(got) or not got[n - 1]:
            result.problems.append(f"{name}: line {n} is missing ({len(lines)} messages in "
                                   f"{record['source']})")
            return
        try:
            value = jsonio.loads(got[n - 1].decode("utf-8"))
        except (ValueError, UnicodeDecodeError):
            result.problems.append(f"{name}: line {n} is not valid JSON")
            return
        if not jsonio.same_value(value, want, encoder):
            result.problems.append(f"{name}: line {n} differs from message {n} of {record['source']}")
            return
