"""The transcripts phase's fast way (orjson parses) writes exactly the checked way's bytes.

orjson is not a lossless parser: an integer past 64 bits becomes a float, a float literal
is not kept as written (``1E5`` comes back as ``100000.0``).  So apply uses its messages
only when they have the digest the scan computed from the lossless parser's.  Here real
legacy files are scanned, then encoded both ways: the bytes must always be the reference
(built by tests/engine/json_cases.py without jsonio's writers), and the fast way must be
taken on plain files (else the speed-up is gone) and refused where orjson reads otherwise.
"""

from __future__ import annotations

import dataclasses
import hashlib
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from json_cases import EDGE_LITERALS, VALUE, reference

from migrate_tui.core import jsonio
from migrate_tui.engine import scan_workspace
from migrate_tui.engine.transcript_encoding import Encoded, Job, encode_transcript

pytestmark = pytest.mark.skipif(jsonio._orjson is None, reason="orjson is not installed")


def legacy_text(values: list[str]) -> str:
    """A legacy file (as the old writer laid it out) with one message per value; each
    message also has a null field, which the transcript leaves out."""
    messages = ",\n    ".join('{"role": "user", "tool_calls": null, "v": %s}' % v for v in values)
    return '{\n  "session_id": "s1",\n  "messages": [\n    %s\n  ],\n  "updated_at": ' \
           '"2025-01-01T00:00:00"\n}\n' % messages


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def want(values: list[str]) -> bytes:
    return b"".join(reference('{"role":"user","v":%s}' % v if v != "null" else '{"role":"user"}')
                    for v in values)


def encode_both(folder: Path, text: str | bytes) -> tuple[Encoded, Encoded]:
    """Scan the file as apply would see it, then encode it the fast way (the scan's
    digest given) and the checked way (none given)."""
    sessions = folder / ".sessions"
    sessions.mkdir(parents=True, exist_ok=True)
    path = sessions / "s1.json"
    path.write_bytes(text.encode("utf-8") if isinstance(text, str) else text)
    scan = scan_workspace(str(folder))
    (session,) = scan.sessions
    assert session.sha256 is not None and session.content.readable, session.content.problems
    job = Job(str(path), session.sha256, frozenset(), session.content.messages_digest)
    return encode_transcript(job), encode_transcript(dataclasses.replace(job, messages_digest=None))


PLAIN = ['"hello"', '"caf\\u00e9 \\ud83d\\ude00 \\u2028"', "0", "-7", str(2 ** 63 - 1), str(-(2 ** 63)),
         str(2 ** 64 - 1), "true", "false", "null", '[1, [2, {"a": null}], {}]',
         '{"b": 1, "a": {"c": []}}', '"\\u0000\\u001f\\"\\\\"']


def test_a_plain_file_goes_the_fast_way_with_the_same_bytes(tmp_path: Path) -> None:
    fast, checked = encode_both(tmp_path, legacy_text(PLAIN))
    assert fast.failure is None and checked.failure is None
    assert fast.fast and not checked.fast
    assert fast.out == checked.out == want(PLAIN)
    assert fast.sha256 == checked.sha256


@pytest.mark.parametrize("literal", EDGE_LITERALS)
def test_numbers_orjson_reads_otherwise_go_the_checked_way(tmp_path: Path, literal: str) -> None:
    fast, checked = encode_both(tmp_path, legacy_text([literal, '"x"']))
    assert fast.out == checked.out == want([literal, '"x"'])
    if literal in ("1E5", "0.10", "1e16", "1e-07", "NaN", str(2 ** 64), "-1e400", "9" * 4300):
        assert not fast.fast  # orjson: 100000.0, 0.1, 1e+16, 1e-7, refused, a float...
    if literal in ("0", "-1", "1.5", "0.1", str(2 ** 64 - 1)):
        assert fast.fast


def test_a_lone_surrogate_and_a_repeated_key_are_written_as_the_scan_read_them(tmp_path: Path) -> None:
    values = ['"\\ud800 alone"', '{"k": 1, "j": 2, "k": 3}']
    fast, checked = encode_both(tmp_path, legacy_text(values))
    assert fast.out == checked.out == want(values)


def test_a_byte_order_mark_is_read_as_the_scan_reads_it(tmp_path: Path) -> None:
    fast, checked = encode_both(tmp_path, b"\xef\xbb\xbf" + legacy_text(PLAIN).encode())
    assert fast.out == checked.out == want(PLAIN)


def test_a_wrong_expected_digest_falls_back_to_the_checked_way(tmp_path: Path) -> None:
    fast, _ = encode_both(tmp_path, legacy_text(PLAIN))
    path = tmp_path / ".sessions" / "s1.json"
    job = Job(str(path), sha256_of(path), frozenset(), "0" * 64)
    again = encode_transcript(job)
    assert not again.fast and again.out == fast.out == want(PLAIN)


def test_a_content_fix_always_goes_the_checked_way(tmp_path: Path) -> None:
    encode_both(tmp_path, legacy_text(PLAIN))
    path = tmp_path / ".sessions" / "s1.json"
    (session,) = scan_workspace(str(tmp_path)).sessions
    assert session.content.messages_digest is not None
    job = Job(str(path), sha256_of(path), frozenset({"drop-bad-messages"}), session.content.messages_digest)
    fixed = encode_transcript(job)
    assert not fixed.fast and fixed.out == want(PLAIN)


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(values=st.lists(VALUE, min_size=1, max_size=4))
@example(values=['{"a": 1e+16, "b": [NaN, -0.0, 1E5, 18446744073709551616], "c": "\\ud800"}'])
def test_any_json_is_written_the_same_both_ways(tmp_path_factory: pytest.TempPathFactory,
                                                values: list[str]) -> None:
    folder = tmp_path_factory.mktemp("ws")
    fast, checked = encode_both(folder, legacy_text(values))
    assert fast.out == checked.out == want(values)
