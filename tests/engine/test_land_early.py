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


# ------------------------------------------------------------ new files made unnamed


@pytest.fixture
def unnamed_trace(parallel_trace, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(fsio, "UNNAMED_WHEN_HOOKED", True)
    return parallel_trace


def _open_unnamed() -> int:
    return fsio._unnamed_open[0]


@needs_syncfs
def test_new_files_are_made_unnamed_then_named_after_the_sync(tmp_path: Path, unnamed_trace) -> None:
    ops, _ = unnamed_trace
    items = [*_items(tmp_path, 4, exclusive=True),
             fsio.PendingWrite(str(tmp_path / "replaced.json"), b"new\n", 0o640, check=True)]
    (tmp_path / "replaced.json").write_bytes(b"old\n")
    with fsio.anchored(str(tmp_path)):
        batch = fsio.start_writes(items, land_early=True)
        assert batch.finish() == []
    assert _names(tmp_path) == ["f0.jsonl", "f1.jsonl", "f2.jsonl", "f3.jsonl", "replaced.json"]
    assert (tmp_path / "f2.jsonl").read_bytes() == b"line 2\n"
    assert (tmp_path / "replaced.json").read_bytes() == b"new\n"
    assert os.stat(tmp_path / "replaced.json").st_mode & 0o777 == 0o640
    temps = [name for op, name, _t in ops if op == "open" and name.endswith(fsio.TEMP_SUFFIX)]
    assert len(temps) == 1 and temps[0].startswith(".replaced.json.")  # only the replaced one
    kinds = [op for op, _name, _t in ops]
    assert kinds.index("syncfs") < kinds.index("rename")
    assert _open_unnamed() == 0


@needs_syncfs
def test_an_unnamed_file_whose_name_was_taken_meanwhile_goes(tmp_path: Path, unnamed_trace) -> None:
    (tmp_path / "f1.jsonl").symlink_to("elsewhere")
    with fsio.anchored(str(tmp_path)):
        batch = fsio.start_writes(_items(tmp_path, 3, exclusive=True), land_early=True)
        taken = batch.finish()
    assert [item.path for item in taken] == [str(tmp_path / "f1.jsonl")]
    assert os.readlink(tmp_path / "f1.jsonl") == "elsewhere"
    assert _names(tmp_path) == ["f0.jsonl", "f1.jsonl", "f2.jsonl"] and _open_unnamed() == 0


@needs_syncfs
def test_a_failed_naming_keeps_those_before_and_frees_the_rest(tmp_path: Path, unnamed_trace) -> None:
    _ops, faults = unnamed_trace
    faults[("rename", "f2.jsonl")] = errno.EIO
    with fsio.anchored(str(tmp_path)):
        batch = fsio.start_writes(_items(tmp_path, 4, exclusive=True), land_early=True)
        with pytest.raises(OSError):
            batch.finish()
    assert _names(tmp_path) == ["f0.jsonl", "f1.jsonl"] and _open_unnamed() == 0


@needs_syncfs
def test_a_sync_error_fsyncs_each_unnamed_file(tmp_path: Path, unnamed_trace) -> None:
    ops, faults = unnamed_trace
    faults[("syncfs", tmp_path.name)] = errno.EIO
    with fsio.anchored(str(tmp_path)):
        fsio.start_writes(_items(tmp_path, 3, exclusive=True), land_early=True).finish()
    assert [name for op, name, _t in ops if op == "fsync"] == [fsio.UNNAMED] * 3
    assert _names(tmp_path) == ["f0.jsonl", "f1.jsonl", "f2.jsonl"]


@needs_syncfs
def test_abandoned_unnamed_files_leave_nothing(tmp_path: Path, unnamed_trace) -> None:
    _ops, faults = unnamed_trace
    faults[("syncfs", tmp_path.name)] = errno.EIO
    faults[("fsync", fsio.UNNAMED)] = errno.EIO  # ours: the batch fails, nothing is named
    with fsio.anchored(str(tmp_path)):
        batch = fsio.start_writes(_items(tmp_path, 3, exclusive=True), land_early=True)
        with pytest.raises(OSError):
            batch.finish()
    assert _names(tmp_path) == [] and batch.landed() == [] and _open_unnamed() == 0


@needs_syncfs
def test_without_descriptors_to_spare_temporary_files_are_used(tmp_path: Path, unnamed_trace,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    ops, _ = unnamed_trace
    monkeypatch.setattr(fsio, "_unnamed_open", [0, 2])  # room for two
    with fsio.anchored(str(tmp_path)):
        fsio.start_writes(_items(tmp_path, 5, exclusive=True), land_early=True).finish()
    temps = [name for op, name, _t in ops if op == "open" and name.endswith(fsio.TEMP_SUFFIX)]
    assert len(temps) == 3 and fsio._unnamed_open[0] == 0
    assert _names(tmp_path) == [f"f{k}.jsonl" for k in range(5)]
