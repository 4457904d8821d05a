"""Running it again on a migrated workspace changes nothing and says so (docs/guarantees.md)."""

from __future__ import annotations

import pytest

from migrate_tui.engine import MIGRATE, build_plan, scan_workspace, session_preview
from tests.engine.engine_support import Workspace, conversation, diff, without_nulls

UUID_A = "c25b364a-8e88-468e-ba3c-526b48c4fcf0"
UUID_B = "7d1f0a55-3b2c-4e8f-9a61-0c2d4e6f8a9b"


def _workspace(ws: Workspace) -> int:
    ws.write_store({"agent:main:newer": {"session_id": "newer", "updated_at": 1,
                                          "session_file": "newer.jsonl", "future": [1, 2]}})
    ws.write_raw("newer.jsonl", b'{"role":"user","content":"hi"}\n')
    ws.add(UUID_A, keys=("agent:main:main", "agent:main:telegram:dm:12345"))
    ws.add(UUID_B, [], keys=("agent:main:cron:daily",))  # no messages
    ws.add("legacy-notes", metadata={"label": "Notes", "session_key": "agent:main:notes:x"})
    ws.add("keyless-2", conversation("k", 5))
    ws.map("agent:main:gone", "no-such-session")  # a dangling key: a warning, every time
    return 4


def test_second_run_changes_nothing_and_says_so(ws: Workspace) -> None:
    n = _workspace(ws)
    first = ws.migrate()
    assert first.rc == 0, str(first)
    assert first.report["migrated"] == n
    after_first = ws.tree()

    second = ws.migrate()
    assert second.rc == 0, str(second)
    # not one byte, mode or mtime changed under .sessions/, backup folder included
    assert diff(after_first, ws.tree()) == []
    report = second.report
    assert report["status"] == "success"
    assert report["migrated"] == 0
    assert report["already_migrated"] == n
    assert report["errors"] == 0
    assert {s["status"] for s in report["sessions"]} == {"done"}


def test_second_run_results_block_says_nothing_to_do(ws: Workspace) -> None:
    _workspace(ws)
    assert ws.migrate().rc == 0
    before = ws.tree()

    run = ws.cli("migrate")  # the plain results block this time
    assert run.rc == 0, str(run)
    assert "Sessions migrated: 0" in run.stdout
    assert "Already migrated:  4" in run.stdout
    assert "Nothing to do" in run.stdout
    assert diff(before, ws.tree()) == []


def test_third_run_after_adding_a_session_migrates_only_that_one(ws: Workspace) -> None:
    _workspace(ws)
    assert ws.migrate().rc == 0
    old_transcript = (ws.sessions / f"{UUID_A}.jsonl").stat().st_mtime_ns

    ws.add("late-arrival", keys=("agent:main:late",))
    run = ws.migrate()
    assert run.rc == 0, str(run)
    assert run.report["migrated"] == 1
    assert run.report["already_migrated"] == 4
    assert ws.store()["agent:main:late"]["session_id"] == "late-arrival"
    assert (ws.sessions / f"{UUID_A}.jsonl").stat().st_mtime_ns == old_transcript


def test_rerun_after_dropping_bad_messages_changes_nothing(ws: Workspace) -> None:
    """A file with a message that is not an object: once migrated with drop-bad-messages,
    scanning it again (and previewing it as it is) must not fail."""
    msgs = conversation("m", 3)
    ws.add("mixed", [*msgs[:2], "stray text, not a message", msgs[2]], keys=("agent:main:main",))
    first = ws.migrate("--fix", "mixed=drop-bad-messages")
    assert first.rc == 0, str(first)
    assert ws.transcript("mixed") == without_nulls(msgs)
    before = ws.tree()

    again = ws.migrate()  # repeats the earlier fix for the unchanged file
    assert again.rc == 0, str(again)
    assert again.report["already_migrated"] == 1 and again.report["migrated"] == 0
    assert diff(before, ws.tree()) == []

    plan = build_plan(scan_workspace(str(ws.root)), "main", {"mixed": MIGRATE})
    preview = session_preview(plan, "mixed")  # as it is: the stray item shown, not a crash
    assert preview.transcript_total == 4
    assert plan.session("mixed").action == "blocked"


def test_a_big_session_s_transcript_is_compared_a_piece_at_a_time(ws: Workspace,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """A session big enough to be read piece by piece has its existing transcript compared
    the same way (its messages' parse, the expected bytes and the file's never held whole):
    the same transcript is "same", one the agent continued "extended", any other byte
    "different"."""
    from migrate_tui.engine import legacy, scan, transcript_compare

    sid = "a1b2c3d4-0000-4000-8000-0000000000b1"
    ws.add(sid, n=40)
    assert ws.cli("migrate", "--json").rc == 0
    monkeypatch.setattr(legacy, "STREAM_BYTES", 64)  # every file is "big"
    monkeypatch.setattr(transcript_compare, "READ_CHUNK", 7)

    def whole(*args: object) -> None:
        raise AssertionError("compared whole")

    monkeypatch.setattr(scan, "_check_transcripts", whole)

    def state() -> str:
        found = scan.scan_workspace(str(ws.root)).sessions[0].content.transcripts[sid]
        return found.state

    assert state() == "same"
    path = ws.sessions / f"{sid}.jsonl"
    good = path.read_bytes()
    path.write_bytes(good + b'{"role": "user", "content": "later"}\n')
    assert state() == "extended"
    path.write_bytes(good.replace(b"message 7", b"message 8", 1))
    assert state() == "different"
    path.write_bytes(good[:-1])
    assert state() == "different"
