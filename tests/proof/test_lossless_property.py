"""Property-based proof that the migration is lossless (docs/formats.md, docs/guarantees.md).

Random legacy workspaces, written the way the old writer wrote them: messages holding
arbitrary JSON (nested objects and lists, integers far beyond 64 bits and beyond Python's
4,300-digit conversion limit, floats written any way JSON allows, NaN and infinities,
unicode with escapes and lone surrogates, nulls at every depth), random metadata (some
SessionEntry fields, some not), random key maps.  After a migration:

* each transcript line is its message minus the top-level null fields: the same JSON value,
  every number with its literal text, key order kept (compared through ``exact_loads``,
  which is independent of the engine's own JSON layer);
* each entry carries exactly the SessionEntry fields of the metadata, values exact;
* every key of the map survives, pointing at its session; every session is reachable;
* verify agrees, and a second run changes nothing.
"""

from __future__ import annotations

import json
import os
import tempfile
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from hypothesis import example, given
from hypothesis import strategies as st

from migrate_tui.engine.verify import verify_workspace
from migrate_tui.store.entry import FIELD_SET, SESSION_ENTRY_FIELDS, STRUCTURAL_FIELDS
from tests.proof.proof_support import (
    OLD_MTIME,
    SESSIONS,
    STORE,
    exact_loads,
    expected_lines,
    migrate_inproc,
    obj_get,
    obj_keys,
    outside_backup,
    proof_settings,
    transcript_values,
)

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


# ---------------------------------------------------------------- writing JSON like the old writer


class Raw:
    """A number written as this exact literal (what a hand edit or another writer may leave:
    ``1E5``, ``0.10``, ``1e400``, a 5,000-digit integer)."""

    def __init__(self, text: str) -> None:
        self.text = text

    def __repr__(self) -> str:
        return f"Raw({self.text[:40]!r})"


def dump_legacy(obj: Any, ascii_only: bool) -> bytes:
    """``json.dumps(obj, indent=2)`` as the old writer did (``ensure_ascii`` as given; a lone
    surrogate, which UTF-8 cannot hold, written as its \\u escape), with Raw literals."""
    raws: list[str] = []

    def default(value: Any) -> Any:
        if isinstance(value, Raw):
            raws.append(value.text)
            return f"\x00RAW{len(raws) - 1}\x00"
        return str(value)

    text = json.dumps(obj, indent=2, default=default, ensure_ascii=ascii_only)
    for n, literal in enumerate(raws):
        text = text.replace(f'"\\u0000RAW{n}\\u0000"', literal, 1)
    return text.encode("utf-8", "backslashreplace")


# ---------------------------------------------------------------- strategies

NUMBER_LITERAL = st.from_regex(r"-?(0|[1-9][0-9]{0,25})(\.[0-9]{1,20})?([eE][+-]?[0-9]{1,3})?",
                               fullmatch=True)
HUGE_INT = st.builds(lambda n, d: ("-" if d else "") + "9" * n, st.integers(4290, 4500), st.booleans())
CHARS = st.one_of(st.characters(), st.characters(categories=["Cs"]),
                  st.sampled_from(list("\"\\/\b\f\n\r\t\x00\x1f\u2028\u2029\ufeff")))
TEXT = st.text(CHARS, max_size=12)
SCALARS = st.one_of(
    st.none(), st.booleans(),
    st.integers(), st.integers(min_value=-(2**300), max_value=2**300),
    st.floats(allow_nan=True, allow_infinity=True),
    TEXT,
    NUMBER_LITERAL.map(Raw),
)
JSON = st.recursive(
    st.one_of(SCALARS, st.just(None)),
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(TEXT, inner, max_size=4)),
    max_leaves=12,
)


