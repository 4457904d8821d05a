"""What is already there (docs/problems.md, docs/formats.md): a diverged transcript <id>.jsonl, and an
existing sessions.json with a conflicting key.  Never overwritten silently; replaced only
on request, the old one saved in the backup first."""

from __future__ import annotations

import json
import os

import pytest

from tests.hostile.hostile_support import (
    GOOD_ID,
    GOOD_KEY,
    UPDATED_MS,
    Hostile,
    legacy,
    lines_of,
    read_jsonl,
    sha,
)

AGENT_LINES = (b'{"role":"user","content":"written by the agent","timestamp":"2026-03-01T09:00:00"}\n'
               b'{"role":"assistant","content":"not from the legacy file"}\n')


def _diverged(hw: Hostile) -> dict:
    doc = legacy("victim", 3)
    hw.write("victim.json", doc)
    hw.map_key("agent:main:victim", "victim")
    hw.write("victim.jsonl", AGENT_LINES, mode=0o640)
    return doc


def test_existing_diverged_transcript_is_a_conflict(hw: Hostile) -> None:
    _diverged(hw)

    r = hw.migrate()

    assert r.rc == 1, r
    d = r.error("transcript_conflict", "victim.json")
    assert d["fixes"] == ["keep-existing", "replace-existing"]
    assert d["error"] == f"victim.jsonl already exists with other content ({len(AGENT_LINES):,} bytes)"
    assert (hw.sessions / "victim.jsonl").read_bytes() == AGENT_LINES
    assert "agent:main:victim" not in hw.store()
    hw.check(r)


def test_keep_existing_leaves_the_transcript_byte_identical(hw: Hostile) -> None:
    _diverged(hw)

    r = hw.migrate("--fix", "victim=keep-existing")

    assert r.rc == 0, r
    s = r.session("victim.json")
    assert "the existing victim.jsonl is kept; this file's messages stay in the backup only" in s["notes"]
    assert (hw.sessions / "victim.jsonl").read_bytes() == AGENT_LINES
    assert hw.store()["agent:main:victim"]["session_file"] == "victim.jsonl"
    hw.check(r)


def test_replace_existing_replaces_it_and_the_old_one_is_in_the_backup(hw: Hostile) -> None:
    doc = _diverged(hw)

    r = hw.migrate("--fix", "victim=replace-existing")

    assert r.rc == 0, r
    s = r.session("victim.json")
    assert "the existing victim.jsonl is replaced (it goes to the backup first)" in s["notes"]
    hw.assert_migrated("victim", "agent:main:victim", doc["messages"])
    copies = [name for name, info in hw.manifest().items() if info["original"] == "victim.jsonl"]
    assert len(copies) == 1
    info = hw.manifest()[copies[0]]
    saved = hw.sessions / "backup_old_format" / copies[0]
    assert saved.read_bytes() == AGENT_LINES
    assert (info["size"], info["sha256"]) == (len(AGENT_LINES), sha(AGENT_LINES))
    assert oct(os.stat(saved).st_mode & 0o777) == oct(0o640)
    hw.check(r)


def test_replace_existing_saves_the_old_transcript_before_replacing_it(hw: Hostile) -> None:
    """Watch the real file system: when the new transcript is renamed into place, the
    checked backup copy of the old one must already be on disk."""
    from migrate_tui.core import fsio
    from migrate_tui.engine import Decision, apply_plan, build_plan, scan_workspace

    _diverged(hw)
    hw.freeze()
    target = str(hw.sessions / "victim.jsonl")
    backup = hw.sessions / "backup_old_format"
    seen: list[bool] = []

    def hook(op: str, path: str) -> None:
        if op == "rename" and path == target:
            seen.append(any(p.read_bytes() == AGENT_LINES for p in backup.iterdir()
                            if p.is_file() and not p.name.endswith(".tmp")))
            manifest = json.loads((backup / "manifest.json").read_bytes())["files"]
            seen.append(any(i["original"] == "victim.jsonl" and i["sha256"] == sha(AGENT_LINES)
                            for i in manifest.values()))

    plan = build_plan(scan_workspace(str(hw.ws)), "main",
                      {"victim": Decision(fixes=frozenset({"replace-existing"}))})
    with fsio.fault_hook(hook):
        result = apply_plan(plan, lock_timeout=2)

    assert result.error is None and result.failed == []
    assert seen == [True, True]
    assert (hw.sessions / "victim.jsonl").read_bytes() != AGENT_LINES
    hw.assert_nothing_lost()
    hw.assert_outside_untouched()


