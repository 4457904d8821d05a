"""The parallel write path (several fsyncs in flight) under faults.  The fault loops run
batches one file after another to keep their k-th operation fixed; this file checks the
threaded path itself: a failing file means no file of its batch is renamed, no temporary
file is left, and a rerun completes."""

from __future__ import annotations

import errno
import json
import threading
from pathlib import Path

import pytest

from migrate_tui.core import fsio
from migrate_tui.demo import generate_workspace
from migrate_tui.engine import apply_plan, build_plan, scan_workspace
from migrate_tui.engine.verify import verify_workspace


class FailNth:
    """Fail the n-th fsync of a temporary file (thread-safe: called from the writers)."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.seen = 0
        self.lock = threading.Lock()
        self.failed: str | None = None

    def __call__(self, op: str, path: str) -> None:
        if op != "fsync" or not path.endswith(fsio.TEMP_SUFFIX):
            return None
        with self.lock:
            self.seen += 1
            if self.seen != self.n:
                return None
            self.failed = path
        raise OSError(errno.EIO, "injected fsync failure", path)


@pytest.fixture
def threaded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fsio, "SEQUENTIAL_WHEN_HOOKED", False)


def _temps(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.name.endswith(fsio.TEMP_SUFFIX)]


@pytest.mark.parametrize("n", [1, 5, 12])
def test_a_failed_fsync_in_a_parallel_batch_renames_nothing(tmp_path: Path, threaded: None, n: int) -> None:
    items = [fsio.PendingWrite(str(tmp_path / f"f{i}.jsonl"), b"x" * (i + 1) * 1000) for i in range(12)]
    hook = FailNth(n)
    with fsio.fault_hook(hook), pytest.raises(OSError) as caught:
        fsio.write_atomic_many(items)
    assert caught.value.errno == errno.EIO and hook.failed
    assert not any(Path(item.path).exists() for item in items)
    assert _temps(tmp_path) == []


def test_a_parallel_batch_without_faults_lands_whole(tmp_path: Path, threaded: None) -> None:
    items = [fsio.PendingWrite(str(tmp_path / f"f{i}.jsonl"), f"{i}\n".encode(), 0o640) for i in range(40)]
    with fsio.fault_hook(lambda op, path: None):
        fsio.write_atomic_many(items)
    for i, item in enumerate(items):
        path = Path(item.path)
        assert path.read_bytes() == f"{i}\n".encode() and path.stat().st_mode & 0o777 == 0o640
    assert _temps(tmp_path) == []


@pytest.mark.parametrize("n", [2, 9, 20])
def test_a_migration_whose_parallel_write_fails_is_finished_by_a_rerun(
        tmp_path: Path, threaded: None, n: int) -> None:
    info = generate_workspace(tmp_path, sessions=12, seed=5)
    originals = {p.name: p.read_bytes() for p in Path(info.sessions_dir).glob("*.json")}
    with fsio.fault_hook(FailNth(n)):
        failed = apply_plan(build_plan(scan_workspace(str(tmp_path))), lock_timeout=2)
    assert failed.error and "injected" in failed.error
    assert _temps(Path(info.sessions_dir)) == []
    store = Path(info.sessions_dir) / "sessions.json"
    if store.exists():  # the index is whole JSON and only points at complete transcripts
        for entry in json.loads(store.read_text()).values():
            assert (Path(info.sessions_dir) / entry["session_file"]).exists()
    rerun = apply_plan(build_plan(scan_workspace(str(tmp_path))), lock_timeout=2)
    assert rerun.error is None and rerun.verified is not False
    assert verify_workspace(str(tmp_path)).ok
    assert {p.name: p.read_bytes() for p in Path(info.sessions_dir).glob("*.json")
            if p.name in originals} == originals
    assert _temps(Path(info.sessions_dir)) == []
