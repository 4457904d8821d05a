"""Fuzzing the legacy reader and salvage (docs/problems.md: damaged files are reported, never a crash;
``salvage`` keeps "the complete messages before the damage").

Bytes in: arbitrary bytes, and valid legacy files (written as the old writer did) cut short,
with bytes flipped, inserted or deleted.  For every combination of the content fixes
``read_legacy`` returns (never raises) and names a problem whenever it cannot read the file.
Salvage never invents a message: what it keeps of a damaged file is the file's own messages,
in order, from the first (a prefix), and it loses none that lie wholly before the damage.
"""

from __future__ import annotations

import itertools
from typing import Any

from hypothesis import example, given
from hypothesis import strategies as st

from migrate_tui.core import jsonio
from migrate_tui.engine.legacy import LegacyContent, read_legacy
from migrate_tui.engine.model import CONTENT_FIXES
from tests.proof.proof_support import exact_loads, obj_get, proof_settings
from tests.proof.test_lossless_property import dump_legacy, messages

COMBOS = [frozenset(c) for n in range(len(CONTENT_FIXES) + 1)
          for c in itertools.combinations(sorted(CONTENT_FIXES), n)]
ENCODER = jsonio.LineEncoder()


def read_all_ways(data: bytes) -> dict[frozenset[str], LegacyContent]:
    out = {}
    for fixes in COMBOS:
        content = read_legacy(data, "f.json", fixes)
        assert isinstance(content, LegacyContent)
        if not content.readable:
            assert content.problems, f"unreadable with {sorted(fixes)} and no problem named"
        out[fixes] = content
    return out


@st.composite
def legacy_files(draw: Any) -> tuple[bytes, list[Any]]:
    """A valid legacy file as the old writer wrote it, and its messages (exactly parsed)."""
    msgs = draw(st.lists(messages(), max_size=5))
    doc = {"session_id": "fuzz", "messages": msgs, "metadata": {"label": "x"},
           "created_at": "2026-02-11T10:00:00+00:00", "updated_at": "2026-02-11T12:00:00+00:00"}
    data = dump_legacy(doc, draw(st.booleans()))
    return data, list(obj_get(exact_loads(data), "messages"))


def complete_before(data: bytes, end: int) -> int:
    """How many messages of a valid file (indent 2: each message closes with "\\n    }")
    end before byte ``end``."""
    stop = data.find(b'\n  ],\n  "metadata"')
    return data[:min(end, stop)].count(b"\n    }")


