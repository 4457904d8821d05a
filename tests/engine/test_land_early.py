"""A batch that lands early (fsio.start_writes(..., land_early=True)): the writer thread that
synced it renames its files into place too, still after the announcement, the writes and the
sync; the caller's finish() only waits for that (the transcripts phase uses it)."""

from __future__ import annotations

import errno
import os
import threading
from pathlib import Path

import pytest

from migrate_tui.core import fsio

needs_syncfs = pytest.mark.skipif(fsio._libc() is None or not fsio.kernel_reports_syncfs_errors(),
                                  reason="syncfs does not report errors here (Linux >= 5.8)")


@pytest.fixture
def parallel_trace(monkeypatch: pytest.MonkeyPatch):
    """The parallel syncfs path under a hook that records (op, file name, thread)."""
    monkeypatch.setattr(fsio, "SYNCFS_WHEN_HOOKED", True)
    monkeypatch.setattr(fsio, "SEQUENTIAL_WHEN_HOOKED", False)
    ops: list[tuple[str, str, str]] = []
    faults: dict[tuple[str, str], int] = {}

    def hook(op: str, path: str) -> None:
        name = os.path.basename(path)
        ops.append((op, name, threading.current_thread().name))
        if (op, name) in faults:
            raise OSError(faults[(op, name)], os.strerror(faults[(op, name)]), path)

    with fsio.fault_hook(hook):
        yield ops, faults


def _items(folder: Path, n: int, exclusive: bool = False) -> list[fsio.PendingWrite]:
    return [fsio.PendingWrite(str(folder / f"f{k}.jsonl"), f"line {k}\n".encode(), check=True,
                              exclusive=exclusive) for k in range(n)]


def _names(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


@needs_syncfs
def test_the_writer_thread_renames_after_the_announcement_and_sync(tmp_path: Path, parallel_trace) -> None:
    ops, _ = parallel_trace
    announced: list[str] = []
    batch = fsio.start_writes(_items(tmp_path, 6, exclusive=True),
                              lambda: announced.append(threading.current_thread().name), land_early=True)
    batch._wait()  # the writer thread is done: the files are in place before finish()
    assert _names(tmp_path) == [f"f{k}.jsonl" for k in range(6)]
    assert batch.finish() == []
    kinds = [op for op, _name, _thread in ops]
    renames = [i for i, op in enumerate(kinds) if op == "rename"]
    assert len(renames) == 6 and kinds.index("syncfs") < renames[0]
    assert max(i for i, op in enumerate(kinds) if op == "close") < renames[0]
    assert [ops[i][1] for i in renames] == [f"f{k}.jsonl" for k in range(6)]  # in order
    writer = {thread for op, _name, thread in ops if op == "rename"}
    assert writer == set(announced) and threading.current_thread().name not in writer
    assert (tmp_path / "f4.jsonl").read_bytes() == b"line 4\n"


@needs_syncfs
def test_a_name_taken_meanwhile_is_left_as_it_is(tmp_path: Path, parallel_trace) -> None:
    (tmp_path / "f2.jsonl").write_bytes(b"theirs\n")
    batch = fsio.start_writes(_items(tmp_path, 4, exclusive=True), land_early=True)
    taken = batch.finish()
    assert [item.path for item in taken] == [str(tmp_path / "f2.jsonl")]
    assert (tmp_path / "f2.jsonl").read_bytes() == b"theirs\n"
    assert [item.path for item in batch.landed()] == [str(tmp_path / f"f{k}.jsonl") for k in (0, 1, 3)]
    assert _names(tmp_path) == [f"f{k}.jsonl" for k in range(4)]  # no temporary file left


@needs_syncfs
def test_a_failed_rename_keeps_those_before_and_removes_the_rest(tmp_path: Path, parallel_trace) -> None:
    _ops, faults = parallel_trace
    faults[("rename", "f3.jsonl")] = errno.EIO
    batch = fsio.start_writes(_items(tmp_path, 5), land_early=True)
    with pytest.raises(OSError):
        batch.finish()
    assert _names(tmp_path) == ["f0.jsonl", "f1.jsonl", "f2.jsonl"]
    assert [item.path for item in batch.landed()] == [str(tmp_path / f"f{k}.jsonl") for k in range(3)]


@needs_syncfs
def test_a_sync_failing_for_ours_renames_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fsio, "SYNCFS_WHEN_HOOKED", True)
    monkeypatch.setattr(fsio, "SEQUENTIAL_WHEN_HOOKED", False)

    def hook(op: str, path: str) -> None:  # syncfs fails, then so does the file's own fsync
        if op in ("syncfs", "fsync"):
            raise OSError(errno.EIO, "I/O error", path)

    with fsio.fault_hook(hook):
        batch = fsio.start_writes(_items(tmp_path, 3), land_early=True)
        with pytest.raises(OSError):
            batch.finish()
    assert _names(tmp_path) == [] and batch.landed() == []


@needs_syncfs
def test_abandon_leaves_what_landed_and_removes_the_rest(tmp_path: Path, parallel_trace) -> None:
    batch = fsio.start_writes(_items(tmp_path, 3), land_early=True)
    batch.abandon()
    assert _names(tmp_path) == ["f0.jsonl", "f1.jsonl", "f2.jsonl"]
    assert len(batch.landed()) == 3


def test_under_a_sequential_hook_the_caller_renames(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Fault tests keep their fixed order: with the sequential path nothing lands early."""
    monkeypatch.setattr(fsio, "SYNCFS_WHEN_HOOKED", True)
    with fsio.fault_hook(lambda op, path: None):
        batch = fsio.start_writes(_items(tmp_path, 3), land_early=True)
        assert not any(n.endswith(".jsonl") and not n.startswith(".") for n in _names(tmp_path))
        batch.finish()
    assert _names(tmp_path) == ["f0.jsonl", "f1.jsonl", "f2.jsonl"]
