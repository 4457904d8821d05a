"""verify, after a clean-up: each session whose original is gone must still be pointed at by
some entry of sessions.json (any key, its transcript named right); one no entry points at is
reported, whichever way sessions.json is held."""

from __future__ import annotations

import json

import pytest

from migrate_tui.engine import journal, verify
from tests.lifecycle.lifecycle_support import A, B, C, Workspace, three


def _problem(sid: str) -> str:
    return f"no entry of sessions.json points at {sid} (migrated from {sid}.json, cleaned up since)"


@pytest.mark.parametrize("indexed", [True, False])
def test_a_cleaned_up_session_no_entry_points_at_is_reported(
        ws: Workspace, monkeypatch: pytest.MonkeyPatch, indexed: bool) -> None:
    if not indexed:  # sessions.json's keys by the id they point at not made: a pass over it
        monkeypatch.setattr(verify, "_index_pointing", lambda scan: None)
    three(ws)
    assert ws.migrate().rc == 0
    assert ws.cli("cleanup", "--yes").rc == 0
    journal._last = None
    assert verify.verify_workspace(str(ws.root)).ok
    store_path = ws.sessions / "sessions.json"
    store = json.loads(store_path.read_text())
    by_id = {entry["session_id"]: key for key, entry in store.items()}
    for entry in store.values():  # A (two keys): no entry points at it any more
        if entry["session_id"] == A:
            entry["session_file"] = "elsewhere.jsonl"
    store["agent:main:another-b"] = store.pop(by_id[B])  # B: under another key, still pointed at
    store["agent:main:second-c"] = dict(store[by_id[C]])  # C: pointed at twice
    store_path.write_text(json.dumps(store, indent=2))
    journal._last = None
    result = verify.verify_workspace(str(ws.root))
    assert _problem(A) in result.problems, result.problems
    assert _problem(B) not in result.problems and _problem(C) not in result.problems
    assert result.checked == 3
