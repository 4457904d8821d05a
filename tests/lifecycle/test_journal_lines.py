"""Each journal line is read as the standard library reads it, though a faster parser goes
first: what that parser refuses (NaN, integers past 64 bits, lone surrogates, another
encoding) is read the standard library's way, and damage is said the same."""

from __future__ import annotations

import json
from pathlib import Path

from migrate_tui.core.layout import open_layout
from migrate_tui.engine import journal

RUN = "20260101T000000-1-abcdef"
SHA = "0" * 64


def _journal(tmp_path: Path, *lines: bytes) -> journal.JournalState:
    folder = tmp_path / ".sessions" / "backup_old_format"
    folder.mkdir(parents=True)
    (folder / "journal.jsonl").write_bytes(b"".join(line + b"\n" for line in lines))
    journal._last = None
    return journal.read(open_layout(str(tmp_path)))


def test_what_only_the_standard_library_reads_is_read(tmp_path: Path) -> None:
    odd = [
        b'{"op": "begin", "run": "' + RUN.encode() + b'", "command": "migrate", "x": NaN}',
        b'{"op": "create", "run": "' + RUN.encode() + b'", "file": "a.jsonl", "sha256": "'
        + SHA.encode() + b'", "size": 123456789012345678901234567890, "source": "a.json", '
        b'"source_sha256": "' + SHA.encode() + b'", "note": "\\ud800"}',
        '{"op": "keys", "run": "RUN", "keys": {"k": "a"}}'.replace("RUN", RUN).encode("utf-16"),
        b'{"op": "commit", "run": "' + RUN.encode() + b'", "sessions": {"a.json": ["'
        + SHA.encode() + b'", "a"]}, "not_migrated": {}}',
    ]
    state = _journal(tmp_path, *odd)
    assert state.damage == [] and state.committed == {RUN}
    records = list(state.iter_records())
    assert records == [json.loads(line) for line in odd]
    assert records[1]["size"] == 123456789012345678901234567890 and records[1]["note"] == "\ud800"
    assert list(state.iter_keys()) == [("k", "a")]
    assert state.outcomes["a.json"].session_id == "a"


def test_damage_is_said_as_before(tmp_path: Path) -> None:
    state = _journal(tmp_path, b'{"op": "begin", "run": "' + RUN.encode() + b'"}', b"garbage",
                     b'{"op": "begin", "run": "r2", "x": [1, 2,]}', b'{"op": "keys", "run": "')
    assert [str(d).split("journal.jsonl")[1] for d in state.damage] == [
        ", line 2: is not a journal record ('garbage')",
        ", line 3: is not a journal record (" + repr('{"op": "begin", "run": "r2", "x": [1, 2,') + "…)",
    ]
    assert state.torn_tail


def test_a_keys_record_is_read_a_pair_at_a_time_as_written(tmp_path: Path) -> None:
    keys = {"agent:main:a": "a", 'q"uote': "b\\s", "é😀": "\ud800", "": "", "x, y": "}}"}
    lines = [json.dumps(r, ensure_ascii=True).encode() for r in (
        journal.begin_record(RUN, "migrate"),
        {"op": "keys", "run": RUN, "keys": keys},
        {"op": "keys", "run": RUN, "keys": {}},
        {"op": "keys", "run": RUN, "keys": {"z": "1"}},
    )]
    assert list(journal._keys_pairs(lines[1])) == list(keys.items())
    assert list(journal._keys_pairs(lines[2])) == []
    state = _journal(tmp_path, *lines)
    assert list(state.iter_keys()) == [*keys.items(), ("z", "1")]


def test_records_read_again_in_small_chunks_are_those_of_the_file(tmp_path: Path, monkeypatch) -> None:
    """Lines longer than a chunk: those of other operations are passed over unassembled,
    the wanted ones are whole, and the numbering (lines in effect, damage) holds."""
    sessions = {f"s{n}.json": [SHA, f"s{n}"] for n in range(40)}
    records = [
        journal.begin_record(RUN, "migrate"),
        {"op": "create", "run": RUN, "file": "s1.jsonl", "sha256": SHA, "size": 1, "source": "s1.json",
         "source_sha256": SHA, "fixes": ["x" * 300]},
        {"op": "keys", "run": RUN, "keys": {f"agent:main:{n}": f"s{n}" for n in range(30)}},
        {"op": "commit", "run": RUN, "sessions": sessions, "not_migrated": {}},
        {"op": "keys", "run": RUN, "keys": {"k": "s1"}},
    ]
    lines = [json.dumps(r).encode() for r in records]
    state = _journal(tmp_path, *lines[:2], b"garbage " * 40, *lines[2:])
    assert len(state.damage) == 1 and state.outcomes["s7.json"].session_id == "s7"
    for size in (7, 64, 65, 200, 1 << 20):
        monkeypatch.setattr(journal, "AGAIN_CHUNK", size)
        for op in ("begin", "create", "keys", "commit"):
            assert list(state.iter_records((op,))) == [r for r in records if r["op"] == op], (size, op)
        assert list(state.iter_records()) == records
        assert list(state.iter_keys()) == [(k, v) for r in records if r["op"] == "keys"
                                           for k, v in r["keys"].items()]
