"""Reading is careful (docs/guarantees.md): regular files only (no FIFOs, devices or directories), a
size limit, deep nesting caught; docs/problems.md "nesting too deep, or a file too large to parse
safely": skip only, no crash."""

from __future__ import annotations

import json
import os

import pytest

from tests.hostile.hostile_support import Hostile, legacy, lines_of, snapshot, tree_diff


def test_fifo_named_like_a_session_does_not_hang_the_scan(hw: Hostile) -> None:
    os.mkfifo(hw.sessions / "p.json")  # nobody ever writes to it: opening it to read would block

    r = hw.migrate(timeout=30)

    assert r.rc == 1, r
    d = r.error("not_regular", "p.json")
    assert d["fixes"] == [] and d["line"] is None
    assert d["error"] == "is a FIFO, not a regular file; it is not opened"
    assert not (hw.sessions / "p.jsonl").exists()
    hw.check(r)


def test_directory_named_like_a_session_is_reported(hw: Hostile) -> None:
    (hw.sessions / "x.json").mkdir()
    (hw.sessions / "x.json" / "inner.json").write_text(json.dumps(legacy("inner", 1)))

    r = hw.migrate()

    assert r.rc == 1, r
    d = r.error("not_regular", "x.json")
    assert d["fixes"] == []
    assert d["error"] == "is a directory, not a regular file; it is not opened"
    # only files directly in .sessions/ are sessions: the one inside the folder is not read
    assert r.report["sessions_found"] == 2
    assert not (hw.sessions / "x.jsonl").exists() and not (hw.sessions / "inner.jsonl").exists()
    hw.check(r)


@pytest.mark.parametrize("name", ["session_map.json", "sessions.json"])
def test_fifo_at_an_index_file_does_not_hang_and_nothing_is_written(hw: Hostile, name: str) -> None:
    if (hw.sessions / name).exists():
        os.remove(hw.sessions / name)
    os.mkfifo(hw.sessions / name)

    r = hw.migrate(timeout=30)

    assert r.rc == 2, r
    assert r.report["status"] == "failed"
    assert r.report["error"].startswith(f"{hw.sessions / name}: is a FIFO; it is not followed or read")
    assert tree_diff(hw.before, snapshot(hw.sessions)) == []
    hw.check(r, good_migrated=False)


def test_fifo_where_a_transcript_would_go_is_never_opened(hw: Hostile) -> None:
    hw.write("victim.json", legacy("victim", 2))
    os.mkfifo(hw.sessions / "victim.jsonl")

    r = hw.migrate(timeout=30)

    assert r.rc == 1, r
    d = r.error("transcript_conflict", "victim.json")
    assert d["fixes"] == []
    assert d["error"] == "victim.jsonl exists and is not a regular file; it is never written through"
    hw.check(r)


DEEP = 100_000


@pytest.mark.parametrize("text", [
    "[" * DEEP,  # the classic: an unterminated list of lists
    "[" * DEEP + "]" * DEEP,  # well-formed, just too deep
    '{"session_id": "deep", "messages": [{"role": "user", "content": '
    + "[" * DEEP + "]" * DEEP + "}]}",  # deep inside a message
    '{"session_id": "deep", "messages": [{"role": "user", "content": ' + "{\"a\": " * DEEP,  # deep and cut
], ids=["open-lists", "closed-lists", "in-a-message", "deep-and-truncated"])
def test_nesting_100000_deep_is_too_deep_and_nothing_crashes(hw: Hostile, text: str) -> None:
    hw.write("deep.json", text)
    hw.map_key("agent:main:cron:daily", "deep")

    r = hw.migrate()

    assert r.rc == 1, r
    d = r.error("too_deep", "deep.json")
    assert d["fixes"] == []
    assert d["error"] == "nested too deeply to read safely (more than about 900 levels)"
    assert r.session("deep.json")["status"] == "blocked"
    assert not (hw.sessions / "deep.jsonl").exists()
    assert "agent:main:cron:daily" not in hw.store()
    hw.check(r)


def test_existing_sessions_json_nested_too_deep_stops_before_writing(hw: Hostile) -> None:
    hw.write("sessions.json", '{"agent:main:x": ' + "[" * DEEP)

    r = hw.migrate()

    assert r.rc == 2, r
    assert r.report["error"].startswith(f"{hw.sessions / 'sessions.json'}: is nested too deeply")
    assert tree_diff(hw.before, snapshot(hw.sessions)) == []
    hw.check(r, good_migrated=False)


def test_file_over_the_size_limit_is_too_large_and_not_parsed(hw: Hostile) -> None:
    doc = legacy("big", 2)
    doc["messages"][1]["content"] = "x" * (1 << 20)  # makes the file just over 1 MiB
    path = hw.write("big.json", doc)
    size = path.stat().st_size
    assert size > 1 << 20

    r = hw.migrate("--max-file-size", "1")

    assert r.rc == 1, r
    d = r.error("too_large", "big.json")
    assert d["fixes"] == []
    assert d["error"] == (f"is {size:,} bytes, over the 1,048,576-byte limit for one session; "
                          "it is not parsed")
    assert not (hw.sessions / "big.jsonl").exists()
    hw.check(r)

    # the limit, not the file, was the reason: with the default limit it migrates exactly
    r2 = hw.migrate()
    assert r2.rc == 0, r2
    hw.assert_migrated("big", "agent:main:big", doc["messages"])
    assert lines_of(doc["messages"])[1]["content"] == "x" * (1 << 20)
    hw.check(r2)
