"""The transcripts phase's fast way (orjson parses) writes exactly the checked way's bytes.

orjson is not a lossless parser: an integer past 64 bits becomes a float, a float literal
is not kept as written (``1E5`` comes back as ``100000.0``), ``-0`` becomes ``0``, a
repeated key keeps its last value silently.  So apply uses its value only where it is
proven to be the lossless one: by the scan, for these very bytes (the token it leaves as
``messages_digest``), or by ``jsonio.exact_loads`` at apply time.  Here real legacy files
are scanned, then encoded both ways: the bytes must always be the reference (built by
tests/engine/json_cases.py without jsonio's writers), and the fast way must be taken on
plain files (else the speed-up is gone) and refused where orjson reads otherwise.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from string import Template

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from migrate_tui.core import jsonio
from migrate_tui.engine import scan_workspace
from migrate_tui.engine.legacy import exact_token
from migrate_tui.engine.transcript_encoding import Encoded, Job, checked_transcript, encode_transcript
from tests.engine.json_cases import EDGE_LITERALS, VALUE, reference

pytestmark = pytest.mark.skipif(jsonio._orjson is None, reason="orjson is not installed")


def legacy_text(values: list[str]) -> str:
    """A legacy file (as the old writer laid it out) with one message per value; each
    message also has a null field, which the transcript leaves out."""
    message = Template('{"role": "user", "tool_calls": null, "v": $v}')
    messages = ",\n    ".join(message.substitute(v=v) for v in values)
    return Template('{\n  "session_id": "s1",\n  "messages": [\n    $messages\n  ],\n  "updated_at": '
                    '"2025-01-01T00:00:00"\n}\n').substitute(messages=messages)


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def want(values: list[str]) -> bytes:
    message = Template('{"role":"user","v":$v}')
    return b"".join(reference(message.substitute(v=v) if v != "null" else '{"role":"user"}') for v in values)


def encode_both(folder: Path, text: str | bytes) -> tuple[Encoded, Encoded]:
    """Scan the file as apply would see it, then encode it as apply does (the scan's token
    given) and the checked way."""
    sessions = folder / ".sessions"
    sessions.mkdir(parents=True, exist_ok=True)
    path = sessions / "s1.json"
    data = text.encode("utf-8") if isinstance(text, str) else text
    path.write_bytes(data)
    scan = scan_workspace(str(folder))
    (session,) = scan.sessions
    assert session.sha256 is not None and session.content.readable, session.content.problems
    job = Job(str(path), session.sha256, frozenset(), session.content.messages_digest)
    return encode_transcript(job), checked_transcript(data, str(path), frozenset())


PLAIN = ['"hello"', '"caf\\u00e9 \\ud83d\\ude00 \\u2028"', "0", "-7", str(2 ** 63 - 1), str(-(2 ** 63)),
         str(2 ** 64 - 1), "true", "false", "null", '[1, [2, {"a": null}], {}]',
         '{"b": 1, "a": {"c": []}}', '"\\u0000\\u001f\\"\\\\"']


def test_a_plain_file_goes_the_fast_way_with_the_same_bytes(tmp_path: Path) -> None:
    fast, checked = encode_both(tmp_path, legacy_text(PLAIN))
    assert fast.failure is None and checked.failure is None
    assert fast.fast and not checked.fast
    assert fast.out == checked.out == want(PLAIN)
    assert fast.sha256 == checked.sha256
    (session,) = scan_workspace(str(tmp_path)).sessions
    assert session.content.messages_digest == exact_token(sha256_of(tmp_path / ".sessions" / "s1.json"))


ORJSON_READS_OTHERWISE = ("1E5", "0.10", "1e16", "1e-07", "1.5", "0.1", "-0", "-0.0", "NaN", str(2 ** 64),
                          str(-(2 ** 63) - 1), "-1e400", "9" * 4300)


@pytest.mark.parametrize("literal", EDGE_LITERALS)
def test_numbers_orjson_reads_otherwise_go_the_checked_way(tmp_path: Path, literal: str) -> None:
    fast, checked = encode_both(tmp_path, legacy_text([literal, '"x"']))
    assert fast.out == checked.out == want([literal, '"x"'])
    (session,) = scan_workspace(str(tmp_path)).sessions
    if literal in ORJSON_READS_OTHERWISE:
        assert not fast.fast  # a float, a lost sign, refused, an integer made a float...
        assert session.content.messages_digest is None
    if literal in ("0", "-1", str(2 ** 63 - 1), str(2 ** 64 - 1), str(-(2 ** 63))):
        assert fast.fast


def test_a_lone_surrogate_and_a_repeated_key_are_written_as_the_scan_read_them(tmp_path: Path) -> None:
    for values in (['"\\ud800 alone"'], ['{"k": 1, "j": 2, "k": 3}'], ['"a \\u0022 b"', '{"k": 1, "k": 2}']):
        fast, checked = encode_both(tmp_path, legacy_text(values))
        assert not fast.fast
        assert fast.out == checked.out == want(values)


def test_a_byte_order_mark_is_read_as_the_scan_reads_it(tmp_path: Path) -> None:
    fast, checked = encode_both(tmp_path, b"\xef\xbb\xbf" + legacy_text(PLAIN).encode())
    assert not fast.fast
    assert fast.out == checked.out == want(PLAIN)


def test_a_token_for_other_bytes_is_not_trusted(tmp_path: Path) -> None:
    """The scan's token names the bytes it proved; for any other bytes apply proves it again."""
    values = ['{"a": 1.5}', "-0"]
    encode_both(tmp_path, legacy_text(values))
    path = tmp_path / ".sessions" / "s1.json"
    again = encode_transcript(Job(str(path), sha256_of(path), frozenset(), exact_token("0" * 64)))
    assert not again.fast and again.out == want(values)
    plain = tmp_path / "plain"
    fast, _ = encode_both(plain, legacy_text(PLAIN))
    path = plain / ".sessions" / "s1.json"
    proven_here = encode_transcript(Job(str(path), sha256_of(path), frozenset(), None))
    assert proven_here.fast and proven_here.out == fast.out == want(PLAIN)


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
@example(values=['{"a": -0, "a": [0, -0]}', "-0", '[1, -0, 2]'])
def test_any_json_is_written_the_same_both_ways(tmp_path_factory: pytest.TempPathFactory,
                                                values: list[str]) -> None:
    folder = tmp_path_factory.mktemp("ws")
    fast, checked = encode_both(folder, legacy_text(values))
    assert fast.out == checked.out == want(values)