@st.composite
def messages(draw: Any) -> dict[str, Any]:
    fields = draw(st.dictionaries(TEXT.filter(lambda k: k != "role"), JSON, max_size=5))
    role = draw(st.one_of(st.sampled_from(["user", "assistant", "tool", "system"]), TEXT, JSON))
    items = list(fields.items())
    at = draw(st.integers(0, len(items)))
    items.insert(at, ("role", role))
    if draw(st.integers(0, 30)) == 0:  # now and then a number no machine integer holds
        items.append(("huge", Raw(draw(HUGE_INT))))
    return dict(items)


SAFE_ID = st.one_of(
    st.uuids(version=4).map(str),
    st.from_regex(r"[a-z0-9][a-z0-9._-]{0,20}", fullmatch=True).filter(
        lambda s: s not in ("sessions", "session_map") and not s.endswith(".json")),
)
KEY_REST = st.from_regex(r"[a-z]{1,8}(:[a-z0-9+_-]{1,10}){0,3}", fullmatch=True)


@st.composite
def moments(draw: Any) -> tuple[str, int]:
    """An ISO 8601 updated_at as the old writers wrote it, and its integer ms UTC."""
    naive = draw(st.datetimes(min_value=datetime(1971, 1, 1), max_value=datetime(2100, 1, 1)))
    style = draw(st.sampled_from(["naive", "+00:00", "Z", "offset"]))
    if style == "offset":
        offset = timedelta(minutes=draw(st.integers(-14 * 60, 14 * 60)))
        aware = naive.replace(tzinfo=timezone(offset))
        text = aware.isoformat()
    else:
        aware = naive.replace(tzinfo=UTC)
        text = naive.isoformat() + ("" if style == "naive" else style)
    return text, (aware - EPOCH) // timedelta(milliseconds=1)


@st.composite
def workspaces(draw: Any) -> dict[str, Any]:
    ids = draw(st.lists(SAFE_ID, min_size=1, max_size=4, unique=True))
    sessions = {}
    for sid in ids:
        fields = draw(st.lists(st.sampled_from(SESSION_ENTRY_FIELDS), max_size=6, unique=True))
        metadata = {f: draw(JSON) for f in fields}
        for extra in draw(st.lists(TEXT.filter(lambda k: k not in FIELD_SET and k != "session_key"),
                                   max_size=3, unique=True)):
            metadata[extra] = draw(JSON)
        order = draw(st.permutations(list(metadata)))
        updated_text, updated_ms = draw(moments())
        sessions[sid] = {
            "messages": draw(st.lists(messages(), max_size=5)),
            "metadata": {k: metadata[k] for k in order},
            "updated_at": updated_text, "updated_ms": updated_ms,
            "ascii": draw(st.booleans()),
        }
    session_map: dict[str, str] = {}
    for sid in ids:
        for rest in draw(st.lists(KEY_REST, max_size=3)):
            session_map.setdefault(f"agent:main:{rest}", sid)
    # keys shaped like another session's fallback key, and keys of no session at all
    if draw(st.booleans()) and len(ids) > 1:
        session_map.setdefault(f"agent:main:{ids[1]}", ids[0])
    for rest in draw(st.lists(KEY_REST, max_size=2)):
        session_map.setdefault(f"agent:main:dangling:{rest}", "no-such-session")
    keyless = [sid for sid in ids if sid not in session_map.values()]
    for sid in keyless:
        if draw(st.booleans()):
            sessions[sid]["metadata"]["session_key"] = f"agent:main:meta:{sid}"
    return {"sessions": sessions, "map": session_map}


def write_workspace(root: Path, ws: dict[str, Any]) -> dict[str, bytes]:
    folder = root / SESSIONS
    folder.mkdir(parents=True)
    written = {}
    for sid, spec in ws["sessions"].items():
        doc = {"session_id": sid, "messages": spec["messages"], "metadata": spec["metadata"],
               "created_at": "2026-02-11T10:00:00+00:00", "updated_at": spec["updated_at"]}
        data = dump_legacy(doc, spec["ascii"])
        (folder / f"{sid}.json").write_bytes(data)
        os.utime(folder / f"{sid}.json", (OLD_MTIME, OLD_MTIME))
        written[sid] = data
    (folder / "session_map.json").write_text(json.dumps(ws["map"], indent=2))
    os.utime(folder / "session_map.json", (OLD_MTIME, OLD_MTIME))
    return written


