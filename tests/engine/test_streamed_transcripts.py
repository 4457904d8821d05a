"""A huge session's transcript is written a piece at a time (apply ``_stream``): the same
bytes as the whole way, read back and announced in the journal before it is renamed, and
any doubt (a piece orjson may not read exactly, a transcript already there) sends it the
whole way.  The threshold and the piece size are made tiny so small files take that path."""

from __future__ import annotations

import errno
import json
import os
from pathlib import Path
from typing import Any

import pytest

from migrate_tui.core import fsio
from migrate_tui.engine import apply, apply_plan, build_plan, scan_workspace, transcript_encoding
from tests.engine.engine_support import Workspace, conversation, sha, without_nulls

UUID_A = "c25b364a-8e88-468e-ba3c-526b48c4fcf0"
UUID_B = "7d1f0a55-3b2c-4e8f-9a61-0c2d4e6f8a9b"


def _messages(label: str, n: int) -> list[dict[str, Any]]:
    msgs = conversation(label, n)
    msgs[1]["content"] = "é — 漢字 \U0001f600 \"quoted\"\n"
    msgs[2]["tool_calls"] = [{"id": "t1", "args": {"deep": [1, -2, None, {"x": True}]}}]
    msgs[3]["name"] = None
    return msgs


def _fill(ws: Workspace, later_big_int: bool = False) -> dict[str, list[dict[str, Any]]]:
    msgs = {UUID_A: _messages("a", 40), UUID_B: _messages("b", 25)}
    if later_big_int:  # past the first piece: only the lossless parser keeps it
        msgs[UUID_A][30]["content"] = 123456789012345678901234567890
    ws.add(UUID_A, msgs[UUID_A], keys=("agent:main:main",))
    ws.add(UUID_B, msgs[UUID_B], keys=("agent:main:cron:daily",), mode=0o640)
    return msgs


