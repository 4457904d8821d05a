"""The backup's copies land early (backup.start_copies passes ``land_early=True``): the writer
thread that synced a batch of copies renames them into place itself, each after it was read
back and checked and after the sync; the manifest, written by the main thread, still comes
after every copy it names.  A copy in place that no manifest names yet (the run stopped
between) is taken over by the next run when it holds the same bytes."""

from __future__ import annotations

import errno
import json
import os
import threading
from collections.abc import Callable

import pytest

from migrate_tui.core import fsio
from migrate_tui.core.layout import REPORT
from migrate_tui.engine import apply_plan, build_plan, scan_workspace
from migrate_tui.engine.model import ApplyResult
from tests.engine.engine_support import Workspace, conversation, sha

needs_syncfs = pytest.mark.skipif(fsio._libc() is None or not fsio.kernel_reports_syncfs_errors(),
                                  reason="syncfs does not report errors here (Linux >= 5.8)")

SESSIONS = 6


@pytest.fixture
def parallel(monkeypatch: pytest.MonkeyPatch) -> None:
    """The parallel syncfs path (the one a run without a fault hook takes) under a hook."""
    monkeypatch.setattr(fsio, "SYNCFS_WHEN_HOOKED", True)
    monkeypatch.setattr(fsio, "SEQUENTIAL_WHEN_HOOKED", False)


def _legacy(ws: Workspace) -> dict[str, bytes]:
    for k in range(SESSIONS):
        ws.add(f"session-{k}", conversation(f"s{k}", 3), keys=(f"agent:main:s{k}",))
    return {p.name: p.read_bytes() for p in ws.sessions.iterdir()}


def _migrate(ws: Workspace, hook: Callable[[str, str], None]) -> ApplyResult:
    plan = build_plan(scan_workspace(str(ws.root)), "main")
    with fsio.fault_hook(hook):
        return apply_plan(plan, lock_timeout=5)


@needs_syncfs
@pytest.mark.usefixtures("parallel")
def test_the_writer_thread_renames_each_copy_after_its_check_and_the_sync(ws: Workspace) -> None:
    originals = _legacy(ws)
    backup_dir = str(ws.backup)
    ops: list[tuple[str, str, str]] = []

    def hook(op: str, path: str) -> None:
        if os.path.dirname(path) == backup_dir or op == "syncfs":
            ops.append((op, os.path.basename(path), threading.current_thread().name))

    result = _migrate(ws, hook)
    assert not result.error and len(result.migrated) == SESSIONS

    manifest = json.loads((ws.backup / "manifest.json").read_bytes())["files"]
    assert {info["original"] for info in manifest.values()} == set(originals)
    kinds = [op for op, _name, _thread in ops]
    manifest_renamed = max(i for i, (op, name, _t) in enumerate(ops)
                           if op == "rename" and name == "manifest.json")
    main = threading.current_thread().name
    for name, info in manifest.items():
        assert (ws.backup / name).read_bytes() == originals[info["original"]]
        assert info["sha256"] == sha(originals[info["original"]])
        (renamed,) = [i for i, (op, n, _t) in enumerate(ops) if op == "rename" and n == name]
        assert ops[renamed][2] != main, name  # renamed by the writer thread, not the caller
        checked = [i for i, (op, n, _t) in enumerate(ops) if op == "read" and n.startswith(f".{name}.")]
        assert checked and max(checked) < renamed, name  # read back and compared first
        assert "syncfs" in kinds[:renamed], name  # synced before it has its name
        assert renamed < manifest_renamed, name  # the manifest names it only once in place
    assert ops[manifest_renamed][2] == main
    assert not list(ws.root.rglob(f"*{fsio.TEMP_SUFFIX}"))


@needs_syncfs
@pytest.mark.usefixtures("parallel")
def test_a_copy_reading_back_different_lands_none_of_its_batch(ws: Workspace) -> None:
    _legacy(ws)
    backup_dir = str(ws.backup)

    def hook(op: str, path: str) -> None:
        name = os.path.basename(path)
        if op == "read" and os.path.dirname(path) == backup_dir and name.startswith(".session-3.json."):
            with open(path, "r+b") as f:
                f.write(b"X")

    result = _migrate(ws, hook)
    assert result.error and "session-3.json" in result.error and "does not match" in result.error
    assert not result.migrated
    # no copy renamed, no manifest (only the run's report)
    assert sorted(p.name for p in ws.backup.iterdir()) == [REPORT]
    assert not list(ws.sessions.glob("*.jsonl"))


