"""The backup (docs/guarantees.md): byte-identical copies of every file the migration read, a manifest of
sizes and SHA-256, written and checked before the first new file; journal and manifest inside
the backup folder; a later run never overwrites an earlier, different copy."""

from __future__ import annotations

import errno
import json
import os
from collections.abc import Callable
from pathlib import Path

import pytest

from migrate_tui.core import fsio
from migrate_tui.engine import apply, apply_plan, build_plan, scan_workspace
from tests.engine.engine_support import Workspace, conversation, sha, without_nulls

UUID_A = "c25b364a-8e88-468e-ba3c-526b48c4fcf0"
UUID_B = "7d1f0a55-3b2c-4e8f-9a61-0c2d4e6f8a9b"
STORE_TEXT = ('{"agent:main:newer": {"session_id": "newer", "updated_at": 1, "session_file": "newer.jsonl",'
              ' "x": 1.10}}')


def _workspace(ws: Workspace) -> dict[str, tuple[bytes, int, int]]:
    """A workspace with legacy files (one damaged), session_map.json and sessions.json;
    returns name → (bytes, mode, mtime_ns) of every file the migration reads."""
    ws.add(UUID_A, keys=("agent:main:main",), mode=0o600)
    ws.add(UUID_B, [], keys=("agent:main:cron:daily",), mode=0o640)
    ws.add("legacy-notes", conversation("n", 4))
    ws.write_raw("broken.json", b'{"session_id": "broken", "messages": [{"role": "us')
    ws.write_store(STORE_TEXT)
    ws.write_raw("newer.jsonl", b'{"role":"user","content":"not read"}\n')
    out = {}
    for name in (f"{UUID_A}.json", f"{UUID_B}.json", "legacy-notes.json", "broken.json",
                 "session_map.json", "sessions.json"):
        st = (ws.sessions / name).stat()
        out[name] = ((ws.sessions / name).read_bytes(), st.st_mode & 0o777, st.st_mtime_ns)
    return out


def test_every_file_read_is_in_the_backup_byte_for_byte(ws: Workspace) -> None:
    originals = _workspace(ws)
    run = ws.migrate()
    assert run.rc == 1, str(run)  # broken.json needs a decision; the others migrate
    assert run.report["migrated"] == 3
    assert run.report["backup_dir"] == str(ws.backup)

    manifest = ws.manifest()
    by_original = {info["original"]: (name, info) for name, info in manifest.items()}
    assert set(by_original) == set(originals)  # each file read, once, and nothing else
    for original, (data, mode, mtime_ns) in originals.items():
        name, info = by_original[original]
        copy = ws.backup / name
        assert copy.read_bytes() == data, original
        assert info["size"] == len(data) and info["sha256"] == sha(data), original
        assert copy.stat().st_mtime_ns == mtime_ns  # the copy keeps the original's time
        assert copy.stat().st_mode & 0o777 == mode
        # the originals themselves are untouched
        assert (ws.sessions / original).read_bytes() == data or original == "sessions.json"
    for original in (f"{UUID_A}.json", f"{UUID_B}.json", "legacy-notes.json", "broken.json"):
        st = (ws.sessions / original).stat()
        assert (st.st_mode & 0o777, st.st_mtime_ns) == originals[original][1:]


def test_journal_and_manifest_live_in_the_backup_folder(ws: Workspace) -> None:
    _workspace(ws)
    before = set(os.listdir(ws.sessions))
    run = ws.migrate()
    assert run.rc == 1, str(run)
    assert (ws.backup / "manifest.json").is_file()
    assert (ws.backup / "journal.jsonl").is_file()
    journal = [json.loads(line) for line in (ws.backup / "journal.jsonl").read_text().splitlines()]
    assert journal[0]["op"] == "begin" and journal[-1]["op"] == "commit"
    assert {r["file"] for r in journal if r["op"] in ("create", "replace")} == {
        f"{UUID_A}.jsonl", f"{UUID_B}.jsonl", "legacy-notes.jsonl", "sessions.json"}
    # outside the backup folder: only the transcripts (and sessions.json) are new
    new = set(os.listdir(ws.sessions)) - before
    assert new == {"backup_old_format", f"{UUID_A}.jsonl", f"{UUID_B}.jsonl", "legacy-notes.jsonl"}
    assert sorted(p.name for p in ws.root.iterdir()) == [".sessions"]