# ---------------------------------------------------------------- the property


def _two_sessions(session_map: dict[str, str]) -> dict[str, Any]:
    empty = {"messages": [], "metadata": {}, "updated_at": "2000-01-01T00:00:00",
             "updated_ms": 946_684_800_000, "ascii": True}
    return {"sessions": {"f": dict(empty), FALLBACK_ID: dict(empty)}, "map": session_map}


FALLBACK_ID = "e3e70682-c209-4cac-a29f-6fbed82c07cd"


@proof_settings(default=25, long=500)
@given(workspaces())
# found by this test: a session no key points to took, as its fallback key, a key the map
# gives to another session (silently re-pointing it, or failing that session)
@example(_two_sessions({"agent:main:a": "f", f"agent:main:{FALLBACK_ID}": "f"}))
@example(_two_sessions({f"agent:main:{FALLBACK_ID}": "f"}))
def test_random_workspaces_migrate_losslessly(ws: dict[str, Any]) -> None:
    with tempfile.TemporaryDirectory(prefix="proof-lossless-") as tmp:
        root = Path(tmp) / "ws"
        legacy = write_workspace(root, ws)
        run = migrate_inproc(root)
        assert run.result.error is None, run
        sessions_dir = root / SESSIONS
        store = exact_loads((sessions_dir / STORE).read_bytes())
        entries = dict(store[1])
        assert len(entries) == len(store[1]), "a key appears twice in sessions.json"
        blocked = {s["session_id"] for s in run.report["sessions"] if s["status"] != "migrated"}
        for sid, spec in ws["sessions"].items():
            if sid in blocked:
                continue
            # the transcript: every message minus its null fields, exactly, in order
            lines = transcript_values((sessions_dir / f"{sid}.jsonl").read_bytes())
            assert lines is not None, f"{sid}.jsonl is not complete JSON Lines"
            assert lines == expected_lines(legacy[sid]), sid
            assert len(lines) == len(spec["messages"])
        # every key of the map whose session has a file survives, pointing at it
        for key, sid in ws["map"].items():
            if sid in ws["sessions"] and sid not in blocked:
                assert key in entries, f"the key {key} was lost"
                assert obj_get(entries[key], "session_id") == sid, key
            elif sid not in ws["sessions"]:
                assert key not in entries, f"the dangling key {key} was migrated"
        for sid, spec in ws["sessions"].items():
            mine = [e for e in entries.values() if obj_get(e, "session_id") == sid]
            if sid in blocked:
                # never silently: a session left out is named, with its problem
                detail = [d for d in run.report["error_details"] if d["session_id"] == sid]
                assert detail, f"{sid} was left out without a word"
                assert not mine
                continue
            assert mine, f"{sid} is not reachable by any key"
            legacy_meta = obj_get(exact_loads(legacy[sid]), "metadata")
            carried = [(k, v) for k, v in legacy_meta[1] if k in FIELD_SET and k not in STRUCTURAL_FIELDS]
            for entry in mine:
                assert obj_get(entry, "session_file") == f"{sid}.jsonl"
                assert obj_get(entry, "updated_at") == ("int", str(spec["updated_ms"]))
                assert set(obj_keys(entry)) == set(STRUCTURAL_FIELDS) | {k for k, _ in carried}, sid
                for k, v in carried:
                    assert obj_get(entry, k) == v, (sid, k)
        # blocked only for a reason the model knows: a key shaped like another's fallback
        for sid in blocked:
            assert f"agent:main:{sid}" in ws["map"] and ws["map"][f"agent:main:{sid}"] != sid, \
                f"{sid} was not migrated: {run.report['error_details']}"
        assert verify_workspace(str(root)).ok
        before = outside_backup(root)
        again = migrate_inproc(root)
        assert again.code == run.code and again.result.error is None
        assert outside_backup(root) == before, "a second run changed something"