@needs_syncfs
@pytest.mark.usefixtures("parallel")
def test_copies_landed_before_a_failure_are_taken_over_by_the_next_run(ws: Workspace) -> None:
    originals = _legacy(ws)
    backup_dir = str(ws.backup)
    renamed: list[str] = []

    def hook(op: str, path: str) -> None:
        if op == "rename" and os.path.dirname(path) == backup_dir:
            name = os.path.basename(path)
            if len(renamed) == 3:
                raise OSError(errno.EIO, os.strerror(errno.EIO), path)
            renamed.append(name)

    result = _migrate(ws, hook)
    assert result.error and not result.migrated
    # those renamed before the failure are in place, no manifest names them yet
    assert sorted(p.name for p in ws.backup.iterdir() if p.name != REPORT) == sorted(renamed)
    assert not list(ws.root.rglob(f"*{fsio.TEMP_SUFFIX}"))
    assert not list(ws.sessions.glob("*.jsonl"))

    run = ws.migrate()
    assert run.rc == 0, str(run)
    manifest = ws.manifest()
    assert sorted(manifest) == sorted(originals)  # each copy under its own name: no ".2"
    for name, info in manifest.items():
        assert info["original"] == name and (ws.backup / name).read_bytes() == originals[name]


# ------------------------------------------------------------ new copies never replace anything


@needs_syncfs
@pytest.mark.usefixtures("parallel")
def test_new_copies_are_made_unnamed_and_named_after_the_sync(ws: Workspace,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fsio, "UNNAMED_WHEN_HOOKED", True)
    originals = _legacy(ws)
    stats = {name: os.stat(ws.sessions / name) for name in originals}
    backup_dir = str(ws.backup)
    ops: list[tuple[str, str]] = []

    def hook(op: str, path: str) -> None:
        if os.path.dirname(path) == backup_dir or op == "syncfs":
            ops.append((op, os.path.basename(path)))

    result = _migrate(ws, hook)
    assert not result.error and len(result.migrated) == SESSIONS
    manifest = ws.manifest()
    assert sorted(manifest) == sorted(originals)
    temps = [name for op, name in ops if op == "open" and name.endswith(fsio.TEMP_SUFFIX)]
    assert temps and not [t for t in temps for n in originals if t.startswith(f".{n}.")]  # none for a copy
    for name in originals:
        copy = ws.backup / name
        assert copy.read_bytes() == originals[name]
        assert copy.stat().st_mode & 0o777 == stats[name].st_mode & 0o777
        assert copy.stat().st_mtime_ns == stats[name].st_mtime_ns
        named = [i for i, (op, n) in enumerate(ops) if op == "rename" and n == name]
        assert named and "syncfs" in [op for op, _n in ops[:named[0]]]
    assert fsio._unnamed_open[0] == 0


@needs_syncfs
@pytest.mark.usefixtures("parallel")
@pytest.mark.parametrize("unnamed", [False, True])
def test_a_file_put_at_a_new_copys_name_meanwhile_is_left_and_stops_the_run(
        ws: Workspace, monkeypatch: pytest.MonkeyPatch, unnamed: bool) -> None:
    monkeypatch.setattr(fsio, "UNNAMED_WHEN_HOOKED", unnamed)
    _legacy(ws)
    theirs = ws.backup / "session-2.json"

    def hook(op: str, path: str) -> None:
        if op == "syncfs" and not theirs.exists():  # after the listing, before the renames
            theirs.write_bytes(b"theirs\n")

    result = _migrate(ws, hook)
    assert result.error and "session-2.json" in result.error and "appeared" in result.error
    assert not result.migrated and not list(ws.sessions.glob("*.jsonl"))
    assert theirs.read_bytes() == b"theirs\n"
    assert not (ws.backup / "manifest.json").exists()
    assert not list(ws.root.rglob(f"*{fsio.TEMP_SUFFIX}"))
    assert fsio._unnamed_open[0] == 0
