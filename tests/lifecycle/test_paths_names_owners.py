"""Paths resolved once (a .sessions swapped mid-run redirects nothing), names up to the file
system's 255 bytes, and modes and owners (no new file more permissive than its sources; run
as root, new and restored files get the owner of .sessions/)."""

from __future__ import annotations

import json
import os
import shutil
import stat
from pathlib import Path

import pytest

from migrate_tui.core import fsio
from migrate_tui.engine.apply import new_file_mode
from tests.lifecycle.lifecycle_support import A, B, C, Workspace, diff, migrate_inproc, three, tree

# ---------------------------------------------------------------- .sessions swapped mid-run


@pytest.mark.parametrize("at", ["backup", "journal", "transcript", "index", "report"])
def test_a_sessions_folder_swapped_for_a_symlink_mid_run_redirects_nothing(
        tmp_path: Path, at: str) -> None:
    """Another workspace is swapped in (the real folder moved away, a symlink to the other
    one in its place) just before a write: every later write still lands in the folder the
    run began with, none in the other workspace."""
    ws = Workspace(tmp_path / "ws")
    three(ws)
    other = Workspace(tmp_path / "other")
    other.add("theirs", keys=("agent:main:theirs",))
    other_before = tree(other.root)
    moved = tmp_path / "moved-sessions"
    trigger = {"backup": lambda op, p: op == "open" and "backup_old_format/." in p,
               "journal": lambda op, p: op == "open" and p.endswith("journal.jsonl"),
               "transcript": lambda op, p: op == "open" and ".jsonl." in p and "backup" not in p,
               "index": lambda op, p: op == "lock",
               "report": lambda op, p: "last_report.json" in p}[at]
    swapped: list[str] = []

    def hook(op: str, path: str) -> None:
        if not swapped and trigger(op, path):
            swapped.append(path)
            os.rename(ws.sessions, moved)
            os.symlink(other.sessions, ws.sessions)

    result, report, code = migrate_inproc(ws.root, hook=hook)
    assert swapped, "the swap never happened"
    assert diff(other_before, tree(other.root)) == []  # nothing written into the other workspace
    assert code == 0 and result.committed, report
    assert {p.name for p in moved.glob("*.jsonl")} == {f"{A}.jsonl", f"{B}.jsonl", f"{C}.jsonl"}
    assert (moved / "sessions.json").is_file()
    assert (moved / "backup_old_format" / "last_report.json").is_file()
    # and the moved folder, put back, verifies
    os.unlink(ws.sessions)
    os.rename(moved, ws.sessions)
    assert ws.cli("verify").rc == 0


def test_every_operation_of_a_run_is_still_seen_by_the_fault_hook(ws: Workspace) -> None:
    three(ws)
    seen: list[tuple[str, str]] = []
    migrate_inproc(ws.root, hook=lambda op, path: seen.append((op, path)))
    ops = {op for op, _ in seen}
    assert {"open", "write", "fsync", "rename", "fsync_dir", "stat", "read", "lock", "oplock"} <= ops
    assert all(p.startswith(str(ws.root)) for _, p in seen)


# ---------------------------------------------------------------- 255-byte names


def _long_name(ws: Workspace, n: int = 0) -> str:
    stem = f"{n}-" + "x" * (250 - len(f"{n}-"))  # a 255-byte file name: <250 bytes>.json
    ws.add(stem, keys=(f"agent:main:long{n}",))
    assert len(os.fsencode(stem + ".json")) == 255
    return stem


def test_a_255_byte_legacy_file_name_migrates_with_rename(ws: Workspace) -> None:
    three(ws)
    stem = _long_name(ws)
    run = ws.migrate("--fix", f"{stem}=rename")
    assert run.rc == 0, str(run)
    entry = ws.store()["agent:main:long0"]
    assert len(entry["session_id"]) <= 128 and (ws.sessions / entry["session_file"]).is_file()
    assert ws.cli("verify").rc == 0
    assert ws.cli("cleanup", "--yes").rc == 0
    assert not (ws.sessions / f"{stem}.json").exists()
    assert ws.cli("rollback", "--yes").rc == 0
    assert (ws.sessions / f"{stem}.json").is_file()


