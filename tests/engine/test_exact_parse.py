"""orjson's value is used only where it is provably the lossless parser's (jsonio.exact_loads,
jsonio.exact_chunks), and the reader then finds exactly what the standard library's way finds.

For every case where orjson reads otherwise (an integer past 64 bits, a float however it is
written, NaN/Infinity, a repeated key, a lone surrogate, ``-0``, deep nesting, a byte-order
mark, bad UTF-8), the fast parse must give way, and ``read_legacy`` must report the same
problems (codes, messages, lines, columns) and the same content as the standard library's way
(forced by turning the fast parse off).  Where the fast parse is taken, its value must be the
lossless one, key order and number types included (no float, no RawNumber can be in it).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from string import Template
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from migrate_tui.core import jsonio
from migrate_tui.engine import legacy
from migrate_tui.engine.legacy import read_legacy
from tests.engine.json_cases import VALUE

pytestmark = pytest.mark.skipif(jsonio._orjson is None, reason="orjson is not installed")

ENC = jsonio.LineEncoder(fast=False)  # the standard library's writer: any value, exactly


def same(a: Any, b: Any) -> bool:
    """The same JSON value, key order and number text included."""
    return ENC.line(a) == ENC.line(b)


def slow_read(data: bytes, monkeypatch: pytest.MonkeyPatch, **kw: Any) -> legacy.LegacyContent:
    """``read_legacy`` the standard library's way only."""
    with monkeypatch.context() as m:
        m.setattr(jsonio, "exact_loads", lambda data: None)
        m.setattr(legacy, "STREAM_BYTES", 1 << 62)
        return read_legacy(data, "f.json", **kw)


def assert_same_content(fast: legacy.LegacyContent, slow: legacy.LegacyContent) -> None:
    assert fast.problems == slow.problems
    assert fast.readable == slow.readable
    assert fast.bad_messages == slow.bad_messages
    assert fast.message_count == slow.message_count
    assert fast.top_keys == slow.top_keys
    assert same([fast.content_id, fast.metadata, fast.created_at, fast.updated_at],
                [slow.content_id, slow.metadata, slow.created_at, slow.updated_at])
    if fast.messages_kept:
        assert same(fast.messages, slow.messages)


def legacy_doc(message_values: list[str], metadata: str = '{"label": "x"}') -> bytes:
    """A legacy file as the old writer laid it out, with one message per value text."""
    message = Template('{\n      "role": "user",\n      "v": $v\n    }')
    messages = ",\n    ".join(message.substitute(v=v) for v in message_values)
    doc = Template('{\n  "session_id": "s1",\n  "messages": [\n    $messages\n  ],\n'
                   '  "metadata": $metadata,\n  "updated_at": "2026-01-01T00:00:00"\n}')
    return doc.substitute(messages=messages, metadata=metadata).encode("utf-8")


# ---------------------------------------------------------------- each fallback trigger

TRIGGERS = {
    "integer past 64 bits": ["18446744073709551616"],
    "negative integer past 64 bits": [str(-(2 ** 63) - 1)],
    "integer past Python's digit limit": ["9" * 5000],
    "float": ["1.5"],
    "float that Python writes back the same": ["0.1"],
    "float with an exponent": ["1E5"],
    "float with a trailing zero": ["0.10"],
    "float orjson writes otherwise": ["1e-07"],
    "float that overflows": ["1e400"],
    "float that underflows": ["1e-400"],
    "negative zero float": ["-0.0"],
    "NaN": ["NaN"],
    "Infinity": ["[Infinity, -Infinity]"],
    "repeated key": ['{"k": 1, "k": 2}'],
    "repeated key, same value": ['{"k": "a", "k": "a"}'],
    "repeated key deep down": ['[[{"a": {"b": null, "b": null}}]]'],
    "repeated key in a message": [],  # built below
    "repeated top-level key": [],
    "repeated messages key": [],
    "repeated key spelled with a quote escape": ['{"a\\u0022": 1, "a\\"": 2}'],
    # a lost key's two quotes made up for by two quotes escaped as \u0022 (orjson writes \"):
    # the counts alone would match
    "repeated key hidden by quote escapes": ['{"k": 1, "k": 2, "x": "\\u0022\\u0022"}'],
    "lone high surrogate": ['"\\ud800"'],
    "lone low surrogate": ['"\\udc00 x"'],
    "high surrogate then no low one": ['"\\ud800\\u0041"'],
    # numbers after strings whose escapes end in a backslash or a quote (the proof takes
    # strings out of the text by bytes: \\ first, then \")
    "float after a key that ends in an escaped backslash": ['{"a\\\\": 1.5}'],
    "float after a string with escaped quotes": ['["say \\"hi\\"", 2.5]'],
    "float after a string that ends in a backslash and a quote": ['["x\\\\\\"", 0.5]'],
    "negative zero after an escaped backslash": ['["\\\\", -0]'],
    "integer past 64 bits after an escaped backslash": ['["\\\\", 18446744073709551616]'],
    "negative zero": ["-0"],
    "negative zero in a list": ["[1, -0, 2]"],
    # each thing that may follow a number: the proof's search for -0 looks before each one
    "negative zero before a bracket": ["[-0]"],
    "negative zero before a space": ["[-0 ]"],
    "negative zero before a tab": ['{"a": -0\t}'],
    "negative zero before a carriage return": ["[-0\r\n]"],
    "nested 300 levels": ["[" * 300 + "]" * 300],
    "nested 1,000 levels": ["[" * 1000 + "]" * 1000],
}