def test_backup_is_complete_before_the_first_transcript_is_written(ws: Workspace) -> None:
    originals = _workspace(ws)
    seen: list[dict[str, bytes]] = []

    def hook(op: str, path: str) -> None:
        name = os.path.basename(path)
        if op == "open" and name.endswith(fsio.TEMP_SUFFIX) and ".jsonl." in name:
            # the first new file: the backup and its manifest must already be there
            folder = ws.backup
            seen.append({p.name: p.read_bytes() for p in folder.iterdir()})
            raise OSError(errno.ENOSPC, "No space left on device", path)

    scan = scan_workspace(str(ws.root))
    plan = build_plan(scan, "main")
    with fsio.fault_hook(hook):
        result = apply_plan(plan, lock_timeout=5)
    assert result.error and "No space left" in result.error
    assert len(seen) == 1
    copies = seen[0]
    manifest = json.loads(copies["manifest.json"])["files"]
    for original, (data, _mode, _mtime) in originals.items():
        (name,) = [n for n, info in manifest.items() if info["original"] == original]
        assert copies[name] == data and manifest[name]["sha256"] == sha(data)
    # the failed write left nothing behind, and sessions.json is as it was
    assert sorted(p.name for p in ws.sessions.glob("*.jsonl")) == ["newer.jsonl"]
    assert not list(ws.sessions.glob(f"*{fsio.TEMP_SUFFIX}"))
    assert ws.store_bytes() == STORE_TEXT.encode()


def _tamper_before_read_back(folder: Path, prefix: str) -> Callable[[str, str], None]:
    """A fault hook: the temporary file ``prefix``* in ``folder`` is changed between its
    writing and the check that reads it back (the disk handing back other bytes)."""

    def hook(op: str, path: str) -> None:
        name = os.path.basename(path)
        if op == "read" and os.path.dirname(path) == str(folder) and name.startswith(prefix) \
                and name.endswith(fsio.TEMP_SUFFIX):
            with open(path, "r+b") as f:
                first = f.read(1)
                f.seek(0)
                f.write(b"X" if first != b"X" else b"Y")

    return hook


def test_a_copy_that_reads_back_different_stops_the_run_before_anything_new(ws: Workspace) -> None:
    """The disk handing back other bytes than were written (simulated: the copy is changed
    between its writing and the check that reads it back) stops the migration."""
    _workspace(ws)
    with fsio.fault_hook(_tamper_before_read_back(ws.backup, ".legacy-notes.json.")):
        result = apply_plan(build_plan(scan_workspace(str(ws.root)), "main"), lock_timeout=5)
    assert result.error and "legacy-notes.json" in result.error and "does not match" in result.error
    assert not result.migrated
    assert sorted(p.name for p in ws.sessions.glob("*.jsonl")) == ["newer.jsonl"]
    assert ws.store_bytes() == STORE_TEXT.encode()
    assert not (ws.backup / "manifest.json").exists()  # nothing unchecked is recorded
    assert not (ws.backup / "legacy-notes.json").exists()  # nor renamed into place
    assert not list(ws.root.rglob(f"*{fsio.TEMP_SUFFIX}"))


