"""Bytes that are not plain UTF-8 (docs/problems.md "not UTF-8 / has a byte-order mark": replace-bytes
for bad bytes, a BOM alone handled without asking; unicode survives exactly)."""

from __future__ import annotations

import codecs
import json

import pytest

from tests.hostile.hostile_support import Hostile, dump, legacy, message, read_jsonl

UNICODE = "héllo — 日本語 😀 \u2028 \u0000 tab\t"


def _doc(sid: str) -> dict:
    doc = legacy(sid, 2)
    doc["messages"].append(message("user", UNICODE, 5))
    return doc


def test_utf8_bom_is_a_warning_and_the_session_migrates_exactly(hw: Hostile) -> None:
    doc = _doc("bom8")
    hw.write("bom8.json", codecs.BOM_UTF8 + dump(doc).encode("utf-8"))

    r = hw.migrate()

    assert r.rc == 0, r
    w = r.warning("bom", "bom8.json")
    assert w["error"] == "starts with a UTF-8 byte-order mark (removed)"
    assert r.report["error_details"] == []
    assert r.session("bom8.json")["status"] == "migrated"
    hw.assert_migrated("bom8", "agent:main:bom8", doc["messages"])
    hw.check(r)


@pytest.mark.parametrize("codec", ["utf-16", "utf-16-be"])
def test_utf16_with_bom_is_read_as_utf16_and_migrates_exactly(hw: Hostile, codec: str) -> None:
    doc = _doc("wide")
    data = dump(doc).encode(codec)
    if codec == "utf-16-be":
        data = codecs.BOM_UTF16_BE + data
    hw.write("wide.json", data)

    r = hw.migrate()

    assert r.rc == 0, r
    w = r.warning("bom", "wide.json")
    assert w["error"] == "starts with a UTF-16 byte-order mark (the file was read as UTF-16)"
    hw.assert_migrated("wide", "agent:main:wide", doc["messages"])
    # the transcript is UTF-8, whatever the source was
    raw = (hw.sessions / "wide.jsonl").read_bytes()
    raw.decode("utf-8")
    assert "日本語 😀".encode() in raw
    hw.check(r)


def test_utf16_without_bom_is_not_utf8_and_says_what_it_looks_like(hw: Hostile) -> None:
    text = json.dumps(_doc("wide"), indent=2, ensure_ascii=False)  # non-ASCII: bad as UTF-8
    hw.write("wide.json", text.encode("utf-16-le"))

    r = hw.migrate()

    assert r.rc == 1, r
    d = r.error("not_utf8", "wide.json")
    assert d["fixes"] == ["replace-bytes"]
    assert "(it looks like UTF-16 without a byte-order mark)" in d["error"]
    hw.check(r)


def _with_bad_bytes(sid: str, bad: bytes) -> tuple[bytes, dict, int, int]:
    """A legacy file whose second message holds ``bad`` between "ab" and "cd"; returns the
    bytes, the document, and the line and column (1-based, in bytes) of the first bad byte."""
    doc = legacy(sid, 3)
    doc["messages"][1]["content"] = "ab@@BAD@@cd"
    data = dump(doc).encode("utf-8").replace(b"@@BAD@@", bad)
    pos = data.index(bad)
    line = data.count(b"\n", 0, pos) + 1
    column = pos - (data.rfind(b"\n", 0, pos) + 1) + 1
    return data, doc, line, column


def test_invalid_utf8_bytes_are_reported_with_line_and_column(hw: Hostile) -> None:
    data, _doc, line, column = _with_bad_bytes("latin", b"\xe9\xff")
    hw.write("latin.json", data)

    r = hw.migrate()

    assert r.rc == 1, r
    d = r.error("not_utf8", "latin.json")
    assert d["fixes"] == ["replace-bytes"]
    assert (d["line"], d["column"]) == (line, column)
    assert d["error"] == (f"not valid UTF-8: byte 0xe9 at line {line}, column {column}; "
                          "2 bad byte(s) in the file")
    assert not (hw.sessions / "latin.jsonl").exists()
    hw.check(r)


def test_replace_bytes_migrates_with_u_fffd(hw: Hostile) -> None:
    data, doc, _, _ = _with_bad_bytes("latin", b"\xe9\xff")
    hw.write("latin.json", data)

    r = hw.migrate("--fix", "latin=replace-bytes")

    assert r.rc == 0, r
    s = r.session("latin.json")
    assert s["action"] == "fix:replace-bytes" and s["status"] == "migrated"
    assert "2 byte(s) that are not UTF-8 become U+FFFD" in s["notes"]
    assert r.warning("replaced_bytes", "latin.json")["error"] == \
        "2 byte(s) that are not UTF-8 were replaced by U+FFFD"
    doc["messages"][1]["content"] = "ab\ufffd\ufffdcd"
    hw.assert_migrated("latin", "agent:main:latin", doc["messages"])
    hw.check(r)


def test_raw_surrogate_bytes_are_not_utf8(hw: Hostile) -> None:
    """ED A0 80 would encode U+D800 in UTF-8: no valid UTF-8 holds a surrogate."""
    data, doc, line, column = _with_bad_bytes("surr", b"\xed\xa0\x80")
    hw.write("surr.json", data)

    r = hw.migrate()

    assert r.rc == 1, r
    d = r.error("not_utf8", "surr.json")
    assert d["fixes"] == ["replace-bytes"]
    assert (d["line"], d["column"]) == (line, column)
    assert d["error"] == (f"not valid UTF-8: byte 0xed at line {line}, column {column}; "
                          "3 bad byte(s) in the file")
    hw.check(r)

    r2 = hw.migrate("--fix", "surr=replace-bytes")
    assert r2.rc == 0, r2
    doc["messages"][1]["content"] = "ab\ufffd\ufffd\ufffdcd"
    hw.assert_migrated("surr", "agent:main:surr", doc["messages"])
    hw.check(r2)


def test_lone_surrogates_as_json_escapes_migrate_exactly(hw: Hostile) -> None:
    doc = legacy("lone", 3)
    doc["messages"][0]["content"] = "high \ud800 alone"
    doc["messages"][1]["content"] = "low \udfff alone, pair \U0001F600, é"
    doc["metadata"]["label"] = "label \udc80"
    text = dump(doc)  # ensure_ascii: the surrogates are written as \\ud800 escapes
    assert "\\ud800" in text and "\\udfff" in text
    hw.write("lone.json", text)

    r = hw.migrate()

    assert r.rc == 0, r
    assert r.report["error_details"] == []
    entry = hw.assert_migrated("lone", "agent:main:lone", doc["messages"])
    assert entry["label"] == "label \udc80"
    got = read_jsonl(hw.sessions / "lone.jsonl")
    assert got[0]["content"] == "high \ud800 alone"
    assert got[1]["content"] == "low \udfff alone, pair \U0001F600, é"
    # the transcript is valid UTF-8 (a lone surrogate can only be written as an escape)
    raw = (hw.sessions / "lone.jsonl").read_bytes()
    raw.decode("utf-8")
    assert b"\\ud800" in raw
    json.loads((hw.sessions / "sessions.json").read_bytes().decode("utf-8"))
    hw.check(r)