@pytest.fixture
def streamed(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every session streamed, in pieces of about 300 bytes; yields the sessions whose
    transcript was actually written piece by piece."""
    monkeypatch.setattr(apply, "STREAM_BYTES", 1)
    monkeypatch.setattr(transcript_encoding, "STREAM_PIECE_BYTES", 300)
    taken: list[str] = []
    real = apply.transcript_stream

    def spy(data: bytes, *job: Any) -> Any:
        pieces = real(data, *job)
        if pieces is None:
            return None

        def counted() -> Any:
            n = 0
            for piece in pieces:
                n += 1
                yield piece
            taken.append(f"{n} pieces")
        return counted()

    monkeypatch.setattr(apply, "transcript_stream", spy)
    return taken


def _journal(ws: Workspace) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (ws.backup / "journal.jsonl").read_text().splitlines()]


def test_a_streamed_transcript_is_the_whole_way_s_bytes(tmp_path: Path, streamed: list[str]) -> None:
    whole = Workspace(tmp_path / "whole")
    msgs = _fill(whole)
    # the whole way first (the threshold put back for it), then the streamed way
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(apply, "STREAM_BYTES", 1 << 40)
        assert apply_plan(build_plan(scan_workspace(str(whole.root)), "main"), lock_timeout=5).committed
    assert streamed == []
    ws = Workspace(tmp_path / "streamed")
    _fill(ws)
    result = apply_plan(build_plan(scan_workspace(str(ws.root)), "main"), lock_timeout=5)
    assert result.committed and result.verified and not result.failed
    assert len(streamed) == 2 and all(int(n.split()[0]) > 2 for n in streamed)
    for sid in (UUID_A, UUID_B):
        data = (ws.sessions / f"{sid}.jsonl").read_bytes()
        assert data == (whole.sessions / f"{sid}.jsonl").read_bytes()
        assert ws.transcript(sid) == without_nulls(msgs[sid])
        (record,) = [r for r in _journal(ws) if r.get("file") == f"{sid}.jsonl"]
        assert record["op"] == "create" and record["sha256"] == sha(data) and record["size"] == len(data)
    assert (ws.sessions / f"{UUID_B}.jsonl").stat().st_mode & 0o777 == 0o640
    assert ws.store_bytes() == whole.store_bytes().replace(b"whole", b"streamed")
    assert not list(ws.root.rglob(f"*{fsio.TEMP_SUFFIX}"))


def test_a_piece_orjson_may_not_read_exactly_sends_it_the_whole_way(ws: Workspace,
                                                                    streamed: list[str]) -> None:
    msgs = _fill(ws, later_big_int=True)
    result = apply_plan(build_plan(scan_workspace(str(ws.root)), "main"), lock_timeout=5)
    assert result.committed and not result.failed
    assert len(streamed) == 1  # B streamed; A given up on at its big integer
    assert b"123456789012345678901234567890" in (ws.sessions / f"{UUID_A}.jsonl").read_bytes()
    assert ws.transcript(UUID_A) == without_nulls(msgs[UUID_A])
    assert not list(ws.root.rglob(f"*{fsio.TEMP_SUFFIX}"))


def test_a_streamed_transcript_that_reads_back_different_is_never_renamed(ws: Workspace,
                                                                          streamed: list[str]) -> None:
    _fill(ws)
    before = ws.store_bytes() if (ws.sessions / "sessions.json").exists() else None
    prefix = f".{UUID_A}.jsonl."

    def hook(op: str, path: str) -> None:
        name = os.path.basename(path)
        if op == "read" and name.startswith(prefix) and name.endswith(fsio.TEMP_SUFFIX):
            with open(path, "r+b") as f:
                f.seek(5)
                f.write(b"X")

    with fsio.fault_hook(hook):
        result = apply_plan(build_plan(scan_workspace(str(ws.root)), "main"), lock_timeout=5)
    assert result.error and "reads back different" in result.error and not result.committed
    assert not (ws.sessions / f"{UUID_A}.jsonl").exists()
    assert f"{UUID_A}.jsonl" not in [r.get("file") for r in _journal(ws)]  # never announced
    assert (ws.store_bytes() if (ws.sessions / "sessions.json").exists() else None) == before
    assert not list(ws.root.rglob(f"*{fsio.TEMP_SUFFIX}"))


def test_a_failed_rename_leaves_nothing_and_a_rerun_completes(ws: Workspace, streamed: list[str]) -> None:
    msgs = _fill(ws)
    target = str(ws.sessions / f"{UUID_B}.jsonl")

    def hook(op: str, path: str) -> None:
        if op == "rename" and path == target:
            raise OSError(errno.EIO, "Input/output error", path)

    with fsio.fault_hook(hook):
        result = apply_plan(build_plan(scan_workspace(str(ws.root)), "main"), lock_timeout=5)
    assert result.error and "Input/output error" in result.error and not result.committed
    assert not (ws.sessions / f"{UUID_B}.jsonl").exists()
    assert not list(ws.root.rglob(f"*{fsio.TEMP_SUFFIX}"))
    again = apply_plan(build_plan(scan_workspace(str(ws.root)), "main"), lock_timeout=5)
    assert again.committed and not again.failed
    for sid in (UUID_A, UUID_B):
        assert ws.transcript(sid) == without_nulls(msgs[sid])


def test_a_transcript_already_there_is_compared_the_whole_way(ws: Workspace, streamed: list[str]) -> None:
    msgs = _fill(ws)
    first = apply_plan(build_plan(scan_workspace(str(ws.root)), "main"), lock_timeout=5)
    assert first.committed
    done = list(streamed)
    (ws.sessions / "sessions.json").unlink()  # the index lost: the transcripts are there
    again = apply_plan(build_plan(scan_workspace(str(ws.root)), "main"), lock_timeout=5)
    assert again.committed and not again.failed
    assert streamed == done  # nothing streamed the second time: the files were compared
    assert ws.transcript(UUID_A) == without_nulls(msgs[UUID_A])
