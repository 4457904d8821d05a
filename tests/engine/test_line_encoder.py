"""The fast line encoder (orjson) writes exactly the bytes the standard library writes.

docs/guarantees.md: "A faster JSON library may parse and write only where the result is proven
identical; otherwise the standard library does."  Transcript lines are written by
``LineEncoder``: orjson where it can, the standard library for the rest.  Here both paths
encode the same parsed values, which must give the same bytes, for arbitrary JSON text:
floats written any way JSON allows, NaN and infinities, integers past 64 bits and past
Python's 4,300-digit limit, control characters, lone surrogates, deep nesting.
"""

from __future__ import annotations

import json
from string import Template

import pytest
from hypothesis import HealthCheck, example, given, settings

from migrate_tui.core import jsonio
from tests.engine.json_cases import EDGE_LITERALS, VALUE, reference, reference_document

FAST = jsonio.LineEncoder()
STDLIB = jsonio.LineEncoder(fast=False)

pytestmark = pytest.mark.skipif(jsonio._orjson is None, reason="orjson is not installed")


def both(text: str) -> tuple[bytes, bytes]:
    value = jsonio.loads(text)
    return FAST.line(value), STDLIB.line(value)


@pytest.mark.parametrize("literal", EDGE_LITERALS)
def test_numbers_are_written_as_python_writes_them(literal: str) -> None:
    text = Template('{"n": $v, "in": [$v, {"x": $v}]}').substitute(v=literal)
    fast, slow = both(text)
    assert fast == slow == reference(text)


STRINGS = [
    "".join(map(chr, range(0x80))), "\u2028\u2029\ufeff\U0001f600é/", "\ud800", "\udfff\ud800",
    "a\x00b", "\ud83d\ude00", "",
]


def _encodable(string: str) -> bool:
    try:
        string.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate: only its escape can be in a file
        return False
    return True


@pytest.mark.parametrize(("string", "ascii_only"), [(s, True) for s in STRINGS]
                         + [(s, False) for s in STRINGS if _encodable(s)])
def test_strings_are_written_as_python_writes_them(string: str, ascii_only: bool) -> None:
    text = json.dumps({"s": string, string: [string]}, ensure_ascii=ascii_only)
    fast, slow = both(text)
    assert fast == slow == reference(text)


@pytest.mark.parametrize("depth", [1, 250, 254, 255, 600])
def test_deep_nesting_is_written_the_same(depth: int) -> None:
    text = "[" * depth + "1" + "]" * depth
    fast, slow = both(text)
    assert fast == slow == reference(text)


def test_values_that_are_not_json_are_refused_by_both() -> None:
    import datetime

    for bad in (datetime.datetime(2026, 1, 1), {1, 2}, object(), 1.5):
        if isinstance(bad, float):
            continue  # a plain float is written (by value); see the class docstring
        with pytest.raises(TypeError):
            FAST.line({"x": bad})
        with pytest.raises(TypeError):
            STDLIB.line({"x": bad})


# ---------------------------------------------------------------- arbitrary JSON text

@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(VALUE)
@example('{"a": 1e+16, "b": [NaN, -0.0, 1E5, 18446744073709551616], "c": "\\ud800"}')
def test_fast_and_standard_paths_write_the_same_bytes(text: str) -> None:
    fast, slow = both(text)
    assert fast == slow == reference(text)
    assert jsonio.first_difference(fast, [jsonio.loads(text)]) is None


# ---------------------------------------------------------------- whole documents (sessions.json)


@pytest.mark.parametrize("literal", EDGE_LITERALS)
def test_documents_write_numbers_as_python_does(literal: str) -> None:
    text = Template('{"agent:main:main": {"n": $v, "l": [$v, {}, []], "e": {}}}').substitute(v=literal)
    value = jsonio.loads(text)
    fast, slow = jsonio.dumps_document(value), jsonio.dumps_document(value, fast=False)
    assert fast == slow == reference_document(text)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(VALUE)
@example('{"k": {"a": [], "b": {}, "c": [{}, [[]]], "d": "\\u2028\\ud800", "e": NaN}}')
def test_documents_fast_and_standard_paths_write_the_same_bytes(text: str) -> None:
    value = jsonio.loads(text)
    fast = jsonio.dumps_document(value)
    assert fast == jsonio.dumps_document(value, fast=False) == reference_document(text)
    assert jsonio.same_value(jsonio.loads_document(fast), value)


def test_the_report_is_written_as_json_dumps_writes_it() -> None:
    report = {"status": "success", "sessions": [{"id": "é", "keys": ["agent:main:x"], "n": 3}],
              "empty": {}, "none": None, "list": []}
    want = json.dumps(report, indent=2, ensure_ascii=False).encode("utf-8") + b"\n"
    assert jsonio.dumps_report(report) == want
    odd = {"file": "caf\udce9.json"}  # a file name that is not UTF-8 (surrogateescape)
    assert jsonio.dumps_report(odd) == json.dumps(odd, indent=2, ensure_ascii=False).encode(
        "utf-8", "backslashreplace") + b"\n"
