"""session_map.json is read and parsed a piece at a time (jsonio.loads_object_in_pieces over
fsio.read_pieces), its whole text never held: where that way gives a value it must be the
one the lossless parser gives the whole text (key order and number types included), and it
must give way (None: the scan then reads the text whole and words what is wrong) wherever
the whole text is not a plain object of distinct keys, wherever the pieces are cut."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from migrate_tui.core import fsio, jsonio
from migrate_tui.engine import scan as scan_module
from migrate_tui.engine.scan import scan_workspace
from tests.engine.engine_support import Workspace

ENC = jsonio.LineEncoder(fast=False)


def _pieces(data: bytes, size: int) -> list[bytes]:
    return [data[at:at + size] for at in range(0, len(data), size)] or [b""]


def _in_pieces(data: bytes, size: int, share: Any = None) -> Any:
    return jsonio.loads_object_in_pieces(_pieces(data, size), share)


SIZES = (1, 2, 3, 5, 7, 16, 64, 1 << 20)

# texts the piece-wise way reads (the whole way's value each time)
READ = [
    b"{}", b" \n{ }\n", b'{"a": "b"}', b'{"a":"b","c":"d"}',
    b'{\n  "agent:main:main": "f959eb69",\n  "agent:main:x": "3ddbd819"\n}\n',
    b'{"a": "x\\"y", "b\\"": "\\\\", "c": "\\\\\\""}',  # quotes and backslashes inside
    '{"é": "ü", "k": "日本"}'.encode(),
    b'{"a": 1, "b": -0, "c": 1.50, "d": 123456789012345678901234567890, "e": null, "f": true}',
    b'{"a": "\\ud800", "b": "\\u0022"}',  # a lone surrogate, a quote written as an escape
    b'{"a": {"b": "c"}, "d": "e"}',  # a nested value without a ',' in it
]
# texts it never reads (None): the whole way parses them, or finds what is wrong
GIVES_WAY = [
    b"", b"   ", b"[]", b'"a"', b"\xef\xbb\xbf{}",  # not an object from its first byte
    b'{"a": "b", "a": "c"}', b'{"a": "b", "c": "d", "a": "e"}',  # a repeated key
    b'{"a": "b",}', b'{"a": "b",, "c": "d"}', b'{, "a": "b"}', b'{,}',  # empty members
    b'{"a": "b"', b'{"a": 12', b'{"a": "b"} x', b'{"a": "b"}}', b'{"a" "b"}', b'{"a": NaX}',  # bad JSON
    b'{"a": "\xff"}',  # not UTF-8
]


@pytest.mark.parametrize("text", READ)
def test_what_it_reads_is_the_whole_parse(text: bytes) -> None:
    whole = jsonio.loads(text.decode("utf-8"))
    for size in SIZES:
        got = _in_pieces(text, size)
        assert got is not None, (text, size)
        assert ENC.line(got) == ENC.line(whole), (text, size)
        assert [type(v) for v in got.values()] == [type(v) for v in whole.values()]


@pytest.mark.parametrize("text", GIVES_WAY)
def test_it_gives_way_where_the_text_is_not_a_plain_object(text: bytes) -> None:
    for size in SIZES:
        assert _in_pieces(text, size) is None, (text, size)


@pytest.mark.parametrize("text", [
    b'{"a,b": "c,d", "e": ",", "f": "g"}', b'{"a": "c,d"}', b'{"a": [1, 2], "b": {"c": 1, "d": 2}}'])
def test_a_comma_inside_a_string_or_a_value_is_never_taken_for_a_cut(text: bytes) -> None:
    """Read right when the last ',' of what is read is between members, else given way."""
    whole = jsonio.loads(text.decode())
    read = 0
    for size in range(1, len(text) + 1):
        got = _in_pieces(text, size)
        assert got is None or ENC.line(got) == ENC.line(whole), size
        read += got is not None
    assert read < len(text)  # some cuts fell inside: given way there


_KEY = st.text(st.sampled_from('ab,:" \\é{}[]'), max_size=6)
_VALUE = st.one_of(_KEY, st.integers(-5, 5), st.none(), st.lists(st.integers(0, 3), max_size=3))


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(_KEY, _VALUE), max_size=8), st.integers(1, 40),
       st.sampled_from([(", ", ": "), (",", ":"), (" ,\n ", " : ")]), st.booleans())
def test_any_object_is_read_as_the_whole_parse_or_given_way(
        pairs: list[tuple[str, Any]], size: int, separators: tuple[str, str], trailing: bool) -> None:
    inner = separators[0].join(json.dumps(k) + separators[1] + json.dumps(v) for k, v in pairs)
    text = ("{" + inner + ("," if trailing and pairs else "") + "}").encode()
    got = _in_pieces(text, size)
    if got is None:
        return
    assert not trailing or not pairs  # invalid JSON is never read
    whole = jsonio.loads(text.decode())
    assert len({k for k, _ in pairs}) == len(pairs)  # nor a repeated key
    assert ENC.line(got) == ENC.line(whole)


def test_the_ids_are_shared() -> None:
    held = "".join(["x"] * 8)
    share = {held: held}
    for text in ('{"a": "xxxxxxxx", "b": 5, "c": "y"}', '{"a": "xxxxxxxx", "b": [5], "c": {}}'):
        got = _in_pieces(text.encode(), 4, share)
        assert got == jsonio.loads(text)
        assert got["a"] is held


# ---------------------------------------------------------------- fsio.read_pieces


def test_read_pieces_reads_as_read_bytes(tmp_path: Path) -> None:
    data = os.urandom(5000)
    (tmp_path / "f").write_bytes(data)
    assert list(fsio.read_pieces(str(tmp_path / "f"), None, 1024))[-1] == data[4096:]
    assert b"".join(fsio.read_pieces(str(tmp_path / "f"), 5000, 1024)) == data
    assert list(fsio.read_pieces(str(tmp_path / "f"), 5000, 1 << 20)) == [data]
    (tmp_path / "empty").write_bytes(b"")
    assert list(fsio.read_pieces(str(tmp_path / "empty"))) == []


def test_read_pieces_refuses_what_read_bytes_refuses(tmp_path: Path) -> None:
    (tmp_path / "f").write_bytes(b"x" * 100)
    os.symlink("f", tmp_path / "link")
    os.mkfifo(tmp_path / "fifo")
    with pytest.raises(fsio.FileTooLarge):
        list(fsio.read_pieces(str(tmp_path / "f"), 99))
    with pytest.raises(fsio.NotRegularFile):
        list(fsio.read_pieces(str(tmp_path / "link")))
    with pytest.raises(fsio.NotRegularFile):
        list(fsio.read_pieces(str(tmp_path / "fifo")))
    seen: list[str] = []
    with fsio.fault_hook(lambda op, path: seen.append(op)):
        list(fsio.read_pieces(str(tmp_path / "f"), None, 40))
    assert seen.count("open") == 1 and seen.count("read") == 4  # 40 + 40 + 20, then the end


# ---------------------------------------------------------------- the scan


def _big_map(ws: Workspace, n: int) -> dict[str, str]:
    mapping = {}
    for i in range(n):
        sid = f"s-{i:05d}"
        ws.add(sid)
        mapping[f"agent:main:k{i}"] = sid
        mapping[f"agent:main:other{i}"] = sid
    mapping["agent:main:nowhere"] = "no-such-session"
    return mapping


def test_the_scan_reads_a_map_of_many_pieces_as_the_whole_text(
        ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    mapping = _big_map(ws, 300)
    ws.write_raw("session_map.json", json.dumps(mapping, indent=2))
    whole_reads: list[str] = []
    real = scan_module._read_json_file

    def counted(path: str, *args: Any, **kw: Any) -> Any:
        whole_reads.append(path)
        return real(path, *args, **kw)

    monkeypatch.setattr(scan_module, "_read_json_file", counted)
    monkeypatch.setattr(scan_module, "MAP_IN_PIECES_FROM", 0)  # read in pieces whatever its size
    real_pieces = fsio.read_pieces
    monkeypatch.setattr(fsio, "read_pieces", lambda path, limit, _size: real_pieces(path, limit, 1000))
    scan = scan_workspace(str(ws.root))
    assert not [p for p in whole_reads if p.endswith("session_map.json")]  # read in pieces
    assert list(scan.session_map.items()) == list(mapping.items())
    by_id = {s.file_id: s for s in scan.sessions}
    for key, sid in scan.session_map.items():
        if sid in by_id:
            assert sid is by_id[sid].file_id  # one string for the id
            assert key in by_id[sid].keys
    dangling = [w for w in scan.warnings if w.code == "dangling_key"]
    assert len(dangling) == 1 and "agent:main:nowhere" in dangling[0].message

    # what the whole way finds, it still finds and says the same way
    monkeypatch.setattr(fsio, "read_pieces", real_pieces)
    whole_reads.clear()
    text = json.dumps(mapping, indent=2)
    ws.write_raw("session_map.json", text[:-2] + ',\n  "agent:main:k3": "s-00004"\n}')
    again = scan_workspace(str(ws.root))
    assert [p for p in whole_reads if p.endswith("session_map.json")]
    repeated = [w for w in again.warnings if w.code == "duplicate_key"]
    assert len(repeated) == 1 and "'agent:main:k3'" in repeated[0].message
    assert again.session_map["agent:main:k3"] == "s-00004"
    ws.write_raw("session_map.json", text[:-2] + ",}")
    broken = scan_workspace(str(ws.root))
    assert broken.fatal is not None and broken.fatal.code == "invalid_json"


def test_a_small_map_is_read_whole(ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    ws.write_raw("session_map.json", json.dumps(_big_map(ws, 30)))
    monkeypatch.setattr(fsio, "read_pieces", None)  # never called
    assert len(scan_workspace(str(ws.root)).session_map) == 61
