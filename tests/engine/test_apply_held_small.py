"""What apply holds for each session after its backup phase, held small: the transcripts
written as their sessions' plans (``WrittenPaths``: each path made when read), and the
manifest let go once nothing will be added to it (read again from the backup folder when a
file to replace appeared after all)."""

from __future__ import annotations

import json
import os
from typing import Any

import pytest

from migrate_tui.engine import apply, apply_plan, build_plan, scan_workspace
from migrate_tui.engine.model import PhaseStarted
from tests.engine.engine_support import Workspace, conversation

IDS = [f"c25b364a-8e88-468e-ba3c-{n:012x}" for n in range(300)]


def _fill(ws: Workspace, count: int) -> list[str]:
    ids = IDS[:count]
    for n, sid in enumerate(ids):
        ws.add(sid, conversation(sid[-4:], 2), keys=(f"agent:main:s{n}",))
    return ids


@pytest.mark.parametrize("count", [3, 300], ids=["looked-up", "listed"])
def test_written_holds_each_path_made_as_a_path(ws: Workspace, count: int) -> None:
    ids = _fill(ws, count)
    result = apply_plan(build_plan(scan_workspace(str(ws.root)), "main"), lock_timeout=5)
    assert result.committed and result.verified and sorted(result.migrated) == sorted(ids)
    expected = [str(ws.sessions / f"{sid}.jsonl") for sid in ids] + [str(ws.sessions / "sessions.json")]
    assert sorted(result.written) == sorted(expected) and len(result.written) == len(expected)
    assert result.written == list(result.written) and result.written[-1] == expected[-1]
    assert all(os.path.isfile(p) for p in result.written)
    # the transcripts are held as their sessions' plans, not as one path string each
    assert isinstance(result.written, apply.WrittenPaths)
    assert sum(type(item) is str for item in result.written._items) == 1  # sessions.json


@pytest.mark.parametrize("count", [3, 300], ids=["looked-up", "listed"])
def test_a_transcript_gone_before_the_check_is_reported_missing(ws: Workspace, count: int) -> None:
    ids = _fill(ws, count)
    gone = ids[1]

    def on_event(event: Any) -> None:
        if isinstance(event, PhaseStarted) and event.phase == "verify":
            os.unlink(ws.sessions / f"{gone}.jsonl")

    result = apply_plan(build_plan(scan_workspace(str(ws.root)), "main"), lock_timeout=5,
                        on_event=on_event)
    assert result.verified is False and not result.committed
    assert result.verify_problems == [f"{gone}.jsonl is missing"]
    assert sorted(result.migrated) == sorted(set(ids) - {gone})


def test_the_manifest_let_go_is_read_again_for_a_store_that_appeared(
        ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    """No sessions.json at the scan: the manifest is let go after the backup phase; one
    that appears before the index is backed up all the same, in the manifest read again,
    which keeps every copy the backup phase recorded."""
    ids = _fill(ws, 3)
    theirs = b'{"agent:other": {"session_id": "someone-else"}}\n'
    loads = []
    real_load = apply.backup.load_manifest

    def load_manifest(layout: Any) -> Any:
        loads.append(True)
        return real_load(layout)

    monkeypatch.setattr(apply.backup, "load_manifest", load_manifest)

    def on_event(event: Any) -> None:
        if isinstance(event, PhaseStarted) and event.phase == "index":
            (ws.sessions / "sessions.json").write_bytes(theirs)

    plan = build_plan(scan_workspace(str(ws.root)), "main")
    assert not plan.scan.store_present
    result = apply_plan(plan, lock_timeout=5, on_event=on_event)
    assert result.committed and result.verified and sorted(result.migrated) == sorted(ids)
    assert len(loads) == 2  # at the backup phase, and again at the index
    files = json.loads((ws.backup / "manifest.json").read_bytes())["files"]
    assert sorted(files) == sorted([f"{sid}.json" for sid in ids] + ["session_map.json", "sessions.json"])
    assert (ws.backup / "sessions.json").read_bytes() == theirs
    assert ws.store()["agent:other"] == {"session_id": "someone-else"}


def test_the_manifest_is_kept_when_a_store_was_there(ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    ids = _fill(ws, 3)
    (ws.sessions / "sessions.json").write_bytes(b"{}\n")
    loads = []
    real_load = apply.backup.load_manifest
    monkeypatch.setattr(apply.backup, "load_manifest", lambda layout: loads.append(True) or real_load(layout))
    result = apply_plan(build_plan(scan_workspace(str(ws.root)), "main"), lock_timeout=5)
    assert result.committed and sorted(result.migrated) == sorted(ids)
    assert len(loads) == 1  # read once, at the backup phase, and kept
    files = json.loads((ws.backup / "manifest.json").read_bytes())["files"]
    assert sorted(files) == sorted([f"{sid}.json" for sid in ids] + ["session_map.json", "sessions.json"])
