"""sessions.json is written a few hundred entries at a time, never held as one merge: the
bytes on disk must still be exactly ``dumps_document`` of the merge (the entries it had, in
their order, another writer's newer ones kept, then the new entries), the journal must
announce that file's SHA-256 and size, and the check after the index must pass."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

from migrate_tui.core import fsio, jsonio
from migrate_tui.engine import apply_plan, build_plan, scan_workspace
from tests.engine.engine_support import Workspace

# what sessions.json held before the run: odd keys, non-ASCII, big integers, float literals,
# nested values
EXISTING = ('{"agent:main:é→日本": {"session_id": "old", "updated_at": 18446744073709551617, '
            '"n": [1.10, 1E5, -0.0, NaN], "deep": {"a": [{}, [], {"b": null}]}},\n'
            ' "agent:main:\\u2028": {"session_id": "other", "t": "\\u2028"}}')
MANY = 300  # more sessions than one piece of the streamed file holds


def _sessions(ws: Workspace, count: int) -> list[str]:
    ids = [str(uuid.UUID(int=n + 1)) for n in range(count)]
    for n, sid in enumerate(ids):
        ws.add(sid, keys=(f"agent:main:s{n}-ü",), n=1)
    return ids


def _agent_writes_under_the_lock(ws: Workspace, entries: dict) -> object:
    """The agent writes ``entries`` into sessions.json after the scan, before the merge."""
    done = []

    def hook(op: str, path: str) -> None:
        if op == "lock" and not done:
            done.append(True)
            store = jsonio.loads_document(ws.store_bytes())
            store.update(entries)
            (ws.sessions / "sessions.json").write_bytes(jsonio.dumps_document(store))

    return hook


def _journal(ws: Workspace) -> list[dict]:
    return [json.loads(line) for line in (ws.backup / "journal.jsonl").read_bytes().splitlines()]


def test_the_streamed_merge_is_dumps_document_of_the_merge(ws: Workspace) -> None:
    ws.write_store(EXISTING)
    ids = _sessions(ws, MANY)
    plan = build_plan(scan_workspace(str(ws.root)), "main")
    agent = {"agent:main:fresh": {"session_id": "fresh", "updated_at": 7, "big": 2 ** 70}}
    with fsio.fault_hook(_agent_writes_under_the_lock(ws, agent)):
        result = apply_plan(plan, lock_timeout=5)
    assert result.error is None and result.verified and result.committed
    assert sorted(result.migrated) == sorted(ids)

    # the merge as a whole dict would hold it: what was there (the agent's entry kept), then
    # the plan's entries in the plan's order
    merged = jsonio.loads_document(EXISTING.encode())
    merged.update(agent)
    for ps in plan.sessions:
        for key in ps.keys:
            merged[key] = ps.entry
    data = ws.store_bytes()
    assert data == jsonio.dumps_document(merged)
    assert data.count(b"\n") > 4 * MANY  # indent 2, one member after another

    [record] = [r for r in _journal(ws) if r.get("file") == "sessions.json"]
    assert record["op"] == "replace"
    assert record["sha256"] == fsio.sha256_bytes(data) and record["size"] == len(data)
    # the file it replaced is in the backup, as the agent left it
    assert (ws.backup / record["backup"]).read_bytes() == jsonio.dumps_document(
        {**jsonio.loads_document(EXISTING.encode()), **agent})
    assert not [p for p in ws.sessions.iterdir() if p.name.endswith(fsio.TEMP_SUFFIX)]

    # a rerun finds every entry already right: sessions.json is not written again
    before = (data, (ws.sessions / "sessions.json").stat().st_mtime_ns)
    again = apply_plan(build_plan(scan_workspace(str(ws.root)), "main"), lock_timeout=5)
    assert again.error is None
    assert (ws.store_bytes(), (ws.sessions / "sessions.json").stat().st_mtime_ns) == before


def test_a_lone_surrogate_writes_the_whole_file_in_ascii(ws: Workspace, tmp_path: Path) -> None:
    ws.write_store('{"agent:main:odd": {"session_id": "odd", "name": "\\ud800 é"}}')
    _sessions(ws, 3)
    plan = build_plan(scan_workspace(str(ws.root)), "main")
    result = apply_plan(plan, lock_timeout=5)
    assert result.error is None and result.verified
    data = ws.store_bytes()
    merged = jsonio.loads_document(b'{"agent:main:odd": {"session_id": "odd", "name": "\\ud800 \\u00e9"}}')
    for ps in plan.sessions:
        for key in ps.keys:
            merged[key] = ps.entry
    assert data.isascii() and data == jsonio.dumps_document(merged)
    assert not [p for p in ws.sessions.iterdir() if p.name.endswith(fsio.TEMP_SUFFIX)]


def test_a_sessions_json_changed_after_the_merge_is_checked_entry_by_entry(ws: Workspace) -> None:
    """Another writer rewrites sessions.json between the merge and the check: the check reads
    it and compares each intended entry, made again from the plan."""
    _sessions(ws, 3)
    plan = build_plan(scan_workspace(str(ws.root)), "main")
    seen = []

    def hook(op: str, path: str) -> None:
        # after our rename of sessions.json: the agent rewrites it with the same entries
        # (other bytes: compact) and drops one
        if op == "fsync_dir" and seen == ["renamed"]:
            seen.append("rewritten")
            store = json.loads(ws.store_bytes())
            store.pop(sorted(store)[0])
            (ws.sessions / "sessions.json").write_text(json.dumps(store))
        if op == "rename" and path.endswith("/sessions.json"):
            seen.append("renamed")

    with fsio.fault_hook(hook):
        result = apply_plan(plan, lock_timeout=5)
    assert seen == ["renamed", "rewritten"]
    assert not result.verified
    assert len(result.verify_problems) == 2  # the entry not there, and its session unreachable
