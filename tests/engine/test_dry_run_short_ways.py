"""The dry run's short ways for undecided plain sessions (plan._plan_undecided, and
report._plain_session_text's quoted name and shared texts of the names not carried) must
give what the general ways give, on a workspace with damaged files and odd sessions."""

from __future__ import annotations

import json
from pathlib import Path

from migrate_tui.demo import generate_workspace
from migrate_tui.engine import build_plan, build_report, scan_workspace
from migrate_tui.engine import plan as plan_module
from migrate_tui.engine import report as report_module
from migrate_tui.engine.model import MIGRATE


def _workspace(root: Path) -> str:
    """The demo's damaged workspace, with a session whose metadata names its key, one whose
    id is not a string, one whose id is not its file's, one with a name not carried and one
    whose file name is not a safe id."""
    generate_workspace(root, sessions=30, damaged=True, seed=11)
    sessions = root / ".sessions"
    good = sorted(p for p in sessions.glob("*.json") if _good(p))
    doc = json.loads(good[0].read_text())
    doc.setdefault("metadata", {})["session_key"] = "agent:main:from-metadata"
    good[0].write_text(json.dumps(doc, indent=2))
    doc = json.loads(good[1].read_text())
    doc["session_id"] = 12
    good[1].write_text(json.dumps(doc, indent=2))
    doc = json.loads(good[2].read_text())
    doc["session_id"] = "another-id"
    good[2].write_text(json.dumps(doc, indent=2))
    doc = json.loads(good[3].read_text())
    doc["extra"] = [1, 2]  # a name not carried
    good[3].write_text(json.dumps(doc, indent=2))
    doc = json.loads(good[4].read_text())
    doc["session_id"] = "Not Safe"
    (sessions / "Not Safe.json").write_text(json.dumps(doc, indent=2))
    return str(root)


def _good(path: Path) -> bool:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except ValueError:
        return False
    return isinstance(doc, dict) and doc.get("session_id") == path.stem and path.stem != "session_map"


def test_undecided_sessions_are_planned_as_plan_one_plans_them(tmp_path: Path) -> None:
    scan = scan_workspace(_workspace(tmp_path / "ws"))
    short: list = []
    plan_module._plan_undecided(scan.sessions, scan, "main", short)
    long = [plan_module._plan_one(s, MIGRATE, scan, "main") for s in scan.sessions]
    assert len(short) == len(long) == len(scan.sessions)
    for made, expected in zip(short, long, strict=True):
        assert made == expected
        assert made.is_plain == expected.is_plain
        assert made.scan is expected.scan and made.decision is expected.decision
    plain = sum(ps.is_plain for ps in short)
    assert 20 <= plain < len(short)  # both ways are taken
    # a plain one the long way too: its metadata names its key (held in ``_rare``)
    assert any(ps.is_plain and ps.scan.content.meta_key for ps in short)


def test_plain_session_texts_are_the_long_ways(tmp_path: Path) -> None:
    plan = build_plan(scan_workspace(_workspace(tmp_path / "ws")), "main")
    report_module._NAMES_TEXT.clear()
    texts = 0
    for _ in range(2):  # the names' texts made, then shared
        for ps in plan.sessions:
            text = report_module._plain_session_text(ps)
            if text is None:
                continue
            texts += 1
            values = report_module._session_values(ps, False, set(), set())
            assert text == report_module._session_text(values)
            assert json.loads(text)["file"] == ps.scan.file_name
    assert texts >= 40
    assert report_module._NAMES_TEXT  # (made the first time, shared the second)
    report = build_report(plan, None, dry_run=True)
    assert "".join(report.json_chunks(300)) == json.dumps(report.to_json(), ensure_ascii=True)


def test_a_plain_session_named_otherwise_quotes_its_own_name(tmp_path: Path) -> None:
    """A record whose file name is held apart from its id (``SessionScan._odd``) has its own
    name written, not its id's with ".json"; names not carried held as a list are written
    as the long way writes them."""
    plan = build_plan(scan_workspace(_workspace(tmp_path / "ws")), "main")
    ps = next(ps for ps in plan.sessions if ps.is_plain and ps.scan._odd is None)
    scan = ps.scan
    scan._set_odd("file_name", "elsewhere \"quoted\".json")
    scan.content.not_carried = ["extra", "more"]
    text = report_module._plain_session_text(ps)
    assert text is not None
    assert text == report_module._session_text(report_module._session_values(ps, False, set(), set()))
    shown = json.loads(text)
    assert shown["file"] == "elsewhere \"quoted\".json"
    assert shown["not_carried"] == ["extra", "more"]


def test_the_report_details_the_same_problems_when_no_session_is_plain(tmp_path: Path) -> None:
    """build_report passes by a plain session with nothing rare (no problem to detail):
    with every session made not plain, the same details come out."""
    plan = build_plan(scan_workspace(_workspace(tmp_path / "ws")), "main")
    short = build_report(plan, None, dry_run=True)
    assert any(ps.is_plain for ps in plan.sessions)
    for ps in plan.sessions:
        ps._held()  # the same values, held: no longer plain
    long = build_report(plan, None, dry_run=True)
    assert short.warning_details and short.error_details
    assert short.warning_details == long.warning_details
    assert short.error_details == long.error_details
    assert short.to_json() == long.to_json()
