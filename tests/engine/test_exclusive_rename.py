"""A new transcript is renamed into place only where no file is (``fsio.rename_exclusive``):
a transcript another writer makes between the scan and our rename is never replaced.  Apply
no longer looks for each new transcript before writing it (one lookup a session saved); the
rename itself refuses to replace, and what is found there is compared."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from migrate_tui.core import fsio
from migrate_tui.engine import apply, apply_plan, build_plan, scan_workspace
from tests.engine.engine_support import Workspace, conversation, without_nulls

UUID_A = "c25b364a-8e88-468e-ba3c-526b48c4fcf0"
UUID_B = "7d1f0a55-3b2c-4e8f-9a61-0c2d4e6f8a9b"
THEIRS = b'{"role": "user", "content": "written by the agent meanwhile"}\n'


# ---------------------------------------------------------------- fsio.rename_exclusive


@pytest.fixture(params=["renameat2", "link", "look"])
def way(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Each way ``rename_exclusive`` may have to take: renameat2, else a hard link, else a
    look and a rename (the last two forced by hiding what the first needs)."""
    if request.param != "renameat2":
        monkeypatch.setattr(fsio, "_renameat2", [None])
    if request.param == "look":
        def no_links(*args: Any, **kwargs: Any) -> None:
            raise PermissionError(1, "Operation not permitted")
        monkeypatch.setattr(fsio.os, "link", no_links)
    elif request.param == "renameat2" and fsio._renameat2_fn() is None:
        pytest.skip("no renameat2 in this C library")
    return str(request.param)


def test_rename_exclusive_renames_where_nothing_is(tmp_path: Path, way: str) -> None:
    src, dst = tmp_path / ".new.tmp", tmp_path / "new"
    src.write_bytes(b"ours")
    assert fsio.rename_exclusive(str(src), str(dst))
    assert dst.read_bytes() == b"ours" and not src.exists()
    with fsio.anchored(str(tmp_path)):  # through the folder's descriptor as well
        src.write_bytes(b"again")
        assert fsio.rename_exclusive(str(src), str(tmp_path / "other"))
    assert (tmp_path / "other").read_bytes() == b"again" and not src.exists()


@pytest.mark.parametrize("there", ["file", "symlink", "dangling symlink"])
def test_rename_exclusive_never_replaces_what_is_there(tmp_path: Path, way: str, there: str) -> None:
    src, dst = tmp_path / ".new.tmp", tmp_path / "new"
    src.write_bytes(b"ours")
    (tmp_path / "elsewhere").write_bytes(b"not ours")
    if there == "file":
        dst.write_bytes(b"theirs")
    else:
        dst.symlink_to(tmp_path / ("elsewhere" if there == "symlink" else "missing"))
    assert not fsio.rename_exclusive(str(src), str(dst))
    assert src.read_bytes() == b"ours"  # left for the caller to remove
    if there == "file":
        assert dst.read_bytes() == b"theirs"
    else:
        assert dst.is_symlink()
    assert (tmp_path / "elsewhere").read_bytes() == b"not ours"


def test_an_exclusive_batch_item_that_finds_a_file_is_reported_not_renamed(tmp_path: Path) -> None:
    (tmp_path / "b").write_bytes(b"theirs")
    items = [fsio.PendingWrite(str(tmp_path / n), b"ours " + n.encode(), exclusive=True, check=True)
             for n in ("a", "b", "c")]
    taken = fsio.start_writes(items).finish()
    assert [os.path.basename(i.path) for i in taken] == ["b"]
    assert (tmp_path / "a").read_bytes() == b"ours a" and (tmp_path / "c").read_bytes() == b"ours c"
    assert (tmp_path / "b").read_bytes() == b"theirs"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a", "b", "c"]  # no temporary file left


# ---------------------------------------------------------------- apply


def _fill(ws: Workspace) -> dict[str, list[dict[str, Any]]]:
    msgs = {UUID_A: conversation("a", 6), UUID_B: conversation("b", 4)}
    ws.add(UUID_A, msgs[UUID_A], keys=("agent:main:main",))
    ws.add(UUID_B, msgs[UUID_B], keys=("agent:main:cron:daily",))
    return msgs


def _another_writer_at_rename(ws: Workspace, sid: str, content: bytes | None) -> Any:
    """A fault hook that, just before our rename of ``sid``'s transcript, has another writer
    create that transcript (``content``; None: the very bytes we are about to rename)."""
    target = str(ws.sessions / f"{sid}.jsonl")

    def hook(op: str, path: str) -> None:
        if op == "rename" and path == target and not os.path.lexists(path):
            data = content
            if data is None:  # ours, from the temporary file about to be renamed
                (tmp,) = [p for p in ws.sessions.iterdir()
                          if p.name.startswith(f".{sid}.jsonl.") and p.name.endswith(fsio.TEMP_SUFFIX)]
                data = tmp.read_bytes()
            with open(path, "xb") as f:
                f.write(data)
    return hook


