"""The command (docs/cli.md), run for real in a subprocess: --dry-run, --json, the results block,
--skip/--fix, and the exit codes 0/1/2/3/4."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.engine.engine_support import UPDATED_MS, Workspace, conversation, diff, run_cli, tree

UUID_A = "c25b364a-8e88-468e-ba3c-526b48c4fcf0"
UUID_B = "7d1f0a55-3b2c-4e8f-9a61-0c2d4e6f8a9b"
TRUNCATED = b'{\n  "session_id": "broken",\n  "messages": [\n    {"role": "user", "content": "cut'


def _damage_at() -> tuple[int, int]:
    """Where Python's json says the truncated file goes wrong (line 4, at the cut string)."""
    try:
        json.loads(TRUNCATED)
    except json.JSONDecodeError as exc:
        return exc.lineno, exc.colno
    raise AssertionError("TRUNCATED parses")


def _mixed(ws: Workspace) -> None:
    """Two good sessions, one truncated file, one dangling key."""
    ws.add(UUID_A, keys=("agent:main:main", "agent:main:telegram:dm:12345"))
    ws.add(UUID_B, metadata={"label": "B", "ui_color": "teal"})  # key-less, a not-carried field
    ws.write_raw("broken.json", TRUNCATED)
    ws.map("agent:main:broken", "broken")
    ws.map("agent:main:gone", "no-such-session")


# ---------------------------------------------------------------- --dry-run


@pytest.mark.parametrize("as_json", [True, False])
def test_dry_run_writes_nothing(ws: Workspace, tmp_path: Path, as_json: bool) -> None:
    _mixed(ws)
    ws.write_store({"agent:main:newer": {"session_id": "newer", "updated_at": 1,
                                          "session_file": "newer.jsonl"}})
    before = tree(tmp_path)
    run = ws.migrate("--dry-run") if as_json else ws.cli("migrate", "--dry-run", "-v")
    assert run.rc == 1, str(run)  # the truncated file still needs a decision
    assert diff(before, tree(tmp_path)) == []
    if as_json:
        report = run.report
        assert report["dry_run"] is True
        assert report["migrated"] == 2  # what a real run would migrate
        assert run.session(UUID_A)["action"] == "migrate"
    else:
        assert "dry run: nothing was written" in run.stdout
        assert "Sessions to migrate: 2" in run.stdout


def test_dry_run_of_a_fix_writes_nothing_either(ws: Workspace, tmp_path: Path) -> None:
    _mixed(ws)
    before = tree(tmp_path)
    run = ws.migrate("--dry-run", "--fix", "broken=salvage")
    assert run.rc == 0, str(run)
    assert run.session("broken")["action"] == "fix:salvage"
    assert run.report["migrated"] == 3
    assert diff(before, tree(tmp_path)) == []


# ---------------------------------------------------------------- --json


