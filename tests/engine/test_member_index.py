"""``MemberIndex``: the keys of sessions.json (held as ``ObjectMembers``) by the session id
their entry points at, found exactly as a dict of lists of them finds them."""

from __future__ import annotations

import json
from typing import Any

from migrate_tui.core.object_members import MemberIndex, ObjectMembers
from migrate_tui.engine.verify import _pointed_id


def _as_dict(store: dict[str, Any]) -> dict[str, list[str]]:
    index: dict[str, list[str]] = {}
    for key, entry in store.items():
        sid = entry.get("session_id")
        if isinstance(sid, str) and entry.get("session_file") == f"{sid}.jsonl":
            index.setdefault(sid, []).append(key)
    return index


def _entry(sid: Any, file: Any = None) -> dict[str, Any]:
    return {"session_id": sid, "session_file": f"{sid}.jsonl" if file is None else file}


STORE = {
    "agent:main:a": _entry("s1"),
    "agent:main:b": _entry("s2"),
    "agent:main:c": _entry("s1"),  # a second key pointing at s1
    "agent:main:d": _entry("s3", "other.jsonl"),  # not at its transcript
    "agent:main:é\"q": _entry("s😀"),  # escapes and characters past ASCII
    "agent:main:e": {"session_id": 12},  # not an id
    "agent:main:f": {},
    "agent:main:g": _entry("s1"),
}


def test_the_keys_pointing_at_an_id_are_the_dicts_in_order() -> None:
    text = json.dumps(STORE, ensure_ascii=False, indent=2)
    members = ObjectMembers.split(text)
    assert members is not None
    index = MemberIndex(members, _pointed_id)
    expected = _as_dict(STORE)
    assert len(index) == sum(map(len, expected.values()))
    for sid, keys in expected.items():
        assert index.get(sid) == keys
    assert index.get("s1") == ["agent:main:a", "agent:main:c", "agent:main:g"]
    for missing in ("s3", "other", "12", "", "s😀x"):
        assert index.get(missing) is None and index.get(missing, ()) == ()


def test_many_ids_with_one_hash_slot_each_are_all_found() -> None:
    store = {f"agent:main:k{n}": _entry(f"id-{n % 997}") for n in range(5000)}
    members = ObjectMembers.split(json.dumps(store))
    assert members is not None
    index = MemberIndex(members, _pointed_id)
    expected = _as_dict(store)
    for sid, keys in expected.items():
        assert index.get(sid) == keys
    assert index.get("id-997") is None
