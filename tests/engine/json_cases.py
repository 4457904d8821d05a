"""JSON cases shared by the encoder tests: edge literals, arbitrary JSON text (hypothesis),
and what each must be written as, built without jsonio's writers."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import strategies as st


def _reference(text: str, **layout: Any) -> bytes:
    """``text`` as it must be written, built without jsonio's writers: the standard library
    (``json.dumps(..., **layout)``) on the plainly parsed value, each number literal that
    Python would rewrite kept as text, a lone surrogate escaped."""
    raws: list[str] = []

    def keep(literal: str) -> Any:
        raws.append(literal)
        return f"\x00{len(raws) - 1}\x00"

    def number(literal: str) -> Any:
        value = float(literal)
        return value if repr(value) == literal else keep(literal)

    def integer(literal: str) -> Any:
        return int(literal) if len(literal) <= 4000 and literal != "-0" else keep(literal)

    value = json.loads(text, parse_float=number, parse_int=integer)
    try:
        out = json.dumps(value, ensure_ascii=False, **layout).encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate
        out = json.dumps(value, ensure_ascii=True, **layout).encode("ascii")
    for n, literal in enumerate(raws):
        out = out.replace(f'"\\u0000{n}\\u0000"'.encode(), literal.encode(), 1)
    return out + b"\n"


def reference(text: str) -> bytes:
    """What a transcript line must be."""
    return _reference(text, separators=(",", ":"))


def reference_document(text: str) -> bytes:
    """What ``sessions.json`` must be: ``json.dumps`` with indent 2."""
    return _reference(text, indent=2)


EDGE_LITERALS = [
    "0", "-0", "1", "-1", "0.0", "-0.0", "1.5", "1E5", "1e5", "1e+16", "1e16", "1e-07", "1e-7",
    "0.10", "1.0e10", "5e-324", "2.2250738585072014e-308", "1.7976931348623157e+308", "1e400",
    "-1e400", "123456789012345678901234567890", "0.1", "100.0", "1e22", "1e23", "NaN",
    "Infinity", "-Infinity", str(2 ** 63 - 1), str(2 ** 63), str(2 ** 64 - 1), str(2 ** 64),
    str(-(2 ** 63)), str(-(2 ** 63) - 1), "9" * 4300, "-" + "9" * 5000,
]


NUMBER = st.one_of(
    st.from_regex(r"-?(0|[1-9][0-9]{0,25})(\.[0-9]{1,20})?([eE][+-]?[0-9]{1,3})?", fullmatch=True),
    st.sampled_from(["NaN", "Infinity", "-Infinity"]),
    st.floats(allow_nan=False, allow_infinity=False).map(repr),
    st.integers().map(str),
)
CHARS = st.one_of(st.characters(), st.characters(categories=["Cs"]),
                  st.sampled_from(list("\"\\/\b\f\n\r\t\x00\x1f\x7f\u2028\u2029\ufeff")))
STRING = st.text(CHARS, max_size=10).map(
    lambda s: json.dumps(s, ensure_ascii=True))  # escapes: lone surrogates survive as \\u
SCALAR = st.one_of(st.just("null"), st.just("true"), st.just("false"), NUMBER, STRING)
VALUE = st.recursive(
    SCALAR,
    lambda inner: st.one_of(
        st.lists(inner, max_size=5).map(lambda items: "[" + ",".join(items) + "]"),
        st.lists(st.tuples(STRING, inner), max_size=5).map(
            lambda pairs: "{" + ",".join(f"{k}:{v}" for k, v in pairs) + "}"),
    ),
    max_leaves=25,
)
