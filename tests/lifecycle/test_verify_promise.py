"""verify checks the whole promise: every legacy session migrated and matching (or reported as
skipped / a problem), every session_map key present and pointing right, no entry pointing at
a missing transcript, no interrupted run, no source changed since its migration.  Its exit
code tells the truth: 0 only then."""

from __future__ import annotations

import json

import pytest

from tests.lifecycle.lifecycle_support import (
    A,
    B,
    C,
    CancelAt,
    Workspace,
    migrate_inproc,
    oplock_held,
    three,
    while_preparing,
)


def _verify(ws: Workspace) -> tuple[int, dict]:
    run = ws.cli("verify", "--json")
    return run.rc, json.loads(run.stdout)


def test_a_complete_migration_verifies(ws: Workspace) -> None:
    three(ws)
    assert ws.migrate().rc == 0
    rc, out = _verify(ws)
    assert (rc, out["status"], out["problems"]) == (0, "ok", []), out
    assert out["checked"] == 3


def test_an_interrupted_migration_does_not_verify(ws: Workspace) -> None:
    """The issue's scenario: transcripts written, no sessions.json — verify said all was well."""
    three(ws)
    cancel = CancelAt(while_preparing(f"{A}.json"))
    result, _report, _code = migrate_inproc(ws.root, hook=cancel, cancel=cancel)
    assert result.cancelled and (ws.sessions / f"{A}.jsonl").exists()
    rc, out = _verify(ws)
    assert rc == 4 and out["status"] == "different", out
    assert any("interrupted" in p for p in out["problems"])
    assert any(f"{B}.json is not migrated" in p for p in out["problems"])


def test_a_never_migrated_workspace_does_not_verify(ws: Workspace) -> None:
    three(ws)
    rc, out = _verify(ws)
    assert rc == 4
    assert sorted(out["problems"]) == sorted(f"{s}.json is not migrated" for s in (A, B, C))


def test_an_empty_workspace_verifies(ws: Workspace) -> None:
    rc, out = _verify(ws)
    assert rc == 0, out


def test_a_legacy_session_added_after_the_migration_does_not_verify(ws: Workspace) -> None:
    three(ws)
    assert ws.migrate().rc == 0
    ws.add("late", keys=("agent:main:late",))
    rc, out = _verify(ws)
    assert rc == 4 and out["problems"] == ["late.json is not migrated"], out
    assert ws.migrate().rc == 0
    assert _verify(ws)[0] == 0


def test_a_source_changed_since_its_migration_does_not_verify(ws: Workspace) -> None:
    three(ws)
    assert ws.migrate().rc == 0
    path = ws.sessions / f"{C}.json"
    doc = json.loads(path.read_bytes())
    doc["metadata"]["label"] = "renamed by an old agent"  # same messages, other bytes
    path.write_text(json.dumps(doc, indent=2))
    rc, out = _verify(ws)
    assert rc == 4 and out["problems"] == [f"{C}.json changed since the migration saw it: run migrate "
                                           "again"], out


def test_a_session_map_key_pointing_elsewhere_does_not_verify(ws: Workspace) -> None:
    three(ws)
    assert ws.migrate().rc == 0
    store = ws.store()
    store["agent:main:telegram:dm:1"] = dict(store["agent:main:discord:group:g"])
    (ws.sessions / "sessions.json").write_text(json.dumps(store, indent=2) + "\n")
    rc, out = _verify(ws)
    assert rc == 4, out
    assert any("agent:main:telegram:dm:1" in p for p in out["problems"]), out


def test_an_entry_pointing_at_a_missing_transcript_does_not_verify(ws: Workspace) -> None:
    """What an interleaved rollback used to leave: entries whose transcripts are gone."""
    three(ws)
    assert ws.migrate().rc == 0
    (ws.sessions / f"{B}.jsonl").unlink()
    rc, out = _verify(ws)
    assert rc == 4, out
    assert f"sessions.json: 'agent:main:discord:group:g' points at {B}.jsonl, which is missing" \
        in out["problems"]


def test_entries_pointing_at_missing_files_before_the_migration_are_only_noted(ws: Workspace) -> None:
    three(ws)
    ws.write_store({"agent:main:gone": {"session_id": "gone", "updated_at": 1, "session_file": "gone.jsonl"}})
    assert ws.migrate().rc == 0
    rc, out = _verify(ws)
    assert rc == 0, out
    assert any("gone.jsonl, which is missing (as it did before the migration)" in n for n in out["notes"])


