"""Committed runs: a migration commits only once sessions.json is merged and verified; until
then it is interrupted — migrate completes it, rollback undoes it, cleanup refuses (naming
it), verify reports it with a non-zero exit.  Clean-up removes an original only when the
agent reaches its conversation without it."""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path

from migrate_tui.engine.state import workspace_state
from tests.lifecycle.lifecycle_support import (
    A,
    B,
    C,
    CancelAt,
    Workspace,
    diff,
    journal_records,
    migrate_inproc,
    outside_backup,
    store_lock_held,
    three,
    tree,
    while_preparing,
)


def _interrupted_after_transcripts(ws: Workspace) -> None:
    """Cancelled after its transcripts were written, before sessions.json: the state a lock
    failure or a cancel used to leave, and that clean-up acted on."""
    # the cancel comes while A is prepared: A's transcript is written, then it stops
    cancel = CancelAt(while_preparing(f"{A}.json"))
    result, report, code = migrate_inproc(ws.root, hook=cancel, cancel=cancel)
    assert result.cancelled and code == 5, report
    assert (ws.sessions / f"{A}.jsonl").is_file()
    assert not (ws.sessions / "sessions.json").exists()


def test_sessions_json_lock_held_fails_before_anything_is_written(ws: Workspace) -> None:
    three(ws)
    before = tree(ws.root)
    with store_lock_held(ws.root):
        run = ws.cli("migrate", "--json", "--lock-timeout", "0.3")
    assert run.rc == 3, str(run)
    assert "sessions.json.lock" in json.loads(run.stdout)["error"]
    after = {k: v for k, v in tree(ws.root).items() if k != ".sessions"}
    # no backup, no transcript
    assert diff({k: v for k, v in before.items() if k != ".sessions"}, after) == []


def test_a_cancelled_run_is_interrupted_until_migrate_completes_it(ws: Workspace) -> None:
    three(ws)
    _interrupted_after_transcripts(ws)
    state = workspace_state(str(ws.root))
    assert [r.command for r in state.interrupted] == ["migrate"]

    verify = ws.cli("verify", "--json")
    assert verify.rc == 4, str(verify)
    out = json.loads(verify.stdout)
    assert out["interrupted"] == [state.interrupted[0].run]
    assert any("did not finish (interrupted)" in p for p in out["problems"])

    originals = {p.name: p.read_bytes() for p in ws.sessions.glob("*.json")}
    cleanup = ws.cli("cleanup", "--yes")
    assert cleanup.rc == 1, str(cleanup)
    assert "did not finish (interrupted)" in cleanup.stdout and "run migrate to finish it" in cleanup.stdout
    assert {p.name: p.read_bytes() for p in ws.sessions.glob("*.json")} == originals

    again = ws.migrate()
    assert again.rc == 0, str(again)
    assert workspace_state(str(ws.root)).interrupted == []
    assert ws.cli("verify").rc == 0
    cleaned = ws.cli("cleanup", "--yes")
    assert cleaned.rc == 0, str(cleaned)
    assert not list(ws.sessions.glob("a1b2*.json"))


def test_rollback_undoes_an_interrupted_run(ws: Workspace) -> None:
    three(ws)
    ws_before = outside_backup(ws)
    _interrupted_after_transcripts(ws)
    run = ws.cli("rollback", "--yes", "--json")
    assert run.rc == 0, str(run)
    after = outside_backup(ws)
    assert diff({k: v for k, v in ws_before.items() if k != ".sessions"},
                {k: v for k, v in after.items() if k != ".sessions"}) == []
    assert workspace_state(str(ws.root)).interrupted == []


def test_a_run_killed_before_its_commit_is_completed_by_a_rerun_with_nothing_to_write(ws: Workspace) -> None:
    """Everything was written, only the commit record is missing: the rerun has nothing to
    write, and still commits (the scan found everything in place)."""
    three(ws)

    def kill_at_commit(op: str, path: str) -> None:
        if (op == "open" and path.endswith("journal.jsonl") and (ws.sessions / "sessions.json").exists()
                and any(r.get("op") == "keys" for r in journal_records(ws))):
            raise KeyboardInterrupt  # stops at once, like a kill, before the commit

    with contextlib.suppress(KeyboardInterrupt):
        migrate_inproc(ws.root, hook=kill_at_commit)
    assert workspace_state(str(ws.root)).interrupted
    assert ws.cli("verify").rc == 4
    again = ws.migrate()
    assert again.rc == 0 and again.report["migrated"] == 0, str(again)
    assert journal_records(ws)[-1]["op"] == "commit"
    assert ws.cli("verify").rc == 0


