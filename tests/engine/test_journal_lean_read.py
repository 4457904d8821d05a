"""``journal.read_lean`` (verify's reading) gives exactly the state ``journal.read`` gives,
for journals as we write them (their keys and commit records gone through a member at a
time) and for every other line (read whole, as ``read`` reads them): damage, runs, commits,
outcomes, the fixes, what is in effect."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from migrate_tui.core.layout import open_layout
from migrate_tui.engine import journal
from tests.engine.engine_support import record_journal_parses

SHA = "0123456789abcdef" * 4
SHB = "fedcba9876543210" * 4


def _line(record: dict[str, Any]) -> bytes:
    return (json.dumps(record, ensure_ascii=True) + "\n").encode("ascii")


def _begin(run: str, command: str = "migrate") -> bytes:
    return _line({"op": "begin", "run": run, "command": command, "pid": 7, "time": "2026-01-01T00:00:00Z"})


def _create(run: str, sid: str, source: str | None = None, fixes: list[str] | None = None) -> bytes:
    record: dict[str, Any] = {"op": "create", "run": run, "file": f"{sid}.jsonl", "sha256": SHB, "size": 3}
    if source is not None:
        record.update(source=source, source_sha256=SHA)
    if fixes is not None:
        record["fixes"] = fixes
    return _line(record)


def _commit(run: str, sessions: dict[str, Any], not_migrated: dict[str, Any] | None = None,
            extra: dict[str, Any] | None = None) -> bytes:
    rows = [(True, name, value) for name, value in sessions.items()]
    rows += [(False, name, value) for name, value in (not_migrated or {}).items()]
    return journal.commit_record(run, len(sessions), rows, extra)


def _keys(run: str, keys: dict[str, str]) -> bytes:
    return _line({"op": "keys", "run": run, "keys": keys})


RUN = "20260101T000000-1-aaaaaa"
R = RUN.encode()
S, T = SHA.encode(), SHB.encode()
RUN2 = "20260102T000000-2-bbbbbb"
MANY = {f"s{n:04d}.json": [SHA, f"s{n:04d}"] for n in range(300)}

JOURNALS: dict[str, list[bytes]] = {
    "as written": [_begin(RUN), *(_create(RUN, f"s{n:04d}", f"s{n:04d}.json") for n in range(300)),
                   _keys(RUN, {f"agent:main:k{n}": f"s{n:04d}" for n in range(300)}),
                   _commit(RUN, MANY, {"bad.json": [SHA, "invalid_json"], "gone.json": [None, "skip"]})],
    "fixes and ids of their own": [
        _begin(RUN), _create(RUN, "other", "a.json", ["salvage"]),
        _commit(RUN, {"a.json": [SHA, "other"], "b.json": [SHA.upper(), "b"], "c.json": [None, "c"],
                      "d.txt.json": [SHA, "d.txt"]})],
    "empty commit and keys": [_begin(RUN), _keys(RUN, {}), _commit(RUN, {})],
    "a target's commit": [_begin(RUN), _commit(RUN, {"a.json": [SHA, "a"]}, None,
                                               {"target": "openclaw", "dir": "/x/y"})],
    "a target's wrong folder": [_begin(RUN), _commit(RUN, {"a.json": [SHA, "a"]}, None,
                                                     {"target": "openclaw", "dir": "x/y"})],
    "escapes and other characters": [
        _begin(RUN), _keys(RUN, {"agent:main:é": "a", 'q"uote': "b\\c", "\ud800": "d"}),
        _commit(RUN, {"é.json": [SHA, "é"], 'q"uote.json': [SHA, 'q"uote']}, {"x\ty.json": [SHA, "skip"]})],
    "repeated names": [_begin(RUN),
                       b'{"op": "commit", "run": "' + R + b'", "migrated": 2, "sessions": '
                       b'{"a.json": ["' + S + b'", "a"], "b.json": ["' + S + b'", "b"], '
                       b'"a.json": ["' + T + b'", "a"]}, "not_migrated": {"b.json": ["'
                       + S + b'", "skip"]}}\n'],
    "two runs, a rollback, a clean-up": [
        _begin(RUN), _commit(RUN, {"a.json": [SHA, "a"], "b.json": [SHA, "b"]}),
        _line({"op": "rollback", "run": RUN}), _begin(RUN2), _create(RUN2, "c", "c.json"),
        _commit(RUN2, {"c.json": [SHA, "c"]}), _begin("c1", "cleanup"),
        _line({"op": "delete", "run": "c1", "file": "c.json", "sha256": SHA, "backup": "c.json"}),
        _line({"op": "commit", "run": "c1", "removed": 1}), _begin("m3"), _create("m3", "d", "d.json")],
    "a commit naming a file wrongly": [_begin(RUN), _commit(RUN, {"a/b.json": [SHA, "a"]})],
    "a commit naming '..'": [_begin(RUN), _commit(RUN, {"..": [SHA, "a"]}, {".": [SHA, "skip"]})],
    "a commit gluing two members": [_begin(RUN), _commit(RUN, {"a.json": [SHA, "a"], "b.json": [SHA, "b"]}
                                                         ).replace(b'"a"], "b.json"', b'"a"]"b.json"')],
    "a commit with a space too many": [_begin(RUN), _commit(RUN, {"a.json": [SHA, "a"], "b.json": [SHA, "b"]}
                                                            ).replace(b'"a"], "b.json"', b'"a"],  "b.json"')],
    "a commit with three values": [_begin(RUN), _commit(RUN, {"a.json": [SHA, "a", "x"]})],
    "a commit with a number": [_begin(RUN), _commit(RUN, {"a.json": [SHA, 5]})],
    "a commit of a run that never began": [_begin(RUN), _commit(RUN2, {"a.json": [SHA, "a"]})],
    "a commit with trailing garbage": [_begin(RUN), _commit(RUN, {"a.json": [SHA, "a"]})[:-1] + b" x\n"],
    "a commit repeating its sessions": [_begin(RUN), _commit(RUN, {"a.json": [SHA, "a"]}, None,
                                                             {"sessions": {"z.json": [SHA, "z"]}})],
    "a commit cut short": [_begin(RUN), _commit(RUN, MANY)[:-700]],
    "a commit cut short, then more": [_begin(RUN), _commit(RUN, MANY)[:-700] + b"\n", _begin(RUN2)],
    "a commit with a control character": [_begin(RUN), _commit(RUN, {"a.json": [SHA, "a"]}).replace(
        b'"a"]', b'"a\x01"]')],
    "a commit not UTF-8": [_begin(RUN), _commit(RUN, {"a.json": [SHA, "a"]}).replace(b'"a"]', b'"a\xff"]')],
    "a commit laid out otherwise": [_begin(RUN), _line({"op": "commit", "run": RUN, "sessions": {
        "a.json": [SHA, "a"]}, "migrated": 1, "not_migrated": {}})],
    "a commit with huge numbers": [_begin(RUN), _commit(RUN, {}, None, {"n": 2 ** 70, "f": 1.5})],
    "keys of a run that never began": [_begin(RUN), _keys(RUN2, {"k": "a"})],
    "keys with a number": [_begin(RUN), _line({"op": "keys", "run": RUN, "keys": {"k": "a", "j": 5}})],
    "keys with a control character": [_begin(RUN), _keys(RUN, {"k": "a"}).replace(b'"a"', b'"a\x02"')],
    "keys with a bad escape": [_begin(RUN), _keys(RUN, {"k": "a"}).replace(b'"a"', b'"a\\x"')],
    "keys with a folder": [_begin(RUN), _line({"op": "keys", "run": RUN, "keys": {"k": "a"}, "dir": "rel"})],
    "keys laid out otherwise": [_begin(RUN), b'{"op": "keys", "run": "' + R + b'", "keys": {"k":"a"}}\n'],
    "keys glued": [_begin(RUN), _keys(RUN, {"k": "a", "j": "b"}).replace(b'"a", "j"', b'"a""j"')],
    "keys with garbage": [_begin(RUN), _keys(RUN, {"k": "a", "j": "b"}).replace(b'"a", "j"', b'"a", x"j"')],
    "keys without their end": [_begin(RUN), _keys(RUN, {"k": "a"})[:-2] + b"\n"],
    "keys repeated": [_begin(RUN), b'{"op": "keys", "run": "' + R + b'", "keys": {"k": "a", "k": "b"}}\n'],
    "garbage and blank lines": [b"\n", b"not json\n", _begin(RUN), b"[1, 2]\n", b'{"op": "commit"}\n',
                                _commit(RUN, {"a.json": [SHA, "a"]})],
}


def _state(ws: Path, read: Any) -> dict[str, Any]:
    journal._last = None
    state = read(open_layout(str(ws)))
    journal._last = None
    outcomes = state.outcomes
    return {"runs": state.runs, "committed": state.committed, "torn": state.torn_tail,
            "damage": state.damage, "history": state.history, "stamp": state.stamp,
            "source": state.source, "outcomes": [(name, outcomes[name]) for name in outcomes],
            "fixed": state.fixed_sources, "changes": state.has_changes,
            "commits": [list(run.commit) for run in state.history if run.commit is not None]}


@pytest.mark.parametrize("name", list(JOURNALS))
def test_the_lean_reading_gives_what_the_whole_one_gives(tmp_path: Path, name: str) -> None:
    ws = tmp_path / "ws"
    (ws / ".sessions" / "backup_old_format").mkdir(parents=True)
    Path(open_layout(str(ws)).journal).write_bytes(b"".join(JOURNALS[name]))
    whole, lean = _state(ws, journal.read), _state(ws, journal.read_lean)
    assert lean == whole


def test_the_as_written_records_are_read_a_member_at_a_time(tmp_path: Path, monkeypatch: Any) -> None:
    """The keys and commit records of a journal as we write it never reach the whole
    parse: the big ones are what the lean reading is for."""
    ws = tmp_path / "ws"
    (ws / ".sessions" / "backup_old_format").mkdir(parents=True)
    Path(open_layout(str(ws)).journal).write_bytes(b"".join(JOURNALS["as written"]))
    parsed = record_journal_parses(monkeypatch)
    journal._last = None
    state = journal.read_lean(open_layout(str(ws)))
    journal._last = None
    assert len(state.outcomes) == 302 and not state.damage
    assert not [raw for raw in parsed if raw.startswith(b'{"op": "keys"') or b'"sessions"' in raw]
    assert any(raw.startswith(b'{"op": "commit"') for raw in parsed)  # its small rest, whole


def test_the_lean_state_is_the_one_read_gives_next(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    (ws / ".sessions" / "backup_old_format").mkdir(parents=True)
    Path(open_layout(str(ws)).journal).write_bytes(b"".join(JOURNALS["as written"]))
    journal._last = None
    lean = journal.read_lean(open_layout(str(ws)))
    assert journal.read(open_layout(str(ws))) is lean
    journal._last = None