def test_a_transcript_that_reads_back_different_stops_the_run_before_sessions_json(ws: Workspace) -> None:
    """A transcript whose temporary file reads back different from the bytes checked against
    its source is never renamed into place, and sessions.json is not touched."""
    _workspace(ws)
    with fsio.fault_hook(_tamper_before_read_back(ws.sessions, f".{UUID_A}.jsonl.")):
        result = apply_plan(build_plan(scan_workspace(str(ws.root)), "main"), lock_timeout=5)
    assert result.error and f"{UUID_A}.jsonl" in result.error and "reads back different" in result.error
    assert not result.migrated and not result.committed
    assert not (ws.sessions / f"{UUID_A}.jsonl").exists()
    assert ws.store_bytes() == STORE_TEXT.encode()
    assert not list(ws.root.rglob(f"*{fsio.TEMP_SUFFIX}"))


def test_a_later_run_never_overwrites_an_earlier_different_copy(ws: Workspace) -> None:
    first_msgs = conversation("a", 3)
    path = ws.add(UUID_A, first_msgs, keys=("agent:main:main",))
    first_bytes = path.read_bytes()
    assert ws.migrate().rc == 0
    first_transcript = (ws.sessions / f"{UUID_A}.jsonl").read_bytes()

    # the agent (an old version of it) writes the legacy file again, with one message more
    second_msgs = conversation("a", 4)
    ws.add(UUID_A, second_msgs)
    second_bytes = path.read_bytes()
    assert second_bytes != first_bytes

    blocked = ws.migrate()  # the transcript on disk differs: a decision is needed
    assert blocked.rc == 1, str(blocked)
    assert [d["problem"] for d in blocked.report["error_details"]] == ["transcript_conflict"]

    run = ws.migrate("--fix", f"{UUID_A}=replace-existing")
    assert run.rc == 0, str(run)
    assert ws.transcript(UUID_A) == without_nulls(second_msgs)
    # both versions of the original are kept, each checked in the manifest
    manifest = ws.manifest()
    copies = {name: info for name, info in manifest.items() if info["original"] == f"{UUID_A}.json"}
    assert len(copies) == 2, manifest
    contents = {(ws.backup / name).read_bytes() for name in copies}
    assert contents == {first_bytes, second_bytes}
    assert (ws.backup / f"{UUID_A}.json").read_bytes() == first_bytes  # the first copy, untouched
    for name, info in copies.items():
        data = (ws.backup / name).read_bytes()
        assert info["sha256"] == sha(data) and info["size"] == len(data)
    # the transcript it replaced went to the backup first
    replaced = [name for name, info in manifest.items() if info["original"] == f"{UUID_A}.jsonl"]
    assert [(ws.backup / n).read_bytes() for n in replaced] == [first_transcript]


def test_a_changed_session_map_gets_a_second_copy(ws: Workspace) -> None:
    ws.add(UUID_A, keys=("agent:main:main",))
    first_map = (ws.sessions / "session_map.json").read_bytes()
    assert ws.migrate().rc == 0
    ws.add(UUID_B, keys=("agent:main:cron:daily",))
    second_map = (ws.sessions / "session_map.json").read_bytes()

    run = ws.migrate()
    assert run.rc == 0, str(run)
    copies = sorted(name for name, info in ws.manifest().items()
                    if info["original"] == "session_map.json")
    assert copies == ["session_map.json", "session_map.json.2"]
    assert (ws.backup / "session_map.json").read_bytes() == first_map
    assert (ws.backup / "session_map.json.2").read_bytes() == second_map


def test_no_backup_still_saves_what_it_replaces(ws: Workspace) -> None:
    ws.add(UUID_A, keys=("agent:main:main",))
    ws.write_store(STORE_TEXT)
    run = ws.migrate("--no-backup")
    assert run.rc == 0, str(run)
    originals = {info["original"] for info in ws.manifest().values()}
    assert originals == {"sessions.json"}
    assert (ws.backup / "sessions.json").read_bytes() == STORE_TEXT.encode()