def test_a_no_op_rerun_writes_nothing_at_all(ws: Workspace) -> None:
    three(ws)
    assert ws.migrate().rc == 0
    before = tree(ws.root)
    run = ws.migrate()
    assert run.rc == 0 and run.report["already_migrated"] == 3, str(run)
    assert diff(before, tree(ws.root)) == []


def test_a_verification_failure_is_not_committed(ws: Workspace) -> None:
    three(ws)

    def spoil(op: str, path: str) -> None:  # another process removes a transcript after it landed
        if op == "lock" and (ws.sessions / f"{A}.jsonl").exists() and path.endswith("sessions.json.lock"):
            (ws.sessions / f"{A}.jsonl").unlink()

    result, report, code = migrate_inproc(ws.root, hook=spoil)
    assert result.verified is False and code == 4, report
    assert not result.committed
    assert not [r for r in journal_records(ws) if r["op"] == "commit"]


# ---------------------------------------------------------------- clean-up's conditions


def test_cleanup_keeps_an_original_whose_key_points_at_another_session(ws: Workspace) -> None:
    three(ws)
    assert ws.migrate().rc == 0
    store = ws.store()
    store["agent:main:discord:group:g"] = {**store["agent:main:discord:group:g"], "session_id": A,
                                           "session_file": f"{A}.jsonl"}
    (ws.sessions / "sessions.json").write_text(json.dumps(store, indent=2) + "\n")
    run = ws.cli("cleanup", "--yes", "--json")
    assert run.rc == 0, str(run)
    out = json.loads(run.stdout)
    kept = {k["file"]: k["why"] for k in out["kept"]}
    assert "agent:main:discord:group:g" in kept[f"{B}.json"]
    assert "session_map.json" in kept  # its key does not point where it says
    assert (ws.sessions / f"{B}.json").exists() and (ws.sessions / "session_map.json").exists()
    assert sorted(out["removed"]) == sorted([f"{A}.json", f"{C}.json"])


def test_cleanup_keeps_an_original_whose_transcript_no_longer_holds_its_messages(ws: Workspace) -> None:
    three(ws)
    assert ws.migrate().rc == 0
    path = ws.sessions / f"{A}.jsonl"
    path.write_bytes(path.read_bytes().replace(b"message 1", b"message one"))
    run = ws.cli("cleanup", "--yes", "--json")
    out = json.loads(run.stdout)
    kept = {k["file"]: k["why"] for k in out["kept"]}
    assert "no longer holds its messages" in kept[f"{A}.json"], out
    assert (ws.sessions / f"{A}.json").exists()


def test_cleanup_keeps_a_session_no_entry_reaches(ws: Workspace) -> None:
    three(ws)
    assert ws.migrate().rc == 0
    store = ws.store()
    del store[f"agent:main:{C}"]
    (ws.sessions / "sessions.json").write_text(json.dumps(store, indent=2) + "\n")
    out = json.loads(ws.cli("cleanup", "--yes", "--json").stdout)
    kept = {k["file"]: k["why"] for k in out["kept"]}
    assert kept[f"{C}.json"] == f"no entry of sessions.json points at {C}"
    assert (ws.sessions / f"{C}.json").exists()


def test_cleanup_after_a_skip_keeps_the_skipped_original_and_session_map(ws: Workspace) -> None:
    three(ws)
    assert ws.migrate("--skip", B).rc == 0
    out = json.loads(ws.cli("cleanup", "--yes", "--json").stdout)
    assert sorted(out["removed"]) == sorted([f"{A}.json", f"{C}.json"])
    assert (ws.sessions / f"{B}.json").exists() and (ws.sessions / "session_map.json").exists()
    # every conversation is still reachable or in place, and verify agrees
    assert ws.cli("verify").rc == 0
    assert ws.cli("rollback", "--yes").rc == 0


def test_cleanup_then_rollback_then_migrate_again(ws: Workspace, tmp_path: Path) -> None:
    three(ws)
    before = outside_backup(ws)
    assert ws.migrate().rc == 0
    assert ws.cli("cleanup", "--yes").rc == 0
    assert ws.cli("verify").rc == 0  # cleaned-up originals are checked from their backup copies
    assert ws.cli("rollback", "--yes").rc == 0
    assert diff({k: v for k, v in before.items() if k != ".sessions"},
                {k: v for k, v in outside_backup(ws).items() if k != ".sessions"}) == []
    again = ws.migrate()
    assert again.rc == 0 and again.report["migrated"] == 3, str(again)
    assert ws.cli("verify").rc == 0
    assert os.path.exists(ws.sessions / f"{A}.json")