def _decodes(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def as_exact(message: Any) -> Any:
    """A message as read by the engine, written as a transcript line is, parsed exactly."""
    return exact_loads(ENCODER.line(message))


def is_json(data: bytes) -> bool:
    """Valid JSON (integers of any length: no conversion limit applies here)."""
    try:
        exact_loads(data)
    except (ValueError, RecursionError):
        return False
    return True


# ---------------------------------------------------------------- never raises


@proof_settings(default=200, long=5000)
@given(st.binary(max_size=3000))
@example(b"")
@example(b"\xef\xbb\xbf")
@example(b"\xff\xfe{\x00")
@example(b"[" * 100_000)
@example(b'{"messages": [' + b"[" * 50_000)
@example(b'{"messages": [{"role": "user", "n": ' + b"9" * 5000 + b"}, {")
@example(b'{"session_id": "x", "messages": [{"role": 1}], "metadata": []')
def test_arbitrary_bytes_are_reported_never_raised(data: bytes) -> None:
    read_all_ways(data)


MUTATIONS = st.one_of(
    st.tuples(st.just("cut"), st.integers(0, 10**6)),
    st.tuples(st.just("flip"), st.integers(0, 10**6), st.integers(0, 255)),
    st.tuples(st.just("insert"), st.integers(0, 10**6), st.binary(min_size=1, max_size=8)),
    st.tuples(st.just("delete"), st.integers(0, 10**6), st.integers(1, 8)),
)


def mutate(data: bytes, mutation: tuple[Any, ...]) -> tuple[bytes, int]:
    """The mutated bytes and the offset of the first byte that differs."""
    kind, at = mutation[0], mutation[1] % (len(data) + 1)
    if kind == "cut":
        return data[:at], at
    if kind == "flip":
        at = min(at, len(data) - 1)
        return data[:at] + bytes([mutation[2]]) + data[at + 1:], at
    if kind == "insert":
        return data[:at] + mutation[2] + data[at:], at
    return data[:at] + data[at + mutation[2]:], at


@proof_settings(default=150, long=3000)
@given(legacy_files(), st.lists(MUTATIONS, min_size=1, max_size=3))
def test_damaged_legacy_files_are_reported_never_raised(legacy: tuple[bytes, list[Any]],
                                                        mutations: list[Any]) -> None:
    data = legacy[0]
    for mutation in mutations:
        data, _ = mutate(data, mutation)
    read_all_ways(data)


def test_damage_that_turns_messages_into_a_number_is_reported() -> None:
    """Found by the long fuzz run: a cut file whose "messages" became ``0`` before the damage
    (salvage counted its length and crashed)."""
    data = b'{\n  "session_id": "fuzz",\n  "messages":0[],\n '
    read_all_ways(data)
    content = read_legacy(data, "f.json", frozenset({"salvage"}))
    assert not content.readable
    assert [p.code for p in content.problems][-1] == "wrong_shape"


# ---------------------------------------------------------------- salvage


@proof_settings(default=150, long=3000)
@given(legacy_files(), st.integers(0, 10**6))
def test_salvage_of_a_cut_file_keeps_exactly_the_complete_messages(legacy: tuple[bytes, list[Any]],
                                                                   cut: int) -> None:
    """A file cut short by a crash (the old writer wrote in place): salvage keeps exactly the
    messages complete before the cut, in order, each exactly as it was.

    The old writer wrote ASCII only (``ensure_ascii``); a file written as UTF-8 may be cut in
    the middle of a character, which is then also "not UTF-8" and needs ``replace-bytes``
    too (the U+FFFD lands in the incomplete message, which salvage drops anyway)."""
    valid, originals = legacy
    data = valid[:cut % (len(valid) + 1)]
    if is_json(data):
        return
    cut_in_a_character = not _decodes(data)
    fixes = {"salvage", "replace-bytes"} if cut_in_a_character else {"salvage"}
    out = read_legacy(data, "f.json", frozenset(fixes))
    expected = complete_before(valid, len(data))
    if b'"messages": [' not in data:
        assert out.messages == []
        return
    assert out.salvage_count == expected
    assert [as_exact(m) for m in out.messages] == originals[:expected]
    for fixes in COMBOS:  # the same with any other fix alongside
        if "salvage" in fixes and ("replace-bytes" in fixes or not cut_in_a_character):
            other = read_legacy(data, "f.json", fixes)
            assert [as_exact(m) for m in other.messages] == originals[:expected]


def _salvaged(valid: bytes, mutation: tuple[Any, ...]) -> tuple[list[Any], int] | None:
    """What salvage keeps of the damaged file (with the other content fixes: a byte that is
    not UTF-8 becomes U+FFFD, a damaged item without a role is dropped), and the offset of the
    damage; None if the damage left valid JSON (a different file, not a damaged one)."""
    data, at = mutate(valid, mutation)
    if is_json(data):
        return None
    out = read_legacy(data, "f.json", frozenset({"salvage", "drop-bad-messages", "replace-bytes"}))
    return [as_exact(m) for m in out.messages], at


FLIPS = st.tuples(st.just("flip"), st.integers(0, 10**6), st.integers(0, 255))
SPLICES = st.one_of(
    st.tuples(st.just("insert"), st.integers(0, 10**6), st.binary(min_size=1, max_size=8)),
    st.tuples(st.just("delete"), st.integers(0, 10**6), st.integers(1, 8)),
)


@proof_settings(default=150, long=3000)
@given(legacy_files(), FLIPS)
def test_salvage_after_a_flipped_byte_keeps_only_the_file_s_own_messages(
        legacy: tuple[bytes, list[Any]], mutation: tuple[Any, ...]) -> None:
    """One byte flipped: what salvage keeps is the file's own messages, in order, from the
    first; only the one message the flipped byte is in may be missing or come out changed
    (the byte is in it); nothing before it is lost."""
    valid, originals = legacy
    salvaged = _salvaged(valid, mutation)
    if salvaged is None:
        return
    kept, at = salvaged
    hit = complete_before(valid, at)  # the message the flip is in (or after the last one)
    assert kept[:hit] == originals[:hit], "salvage lost or changed a message before the damage"
    rest = kept[hit:]
    without_hit = rest == originals[hit + 1:hit + 1 + len(rest)]
    with_hit = bool(rest) and rest[1:] == originals[hit + 1:hit + len(rest)]
    assert without_hit or with_hit, "salvage kept a message the file never had"


@proof_settings(default=150, long=3000)
@given(legacy_files(), SPLICES)
def test_salvage_after_inserted_or_deleted_bytes_loses_nothing_before_the_damage(
        legacy: tuple[bytes, list[Any]], mutation: tuple[Any, ...]) -> None:
    """Bytes inserted or deleted: the messages wholly before the damage are kept, exactly.
    (What follows the damage cannot be told apart from a real message in general: see the
    next test.)"""
    valid, originals = legacy
    salvaged = _salvaged(valid, mutation)
    if salvaged is None:
        return
    kept, at = salvaged
    before = complete_before(valid, at)
    if b'"messages": [' in valid[:at]:
        assert kept[:before] == originals[:before]


def test_salvage_never_keeps_a_message_whose_end_was_deleted() -> None:
    doc = {"session_id": "x", "messages": [{"role": "user", "content": "a"}, {"role": "user"}],
           "metadata": {"label": "x"}, "updated_at": "2026-02-11T12:00:00"}
    valid = dump_legacy(doc, True)
    end = valid.index(b"\n    }\n  ],")
    damaged = valid[:end] + b",\n  " + valid[end + len(b"\n    }\n  ],"):]  # "}\n  ]" gone
    assert not is_json(damaged)
    out = read_legacy(damaged, "f.json", frozenset({"salvage"}))
    originals = list(obj_get(exact_loads(valid), "messages"))
    kept = [as_exact(m) for m in out.messages]
    assert kept == originals[:len(kept)], f"salvage kept {kept[-1]}"
    assert len(kept) == 1  # the damaged last message is not kept


def test_salvage_keeps_the_last_message_when_a_crash_cuts_right_after_it() -> None:
    """The other side of the test above: a file cut exactly after a message's closing brace
    (the writer died there) keeps that message, which closes at the indentation it opened."""
    doc = {"session_id": "x", "messages": [{"role": "user", "content": "a"}, {"role": "user"}],
           "metadata": {"label": "x"}, "updated_at": "2026-02-11T12:00:00"}
    valid = dump_legacy(doc, True)
    cut = valid.index(b"\n    }\n  ],") + len(b"\n    }")
    out = read_legacy(valid[:cut], "f.json", frozenset({"salvage"}))
    originals = list(obj_get(exact_loads(valid), "messages"))
    assert [as_exact(m) for m in out.messages] == originals


def test_salvage_keeps_complete_messages_holding_integers_beyond_the_digit_limit() -> None:
    """Found by the fuzzing above: salvage read with Python's default integer limit, so a
    complete message holding a 5,000-digit integer ended the salvage, and it and every later
    complete message were lost."""
    from tests.proof.test_lossless_property import Raw

    big = "7" * 5000
    msgs = [{"role": "user", "n": Raw(big)}, {"role": "assistant", "content": "after"},
            {"role": "user", "content": "cut here"}]
    doc = {"session_id": "fuzz", "messages": msgs, "metadata": {}, "updated_at": "2026-02-11T12:00:00"}
    valid = dump_legacy(doc, True)
    cut = valid.index(b"cut here")
    out = read_legacy(valid[:cut], "f.json", frozenset({"salvage"}))
    assert out.salvage_count == 2
    originals = list(obj_get(exact_loads(valid), "messages"))
    assert [as_exact(m) for m in out.messages] == originals[:2]
    assert obj_get(as_exact(out.messages[0]), "n") == ("int", big)