def test_skipped_and_damaged_sessions_reported_by_the_migration_verify(ws: Workspace) -> None:
    three(ws)
    ws.write_raw("broken.json", '{"session_id": "broken", "messages": [')
    run = ws.migrate("--skip", B)
    assert run.rc == 1, str(run)  # broken.json is a problem left
    rc, out = _verify(ws)
    assert rc == 0, out
    assert f"{B}.json was not migrated (skipped), as the migration reported" in out["notes"]
    assert "broken.json was not migrated (a problem: invalid_json), as the migration reported" in out["notes"]


def test_a_transcript_that_differs_is_named_with_its_line(ws: Workspace) -> None:
    three(ws)
    assert ws.migrate().rc == 0
    path = ws.sessions / f"{A}.jsonl"
    lines = path.read_text().splitlines(keepends=True)
    lines[2] = lines[2].replace("message 2", "message two")
    path.write_text("".join(lines))
    rc, out = _verify(ws)
    assert rc == 4
    assert f"{A}.jsonl: line 3 differs from message 3 of {A}.json" in out["problems"], out


@pytest.mark.parametrize("json_flag", [True, False])
def test_verify_during_an_operation_says_so(ws: Workspace, json_flag: bool) -> None:
    three(ws)
    assert ws.migrate().rc == 0
    with oplock_held(ws.root, "cleanup"):
        run = ws.cli("verify", *(["--json"] if json_flag else []))
    assert run.rc == 3, str(run)
    text = json.loads(run.stdout)["error"] if json_flag else run.stderr
    assert "cleanup (process" in text and "cannot be read consistently now" in text


def test_a_cleaned_up_session_with_numbers_read_the_careful_way_verifies(ws: Workspace) -> None:
    """Found by the model test: a transcript checked against its backup copy, whose numbers
    the piece-by-piece reading gives up on halfway, still verifies (and a change in it is
    still found)."""
    from tests.lifecycle.lifecycle_support import message

    msgs = [message("user", "big", n=10**20), message("assistant", "float", f=0.30000000000000004)]
    ws.add(A, msgs, keys=("agent:main:main",))
    assert ws.migrate().rc == 0
    assert ws.cli("cleanup", "--yes").rc == 0
    assert not (ws.sessions / f"{A}.json").exists()
    rc, out = _verify(ws)
    assert rc == 0, out
    path = ws.sessions / f"{A}.jsonl"
    path.write_bytes(path.read_bytes().replace(b"float", b"FLOAT"))
    rc, out = _verify(ws)
    assert rc == 4 and f"{A}.jsonl: line 2 differs from message 2 of {A}.json" in out["problems"], out


@pytest.mark.parametrize("cleaned_up", [False, True])
def test_a_transcript_is_compared_a_few_bytes_at_a_time(ws: Workspace, monkeypatch: pytest.MonkeyPatch,
                                                        cleaned_up: bool) -> None:
    """The transcript and the journal are read a chunk at a time (never whole): with chunks of
    a few bytes, every difference is still found at its line, an addition by the agent is
    still only noted, and a transcript cut short is still named."""
    from migrate_tui.engine import journal, transcript_compare, verify

    monkeypatch.setattr(transcript_compare, "READ_CHUNK", 5)
    monkeypatch.setattr(journal, "READ_CHUNK", 7)
    ws.add(A, n=6, keys=("agent:main:main",))
    assert ws.migrate().rc == 0
    if cleaned_up:  # every transcript is then compared with its backup copy
        assert ws.cli("cleanup", "--yes").rc == 0
    path = ws.sessions / f"{A}.jsonl"
    good = path.read_bytes()

    def verified() -> verify.VerifyResult:
        journal._last = None
        return verify.verify_workspace(str(ws.root))

    assert verified().ok
    lines = good.splitlines(keepends=True)
    path.write_bytes(b"".join(lines[:4]) + lines[4].replace(b"message", b"MESSAGE") + b"".join(lines[5:]))
    result = verified()
    assert not result.ok and f"{A}.jsonl: line 5 differs from message 5 of {A}.json" in result.problems
    later = b'{"role": "user", "content": "later"}\n'
    path.write_bytes(good + later)
    result = verified()
    said = f"continued by the agent since the migration ({len(later)} bytes more)" if cleaned_up \
        else "continued by the agent since the migration"  # the scan found it (extended)
    assert result.ok and any(said in n for n in result.notes), result
    path.write_bytes(b"".join(lines[:-1]))
    result = verified()
    assert not result.ok and f"{A}.jsonl: line {len(lines)} is missing ({len(lines)} messages in {A}.json)" \
        in result.problems, result
