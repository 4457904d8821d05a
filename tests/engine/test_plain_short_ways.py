"""The plan's and the report's short ways for plain sessions (no fix, every value the
scan's: plan._totals, plan._settle_ids, plan._settle_keys, report._session_values and
report._plain_session_text, and the keys scan._attach_keys gives) must give what the
general ways give: the same session made not plain (its values held,
``PlannedSession._held``) goes the general way."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from migrate_tui.demo import generate_workspace
from migrate_tui.engine import build_plan, build_report, scan_workspace
from migrate_tui.engine import plan as plan_module
from migrate_tui.engine import report as report_module
from migrate_tui.engine.model import Decision, Totals


def _workspace(root: Path) -> str:
    generate_workspace(root, sessions=24, damaged=True, seed=4)
    sessions = root / ".sessions"
    # a session with several keys, one with a key sessions.json already has, a non-ASCII
    # name, a file whose id is another's
    keys = json.loads((sessions / "session_map.json").read_text())
    some = sorted(p.stem for p in sessions.glob("*.json") if p.stem in keys.values()
                  and _good(p))
    keys["agent:main:extra-a"] = some[0]
    keys["agent:main:extra-b"] = some[0]
    (sessions / "session_map.json").write_text(json.dumps(keys, indent=2))
    doc = json.loads((sessions / f"{some[1]}.json").read_text())
    doc["session_id"] = "caf\u00e9-\u00e9t\u00e9"
    (sessions / "caf\u00e9-\u00e9t\u00e9.json").write_text(json.dumps(doc))
    doc["session_id"] = some[2]
    (sessions / "twin.json").write_text(json.dumps(doc))
    doc = json.loads((sessions / f"{some[3]}.json").read_text())
    doc["extra"] = {"kept": "in the backup only"}  # a name not carried
    (sessions / f"{some[3]}.json").write_text(json.dumps(doc))
    return str(root)


def _good(path: Path) -> bool:
    """A file of the demo's good sessions (not one of its damaged ones)."""
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except ValueError:
        return False
    return isinstance(doc, dict) and doc.get("session_id") == path.stem


def _totals_the_long_way(planned: list) -> Totals:
    t = Totals(found=len(planned))
    for ps in planned:
        plan_module._count(t, ps, +1)
    return t


@pytest.mark.parametrize("decided", [False, True], ids=["undecided", "some-skipped"])
def test_plain_sessions_are_counted_and_reported_as_the_long_way_does(tmp_path: Path,
                                                                      decided: bool) -> None:
    scan = scan_workspace(_workspace(tmp_path / "ws"))
    decisions = {}
    if decided:
        decisions = {s.file_id: Decision(skip=True) for s in scan.sessions[::3]}
    plan = build_plan(scan, "main", decisions)
    plain = [ps for ps in plan.sessions if ps.is_plain]
    assert len(plain) >= 20 and len(plain) < len(plan.sessions)  # both ways are taken
    assert any(ps.action == "skip" for ps in plain) is decided
    assert any(len(ps.scan.keys) > 1 for ps in plain)
    assert any(ps.not_carried for ps in plain)
    assert plan.totals == _totals_the_long_way(plan.sessions)

    report = build_report(plan, None, dry_run=True)
    short = list(report._session_values())
    text = "".join(report.json_chunks(200))
    assert text == json.dumps(report.to_json(), ensure_ascii=True)
    for ps in plain:
        ps._held()  # the same values, held: no longer plain
    assert not any(ps.is_plain for ps in plan.sessions)
    assert list(report._session_values()) == short
    assert "".join(report.json_chunks(200)) == text
    assert plan_module._totals(plan.sessions) == plan.totals


def test_a_plain_session_with_a_key_in_sessions_json_is_settled_the_long_way(tmp_path: Path) -> None:
    root = _workspace(tmp_path / "ws")
    sessions = Path(root) / ".sessions"
    keys = json.loads((sessions / "session_map.json").read_text())
    key, sid = next(iter(keys.items()))
    (sessions / "sessions.json").write_text(json.dumps(
        {key: {"session_id": "someone-else", "updated_at": 1, "session_file": "someone-else.jsonl"}}))
    plan = build_plan(scan_workspace(root), "main")
    ps = next(ps for ps in plan.sessions if ps.file_id == sid)
    assert not ps.is_plain and ps.action == "blocked"
    assert [p.code for p in ps.open_problems] == ["key_conflict"]


def test_two_files_with_one_id_are_told_apart_the_long_way(tmp_path: Path) -> None:
    root = _workspace(tmp_path / "ws")
    plan = build_plan(scan_workspace(root), "main")
    twin = next(ps for ps in plan.sessions if ps.scan.file_name == "twin.json")
    assert twin.action == "blocked"
    assert "id_mismatch" in report_module._session_values(twin, False, set(), set())[6]