def trigger_bytes(name: str) -> bytes:
    if name == "repeated key in a message":
        return legacy_doc(["1"]).replace(b'"role": "user",', b'"role": "user",\n      "role": "tool",', 1)
    if name == "repeated top-level key":
        return legacy_doc(["1"]).replace(b'"session_id": "s1",',
                                         b'"session_id": "s1",\n  "session_id": "s2",')
    if name == "repeated messages key":
        return legacy_doc(["1"]).replace(b'  "metadata"', b'  "messages": [],\n  "metadata"')
    return legacy_doc(TRIGGERS[name])


METADATA_TRIGGERS = {"float in metadata": '{"label": "x", "total_tokens": 1.0}',
                     "negative zero in metadata": '{"label": "x", "queue_cap": -0}',
                     "big integer in metadata":
                         '{"label": "x", "input_tokens": 123456789012345678901234567890}',
                     "repeated key in metadata": '{"label": "x", "label": "y"}'}


@pytest.mark.parametrize("name", sorted(TRIGGERS) + sorted(METADATA_TRIGGERS))
def test_the_fast_parse_gives_way_and_the_reader_finds_the_same(name: str,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    data = legacy_doc(["1"], METADATA_TRIGGERS[name]) if name in METADATA_TRIGGERS else trigger_bytes(name)
    assert jsonio.exact_loads(data) is None
    with pytest.raises(jsonio.NotExact):
        list(jsonio.exact_chunks(data, "messages", chunk_bytes=1))
    fast = read_legacy(data, "f.json")
    assert not fast.exact
    assert_same_content(fast, slow_read(data, monkeypatch))
    with monkeypatch.context() as m:
        m.setattr(legacy, "STREAM_BYTES", 0)  # a piece at a time, as a big file is read
        streamed = read_legacy(data, "f.json", keep_messages=False)
    assert not streamed.exact and streamed.messages_kept
    assert_same_content(streamed, slow_read(data, monkeypatch))


@pytest.mark.parametrize("data", [
    b"\xef\xbb\xbf" + legacy_doc(["1"]),  # a byte-order mark
    legacy_doc(["1"]).replace(b'"user"', b'"us\xff\xfeer"'),  # not UTF-8
    legacy_doc(["1"]).replace(b'"user"', b'"us\xed\xa0\x80er"'),  # a surrogate in UTF-8
    legacy_doc(["1"])[:-40],  # cut short
    legacy_doc(["1"]) + b"\n{}",  # something after the document
    legacy_doc(['"tab\there"']),  # a raw control character
    b"", b"   ", b"[]", b"null", b'"text"', b"12",
])
def test_what_orjson_refuses_is_reported_as_before(data: bytes, monkeypatch: pytest.MonkeyPatch) -> None:
    fast = read_legacy(data, "f.json")
    assert_same_content(fast, slow_read(data, monkeypatch))
    with monkeypatch.context() as m:
        m.setattr(legacy, "STREAM_BYTES", 0)
        streamed = read_legacy(data, "f.json", keep_messages=False)
    assert_same_content(streamed, slow_read(data, monkeypatch))


def test_a_plain_legacy_file_goes_the_fast_way(monkeypatch: pytest.MonkeyPatch) -> None:
    values = ['"hello"', '"caf\\u00e9 \\ud83d\\ude00"', "0", "-7", str(2 ** 64 - 1), str(-(2 ** 63)),
              "true", "null", '[1, [2, {"a": null}], {}]', '{"b": 1, "a": {"c": []}}',
              '"a \\"quote\\" and -05 in a string"', '"1.5e3 and 1e400 in a string"',
              '"ends in a backslash \\\\"', '{"k\\\\": "v", "q\\"": 3}', '"\\\\\\""',
              # "-0" in a string, followed by what cannot follow a number: no reason to give way
              '"ids like 5f3c-0c45-4e1a-0b2f and -0x"']
    data = legacy_doc(values, '{"label": "x", "input_tokens": -12}')
    (value,) = jsonio.exact_loads(data)
    assert same(value, jsonio.loads(data.decode()))
    fast = read_legacy(data, "f.json")
    assert fast.exact
    assert_same_content(fast, slow_read(data, monkeypatch))


# ---------------------------------------------------------------- any JSON


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(values=st.lists(VALUE, min_size=1, max_size=5), compact=st.booleans())
@example(values=['{"a": -0, "a": [0, -0]}'], compact=False)
@example(values=['{"k\\u0022": 1, "k\\"": 2}'], compact=True)
@example(values=['{"a\\\\": 1.5}'], compact=True)
@example(values=['["\\\\\\"", -0]'], compact=False)
def test_orjson_s_value_is_used_only_where_it_is_the_lossless_one(values: list[str], compact: bool) -> None:
    text = "[" + ",".join(values) + "]" if compact else legacy_doc(values).decode()
    data = text.encode("utf-8", "surrogatepass")
    dups = jsonio.DuplicateKeys()
    try:
        lossless = jsonio.loads(data.decode("utf-8"), dups)
    except (ValueError, RecursionError):
        assert jsonio.exact_loads(data) is None
        return
    exact = jsonio.exact_loads(data)
    if exact is not None:
        assert not dups.keys
        assert same(exact[0], lossless)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.binary(max_size=200) | st.text(max_size=60).map(lambda t: t.encode("utf-8", "surrogatepass")))
