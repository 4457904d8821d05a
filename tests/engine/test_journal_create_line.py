"""A transcript's ``create`` record written from its parts (``journal._create_line``): the
same line ``json.dumps`` writes, for every value it may hold; any other record, or one of
another shape, still through ``json.dumps``."""

from __future__ import annotations

import json

import pytest

from migrate_tui.engine import journal


def _reference(record: dict) -> bytes:
    return (json.dumps(record, ensure_ascii=True) + "\n").encode("ascii")


def _create(**changes: object) -> dict:
    record = {"op": "create", "run": "20261201T070000Z-12-abcdef", "file": "x.jsonl", "sha256": "a" * 64,
              "size": 4567, "source": "x.json", "source_sha256": "b" * 64, "fixes": []}
    record.update(changes)
    return record


@pytest.mark.parametrize("record", [
    _create(),
    _create(fixes=["drop-bad-messages", "replace-existing"]),
    _create(file="\u00e9\"\\\n\u2028\U0001f600.jsonl", source="s\u0000\u007f\u00ff.json"),
    _create(size=0),
    _create(size=(1 << 64) + 1),
    _create(source_sha256=None),
    _create(fixes=["a\"b", "\u00e9"]),
])
def test_a_create_record_is_the_line_json_dumps_writes(record: dict) -> None:
    assert journal._create_line(record) is not None  # the short way is taken
    assert journal.record_line(record) == _reference(record)


@pytest.mark.parametrize("record", [
    _create(size=True),  # a bool is no size: json.dumps writes "true"
    _create(size=1.5),
    _create(fixes=("a",)),
    _create(fixes=[1]),
    _create(source_sha256=1),
    {"run": "r", "op": "create", "file": "x.jsonl", "sha256": "a" * 64, "size": 1, "source": "x.json",
     "source_sha256": "b" * 64, "fixes": []},  # another order
    {**_create(), "old_sha256": "c" * 64},
    {"op": "begin", "run": "r", "command": "migrate", "pid": 1, "time": "t", "a": 1, "b": 2, "c": 3},
])
def test_any_other_record_goes_through_json_dumps(record: dict) -> None:
    assert journal._create_line(record) is None or record.get("op") != "create"
    assert journal.record_line(record) == _reference(record)
