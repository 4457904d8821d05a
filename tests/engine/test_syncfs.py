"""A batch of atomic writes made durable by one syncfs(2) instead of an fsync per file, and
each fallback to the fsync per file (fsio.WriteBatch; the argument is in core/fsio.py)."""

from __future__ import annotations

import errno
import os
import unittest.mock
from pathlib import Path

import pytest

from migrate_tui.core import fsio


@pytest.fixture
def trace(monkeypatch: pytest.MonkeyPatch):
    """Run with the syncfs path on under a fault hook; yields (ops, faults): ops is every
    (op, file name) seen, faults maps (op, file name) to the errno to raise."""
    monkeypatch.setattr(fsio, "SYNCFS_WHEN_HOOKED", True)
    ops: list[tuple[str, str]] = []
    faults: dict[tuple[str, str], int] = {}

    def hook(op: str, path: str) -> None:
        key = (op, os.path.basename(path))
        ops.append(key)
        if key in faults:
            raise OSError(faults[key], os.strerror(faults[key]), path)

    with fsio.fault_hook(hook):
        yield ops, faults


def _items(folder: Path, n: int = 5) -> list[fsio.PendingWrite]:
    return [fsio.PendingWrite(str(folder / f"f{k}.jsonl"), f"line {k}\n".encode()) for k in range(n)]


def _temps(ops: list[tuple[str, str]]) -> list[str]:
    return [name for op, name in ops if op == "open" and name.endswith(fsio.TEMP_SUFFIX)]


def _left(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


needs_syncfs = pytest.mark.skipif(fsio._libc() is None or not fsio.kernel_reports_syncfs_errors(),
                                  reason="syncfs does not report errors here (Linux >= 5.8)")


@needs_syncfs
def test_a_batch_is_synced_once_before_any_rename(tmp_path: Path, trace) -> None:
    ops, _ = trace
    fsio.write_atomic_many(_items(tmp_path))
    assert [op for op, _ in ops].count("syncfs") == 1
    assert not [o for o in ops if o[0] == "fsync"]  # no file by file
    first_rename = next(i for i, (op, _) in enumerate(ops) if op == "rename")
    assert ops.index(("syncfs", tmp_path.name)) < first_rename
    assert all(ops.index(("close", t)) < first_rename for t in _temps(ops))
    assert _left(tmp_path) == [f"f{k}.jsonl" for k in range(5)]
    assert (tmp_path / "f3.jsonl").read_bytes() == b"line 3\n"


@needs_syncfs
def test_a_syncfs_error_falls_back_to_an_fsync_of_each_file(tmp_path: Path, trace) -> None:
    """The error may be another program's file on the same file system: each of ours is
    then fsynced by itself, and the batch goes on when they all are."""
    ops, faults = trace
    faults[("syncfs", tmp_path.name)] = errno.EIO
    fsio.write_atomic_many(_items(tmp_path))
    temps = _temps(ops)
    assert len(temps) == 10  # created, then reopened to be fsynced
    assert sorted(name for op, name in ops if op == "fsync") == sorted(set(temps))
    assert _left(tmp_path) == [f"f{k}.jsonl" for k in range(5)]


@needs_syncfs
def test_a_syncfs_error_that_is_ours_fails_the_batch_and_renames_nothing(tmp_path: Path, trace) -> None:
    ops, faults = trace
    (tmp_path / "f0.jsonl").write_bytes(b"old\n")
    faults[("syncfs", tmp_path.name)] = errno.EIO
    original = fsio._fsync_path
    seen: list[str] = []

    def failing_fsync_path(path: str) -> None:  # the third file's own fsync reports it too
        seen.append(path)
        if len(seen) == 3:
            raise OSError(errno.EIO, "Input/output error", path)
        original(path)

    with unittest.mock.patch.object(fsio, "_fsync_path", failing_fsync_path), \
            pytest.raises(OSError) as caught:
        fsio.write_atomic_many(_items(tmp_path))
    assert caught.value.errno == errno.EIO
    assert not [o for o in ops if o[0] == "rename"]
    assert _left(tmp_path) == ["f0.jsonl"]  # no temporary file left, the old file as it was
    assert (tmp_path / "f0.jsonl").read_bytes() == b"old\n"


def test_without_syncfs_each_file_is_fsynced(tmp_path: Path, trace, monkeypatch: pytest.MonkeyPatch) -> None:
    """A kernel before 5.8 (syncfs reports no write-back error), or no syncfs at all."""
    monkeypatch.setattr(fsio, "_syncfs_lib", [None])
    ops, _ = trace
    fsio.write_atomic_many(_items(tmp_path))
    assert "syncfs" not in [op for op, _ in ops]
    assert sorted(name for op, name in ops if op == "fsync") == sorted(_temps(ops))
    assert _left(tmp_path) == [f"f{k}.jsonl" for k in range(5)]


@needs_syncfs
def test_a_file_system_not_on_the_list_gets_an_fsync_per_file(tmp_path: Path, trace,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fsio, "SYNCFS_TYPES", {})
    ops, _ = trace
    fsio.write_atomic_many(_items(tmp_path))
    assert "syncfs" not in [op for op, _ in ops]
    assert len([op for op, _ in ops if op == "fsync"]) == 5


@needs_syncfs
def test_one_file_is_fsynced_not_the_file_system(tmp_path: Path, trace) -> None:
    ops, _ = trace
    fsio.write_atomic_many(_items(tmp_path, 1))
    assert "syncfs" not in [op for op, _ in ops] and [op for op, _ in ops].count("fsync") == 1


@needs_syncfs
def test_the_parallel_path_syncs_too(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without a fault hook: the batch is written and synced by a writer thread."""
    calls: list[str] = []
    original = fsio.syncfs
    monkeypatch.setattr(fsio, "syncfs", lambda fd, path: (calls.append(path), original(fd, path)))
    batch = fsio.start_writes(_items(tmp_path, 40))
    batch.finish()
    assert calls == [str(tmp_path)]
    assert _left(tmp_path) == sorted(f"f{k}.jsonl" for k in range(40))


@pytest.mark.parametrize(("release", "reports"), [
    ("5.7.19", False), ("5.8.0", True), ("5.10.0-28-amd64", True), ("4.19.0-foo", False),
    ("6.1", True), ("10.0.1", True), ("5.80-x", True), ("weird", False), ("", False)])
def test_the_kernel_version_is_read_at_run_time(release: str, reports: bool) -> None:
    assert fsio.kernel_reports_syncfs_errors(release) is reports