@example(data=b'{"a": 1, "a": 2}')
@example(data=b'[1, -0]')
@example(data=b'-0')
@example(data=b'-0 ')
def test_any_bytes(data: bytes) -> None:
    exact = jsonio.exact_loads(data)
    if exact is None:
        return
    dups = jsonio.DuplicateKeys()
    lossless = jsonio.loads(data.decode("utf-8"), dups)
    assert not dups.keys and same(exact[0], lossless)


# ---------------------------------------------------------------- a big file a piece at a time


def big_doc(n: int, extra: dict[str, Any] | None = None) -> bytes:
    messages = [{"role": "user" if i % 2 else "assistant", "content": f"message {i} caf\u00e9", "n": i,
                 "tool_calls": None} for i in range(n)]
    doc = {"session_id": "s1", "messages": messages, "metadata": {"label": "x", **(extra or {})},
           "updated_at": "2026-01-01T00:00:00"}
    return json.dumps(doc, indent=2).encode()


def test_pieces_hold_every_message_in_order() -> None:
    data = big_doc(500)
    pieces = jsonio.exact_chunks(data, "messages", chunk_bytes=1000)
    head, _ = next(pieces)
    items = [m for piece, _ in pieces for m in piece]
    lossless = jsonio.loads(data.decode())
    assert head["messages"] == [] and same({k: v for k, v in head.items() if k != "messages"},
                                           {k: v for k, v in lossless.items() if k != "messages"})
    assert same(items, lossless["messages"])


@pytest.mark.parametrize("spoil", [
    lambda d: d.replace(b'"n": 250,', b'"n": 250.0,'),  # a float in a later piece
    lambda d: d.replace(b'"n": 250,', b'"n": -0,'),
    lambda d: d.replace(b'"n": 250,', b'"n": 250, "n": 251,'),  # a repeated key in a later piece
    lambda d: d.replace(b'"n": 250,', b'"n": 18446744073709551616,'),
])
def test_a_later_piece_that_orjson_reads_otherwise_stops_the_pieces(spoil: Any) -> None:
    data = spoil(big_doc(500))
    pieces = jsonio.exact_chunks(data, "messages", chunk_bytes=1000)
    next(pieces)
    with pytest.raises(jsonio.NotExact):
        for _ in pieces:
            pass


def test_a_list_that_is_not_the_top_level_messages_is_not_taken_for_it() -> None:
    inner = b'{\n  "x": {\n  "messages": [\n    {"role": "a"}\n  ]\n},\n  "messages": []\n}'
    with pytest.raises(jsonio.NotExact):
        list(jsonio.exact_chunks(inner, "messages"))
    compact = json.dumps({"messages": [{"role": "a"}]}).encode()
    with pytest.raises(jsonio.NotExact):  # not the legacy layout: the caller parses it whole
        list(jsonio.exact_chunks(compact, "messages"))


def test_a_big_file_is_read_without_keeping_its_messages(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(legacy, "STREAM_BYTES", 1000)
    data = big_doc(300).replace(b'"role": "user",\n      "content": "message 7 ', b'"content": "message 7 ')
    streamed = read_legacy(data, "f.json", keep_messages=False)
    assert streamed.exact and not streamed.messages_kept and streamed.messages == []
    assert streamed.message_count == 300 and streamed.bad_messages == [7]
    assert_same_content(streamed, slow_read(data, monkeypatch))


# ---------------------------------------------------------------- -0 end to end


def test_negative_zero_is_written_as_in_the_source(tmp_path: Path) -> None:
    sessions = tmp_path / ".sessions"
    sessions.mkdir()
    doc = legacy_doc(["-0", "[0, -0, -0.0, 0E0]"], '{"label": "x", "queue_cap": -0}')
    (sessions / "s1.json").write_bytes(doc)
    run = subprocess.run([sys.executable, "-m", "migrate_tui", "migrate", str(tmp_path), "--json"],
                         capture_output=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert (sessions / "s1.jsonl").read_bytes() == (b'{"role":"user","v":-0}\n'
                                                     b'{"role":"user","v":[0,-0,-0.0,0E0]}\n')
    assert b'"queue_cap": -0\n' in (sessions / "sessions.json").read_bytes()
    check = subprocess.run([sys.executable, "-m", "migrate_tui", "verify", str(tmp_path), "--json"],
                           capture_output=True, timeout=120)
    assert check.returncode == 0 and json.loads(check.stdout)["status"] == "ok"
