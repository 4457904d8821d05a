"""Damaged content (docs/problems.md): invalid JSON and salvage, wrong shape, bad messages, and
duplicate keys (a warning: the last value is kept, as Python's json reads it)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.hostile.hostile_support import (
    CREATED_AT,
    CREATED_MS,
    FIXED_MTIME,
    Hostile,
    conversation,
    dump,
    legacy,
    message,
    read_jsonl,
)

MTIME_MS = FIXED_MTIME * 1000
KEY = "agent:main:cron:daily"


def _end(text: str) -> tuple[int, int]:
    """Line and column (1-based) just past the last character of ``text``."""
    return text.count("\n") + 1, len(text) - (text.rfind("\n") + 1) + 1


def _at(text: str, pos: int) -> tuple[int, int]:
    return text.count("\n", 0, pos) + 1, pos - (text.rfind("\n", 0, pos) + 1) + 1


# ---------------------------------------------------------------- duplicate keys


def test_duplicate_keys_in_a_message_are_a_warning_and_the_last_value_is_kept(hw: Hostile) -> None:
    doc = legacy("dup", 3)
    text = dump(doc)
    line = '"content": "dup message 1",'
    assert text.count(line) == 1
    text = text.replace(line, '"content": "the first value",\n      ' + line)
    hw.write("dup.json", text)
    hw.map_key(KEY, "dup")

    r = hw.migrate()

    assert r.rc == 0, r
    w = r.warning("duplicate_keys", "dup.json")
    assert w["error"] == ("an object repeats the key(s) 'content': the last value is kept, as "
                          "Python's json reads it; the file as it is stays in the backup")
    hw.assert_migrated("dup", KEY, doc["messages"])  # "dup message 1", the last value
    assert read_jsonl(hw.sessions / "dup.jsonl")[1] == {
        "role": "assistant", "content": "dup message 1", "timestamp": "2026-02-11T10:01:00.708193"}
    # the file as it is, with both values, is in the backup
    assert hw.backup_bytes()["dup.json"] == text.encode()
    hw.check(r)


# ---------------------------------------------------------------- truncated files


def _truncated(cut_after: str, occurrence: int = 1) -> tuple[dict[str, Any], str]:
    doc = legacy("trunc", 5)
    text = dump(doc)
    at = -1
    for _ in range(occurrence):
        at = text.index(cut_after, at + 1)
    return doc, text[: at + len(cut_after)]


CASES = {
    # cut after a field of message 4 (index 3): three complete messages before it
    "mid-message": ('"content": "trunc message 3",', 1, 3),
    # cut right after message 3's closing brace: it is complete
    "after-a-message": ("}", 3, 3),
    # cut inside the first message's text: nothing complete
    "in-first-string": ('"content": "trunc mes', 1, 0),
}


@pytest.mark.parametrize("case", list(CASES))
def test_truncated_file_is_invalid_json_with_where_and_how_many_salvage_keeps(hw: Hostile, case: str) -> None:
    cut_after, occurrence, keep = CASES[case]
    _doc, text = _truncated(cut_after, occurrence)
    hw.write("trunc.json", text)
    hw.map_key(KEY, "trunc")
    if case == "in-first-string":  # "Unterminated string starting at" the opening quote
        line, column = _at(text, text.rindex('"'))
        why = "Unterminated string starting at"
    elif case == "after-a-message":
        line, column = _end(text)
        why = "Expecting ',' delimiter"
    else:
        line, column = _end(text)
        why = "Expecting property name enclosed in double quotes"

    r = hw.migrate()

    assert r.rc == 1, r
    d = r.error("invalid_json", "trunc.json")
    assert d["fixes"] == ["salvage"]
    assert (d["line"], d["column"]) == (line, column)
    assert d["error"] == (
        f"invalid JSON at line {line}, column {column}: the file ends in the middle of a value "
        f"({why}): it was probably cut short by a crash while it was being written; "
        f"salvage would keep {keep} complete message(s)")
    assert r.session("trunc.json")["status"] == "blocked"
    assert not (hw.sessions / "trunc.jsonl").exists()
    hw.check(r)


@pytest.mark.parametrize("case", ["mid-message", "after-a-message"])
def test_salvage_migrates_exactly_the_complete_messages_and_uses_the_file_mtime(hw: Hostile,
                                                                                case: str) -> None:
    cut_after, occurrence, keep = CASES[case]
    doc, text = _truncated(cut_after, occurrence)
    hw.write("trunc.json", text)
    hw.map_key(KEY, "trunc")

    r = hw.migrate("--fix", "trunc=salvage")

    assert r.rc == 0, r
    s = r.session("trunc.json")
    assert s["action"] == "fix:salvage" and s["status"] == "migrated" and s["messages"] == keep
    assert s["notes"] == [
        f"salvage keeps {keep} complete message(s) before the damage; lost with the damage: "
        "any later messages, metadata, created_at, updated_at",
        "the salvaged file has no updated_at or created_at: the file's modification time is "
        "used instead",
    ]
    w = r.warning("salvaged", "trunc.json")
    assert w["error"].startswith(f"salvaged {keep} complete message(s) before the damage at line ")
    # exactly the complete messages, never the partial one, nothing invented
    hw.assert_migrated("trunc", KEY, doc["messages"][:keep], updated_at=MTIME_MS)
    assert "trunc message 3" not in (hw.sessions / "trunc.jsonl").read_text()
    # nothing from the lost metadata is invented in the entry
    entry = hw.store()[KEY]
    assert entry == {"session_id": "trunc", "updated_at": MTIME_MS, "session_file": "trunc.jsonl"}
    hw.check(r)


def test_salvage_uses_created_at_when_it_came_before_the_damage(hw: Hostile) -> None:
    msgs = conversation("early", 4)
    doc = {"session_id": "early", "created_at": CREATED_AT, "metadata": {"label": "Early"},
           "messages": msgs, "updated_at": "2026-02-11T12:00:00+00:00"}
    text = dump(doc)
    text = text[: text.index('"content": "early message 2"')]
    hw.write("early.json", text)

    r = hw.migrate("--fix", "early=salvage")

    assert r.rc == 0, r
    s = r.session("early.json")
    assert s["notes"][:2] == [
        "salvage keeps 2 complete message(s) before the damage; lost with the damage: "
        "any later messages, updated_at",
        "the salvaged file has no updated_at: created_at is used instead",
    ]
    entry = hw.assert_migrated("early", "agent:main:early", msgs[:2], updated_at=CREATED_MS)
    assert entry["label"] == "Early"  # metadata before the damage is carried
    hw.check(r)


def test_salvage_stops_at_damage_in_the_middle_and_keeps_nothing_after_it(hw: Hostile) -> None:
    doc = legacy("mid", 5)
    text = dump(doc)
    anchor = '    {\n      "role": "user",\n      "content": "mid message 2"'
    assert text.count(anchor) == 1
    text = text.replace(anchor, "    oops,\n" + anchor)
    hw.write("mid.json", text)
    line, column = _at(text, text.index("oops"))

    r = hw.migrate()
    assert r.rc == 1, r
    d = r.error("invalid_json", "mid.json")
    assert (d["line"], d["column"]) == (line, column)
    assert d["error"] == (f"invalid JSON at line {line}, column {column}: Expecting value; "
                          "salvage would keep 2 complete message(s)")
    hw.check(r)

    r2 = hw.migrate("--fix", "mid=salvage")
    assert r2.rc == 0, r2
    hw.assert_migrated("mid", "agent:main:mid", doc["messages"][:2], updated_at=MTIME_MS)
    hw.check(r2)


def test_empty_file_says_so(hw: Hostile) -> None:
    hw.write("empty.json", "")

    r = hw.migrate()

    assert r.rc == 1, r
    d = r.error("invalid_json", "empty.json")
    assert d["fixes"] == ["salvage"]
    assert (d["line"], d["column"]) == (1, 1)
    assert d["error"] == ("invalid JSON at line 1, column 1: the file is empty; "
                          "salvage would keep 0 complete message(s)")
    hw.check(r)


# ---------------------------------------------------------------- wrong shape


SHAPES = {
    "top-level-list": (lambda: [legacy("shape", 2)], "the top level is a list, not an object"),
    "top-level-string": (lambda: "just a string", "the top level is a string, not an object"),
    "messages-object": (lambda: {**legacy("shape", 0), "messages": {"0": message("user", "hi")}},
                        '"messages" is an object, not a list'),
    "messages-string": (lambda: {**legacy("shape", 0), "messages": "hi"},
                        '"messages" is a string, not a list'),
    "messages-missing": (lambda: {k: v for k, v in legacy("shape", 2).items() if k != "messages"},
                         '"messages" is missing'),
}


@pytest.mark.parametrize("shape", list(SHAPES))
def test_wrong_shape_can_only_be_skipped(hw: Hostile, shape: str) -> None:
    make, message_text = SHAPES[shape]
    hw.write("shape.json", json.dumps(make(), indent=2))

    r = hw.migrate()
    assert r.rc == 1, r
    d = r.error("wrong_shape", "shape.json")
    assert d["fixes"] == []
    assert d["error"] == message_text
    hw.check(r)

    # no fix makes it migrate
    r2 = hw.migrate("--fix", "shape=salvage", "--fix", "shape=drop-bad-messages")
    assert r2.rc == 1, r2
    assert r2.session("shape.json")["status"] == "blocked"
    assert not (hw.sessions / "shape.jsonl").exists()

    r3 = hw.migrate("--skip", "shape")
    assert r3.rc == 0, r3
    assert r3.session("shape.json")["action"] == "skip"
    hw.check(r3)


# ---------------------------------------------------------------- bad messages


def _bad_messages_doc() -> dict[str, Any]:
    doc = legacy("badmsg", 3)
    good = doc["messages"]
    doc["messages"] = [good[0], {"content": "I have no role", "timestamp": None}, good[1],
                       "a bare string", good[2]]
    return doc


def test_messages_without_role_or_not_objects_are_bad_messages(hw: Hostile) -> None:
    hw.write("badmsg.json", _bad_messages_doc())

    r = hw.migrate()

    assert r.rc == 1, r
    d = r.error("bad_messages", "badmsg.json")
    assert d["fixes"] == ["drop-bad-messages"]
    assert d["error"] == '2 of 5 message(s) are not objects with a "role" (message number 2, 4)'
    assert not (hw.sessions / "badmsg.jsonl").exists()
    hw.check(r)


def test_drop_bad_messages_keeps_the_others_in_order(hw: Hostile) -> None:
    doc = _bad_messages_doc()
    hw.write("badmsg.json", doc)

    r = hw.migrate("--fix", "badmsg=drop-bad-messages")

    assert r.rc == 0, r
    s = r.session("badmsg.json")
    assert s["status"] == "migrated" and s["messages"] == 3
    assert "2 message(s) without a role are dropped (they stay in the backup)" in s["notes"]
    assert r.warning("dropped_messages", "badmsg.json")["error"] == \
        "2 message(s) dropped (number 2, 4); 3 kept"
    kept = [doc["messages"][0], doc["messages"][2], doc["messages"][4]]
    hw.assert_migrated("badmsg", "agent:main:badmsg", kept)
    hw.check(r)
