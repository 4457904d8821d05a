"""``journal.read_lean`` reads a commit or keys record longer than ``SPAN_BYTES`` (15 and
8 MB at 100,000 sessions) a piece at a time, never whole, and gives exactly the state
``journal.read`` gives, for a record as we write it and for one damaged anywhere (the damage in any piece,
at a cut or not: then read whole, as ``read`` reads it).  Chunks and spans are made tiny
here, so that small journals take the path a big one takes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from migrate_tui.core import fsio
from migrate_tui.core.layout import open_layout
from migrate_tui.engine import journal
from tests.engine import test_journal_lean_creates as creates
from tests.engine import test_journal_lean_read as lean_read
from tests.engine.test_journal_lean_read import RUN, RUN2, SHA, _begin, _commit, _state

MANY = {f"s{n:04d}.json": [SHA, f"s{n:04d}"] for n in range(300)}
BIG = _commit(RUN, MANY, {"bad.json": [SHA, "invalid_json"], "gone.json": [None, "skip"]})
END = b'"]}, "not_migrated"'  # where the members of the sessions end
AT = [b'"s0001.json"', b'"s0150.json"', b'"s0299.json"']  # members early, midway, last


def _damaged(old: bytes, new: bytes) -> dict[str, list[bytes]]:
    return {f"{new!r} at {at!r}": [_begin(RUN), BIG.replace(at + old, at + new, 1)] for at in AT}


JOURNALS: dict[str, list[bytes]] = {
    **{f"read: {name}": lines for name, lines in lean_read.JOURNALS.items()},
    **{f"creates: {name}": lines for name, lines in creates.JOURNALS.items()},
    "big, as written": [_begin(RUN), BIG],
    "big, then more": [_begin(RUN), BIG, _begin(RUN2), _commit(RUN2, MANY)],
    "big, all not migrated": [_begin(RUN), _commit(RUN, {}, MANY)],
    "big, many not migrated too": [_begin(RUN), _commit(RUN, MANY, MANY)],
    "big, of a run that never began": [_begin(RUN), _commit(RUN2, MANY)],
    "big, of a clean-up": [_begin(RUN, "cleanup"), _commit(RUN, MANY)],
    "big, with more after its members": [_begin(RUN), _commit(RUN, MANY, None, {"target": "openclaw",
                                                                                 "dir": "/x/y"})],
    "big, cut short": [_begin(RUN), BIG[:-100]],
    "big, cut short, then more": [_begin(RUN), BIG[:-100] + b"\n", _begin(RUN2)],
    "big, a space after its last member": [_begin(RUN), BIG.replace(END, b'"] }, "not_migrated"')],
    "big, a comma after its last member": [_begin(RUN), BIG.replace(END, b'"], }, "not_migrated"')],
    "big, garbage after its end": [_begin(RUN), BIG[:-1] + b"x\n"],
    **_damaged(b': ["', b': [3, "'),
    **_damaged(b': ["', b': ["\x01'),
    **_damaged(b': ["', b': ["\xc3\xa9'),
    **_damaged(b': ["', b': ["\\u0041'),
    **_damaged(b': ["', b'x: ["'),
    **_damaged(b', "s', b'"s'),
}
KEYS = lean_read._keys(RUN, {f"agent:main:k{n:04d}": f"s{n:04d}" for n in range(300)})
KEYS_AT = [b'"agent:main:k0001"', b'"agent:main:k0150"', b'"agent:main:k0299"']
JOURNALS["big keys, as written"] = [_begin(RUN), KEYS, BIG]
JOURNALS["big keys, cut short"] = [_begin(RUN), KEYS[:-50]]
JOURNALS["big keys, cut short, then more"] = [_begin(RUN), KEYS[:-50] + b"\n", BIG]
JOURNALS["big keys, without their end"] = [_begin(RUN), KEYS[:-3] + b"\n"]
JOURNALS["big keys, a comma at their end"] = [_begin(RUN), KEYS[:-3] + b', }}\n']
JOURNALS["big keys, a comma and no end"] = [_begin(RUN), KEYS[:-3] + b', \n']
JOURNALS["big keys, of a run that never began"] = [_begin(RUN), lean_read._keys(RUN2, {"k": "a"} | {
    f"k{n}": "a" for n in range(300)})]
for _at in KEYS_AT:
    for _new in (b': 5, "x', b': "\x01', b': "\xc3\xa9', b': "\\u0041', b': "\\x', b': "a""', b'x: "',
                 b': "a/.."'):
        JOURNALS[f"keys {_new!r} at {_at!r}"] = [_begin(RUN), KEYS.replace(_at + b': "', _at + _new, 1), BIG]
for _at in AT:
    JOURNALS[f"a member named '..' at {_at!r}"] = [_begin(RUN), BIG.replace(_at, b'".."', 1)]
    JOURNALS[f"a member with a slash at {_at!r}"] = [_begin(RUN), BIG.replace(_at, b'"a/b.json"', 1)]
    JOURNALS[f"a member repeated at {_at!r}"] = [_begin(RUN), BIG.replace(_at, b'"s0000.json"', 1)]


def _journal(tmp_path: Path, lines: list[bytes]) -> Path:
    ws = tmp_path / "ws"
    (ws / ".sessions" / "backup_old_format").mkdir(parents=True)
    Path(open_layout(str(ws)).journal).write_bytes(b"".join(lines))
    return ws


@pytest.mark.parametrize("span", [150, 1000])
@pytest.mark.parametrize("name", list(JOURNALS))
def test_a_long_commit_read_in_pieces_gives_what_the_whole_one_gives(
        tmp_path: Path, monkeypatch: Any, name: str, span: int) -> None:
    monkeypatch.setattr(journal, "READ_CHUNK", 97)
    monkeypatch.setattr(journal, "SPAN_BYTES", span)
    ws = _journal(tmp_path, JOURNALS[name])
    whole, lean = _state(ws, journal.read), _state(ws, journal.read_lean)
    assert lean == whole


def test_a_long_commit_as_written_is_never_held_whole(tmp_path: Path, monkeypatch: Any) -> None:
    monkeypatch.setattr(journal, "READ_CHUNK", 97)
    monkeypatch.setattr(journal, "SPAN_BYTES", 1000)
    ws = _journal(tmp_path, JOURNALS["big, as written"])
    reads: list[int] = []
    parsed: list[bytes] = []
    real_read, real_loads = fsio.read_range, journal._loads

    def read(path: str, start: int, length: int) -> bytes:
        reads.append(length)
        return real_read(path, start, length)

    def loads(raw: bytes) -> Any:
        parsed.append(raw)
        return real_loads(raw)

    monkeypatch.setattr(fsio, "read_range", read)
    monkeypatch.setattr(journal, "_loads", loads)
    whole = _state(ws, journal.read)
    reads.clear()
    parsed.clear()
    lean = _state(ws, journal.read_lean)
    assert lean == whole and len(lean["outcomes"]) == 302
    assert max(reads) <= 1000 < len(BIG)
    assert not [raw for raw in parsed if b'"sessions"' in raw and len(raw) > 200]


def test_a_long_commit_read_again_from_a_shorter_file_is_no_crash(tmp_path: Path, monkeypatch: Any) -> None:
    """Should the file be cut between the two readings of the members, the command stops
    (another process changed the journal), having said nothing wrong."""
    monkeypatch.setattr(journal, "READ_CHUNK", 97)
    monkeypatch.setattr(journal, "SPAN_BYTES", 1000)
    ws = _journal(tmp_path, JOURNALS["big, as written"])
    path = open_layout(str(ws)).journal
    real_read = fsio.read_range
    seen: list[int] = []

    def read(p: str, start: int, length: int) -> bytes:
        data = real_read(p, start, length)
        seen.append(start)
        if seen.count(start) == 2 and start > len(_begin(RUN)) + 5000:  # the second reading
            return b""
        return data

    monkeypatch.setattr(fsio, "read_range", read)
    journal._last = None
    with pytest.raises(journal.OperationBusy):
        journal.read_lean(open_layout(str(ws)))
    journal._last = None
    assert Path(path).exists()
