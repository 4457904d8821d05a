"""The commit record is written as it is made, a thousand sessions at a time, as the very
line ``json.dumps`` makes of the whole record: it holds every session of the workspace, and
was the migration's memory peak at 100,000 sessions when it was built whole first."""

from __future__ import annotations

import json

import pytest

from migrate_tui.core.layout import open_layout
from migrate_tui.engine import journal
from migrate_tui.engine.model import Decision
from migrate_tui.engine.state import workspace_state
from tests.lifecycle.lifecycle_support import Workspace, journal_records, migrate_inproc

RUN = "20260101T000000-1-abcdef"
SHA = "f" * 64


def _whole(migrated: int, rows: list[tuple[bool, str, list[object]]], **extra: object) -> bytes:
    """The line as it was written before: json.dumps of the whole record."""
    record = {"op": "commit", "run": RUN, "migrated": migrated,
              "sessions": {n: v for done, n, v in rows if done},
              "not_migrated": {n: v for done, n, v in rows if not done}, **extra}
    return (json.dumps(record, ensure_ascii=True) + "\n").encode("ascii")


@pytest.mark.parametrize("count", [0, 1, 1023, 1024, 1025, 3000])
def test_the_line_is_json_dumps_of_the_whole_record(count: int) -> None:
    names = ['q"uote.json', "é😀.json", "back\\slash.json", "nul\u0000.json", "\ud800.json"]
    rows = [(i % 3 != 0, names[i % len(names)] + str(i), [SHA, None if i % 7 == 0 else f"id-{i}"])
            for i in range(count)]
    assert journal.commit_record(RUN, count, rows) == _whole(count, rows)
    target = {"target": "openclaw", "state_dir": "/srv/é", "agent": "main"}
    assert journal.commit_record(RUN, count, rows, target) == _whole(count, rows, **target)


def test_a_run_commits_every_session_across_pieces(ws: Workspace,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """With pieces of two sessions, a migration of five still commits all five (one of them
    skipped), and the next run reads them back as the outcomes of that run."""
    monkeypatch.setattr(journal, "COMMIT_ROWS_A_PIECE", 2)
    ids = [f"a1b2c3d4-0000-4000-8000-00000000000{i}" for i in range(5)]
    for sid in ids:
        ws.add(sid)
    result, _report, _code = migrate_inproc(ws.root, decisions={ids[4]: Decision("skip")})
    assert result.committed and sorted(result.migrated) == sorted(ids[:4])
    commit = [r for r in journal_records(ws) if r["op"] == "commit"]
    assert len(commit) == 1
    assert sorted(commit[0]["sessions"]) == sorted(f"{sid}.json" for sid in ids[:4])
    assert list(commit[0]["not_migrated"]) == [f"{ids[4]}.json"]
    assert commit[0]["not_migrated"][f"{ids[4]}.json"][1] == "skip"
    outcomes = workspace_state(open_layout(str(ws.root))).outcomes()
    assert {name: o.session_id for name, o in outcomes.items() if o.session_id} == \
        {f"{sid}.json": sid for sid in ids[:4]}
