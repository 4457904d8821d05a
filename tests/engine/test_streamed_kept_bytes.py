"""The one huge session of a run (the only one whose transcript is streamed) has its
transcript made from the bytes the backup read and proved the scan's (apply ``kept``): its
file is read once by apply, not twice, and the transcript is the one made the whole way."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from migrate_tui.core import fsio
from migrate_tui.engine import apply, apply_plan, build_plan, scan_workspace, transcript_encoding
from tests.engine.engine_support import Workspace, conversation, without_nulls

UUID_A = "c25b364a-8e88-468e-ba3c-526b48c4fcf0"
UUID_B = "7d1f0a55-3b2c-4e8f-9a61-0c2d4e6f8a9b"


def _fill(ws: Workspace) -> dict[str, list[dict[str, Any]]]:
    msgs = {UUID_A: conversation("a", 60), UUID_B: conversation("b", 3)}
    msgs[UUID_A][1]["content"] = "é — 漢字 \U0001f600 \"quoted\"\n"
    msgs[UUID_A][2]["name"] = None
    ws.add(UUID_A, msgs[UUID_A], keys=("agent:main:main",))
    ws.add(UUID_B, msgs[UUID_B], keys=("agent:main:cron:daily",))
    return msgs


def _opens(ws: Workspace) -> tuple[dict[str, int], Any]:
    """Counts of the opens of each legacy file during ``apply_plan`` (its scan before)."""
    plan = build_plan(scan_workspace(str(ws.root)), "main")
    counts: dict[str, int] = {}

    def hook(op: str, path: str) -> None:
        if op == "open" and os.path.dirname(path) == str(ws.sessions) and path.endswith(".json"):
            counts[os.path.basename(path)] = counts.get(os.path.basename(path), 0) + 1

    with fsio.fault_hook(hook):
        result = apply_plan(plan, lock_timeout=5)
    return counts, result


@pytest.mark.parametrize("threshold", ["only A", "both"])
def test_the_only_streamed_session_is_read_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                threshold: str) -> None:
    whole = Workspace(tmp_path / "whole")
    _fill(whole)
    assert apply_plan(build_plan(scan_workspace(str(whole.root)), "main"), lock_timeout=5).committed

    ws = Workspace(tmp_path / "ws")
    msgs = _fill(ws)
    size_a = (ws.sessions / f"{UUID_A}.json").stat().st_size
    size_b = (ws.sessions / f"{UUID_B}.json").stat().st_size
    assert size_b < size_a
    monkeypatch.setattr(apply, "STREAM_BYTES", size_a if threshold == "only A" else 1)
    monkeypatch.setattr(transcript_encoding, "STREAM_PIECE_BYTES", 300)
    counts, result = _opens(ws)
    assert result.committed and result.verified and not result.failed
    if threshold == "only A":
        assert counts[f"{UUID_A}.json"] == 1  # by the backup; its transcript from those bytes
    else:  # two huge sessions: neither is held from the backup on, each is read again
        assert counts[f"{UUID_A}.json"] == 2 and counts[f"{UUID_B}.json"] == 2
    for sid in (UUID_A, UUID_B):
        assert (ws.sessions / f"{sid}.jsonl").read_bytes() == (whole.sessions / f"{sid}.jsonl").read_bytes()
        assert ws.transcript(sid) == without_nulls(msgs[sid])


def test_a_file_changed_before_the_backup_is_still_found(tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """Changed between the scan and the backup: the backup finds it (the bytes are not kept)
    and the session is not migrated."""
    ws = Workspace(tmp_path / "ws")
    _fill(ws)
    plan = build_plan(scan_workspace(str(ws.root)), "main")
    monkeypatch.setattr(apply, "STREAM_BYTES", (ws.sessions / f"{UUID_A}.json").stat().st_size)
    ws.add(UUID_A, conversation("a", 61), keys=("agent:main:main",))
    result = apply_plan(plan, lock_timeout=5)
    assert [f.problem.code for f in result.failed] == ["changed_during_migration"]
    assert not (ws.sessions / f"{UUID_A}.jsonl").exists()
    assert (ws.sessions / f"{UUID_B}.jsonl").exists()