@pytest.fixture(params=["batch", "streamed"])
def how(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Transcripts written in batches, or each a piece at a time (the huge-session way)."""
    if request.param == "streamed":
        monkeypatch.setattr(apply, "STREAM_BYTES", 1)
    return str(request.param)


def test_a_transcript_another_writer_made_meanwhile_is_not_overwritten(ws: Workspace, how: str) -> None:
    msgs = _fill(ws)
    plan = build_plan(scan_workspace(str(ws.root)), "main")
    assert {ps.transcript for ps in plan.sessions} == {"write"}  # none there at the scan
    with fsio.fault_hook(_another_writer_at_rename(ws, UUID_A, THEIRS)):
        result = apply_plan(plan, lock_timeout=5)
    assert (ws.sessions / f"{UUID_A}.jsonl").read_bytes() == THEIRS  # theirs, untouched
    [failure] = result.failed
    assert failure.file_id == UUID_A and failure.problem.code == "transcript_conflict"
    assert "left as it is" in failure.problem.message
    assert result.migrated == [UUID_B] and result.committed and result.verified
    assert str(ws.sessions / f"{UUID_A}.jsonl") not in result.written
    assert ws.transcript(UUID_B) == without_nulls(msgs[UUID_B])
    assert "agent:main:main" not in ws.store()  # no key points at a transcript not ours
    assert not list(ws.root.rglob(f"*{fsio.TEMP_SUFFIX}"))


def test_the_same_transcript_made_meanwhile_counts_as_migrated(ws: Workspace, how: str) -> None:
    msgs = _fill(ws)
    plan = build_plan(scan_workspace(str(ws.root)), "main")
    with fsio.fault_hook(_another_writer_at_rename(ws, UUID_A, None)):
        result = apply_plan(plan, lock_timeout=5)
    assert not result.failed and result.committed and result.verified
    assert sorted(result.migrated) == sorted([UUID_A, UUID_B])
    assert ws.transcript(UUID_A) == without_nulls(msgs[UUID_A])
    assert ws.store()["agent:main:main"]["session_id"] == UUID_A
    assert not list(ws.root.rglob(f"*{fsio.TEMP_SUFFIX}"))


def test_no_lookup_for_a_transcript_the_scan_found_missing(ws: Workspace) -> None:
    _fill(ws)
    plan = build_plan(scan_workspace(str(ws.root)), "main")
    looked: list[str] = []
    phase = [""]

    def hook(op: str, path: str) -> None:
        if op == "stat" and phase[0] == "transcripts":
            looked.append(os.path.basename(path))

    def on_event(event: Any) -> None:
        phase[0] = getattr(event, "phase", phase[0]) if type(event).__name__ == "PhaseStarted" else phase[0]

    with fsio.fault_hook(hook):
        result = apply_plan(plan, lock_timeout=5, on_event=on_event)
    assert result.committed and sorted(result.migrated) == sorted([UUID_A, UUID_B])
    assert phase[0] == "verify"
    assert [n for n in looked if n.endswith(".jsonl") and n != "journal.jsonl"] == []
    records = [json.loads(line) for line in (ws.backup / "journal.jsonl").read_text().splitlines()]
    assert {r["file"] for r in records if r.get("op") == "create"} >= {f"{UUID_A}.jsonl", f"{UUID_B}.jsonl"}


# ---------------------------------------------------------------- the batch's announcement


@pytest.mark.parametrize("syncfs", [True, False], ids=["syncfs", "fsync-each"])
def test_a_batch_is_announced_before_any_of_its_files_exists(tmp_path: Path, syncfs: bool,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """``start_writes(items, before)``: ``before`` (apply: the journal's records) runs before
    the first temporary file is created, in the writer thread or at once; failing, it
    leaves nothing and the batch raises its error."""
    if not syncfs:
        monkeypatch.setattr(fsio, "_syncfs_targets", lambda items: None)
    items = [fsio.PendingWrite(str(tmp_path / n), b"data " + n.encode(), exclusive=True) for n in "abc"]
    seen: list[list[str]] = []
    fsio.start_writes(items, lambda: seen.append(sorted(p.name for p in tmp_path.iterdir()))).finish()
    assert seen == [[]] and sorted(p.name for p in tmp_path.iterdir()) == ["a", "b", "c"]

    def refused() -> None:
        raise OSError(28, "No space left on device")

    more = [fsio.PendingWrite(str(tmp_path / n), b"more", exclusive=True) for n in "de"]
    with pytest.raises(OSError, match="No space left"):
        fsio.start_writes(more, refused).finish()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a", "b", "c"]  # nothing of it
