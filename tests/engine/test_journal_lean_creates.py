"""``journal.read_lean`` reads a transcript's create record as apply writes it from its
bytes (never parsed whole: 100,000 of them in a journal of 100,000 sessions), and gives
exactly the state ``journal.read`` gives for it and for every create record laid out
otherwise, damaged or cut short (those read whole, as ``read`` reads them); verify's report
on such a journal is the same, byte for byte, whichever reading it uses."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from migrate_tui.core.layout import open_layout
from migrate_tui.engine import journal
from tests.engine.engine_support import record_journal_parses
from tests.engine.test_journal_lean_read import RUN, RUN2, SHA, SHB, _begin, _commit, _line, _state


def _made(run: str, sid: str, source: str | None = None, fixes: list[str] | None = None,
          **other: Any) -> dict[str, Any]:
    """A create record as apply writes it (``apply._record``)."""
    return {"op": "create", "run": run, "file": f"{sid}.jsonl", "sha256": SHB, "size": 180,
            "source": f"{sid}.json" if source is None else source, "source_sha256": SHA,
            "fixes": fixes or [], **other}


def _create(run: str, sid: str, source: str | None = None, **other: Any) -> bytes:
    return _line(_made(run, sid, source, **other))


def _swap(record: dict[str, Any], name: str, value: Any) -> bytes:
    return _line({**record, name: value})


GOOD = _made(RUN, "s1")
MANY = [_create(RUN, f"s{n:04d}") for n in range(200)]

JOURNALS: dict[str, list[bytes]] = {
    "as written, committed": [_begin(RUN), *MANY, _commit(RUN, {f"s{n:04d}.json": [SHA, f"s{n:04d}"]
                                                                for n in range(0, 200, 2)})],
    "as written, not committed": [_begin(RUN), *MANY],
    "a create after its run's commit": [_begin(RUN), _create(RUN, "a"), _commit(RUN, {"a.json": [SHB, "a"]}),
                                        _create(RUN, "a"), _create(RUN, "b")],
    "a source of another name": [_begin(RUN), _create(RUN, "a", "x.txt"), _create(RUN, "b", "c.json"),
                                 _commit(RUN, {"c.json": [SHA, "b"]})],
    "a file not a transcript": [_begin(RUN), _line({**GOOD, "file": "s1.json"}),
                                _line({**GOOD, "file": "x"})],
    "with fixes": [_begin(RUN), _create(RUN, "a", fixes=["salvage"]), _create(RUN, "b", fixes=["a", "b"])],
    "of a run that never began": [_begin(RUN), _create(RUN2, "a")],
    "of an empty run id": [_begin(RUN), _create("", "a")],
    "of a clean-up": [_begin("c1", "cleanup"), _create("c1", "a")],
    "of a rolled-back run": [_begin(RUN), _create(RUN, "a"), _line({"op": "rollback", "run": RUN}),
                             _begin(RUN2), _create(RUN2, "b")],
    "a torn create, last": [_begin(RUN), _create(RUN, "a"), _create(RUN, "b")[:-30]],
    "a torn create, then more": [_begin(RUN), _create(RUN, "a")[:-30] + b"\n", _create(RUN, "b")],
    "a create cut at its end": [_begin(RUN), _create(RUN, "a")[:-2] + b"\n"],
    "names '.' and '..'": [_begin(RUN), _swap(GOOD, "file", "."), _swap(GOOD, "file", ".."),
                           _swap(GOOD, "source", "."), _swap(GOOD, "source", "..")],
    "names with a slash or empty": [_begin(RUN), _swap(GOOD, "file", "a/b.jsonl"),
                                    _swap(GOOD, "source", "a/b.json"), _swap(GOOD, "file", ""),
                                    _swap(GOOD, "source", "")],
    "names with escapes and other characters": [
        _begin(RUN), _swap(GOOD, "source", "é.json"), _swap(GOOD, "file", 'q"uote.jsonl'),
        _swap(GOOD, "source", "a\\b.json"), _swap(GOOD, "source", "t\tab.json"),
        _swap(GOOD, "source", "\ud800.json")],
    "a control character, raw": [_begin(RUN), _create(RUN, "a").replace(b'"a.json"', b'"a\x01.json"')],
    "not UTF-8": [_begin(RUN), _create(RUN, "a").replace(b'"a.json"', b'"a\xff.json"')],
    "SHA-256s of other shapes": [_begin(RUN), _swap(GOOD, "sha256", SHA.upper()), _swap(GOOD, "sha256", "ab"),
                                 _swap(GOOD, "source_sha256", SHA.upper()),
                                 _swap(GOOD, "source_sha256", SHA[:-1]), _swap(GOOD, "source_sha256", None),
                                 _swap(GOOD, "sha256", 5)],
    "sizes of other shapes": [_begin(RUN), _swap(GOOD, "size", -1), _swap(GOOD, "size", 0),
                              _swap(GOOD, "size", 2 ** 70), _swap(GOOD, "size", "3"),
                              _swap(GOOD, "size", 1.5), _swap(GOOD, "size", True), _swap(GOOD, "size", None),
                              _create(RUN, "a").replace(b'"size": 180', b'"size": 0180')],
    "fixes of other shapes": [_begin(RUN), _swap(GOOD, "fixes", None), _swap(GOOD, "fixes", "x"),
                              _swap(GOOD, "fixes", [1]), _swap(GOOD, "fixes", {})],
    "fields of more or fewer": [_begin(RUN), _line({k: v for k, v in GOOD.items() if k != "fixes"}),
                                _line({k: v for k, v in GOOD.items() if k != "source"}),
                                _line({k: v for k, v in GOOD.items() if k != "size"}),
                                _line({**GOOD, "extra": 1}),
                                _line({**GOOD, "target": "openclaw", "dir": "/x/y"}),
                                _line({**GOOD, "dir": "x/y"})],
    "laid out otherwise": [_begin(RUN), _line(dict(reversed(list(GOOD.items())))),
                           json.dumps(GOOD, separators=(",", ":")).encode() + b"\n",
                           _create(RUN, "a")[:-1] + b" \n", b" " + _create(RUN, "b"),
                           _create(RUN, "c")[:-1] + b"x\n"],
    "a repeated field": [_begin(RUN), _create(RUN, "a")[:-2] + b', "source": "b.json"}\n',
                         _create(RUN, "c")[:-2] + b', "run": "' + RUN2.encode() + b'"}\n'],
}


def _journal(tmp_path: Path, lines: list[bytes]) -> Path:
    ws = tmp_path / "ws"
    (ws / ".sessions" / "backup_old_format").mkdir(parents=True)
    Path(open_layout(str(ws)).journal).write_bytes(b"".join(lines))
    return ws


@pytest.mark.parametrize("name", list(JOURNALS))
def test_the_lean_reading_of_creates_gives_what_the_whole_one_gives(tmp_path: Path, name: str) -> None:
    ws = _journal(tmp_path, JOURNALS[name])
    whole, lean = _state(ws, journal.read), _state(ws, journal.read_lean)
    assert lean == whole


def test_creates_as_written_are_never_parsed_whole(tmp_path: Path, monkeypatch: Any) -> None:
    ws = _journal(tmp_path, JOURNALS["as written, committed"])
    parsed = record_journal_parses(monkeypatch)
    journal._last = None
    state = journal.read_lean(open_layout(str(ws)))
    journal._last = None
    assert len(state.outcomes) == 200 and state.has_changes and not state.damage
    assert state.outcomes["s0007.json"] == journal.Outcome(RUN, SHA, "s0007")
    assert not [raw for raw in parsed if raw.startswith(b'{"op": "create"')]


def test_damaged_creates_are_still_named(tmp_path: Path) -> None:
    """What the whole reading says of a wrong create record, the lean one says the same."""
    ws = _journal(tmp_path, JOURNALS["names '.' and '..'"] + JOURNALS["of a run that never began"][1:])
    journal._last = None
    state = journal.read_lean(open_layout(str(ws)))
    journal._last = None
    said = [str(d) for d in state.damage]
    assert len(said) == 5 and all("line" in s for s in said)
    assert said[0].endswith("line 2: a create record without a plain file name")
    assert said[-1].endswith("line 6: a create record of a run that never began (" + RUN2 + ")")
