"""Each session of the report's JSON is written with a template (report._session_text), not
by the encoder: the text must be the encoder's, whatever the session holds."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from migrate_tui.engine import apply_plan, build_plan, build_report, scan_workspace
from migrate_tui.engine import report as report_module
from migrate_tui.engine.model import Decision, Problem, SessionFailure
from migrate_tui.engine.plan import with_decision
from tests.engine.engine_support import Workspace


def _whole(report: report_module.Report) -> str:
    return json.dumps(report.to_json(), ensure_ascii=True)


def test_every_kind_of_session_is_written_as_the_encoder_writes_it(ws: Workspace) -> None:
    ws.add("plain", keys=("agent:main:plain", "agent:main:other"))
    ws.add("caf\u00e9-\u65e5\u672c", keys=("agent:main:caf\u00e9",))
    ws.add("quote", metadata={"label": 'say "hi" \\ there', "colour": "red"})
    ws.write_raw("tab\tname.json", json.dumps({"session_id": "tab\tname", "messages": []}))
    ws.write_raw('q"uote.json', json.dumps({"session_id": 'q"uote', "messages": []}))
    ws.write_raw("broken.json", '{"session_id": "broken", "messages": [')
    ws.write_raw("nodate.json", json.dumps({"session_id": "nodate", "messages": [{"role": "u"}]}))
    ws.write_raw("other-id.json", json.dumps({"session_id": "someone", "messages": [],
                                              "updated_at": "2025-01-01"}))
    os.symlink("plain.json", ws.sessions / "link.json")
    name = os.fsdecode(b"bad-\xff.json")
    (ws.sessions / name).write_bytes(b'{"session_id": "x", "messages": []}')
    plan = build_plan(scan_workspace(str(ws.root)), "main")
    plan = with_decision(plan, "broken", Decision(fixes=frozenset({"salvage"})))
    plan = with_decision(plan, "quote", Decision(skip=True))
    report = build_report(plan, None, dry_run=True)
    whole = _whole(report)
    assert "".join(report.json_chunks()) == whole
    sessions = json.loads(whole)["sessions"]
    assert {s["action"] for s in sessions} >= {"migrate", "skip", "fix:salvage"}
    assert any(s["problems"] for s in sessions) and any(s["not_carried"] for s in sessions)
    assert any(s["notes"] for s in sessions) and any(len(s["keys"]) == 2 for s in sessions)
    # names shown escaped (ids.display), then escaped again as JSON strings
    assert "tab\\\\tname" in whole and "bad-\\\\udcff" in whole and "caf\\u00e9" in whole
    assert 'q\\"uote' in whole
    by_file = {s["file"]: s for s in sessions}
    assert by_file["tab\\tname.json"]["session_id"] == "tab\\tname"
    assert "bad-\\udcff.json" in by_file
    for values in report._session_values():
        assert report_module._session_text(values) == report_module._ASCII.encode(
            dict(zip(report_module._SESSION_KEYS, values, strict=True)))


def test_a_run_with_a_failed_session_is_written_as_the_encoder_writes_it(ws: Workspace) -> None:
    ws.add("one", keys=("agent:main:one",))
    ws.add("two")
    plan = build_plan(scan_workspace(str(ws.root)), "main")
    result = apply_plan(plan, lock_timeout=5)
    result.migrated.remove("two")
    report = build_report(plan, result, dry_run=False)
    whole = _whole(report)
    assert "".join(report.json_chunks(1)) == whole
    assert [s["status"] for s in json.loads(whole)["sessions"]] == ["migrated", "pending"]
    result.failed.append(SessionFailure("two", Problem("write_failed", "could not", "two.json")))
    report = build_report(plan, result, dry_run=False)
    whole = _whole(report)
    assert "".join(report.json_chunks()) == whole
    assert [(s["action"], s["status"]) for s in json.loads(whole)["sessions"]] == [
        ("migrate", "migrated"), ("skip", "failed")]


@pytest.mark.parametrize("values", [
    ("s", "s.json", ["k"], "migrate", "migrate", 1, (), (), ()),  # a list
    ("s", "s.json", (), "migrate", "migrate", True, (), (), ()),  # a bool
    ("s", "s.json", (), "migrate", "migrate", 1, ("a", 5), (), ()),  # not a string
    ("s", "s.json", (), "migrate", "migrate", 1, (), None, ()),
])
def test_a_value_of_another_kind_is_left_to_the_encoder(values: tuple[object, ...]) -> None:
    with pytest.raises(TypeError):
        report_module._session_text(values)


def test_the_report_falls_back_to_the_encoder_for_such_a_value(ws: Workspace,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    ws.add("one")
    ws.add("two")
    report = build_report(build_plan(scan_workspace(str(ws.root)), "main"), None, dry_run=True)
    real = report_module._session_values

    def odd(ps, ran, failed, migrated):  # type: ignore[no-untyped-def]
        values = real(ps, ran, failed, migrated)
        return values if ps.file_id == "one" else (*values[:5], True, *values[6:])

    monkeypatch.setattr(report_module, "_session_values", odd)
    whole = _whole(report)
    assert "".join(report.json_chunks()) == whole and '"messages": true' in whole
    assert Path(ws.sessions / "one.json").exists()
