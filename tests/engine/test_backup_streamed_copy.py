"""The backup copies a big file that is not a session (session_map.json, sessions.json) a
chunk at a time (``backup.copy_streamed``), never holding it whole: the copy, its manifest
entry and the manifest's order are exactly what the copy made from the bytes in hand gives,
it is read back and checked, and it never replaces a file another program put there."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from migrate_tui.core import fsio
from migrate_tui.engine import apply, apply_plan, build_plan, scan_workspace
from tests.engine.engine_support import Workspace, conversation

UUID_A = "c25b364a-8e88-468e-ba3c-526b48c4fcf0"
UUID_B = "7d1f0a55-3b2c-4e8f-9a61-0c2d4e6f8a9b"
STORE_TEXT = ('{"agent:main:newer": {"session_id": "newer", "updated_at": 1, "session_file": "newer.jsonl",'
              ' "x": 1.10}}')
EVERY_FILE = 0  # every file that is not a session is streamed
NO_FILE = 1 << 62  # none is


def _fill(ws: Workspace) -> None:
    ws.add(UUID_A, keys=("agent:main:main",), mode=0o600)
    ws.add(UUID_B, [], keys=("agent:main:cron:daily",), mode=0o640)
    ws.add("legacy-notes", conversation("n", 4))
    ws.write_store(STORE_TEXT)
    os.chmod(ws.sessions / "session_map.json", 0o640)


def _migrate(ws: Workspace) -> apply.ApplyResult:
    return apply_plan(build_plan(scan_workspace(str(ws.root)), "main"), lock_timeout=5)


def _backup(ws: Workspace) -> dict[str, tuple[bytes, int, int]]:
    records = ("manifest.json", "journal.jsonl", "last_report.json")
    return {p.name: (p.read_bytes(), p.stat().st_mode & 0o777, p.stat().st_mtime_ns)
            for p in ws.backup.iterdir() if p.name not in records}


def _entries(ws: Workspace) -> list[tuple[str, dict[str, object]]]:
    """The manifest's entries in its order, without the run's id (a new one each run)."""
    files = json.loads((ws.backup / "manifest.json").read_bytes())["files"]
    return [(name, {k: v for k, v in info.items() if k != "run"}) for name, info in files.items()]


def test_a_streamed_copy_is_the_copy_made_from_the_bytes_in_hand(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    held = Workspace(tmp_path / "held")
    _fill(held)
    shutil.copytree(held.root, tmp_path / "streamed", symlinks=True)  # same bytes, modes, times
    streamed = Workspace(tmp_path / "streamed")
    monkeypatch.setattr(apply, "STREAM_COPY_BYTES", NO_FILE)
    assert _migrate(held).committed
    monkeypatch.setattr(apply, "STREAM_COPY_BYTES", EVERY_FILE)
    assert _migrate(streamed).committed

    assert _backup(streamed) == _backup(held)
    assert {"session_map.json", "sessions.json"} <= set(_backup(streamed))
    assert _entries(streamed) == _entries(held)  # the same records, in the same order
    for name in ("session_map.json", "sessions.json"):
        info = dict(_entries(streamed))[name]
        st = (held.root / ".sessions" / name).stat() if name != "sessions.json" else None
        if st is not None:
            assert (info["mode"], info["mtime_ns"], info["uid"], info["gid"]) == (
                st.st_mode & 0o777, st.st_mtime_ns, st.st_uid, st.st_gid)
    assert streamed.store_bytes() == held.store_bytes()
    for path in held.sessions.glob("*.jsonl"):
        assert (streamed.sessions / path.name).read_bytes() == path.read_bytes()
    assert not list(streamed.root.rglob(f"*{fsio.TEMP_SUFFIX}"))


def test_a_rerun_keeps_the_identical_copy_and_a_changed_file_gets_a_second(
        ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(apply, "STREAM_COPY_BYTES", EVERY_FILE)
    ws.add(UUID_A, keys=("agent:main:main",))
    first_map = (ws.sessions / "session_map.json").read_bytes()
    ws.write_raw("broken.json", b'{"session_id": "broken", "messages": [{"role": "us')
    assert _migrate(ws).committed
    # the same session_map.json again (a session added without a key: the map is as it was)
    ws.add(UUID_B, [], keys=())
    ws.write_raw("session_map.json", first_map)
    assert _migrate(ws).committed
    copies = [name for name, info in _entries(ws) if info["original"] == "session_map.json"]
    assert copies == ["session_map.json"]
    assert not list(ws.backup.glob(f"*{fsio.TEMP_SUFFIX}"))
    # a changed one: a second copy beside the first, never over it
    ws.add("legacy-notes", conversation("n", 2), keys=("agent:main:notes",))
    second_map = (ws.sessions / "session_map.json").read_bytes()
    assert second_map != first_map
    assert _migrate(ws).committed
    copies = [name for name, info in _entries(ws) if info["original"] == "session_map.json"]
    assert copies == ["session_map.json", "session_map.json.2"]
    assert (ws.backup / "session_map.json").read_bytes() == first_map
    assert (ws.backup / "session_map.json.2").read_bytes() == second_map


def test_a_streamed_copy_that_reads_back_different_stops_the_run(
        ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(apply, "STREAM_COPY_BYTES", EVERY_FILE)
    _fill(ws)

    def hook(op: str, path: str) -> None:
        name = os.path.basename(path)
        if op == "read" and os.path.dirname(path) == str(ws.backup) \
                and name.startswith(".session_map.json.") and name.endswith(fsio.TEMP_SUFFIX):
            with open(path, "r+b") as f:
                first = f.read(1)
                f.seek(0)
                f.write(b"X" if first != b"X" else b"Y")

    with fsio.fault_hook(hook):
        result = _migrate(ws)
    assert result.error and "session_map.json" in result.error and "does not match" in result.error
    assert not result.migrated
    assert not list(ws.sessions.glob("*.jsonl"))
    assert ws.store_bytes() == STORE_TEXT.encode()
    assert not (ws.backup / "manifest.json").exists()
    assert not (ws.backup / "session_map.json").exists()
    assert not list(ws.root.rglob(f"*{fsio.TEMP_SUFFIX}"))


def test_a_file_put_in_the_backup_folder_meanwhile_is_never_replaced(
        ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(apply, "STREAM_COPY_BYTES", EVERY_FILE)
    _fill(ws)
    theirs = b"another program's file"

    def hook(op: str, path: str) -> None:
        name = os.path.basename(path)
        if op == "open" and os.path.dirname(path) == str(ws.backup) \
                and name.startswith(".session_map.json.") and name.endswith(fsio.TEMP_SUFFIX):
            (ws.backup / "session_map.json").write_bytes(theirs)

    with fsio.fault_hook(hook):
        result = _migrate(ws)
    assert result.error and "appeared in the backup folder" in result.error
    assert (ws.backup / "session_map.json").read_bytes() == theirs
    assert not result.migrated and not list(ws.sessions.glob("*.jsonl"))
    assert ws.store_bytes() == STORE_TEXT.encode()
    assert not list(ws.root.rglob(f"*{fsio.TEMP_SUFFIX}"))


def test_a_big_file_is_streamed_and_a_small_one_held(ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    """Which way a file goes: by its size (the threshold's own test)."""
    _fill(ws)
    size = (ws.sessions / "session_map.json").stat().st_size
    monkeypatch.setattr(apply, "STREAM_COPY_BYTES", size)
    calls: list[str] = []
    real = apply.backup.copy_streamed

    def counted(layout, manifest, source, original, run, present=None):  # type: ignore[no-untyped-def]
        calls.append(original)
        return real(layout, manifest, source, original, run, present)

    monkeypatch.setattr(apply.backup, "copy_streamed", counted)
    assert _migrate(ws).committed
    assert calls == ["session_map.json"]  # sessions.json is smaller
