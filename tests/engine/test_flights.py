"""Several batches in flight (apply.FLIGHTS, 4 here): while the main thread makes the next batch of
backup copies or transcripts, up to FLIGHTS - 1 earlier ones are written, synced and named by
writer threads.  The guarantee stays the one of docs/durability.md: each file is synced by
the thread that names it, before it names it; the backup (every copy in place, the folder
fsynced, the manifest written) is complete before any transcript is announced or written."""

from __future__ import annotations

import json
import os
import threading

import pytest

from migrate_tui.core import fsio
from migrate_tui.engine import apply, apply_plan, build_plan, scan_workspace
from tests.engine.engine_support import Workspace, conversation

needs_syncfs = pytest.mark.skipif(fsio._libc() is None or not fsio.kernel_reports_syncfs_errors(),
                                  reason="syncfs does not report errors here (Linux >= 5.8)")

SESSIONS = 14  # batches of 2 files: 7 or 8 of copies, 7 of transcripts


@pytest.fixture
def many_batches(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, int]]:
    """The run a real one takes (syncfs, unnamed new files, writer threads) under a hook, in
    batches of two files; returns, for each batch started, its folder and how many were then
    started and not yet finished (itself included)."""
    monkeypatch.setattr(fsio, "SYNCFS_WHEN_HOOKED", True)
    monkeypatch.setattr(fsio, "SEQUENTIAL_WHEN_HOOKED", False)
    monkeypatch.setattr(fsio, "UNNAMED_WHEN_HOOKED", True)
    monkeypatch.setattr(apply, "BATCH_FILES", 2)
    monkeypatch.setattr(apply, "FLIGHTS", 4)
    outstanding: list[tuple[str, int]] = []
    open_batches: set[int] = set()
    real_init, real_finish = fsio.WriteBatch.__init__, fsio.WriteBatch.finish

    def init(self: fsio.WriteBatch, *args: object, **kwargs: object) -> None:
        real_init(self, *args, **kwargs)  # type: ignore[arg-type]
        if len(self.items) > 1:  # a batch, not a single file written by itself
            open_batches.add(id(self))
            outstanding.append((os.path.dirname(self.items[0].path), len(open_batches)))

    def finish(self: fsio.WriteBatch) -> list[fsio.PendingWrite]:
        try:
            return real_finish(self)
        finally:
            open_batches.discard(id(self))

    monkeypatch.setattr(fsio.WriteBatch, "__init__", init)
    monkeypatch.setattr(fsio.WriteBatch, "finish", finish)
    return outstanding


@needs_syncfs
def test_several_batches_in_flight_each_file_synced_by_its_namer_before_it_is_named(
        ws: Workspace, many_batches: list[tuple[str, int]]) -> None:
    for k in range(SESSIONS):
        ws.add(f"session-{k}", conversation(f"s{k}", 3), keys=(f"agent:main:s{k}",))
    originals = {p.name: p.read_bytes() for p in ws.sessions.iterdir()}
    ops: list[tuple[str, str, str]] = []

    def hook(op: str, path: str) -> None:
        ops.append((op, path, threading.current_thread().name))

    plan = build_plan(scan_workspace(str(ws.root)), "main")
    with fsio.fault_hook(hook):
        result = apply_plan(plan, lock_timeout=5)
    assert not result.error and len(result.migrated) == SESSIONS

    # as many batches in flight as allowed, never more, in each phase
    for folder in (ws.backup, ws.sessions):
        assert max(n for f, n in many_batches if f == str(folder)) == apply.FLIGHTS == 4, folder

    main = threading.current_thread().name
    backup_dir, sessions_dir = str(ws.backup), str(ws.sessions)
    manifest_named = max(i for i, (op, path, _t) in enumerate(ops)
                         if op == "rename" and path == os.path.join(backup_dir, "manifest.json"))
    by_writers: list[str] = []

    def synced_then_named(path: str) -> int:
        (named,) = [i for i, (op, p, _t) in enumerate(ops) if op == "rename" and p == path]
        namer = ops[named][2]
        last_read = max(i for i, (op, p, _t) in enumerate(ops)
                        if op == "read" and (p == path or os.path.basename(p).startswith(
                            f".{os.path.basename(path)}.")))
        # a batch: synced by the writer thread that names it; a batch of one file (the last
        # one, at times): fsynced by itself, by the main thread
        sync = "syncfs" if namer != main else "fsync"
        if namer != main:
            by_writers.append(path)
        assert any(op == sync and thread == namer for op, _p, thread in ops[last_read:named]), path
        return named

    copies = json.loads((ws.backup / "manifest.json").read_bytes())["files"]
    assert {info["original"] for info in copies.values()} == set(originals)
    copies_named = []
    for name, info in copies.items():
        assert (ws.backup / name).read_bytes() == originals[info["original"]]
        copies_named.append(synced_then_named(os.path.join(backup_dir, name)))
    # every copy in place, then the folder fsynced, then the manifest
    assert any(op == "fsync_dir" and path == backup_dir
               for op, path, _t in ops[max(copies_named):manifest_named])

    transcripts = sorted(ws.sessions.glob("*.jsonl"))
    assert len(transcripts) == SESSIONS
    first_transcript_op = min(i for i, (_op, path, _t) in enumerate(ops)
                              if path.endswith(".jsonl") and os.path.dirname(path) == sessions_dir)
    assert manifest_named < first_transcript_op  # the backup complete before any transcript
    for path in transcripts:
        synced_then_named(str(path))
    assert len(by_writers) >= 2 * SESSIONS - 1  # all but a last batch of one file
    assert not list(ws.root.rglob(f"*{fsio.TEMP_SUFFIX}"))
    assert fsio._unnamed_open[0] == 0