def test_json_is_one_object_with_the_fields_of_the_spec(ws: Workspace) -> None:
    _mixed(ws)
    run = ws.migrate()
    assert run.rc == 1, str(run)
    report = run.report  # raises unless stdout is exactly one JSON object
    assert run.stdout.count("\n") == 1 and run.stdout.endswith("}\n")
    assert report["status"] == "partial"
    assert report["dry_run"] is False
    assert report["workspace"] == str(ws.root)
    assert report["agent_id"] == "main"
    assert report["store_path"] == str(ws.sessions / "sessions.json")
    assert report["backup_dir"] == str(ws.backup)
    assert (report["sessions_found"], report["migrated"], report["skipped"], report["errors"]) == (3, 2, 1, 1)
    assert report["warnings"] == len(report["warning_details"]) >= 1  # the dangling key
    for name in ("sessions_found", "migrated", "skipped", "errors", "warnings"):
        assert type(report[name]) is int, name

    (detail,) = report["error_details"]
    assert set(detail) >= {"file", "session_id", "problem", "error", "line", "column", "fixes"}
    assert detail["file"] == str(ws.sessions / "broken.json")
    assert detail["session_id"] == "broken"
    assert detail["problem"] == "invalid_json"
    assert detail["fixes"] == ["salvage"]
    line, column = _damage_at()
    assert line == 4
    assert (detail["line"], detail["column"]) == (line, column)
    assert f"line {line}, column {column}" in detail["error"]

    assert len(report["sessions"]) == 3
    for s in report["sessions"]:
        assert set(s) >= {"session_id", "keys", "action", "messages", "problems", "not_carried"}
    a = run.session(UUID_A)
    assert (sorted(a["keys"]), a["action"], a["messages"], a["problems"]) == (
        ["agent:main:main", "agent:main:telegram:dm:12345"], "migrate", 3, [])
    assert a["not_carried"] == ["created_at"]
    b = run.session(UUID_B)
    assert b["keys"] == [f"agent:main:{UUID_B}"]
    assert b["not_carried"] == ["created_at", "metadata.ui_color"]
    broken = run.session("broken")
    assert broken["action"] == "skip" and broken["problems"] == ["invalid_json"]


def test_json_on_an_unusable_workspace_is_still_one_object(tmp_path: Path) -> None:
    run = run_cli("migrate", tmp_path / "missing", "--json")
    assert run.rc == 2
    report = run.report
    assert report["status"] == "failed" and "does not exist" in report["error"]


# ---------------------------------------------------------------- the results block


def _block(text: str) -> dict[str, str]:
    rows = {}
    for line in text.splitlines():
        name, sep, value = line.partition(":")
        if sep and not line.startswith(" ") and value.startswith(" "):
            rows.setdefault(name, value.strip())
    return rows


def test_results_block_names_status_counts_errors_and_backup(ws: Workspace) -> None:
    _mixed(ws)
    run = ws.cli("migrate")
    assert run.rc == 1, str(run)
    rows = _block(run.stdout)
    assert rows["Status"] == "partial"
    assert rows["Sessions found"] == "3"
    assert rows["Sessions migrated"] == "2"
    assert rows["Errors"] == "1"
    assert rows["Backup location"] == str(ws.backup)
    # the error says where and how to go on
    line, column = _damage_at()
    assert f"{ws.sessions / 'broken.json'}:{line}:{column}" in run.stdout
    assert "--fix broken=salvage" in run.stdout and "--skip broken" in run.stdout


def test_skip_leaves_the_session_alone(ws: Workspace) -> None:
    _mixed(ws)
    run = ws.migrate("--skip", UUID_A, "--skip", "broken.json")  # by id, or by file name
    assert run.rc == 0, str(run)  # skipping is a decision, not an error
    report = run.report
    assert (report["status"], report["migrated"], report["skipped"], report["errors"]) == ("success", 1, 2, 0)
    assert run.session(UUID_A)["action"] == "skip" and run.session("broken")["action"] == "skip"
    assert not (ws.sessions / f"{UUID_A}.jsonl").exists()
    assert not (ws.sessions / "broken.jsonl").exists()
    assert all(e["session_id"] == UUID_B for e in ws.store().values())

    text = ws.cli("migrate", "--skip", UUID_A, "--skip", "broken")
    assert text.rc == 0 and _block(text.stdout)["Skipped"] == "2"