def test_backup_folder_is_private(ws: Workspace) -> None:
    ws.add(UUID_A, keys=("agent:main:main",))
    assert ws.migrate().rc == 0
    assert Path(ws.backup).stat().st_mode & 0o077 == 0
    for name in ("manifest.json", "journal.jsonl"):
        assert (ws.backup / name).stat().st_mode & 0o077 == 0, name


def test_sessions_json_changed_by_the_agent_gets_a_second_copy(ws: Workspace) -> None:
    from migrate_tui.store import update_session_store

    ws.write_store(STORE_TEXT)
    ws.add(UUID_A, keys=("agent:main:main",))
    assert ws.migrate().rc == 0
    # the agent writes sessions.json between two runs, the way it does (under the lock)
    update_session_store(ws.sessions / "sessions.json",
                         lambda store: setattr(store["agent:main:main"], "thinking_level", "low"))
    changed = ws.store_bytes()
    ws.add(UUID_B, keys=("agent:main:cron:daily",))

    run = ws.migrate()
    assert run.rc == 0, str(run)
    copies = {name: info for name, info in ws.manifest().items() if info["original"] == "sessions.json"}
    assert sorted(copies) == ["sessions.json", "sessions.json.2"]
    assert (ws.backup / "sessions.json").read_bytes() == STORE_TEXT.encode()
    assert (ws.backup / "sessions.json.2").read_bytes() == changed
    store = ws.store()
    assert store["agent:main:main"]["thinking_level"] == "low"  # the agent's change is kept
    assert store["agent:main:cron:daily"]["session_id"] == UUID_B


@pytest.mark.parametrize("folder", ["backup", "sessions"])
def test_a_failed_batch_leaves_no_temporary_file_of_the_next(ws: Workspace, folder: str) -> None:
    """Copies and transcripts are written a batch at a time, the next batch started while
    the one before is renamed into place.  When renaming the first batch fails, the files
    already written for the next are removed at once, not left for the next run."""
    for n in range(apply.BATCH_FILES + 6):
        ws.add(f"s{n:03d}", n=1)
    target = str((ws.backup if folder == "backup" else ws.sessions) / "s000.json")
    target = target if folder == "backup" else target[:-len(".json")] + ".jsonl"
    failed: list[str] = []

    def hook(op: str, path: str) -> None:
        if op == "rename" and path == target:
            failed.append(path)
            raise OSError(errno.EIO, "Input/output error", path)

    plan = build_plan(scan_workspace(str(ws.root)), "main")
    with fsio.fault_hook(hook):
        result = apply_plan(plan, lock_timeout=5)
    assert failed and result.error and "Input/output error" in result.error
    left = [p.name for p in ws.sessions.rglob(f"*{fsio.TEMP_SUFFIX}")]
    assert left == []


@pytest.mark.parametrize("copies", [0, 1, 2, 3, 5])
def test_the_manifest_written_in_pieces_is_the_one_line_per_copy_text(copies: int) -> None:
    """save_manifest writes the manifest a few lines at a time; joined, the pieces are the
    documented text: one line per copy, in the order the copies were made."""
    from migrate_tui.engine import backup

    manifest = backup.Manifest()
    for i in range(copies):
        manifest.add(f"s{i}-é.json", {"original": f"s{i}-é.json", "size": i, "sha256": "a" * 64,
                                      "mode": 0o640, "mtime_ns": 10**18 + i, "run": "r1"})
    lines = [json.dumps(name) + ": " + json.dumps(info) for name, info in manifest.files.items()]
    body = ",\n    ".join(lines)
    want = (f'{{\n  "version": 1,\n  "files": {{\n    {body}\n  }}\n}}\n' if lines
            else '{\n  "version": 1,\n  "files": {}\n}\n').encode("ascii")
    pieces = manifest.to_json_pieces(lines_a_piece=2)
    assert b"".join(pieces) == want == manifest.to_json()
    assert len(pieces) == 2 + (copies + 1) // 2 if copies else len(pieces) == 1
    assert json.loads(want)["files"] == manifest.files