def test_transcript_the_migration_would_write_anyway_is_not_a_conflict(hw: Hostile) -> None:
    doc = legacy("same", 2)
    hw.write("same.json", doc)
    data = b"".join(json.dumps(line, ensure_ascii=False, separators=(",", ":")).encode() + b"\n"
                    for line in lines_of(doc["messages"]))
    hw.write("same.jsonl", data)

    r = hw.migrate()

    assert r.rc == 0, r
    assert (hw.sessions / "same.jsonl").read_bytes() == data
    assert hw.store()["agent:main:same"]["session_id"] == "same"
    hw.check(r)


# ---------------------------------------------------------------- key conflicts

KEY = "agent:main:telegram:dm:1"
EXISTING = {
    KEY: {"session_id": "other", "updated_at": 1, "session_file": "other.jsonl",
          "label": "theirs", "unknown_future_field": [1, 2.50, {"x": None}]},
    "agent:main:cron:daily": {"session_id": "cron", "updated_at": 2, "session_file": "cron.jsonl"},
}
EXISTING_TEXT = json.dumps(EXISTING, indent=2).replace("2.5,", "2.50,") + "\n"  # a float repr would change


def _key_conflict(hw: Hostile) -> dict:
    doc = legacy("kc", 2)
    hw.write("kc.json", doc)
    hw.map_key(KEY, "kc")
    hw.write("sessions.json", EXISTING_TEXT, mode=0o640)
    return doc


def test_existing_key_with_another_session_is_a_conflict(hw: Hostile) -> None:
    _key_conflict(hw)

    r = hw.migrate()

    assert r.rc == 1, r
    d = r.error("key_conflict", "kc.json")
    assert d["fixes"] == ["keep-existing", "replace-existing"]
    assert d["error"] == f"the key {KEY!r} already points at session 'other' in sessions.json"
    store = hw.store()
    assert store[KEY] == EXISTING[KEY]  # untouched, numbers and all
    assert "2.50" in (hw.sessions / "sessions.json").read_text()
    assert not (hw.sessions / "kc.jsonl").exists()
    hw.check(r)  # the good session merged beside the existing entries


def test_keep_existing_keeps_the_entry_and_the_session_stays_reachable(hw: Hostile) -> None:
    doc = _key_conflict(hw)

    r = hw.migrate("--fix", "kc=keep-existing")

    assert r.rc == 0, r
    notes = r.session("kc.json")["notes"]
    assert f"{KEY!r} keeps its existing entry (session 'other')" in notes
    assert "all its keys keep their existing entries: it is reachable as 'agent:main:kc'" in notes
    store = hw.store()
    assert store[KEY] == EXISTING[KEY]
    assert store["agent:main:cron:daily"] == EXISTING["agent:main:cron:daily"]
    hw.assert_migrated("kc", "agent:main:kc", doc["messages"])
    assert list(store) == [KEY, "agent:main:cron:daily", GOOD_KEY, "agent:main:kc"]
    hw.check(r)


def test_replace_existing_replaces_the_entry_and_the_old_index_is_in_the_backup(hw: Hostile) -> None:
    doc = _key_conflict(hw)

    r = hw.migrate("--fix", "kc=replace-existing")

    assert r.rc == 0, r
    entry = hw.assert_migrated("kc", KEY, doc["messages"], updated_at=UPDATED_MS)
    assert "unknown_future_field" not in entry
    store = hw.store()
    assert store["agent:main:cron:daily"] == EXISTING["agent:main:cron:daily"]  # merged, not blind
    copies = [n for n, i in hw.manifest().items() if i["original"] == "sessions.json"]
    assert [hw.backup_bytes()[n] for n in copies] == [EXISTING_TEXT.encode()]
    # the replaced sessions.json keeps its own permissions
    assert oct(os.stat(hw.sessions / "sessions.json").st_mode & 0o777) == oct(0o640)
    hw.check(r)


@pytest.mark.parametrize("fix", ["keep-existing", "replace-existing"])
def test_key_conflict_fix_does_not_touch_other_sessions_entries(hw: Hostile, fix: str) -> None:
    _key_conflict(hw)
    r = hw.migrate("--fix", f"kc={fix}")
    assert r.rc == 0, r
    assert hw.store()[GOOD_KEY]["session_id"] == GOOD_ID
    assert read_jsonl(hw.sessions / f"{GOOD_ID}.jsonl") == lines_of(hw.good[GOOD_ID][1])