@pytest.mark.parametrize("args, words", [
    (("--fix", f"{UUID_A}=frobnicate"), ["frobnicate"]),
    (("--fix", "no-such-session=salvage"), ["no-such-session"]),
    (("--skip", "no-such-session"), ["no-such-session"]),
    (("--fix", "salvage"), ["SESSION_ID=FIX"]),
])
def test_bad_skip_or_fix_is_one_clear_line_and_writes_nothing(
        ws: Workspace, tmp_path: Path, args: tuple[str, ...], words: list[str]) -> None:
    _mixed(ws)
    before = tree(tmp_path)
    run = ws.cli("migrate", *args)
    assert run.rc == 2, str(run)
    lines = [line for line in run.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, str(run)
    for word in words:
        assert word in lines[0], str(run)
    assert run.stdout == ""
    assert diff(before, tree(tmp_path)) == []

    as_json = ws.migrate(*args)
    assert as_json.rc == 2, str(as_json)
    assert as_json.report["status"] == "failed"
    assert all(word in as_json.report["error"] for word in words), str(as_json)


# ---------------------------------------------------------------- exit codes


def test_exit_0_when_everything_migrated(ws: Workspace) -> None:
    ws.add(UUID_A, keys=("agent:main:main",))
    run = ws.migrate()
    assert (run.rc, run.report["status"]) == (0, "success"), str(run)


def test_exit_0_when_there_is_nothing_to_migrate(ws: Workspace) -> None:
    run = ws.migrate()
    assert run.rc == 0, str(run)
    assert run.report["status"] == "not_found" and run.report["sessions_found"] == 0
    assert sorted(os.listdir(ws.sessions)) == []


def test_exit_1_when_damaged_files_are_left(ws: Workspace) -> None:
    _mixed(ws)
    run = ws.migrate()
    assert (run.rc, run.report["status"]) == (1, "partial"), str(run)
    assert (ws.sessions / f"{UUID_A}.jsonl").is_file()


def _unusable(kind: str, ws: Workspace, tmp_path: Path) -> Path:
    """Make the workspace unusable in one way; return the path to give the command."""
    if kind == "missing":
        return tmp_path / "nowhere"
    if kind == "workspace-is-a-file":
        (tmp_path / "file").write_text("x")
        return tmp_path / "file"
    ws.add(UUID_A, keys=("agent:main:main",))
    if kind == "sessions-is-a-file":
        os.rename(ws.sessions, tmp_path / "elsewhere")
        ws.sessions.write_text("not a folder")
    elif kind == "sessions-is-a-symlink":
        os.rename(ws.sessions, tmp_path / "elsewhere")
        os.symlink(tmp_path / "elsewhere", ws.sessions)
    elif kind == "store-invalid-json":
        ws.write_store('{"agent:main:x": {"session_id": "x",')
    elif kind == "store-not-an-object":
        ws.write_store('["a list"]')
    elif kind == "store-is-a-folder":
        (ws.sessions / "sessions.json").mkdir()
    elif kind == "store-is-a-symlink":
        (tmp_path / "real-store.json").write_text('{"agent:main:x": {"session_id": "x"}}')
        os.symlink(tmp_path / "real-store.json", ws.sessions / "sessions.json")
    elif kind == "session-map-invalid-json":
        ws.write_raw("session_map.json", '{"agent:main:main": ')
    return ws.root


@pytest.mark.parametrize("kind", [
    "missing", "workspace-is-a-file", "sessions-is-a-file", "sessions-is-a-symlink",
    "store-invalid-json", "store-not-an-object", "store-is-a-folder", "store-is-a-symlink",
    "session-map-invalid-json",
])
def test_exit_2_on_an_unusable_workspace(ws: Workspace, tmp_path: Path, kind: str) -> None:
    target = _unusable(kind, ws, tmp_path)
    before = tree(tmp_path)
    run = run_cli("migrate", target)
    assert run.rc == 2, str(run)
    assert run.stderr.strip(), str(run)
    assert diff(before, tree(tmp_path)) == []  # nothing written anywhere, not through a link


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads a file whatever its mode")
def test_exit_2_on_an_unreadable_sessions_json(ws: Workspace) -> None:
    ws.add(UUID_A, keys=("agent:main:main",))
    store = ws.write_store({"agent:main:x": {"session_id": "x", "updated_at": 1, "session_file": "x.jsonl"}})
    store.chmod(0)
    try:
        run = ws.migrate()
        assert run.rc == 2, str(run)
        assert "sessions.json" in run.report["error"]
        assert not (ws.sessions / f"{UUID_A}.jsonl").exists()
    finally:
        store.chmod(0o600)


HOLD_LOCK = """
import sys
from filelock import SoftFileLock
lock = SoftFileLock(sys.argv[1])
lock.acquire()
print("locked", flush=True)
sys.stdin.read()
lock.release()
"""


def test_exit_3_when_the_lock_is_held(ws: Workspace) -> None:
    ws.add(UUID_A, keys=("agent:main:main",))
    store = ws.write_store({"agent:main:newer": {"session_id": "newer", "updated_at": 1,
                                                  "session_file": "newer.jsonl"}})
    before = (store.read_bytes(), store.stat().st_mtime_ns, store.stat().st_ino)
    lock_path = ws.sessions / "sessions.json.lock"
    holder = subprocess.Popen([sys.executable, "-c", HOLD_LOCK, str(lock_path)],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "locked\n"
        run = run_cli("migrate", ws.root, "--json", "--lock-timeout", "0.5")
        assert run.rc == 3, str(run)
        assert run.report["status"] == "failed"
        assert "sessions.json.lock" in run.report["error"]
        assert (store.read_bytes(), store.stat().st_mtime_ns, store.stat().st_ino) == before
        assert lock_path.exists()  # the other process's lock is left alone
        plain = run_cli("migrate", ws.root, "--lock-timeout", "0.5")
        assert plain.rc == 3 and "sessions.json.lock" in plain.stderr, str(plain)
        assert store.read_bytes() == before[0]
    finally:
        assert holder.stdin is not None
        holder.stdin.close()
        holder.wait(timeout=30)
    assert not lock_path.exists()
    # once the lock is free, running again finishes the job
    again = ws.migrate()
    assert again.rc == 0, str(again)
    assert ws.store()["agent:main:main"]["session_id"] == UUID_A
    assert ws.store()["agent:main:main"]["updated_at"] == UPDATED_MS
    assert "agent:main:newer" in ws.store()
    assert not lock_path.exists()


def test_exit_4_when_a_transcript_was_tampered_with(ws: Workspace) -> None:
    ws.add(UUID_A, conversation("a", 3), keys=("agent:main:main",))
    ws.add(UUID_B, conversation("b", 2), keys=("agent:main:other",))
    assert ws.migrate().rc == 0
    ok = ws.cli("verify")
    assert ok.rc == 0, str(ok)

    path = ws.sessions / f"{UUID_A}.jsonl"
    lines = path.read_text().splitlines(keepends=True)
    lines[1] = lines[1].replace("a message 1", "a message one")
    path.write_text("".join(lines))

    run = ws.cli("verify")
    assert run.rc == 4, str(run)
    assert f"{UUID_A}.jsonl" in run.stdout and "line 2" in run.stdout
    assert f"{UUID_B}.jsonl" not in run.stdout
    as_json = ws.cli("verify", "--json")
    assert as_json.rc == 4
    report = as_json.report
    assert report["status"] == "different"
    assert any(f"{UUID_A}.jsonl" in p for p in report["problems"]), report


def test_exit_4_when_a_transcript_is_missing(ws: Workspace) -> None:
    ws.add(UUID_A, keys=("agent:main:main",))
    assert ws.migrate().rc == 0
    (ws.sessions / f"{UUID_A}.jsonl").unlink()
    run = ws.cli("verify")
    assert run.rc == 4, str(run)
    assert f"{UUID_A}.jsonl" in run.stdout and "missing" in run.stdout


def test_verify_accepts_a_transcript_the_agent_continued(ws: Workspace) -> None:
    ws.add(UUID_A, keys=("agent:main:main",))
    assert ws.migrate().rc == 0
    with open(ws.sessions / f"{UUID_A}.jsonl", "a") as f:
        f.write(json.dumps({"role": "user", "content": "a new message"}) + "\n")
    run = ws.cli("verify")
    assert run.rc == 0, str(run)
    assert "continued" in run.stdout
