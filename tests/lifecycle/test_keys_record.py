"""The journal's "keys" record (each key the index wrote, with its session's id) is made and
written a thousand keys at a time, as the very line ``json.dumps`` makes of the whole
record, after the line of the sessions.json it announces: one append, one fsync, as before."""

from __future__ import annotations

import json

import pytest

from migrate_tui.engine import journal
from tests.lifecycle.lifecycle_support import Workspace, journal_records, migrate_inproc

RUN = "20260101T000000-1-abcdef"


@pytest.mark.parametrize("count", [0, 1, 1023, 1024, 1025, 3000])
def test_the_line_is_json_dumps_of_the_whole_record(count: int) -> None:
    odd = ['agent:main:q"uote', "agent:é😀", "back\\slash", "nul\u0000", "\ud800", ""]
    keys = {odd[i % len(odd)] + str(i): ("" if i % 5 == 0 else f"id-{i}") for i in range(count)}
    whole = json.dumps({"op": "keys", "run": RUN, "keys": keys}, ensure_ascii=True) + "\n"
    assert journal.keys_record(RUN, keys.items()) == whole.encode("ascii")
    assert b"".join(journal.keys_pieces(RUN, keys.items())) == whole.encode("ascii")


def test_a_run_records_every_key_across_pieces(ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    """With pieces of two keys, a migration of five sessions records all their keys, right
    after the record of the sessions.json it wrote."""
    monkeypatch.setattr(journal, "COMMIT_ROWS_A_PIECE", 2)
    ids = [f"a1b2c3d4-0000-4000-8000-00000000000{i}" for i in range(5)]
    for n, sid in enumerate(ids):
        ws.add(sid, keys=(f"agent:main:k{n}",))
    result, _report, _code = migrate_inproc(ws.root)
    assert result.committed
    records = journal_records(ws)
    at = next(i for i, r in enumerate(records) if r["op"] == "keys")
    assert records[at - 1]["file"] == "sessions.json"
    assert records[at]["keys"] == {f"agent:main:k{n}": sid for n, sid in enumerate(ids)}
