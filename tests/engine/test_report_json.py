"""The report's JSON written a piece at a time is the very text of its whole object."""

from __future__ import annotations

import json

from migrate_tui.engine import apply_plan, build_plan, build_report, scan_workspace
from tests.engine.engine_support import Workspace


def _pieces_and_whole(report, chunk_chars: int) -> tuple[list[str], str]:
    return list(report.json_chunks(chunk_chars)), json.dumps(report.to_json(), ensure_ascii=True)


def test_dry_run_report_in_pieces_is_the_whole_text(ws: Workspace) -> None:
    for n in range(7):
        ws.add(f"s{n}", keys=(f"agent:main:s{n}",))
    ws.write_raw("broken.json", '{"session_id": "broken", "messages": [')
    ws.write_raw("caf\u00e9.json", json.dumps({"session_id": "caf\u00e9", "messages": []}))
    report = build_report(build_plan(scan_workspace(str(ws.root)), "main"), None, dry_run=True)
    for chunk_chars in (1, 200, 1 << 16):
        pieces, whole = _pieces_and_whole(report, chunk_chars)
        assert "".join(pieces) == whole
        assert len(json.loads(whole)["sessions"]) == 9
        if chunk_chars == 1:
            assert len(pieces) == 10  # one per session, then the end
    assert "\\u00e9" in whole and report.errors >= 1


def test_report_of_a_run_in_pieces_is_the_whole_text(ws: Workspace) -> None:
    ws.add("one", keys=("agent:main:one",))
    plan = build_plan(scan_workspace(str(ws.root)), "main")
    result = apply_plan(plan, lock_timeout=5)
    report = build_report(plan, result, dry_run=False)
    pieces, whole = _pieces_and_whole(report, 64)
    assert "".join(pieces) == whole
    assert json.loads(whole)["committed"] is True  # the keys after "sessions" are there


def test_no_sessions_in_pieces_is_the_whole_text(ws: Workspace) -> None:
    report = build_report(build_plan(scan_workspace(str(ws.root)), "main"), None, dry_run=True)
    pieces, whole = _pieces_and_whole(report, 10)
    assert "".join(pieces) == whole and json.loads(whole)["sessions"] == []
