"""A huge session the scan proved orjson reads exactly is streamed without proving each piece
again (``transcript_encoding._proven_pieces``): the same items, the same transcript bytes,
and the proof only where the scan did not leave its token."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from migrate_tui.core import fsio, jsonio
from migrate_tui.engine import apply, apply_plan, build_plan, scan_workspace, transcript_encoding
from migrate_tui.engine.legacy import exact_token
from migrate_tui.engine.transcript_encoding import Job, _proven_pieces, encode_transcript, transcript_stream
from tests.engine.engine_support import Workspace, conversation

UUID_A = "c25b364a-8e88-468e-ba3c-526b48c4fcf0"


def _legacy_bytes(ws: Workspace, msgs: list[dict[str, Any]]) -> bytes:
    return ws.add(UUID_A, msgs).read_bytes()


def _messages(n: int) -> list[dict[str, Any]]:
    msgs = conversation("p", n)
    msgs[1]["content"] = "é — 漢字 \U0001f600 \"quoted\" },\n    { not a cut"
    msgs[2]["tool_calls"] = [{"id": "t1", "args": {"deep": [1, -2, None, {"x": True}]}}]
    return msgs


@pytest.mark.parametrize("chunk", [1, 200, 1 << 20])
def test_proven_pieces_are_the_items_exact_chunks_reads(ws: Workspace, chunk: int) -> None:
    data = _legacy_bytes(ws, _messages(30))
    pieces = _proven_pieces(data, chunk)
    assert pieces is not None
    mine = [item for piece in pieces for item in piece]
    chunks = jsonio.exact_chunks(data, "messages", chunk)
    next(chunks)
    assert mine == [item for items, _text in chunks for item in items]
    assert mine == json.loads(data)["messages"]


def test_proven_pieces_of_another_layout_or_no_messages(ws: Workspace) -> None:
    compact = json.dumps({"session_id": "x", "messages": [{"role": "user"}]}).encode()
    assert _proven_pieces(compact, 10) is None
    empty = _legacy_bytes(ws, [])
    pieces = _proven_pieces(empty, 10)
    assert pieces is not None and list(pieces) == []


def _count_proofs(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """A list that grows by one each time a file is proved piece by piece (exact_chunks)."""
    proved: list[int] = []
    real = jsonio.exact_chunks

    def counted(*args: Any, **kwargs: Any) -> Any:
        proved.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(jsonio, "exact_chunks", counted)
    return proved


def test_a_proven_stream_is_the_whole_transcript_and_proves_nothing_again(
        ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    data = _legacy_bytes(ws, _messages(40))
    sha = fsio.sha256_bytes(data)
    path = str(ws.sessions / f"{UUID_A}.json")
    whole = encode_transcript(Job(path, sha, frozenset()))
    proved = _count_proofs(monkeypatch)
    monkeypatch.setattr(transcript_encoding, "STREAM_PIECE_BYTES", 300)
    proven = transcript_stream(data, Job(path, sha, frozenset(), exact_token(sha)))
    assert proven is not None and b"".join(proven) == whole.out and proved == []
    unproven = transcript_stream(data, Job(path, sha, frozenset(), None))  # no token: proved
    assert unproven is not None and b"".join(unproven) == whole.out and proved == [1]


def test_apply_streams_a_proven_session_without_the_proof(tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    ws = Workspace(tmp_path / "ws")
    _legacy_bytes(ws, _messages(40))
    plan = build_plan(scan_workspace(str(ws.root)), "main")
    assert plan.sessions[0].scan.content.messages_digest == exact_token(plan.sessions[0].scan.sha256 or "")
    monkeypatch.setattr(apply, "STREAM_BYTES", 1)
    monkeypatch.setattr(transcript_encoding, "STREAM_PIECE_BYTES", 300)
    proved = _count_proofs(monkeypatch)
    result = apply_plan(plan, lock_timeout=5)
    assert result.committed and not result.failed and proved == []
    out = (ws.sessions / f"{UUID_A}.jsonl").read_bytes()
    path = str(ws.sessions / f"{UUID_A}.json")
    sha = plan.sessions[0].scan.sha256 or ""
    assert out == encode_transcript(Job(path, sha, frozenset())).out
