"""Batches of transcripts in flight are announced in the journal by their writer threads in
the order they were started, whichever thread runs first: the journal of a run is the same
from one run to the next."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from migrate_tui.engine import apply, apply_plan, build_plan, journal, scan_workspace
from tests.engine.engine_support import Workspace, conversation


def test_a_slow_first_announcement_keeps_its_place(ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    for k in range(8):
        ws.add(f"session-{k}", conversation(f"s{k}", 3), keys=(f"agent:main:s{k}",))
    monkeypatch.setattr(apply, "BATCH_FILES", 2)
    plan = build_plan(scan_workspace(str(ws.root)), "main")
    order = [ps.scan.file_name for ps in plan.sessions if ps.action == "migrate"]
    real = journal.append

    def slow_first(layout: Any, *records: dict[str, Any]) -> None:
        if any(r.get("source") == order[0] for r in records):
            time.sleep(0.3)  # the first batch's writer thread is late
        real(layout, *records)

    monkeypatch.setattr(journal, "append", slow_first)
    result = apply_plan(plan, lock_timeout=5)
    assert result.committed and not result.failed
    lines = (ws.backup / "journal.jsonl").read_text().splitlines()
    sources = [r["source"] for r in map(json.loads, lines) if r.get("op") == "create" and "source" in r]
    assert sources == order
