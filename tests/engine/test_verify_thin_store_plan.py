"""verify holds sessions.json thinned to what the plan and its later checks read of an entry
(verify._READ_OF_AN_ENTRY): the plan made on it must be the plan made on the whole
sessions.json, whatever the entries hold (keys taken by other sessions, kept, reachable by
another key, extra fields).  Fails when the plan comes to read another member of an
existing entry without it being added there."""

from __future__ import annotations

from typing import Any

from migrate_tui.engine import build_plan, scan_workspace, verify
from tests.engine.engine_support import Workspace

A = "a1b2c3d4-0000-4000-8000-00000000000a"
B = "a1b2c3d4-0000-4000-8000-00000000000b"
C = "a1b2c3d4-0000-4000-8000-00000000000c"
D = "a1b2c3d4-0000-4000-8000-00000000000d"


def _plan_of(ws: Workspace, thin: bool) -> list[tuple[Any, ...]]:
    scan = scan_workspace(str(ws.root))
    if thin:
        verify._thin_store(scan)
        assert type(scan.store_entries).__name__ == "ObjectMembers"
    return [(ps.file_id, ps.action, ps.final_id, ps.transcript, tuple(ps.keys), tuple(ps.kept_keys),
             tuple(ps.notes), tuple((p.code, p.message) for p in ps.open_problems))
            for ps in build_plan(scan).sessions]


def _entry(sid: str, **more: Any) -> dict[str, Any]:
    return {"session_id": sid, "updated_at": 1753505499887, "session_file": f"{sid}.jsonl",
            "label": "x", "model": "m", **more}


def test_the_plan_on_the_thinned_store_is_the_plan_on_the_whole(ws: Workspace) -> None:
    ws.add(A, keys=("agent:main:a",))
    ws.add(B, keys=("agent:main:b",))
    ws.add(C)
    ws.add(D, keys=("agent:main:d",), metadata={"session_key": "agent:main:meta-d", "label": "d"})
    ws.write_store({
        "agent:main:b": _entry("someone-else", extra={"n": [1, 2]}),  # B's key taken
        "agent:main:other-c": _entry(C),  # C reachable by another key
        "agent:main:a": _entry(A, updated_at=-0.0),  # A's key pointing at A already
        "agent:main:meta-d": {"session_id": 12, "session_file": None},  # not an id
    })
    (ws.sessions / f"{C}.jsonl").write_text("")  # a transcript there for C
    whole = _plan_of(ws, thin=False)
    assert _plan_of(ws, thin=True) == whole
    assert {row[1] for row in whole} >= {"blocked", "migrate"}


def test_after_a_migration_and_a_changed_store_the_plans_agree(ws: Workspace) -> None:
    ws.add(A, keys=("agent:main:a", "agent:main:a2"))
    ws.add(B, keys=("agent:main:b",))
    ws.add(C)
    assert ws.migrate().rc == 0
    store = ws.store()
    store["agent:main:a2"] = _entry(B)  # one of A's keys now points at B
    store["agent:main:new"] = _entry(C, label="later")
    ws.write_store(store)
    whole = _plan_of(ws, thin=False)
    assert _plan_of(ws, thin=True) == whole