def test_a_255_byte_legacy_file_name_can_be_skipped_or_left_as_a_problem(ws: Workspace) -> None:
    three(ws)
    stem = _long_name(ws)
    left = ws.migrate()
    assert left.rc == 1, str(left)  # the unsafe id is a problem; the others migrate
    assert left.report["migrated"] == 3
    assert [d["problem"] for d in left.report["error_details"]] == ["unsafe_id"]
    skipped = ws.migrate("--skip", stem)
    assert skipped.rc == 0, str(skipped)


def test_a_255_byte_name_changed_after_its_migration_gets_a_second_backup_copy(ws: Workspace) -> None:
    stem = _long_name(ws)
    assert ws.migrate("--fix", f"{stem}=rename").rc == 0
    path = ws.sessions / f"{stem}.json"
    doc = json.loads(path.read_bytes())
    doc["messages"].append(doc["messages"][0])
    path.write_text(json.dumps(doc, indent=2))
    run = ws.migrate("--fix", f"{stem}=rename", "--fix", f"{stem}=replace-existing")
    assert run.rc == 0, str(run)
    names = [n for n, info in ws.manifest().items() if info["original"] == f"{stem}.json"]
    assert len(names) == 2 and all(len(os.fsencode(n)) <= 255 for n in names)


def test_temporary_names_never_exceed_255_bytes(tmp_path: Path) -> None:
    for name in ("a" * 255, "é" * 127 + "a", "short"):
        tmp = fsio.temp_name(str(tmp_path / name))
        assert len(os.fsencode(os.path.basename(tmp))) <= 255
        fsio.write_atomic(str(tmp_path / name), b"x")
        assert (tmp_path / name).read_bytes() == b"x"


# ---------------------------------------------------------------- modes and owners


def test_a_new_file_is_never_more_permissive_than_its_sources() -> None:
    assert new_file_mode([]) == 0o600  # no source at all: private
    assert new_file_mode([0o644]) == 0o644
    assert new_file_mode([0o644, 0o600]) == 0o600
    assert new_file_mode([0o666]) == 0o666 & ~0o111


def test_sessions_json_made_when_no_session_could_be_written_is_private(ws: Workspace) -> None:
    """Every session fails at apply time (all changed since the scan): nothing of theirs is
    written, and no sessions.json is made world-readable (it used to be 0666)."""
    three(ws)
    os.umask(0)
    try:
        def change_all(op: str, path: str) -> None:
            if op == "mkdir":
                for p in ws.sessions.glob("a1b2*.json"):
                    p.write_bytes(p.read_bytes() + b"\n")
        result, report, _code = migrate_inproc(ws.root, hook=change_all)
    finally:
        os.umask(0o022)
    assert len(result.failed) == 3, report
    store = ws.sessions / "sessions.json"
    assert not store.exists() or stat.S_IMODE(store.stat().st_mode) == 0o600


@pytest.mark.skipif(os.geteuid() != 0, reason="only root can give files to another user")
def test_run_as_root_new_and_restored_files_belong_to_the_owner_of_sessions(ws: Workspace) -> None:
    uid, gid = 4321, 4322
    three(ws)
    ws.write_store({"agent:main:old": {"session_id": "old", "updated_at": 1, "session_file": "old.jsonl"}})
    (ws.sessions / "old.jsonl").write_text("")
    for path in [ws.sessions, *ws.sessions.iterdir()]:
        os.chown(path, uid, gid)
    assert ws.migrate().rc == 0
    for path in [*ws.sessions.iterdir(), *ws.backup.iterdir()]:
        st = path.stat()
        assert (st.st_uid, st.st_gid) == (uid, gid), path
    assert ws.cli("cleanup", "--yes").rc == 0
    assert ws.cli("rollback", "--yes").rc == 0
    for path in ws.sessions.iterdir():  # restored: the originals and sessions.json
        st = path.stat()
        assert (st.st_uid, st.st_gid) == (uid, gid), path
    assert (ws.sessions / f"{A}.json").is_file()
    shutil.rmtree(ws.backup)
