"""sessions.json written a member at a time (``jsonio.document_pieces``) is byte for byte
what ``dumps_document`` writes for the whole document: apply streams the merged index
through it instead of holding the merge and its bytes (100,000 entries: about 180 MB)."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from migrate_tui.core import jsonio
from tests.engine.json_cases import EDGE_LITERALS, STRING, VALUE, reference_document

pytestmark = pytest.mark.skipif(jsonio._orjson is None, reason="orjson is not installed")


def streamed(doc: dict, fast: bool = True) -> bytes:
    """The pieces joined, started again with every non-ASCII character escaped when a member
    holds a lone surrogate (as apply does)."""
    try:
        return b"".join(jsonio.document_pieces(doc.items(), fast=fast))
    except jsonio.NeedsAscii:
        return b"".join(jsonio.document_pieces(doc.items(), ascii_only=True, fast=fast))


MEMBERS = st.lists(st.tuples(STRING, VALUE), max_size=8, unique_by=lambda kv: json.loads(kv[0]))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(MEMBERS)
@example([('"agent:main:é"', '{"n": 1e+16, "l": [NaN, -0.0, 18446744073709551616], "e": {}}'),
          ('"\\ud800"', '"lone \\udfff"'), ('""', "[]")])
def test_pieces_are_the_bytes_of_the_whole_document(members: list[tuple[str, str]]) -> None:
    text = "{" + ",".join(f"{k}:{v}" for k, v in members) + "}"
    doc = jsonio.loads(text)
    want = jsonio.dumps_document(doc)
    assert want == reference_document(text)
    assert streamed(doc) == want
    assert streamed(doc, fast=False) == want


def test_many_members_cross_the_pieces_boundaries() -> None:
    # more members than one piece holds, with every kind of value the parser makes
    literals = ", ".join(EDGE_LITERALS)
    doc = {}
    for n in range(3 * 256 + 5):
        doc[f"agent:main:{n}-ü\u2028"] = jsonio.loads(
            f'{{"session_id": "s{n}", "nested": {{"a": [[], {{}}, [{{"b": null}}]], "n": [{literals}]}}, '
            '"t": "日本"}')
    pieces = list(jsonio.document_pieces(doc.items()))
    assert len(pieces) > 3  # written in pieces, never as one object
    assert b"".join(pieces) == jsonio.dumps_document(doc)


def test_a_lone_surrogate_anywhere_escapes_the_whole_document() -> None:
    doc = {f"k{n}": {"text": "é"} for n in range(600)}
    doc["k599"] = jsonio.loads('{"text": "\\ud800 é"}')
    with pytest.raises(jsonio.NeedsAscii):
        b"".join(jsonio.document_pieces(doc.items()))
    want = jsonio.dumps_document(doc)
    assert want.isascii() and b"\\u00e9" in want
    assert b"".join(jsonio.document_pieces(doc.items(), ascii_only=True)) == want


def test_an_empty_document() -> None:
    assert b"".join(jsonio.document_pieces({}.items())) == jsonio.dumps_document({}) == b"{}\n"
