"""``ObjectMembers.thinned``: the same keys, each value only the members asked for, read
back to exactly the values a whole lossless parse gives (a value it cannot thin is kept
whole, as written)."""

from __future__ import annotations

import sys

import pytest

from migrate_tui.core import jsonio
from migrate_tui.core.object_members import ObjectMembers
from tests.engine.test_object_members import TEXTS

NAMES = ("session_id", "session_file")

MORE = [
    # the usual entry, and every kind of value a wanted member may hold
    '{"agent:main:a": {"session_id": "s1", "updated_at": 1, "session_file": "s1.jsonl", "x": [1]},'
    ' "agent:main:b": {"session_file": "s2.jsonl", "label": "z", "session_id": "s2"},'
    ' "agent:main:c": {"session_id": null, "session_file": true}, "agent:main:d": {"session_id": 12},'
    ' "agent:main:e": {"session_id": -0, "session_file": "e"}, "agent:main:f": {"session_id": 1.5},'
    ' "agent:main:g": {"session_id": {"n": 1}}, "agent:main:h": {"session_id": "\\ud800 \\"q\\" é"},'
    ' "agent:main:i": {"session_id": "x", "session_id": "y"}, "agent:main:j": {},'
    ' "agent:main:k": {"session_id": ' + "9" * 5000 + '}, "agent:main:😀\\"": {"session_id": "ü"}}',
]


def _wanted(entry: dict) -> dict:
    return {name: value for name, value in entry.items() if name in NAMES}


@pytest.mark.parametrize("text", TEXTS + MORE)
def test_the_thinned_values_are_the_whole_parses_wanted_members(text: str) -> None:
    whole = jsonio.loads(text)
    held = ObjectMembers.split(text)
    assert held is not None
    thin = held.thinned(NAMES)
    assert list(thin) == list(whole) and len(thin) == len(whole)
    for key, entry in whole.items():
        assert key in thin
        got = thin[key]
        # a thinned value holds exactly the wanted members; one kept whole, all of them
        assert got == _wanted(entry) or jsonio.same_value(got, entry), (key, got)
        for name in NAMES:
            assert repr(got.get(name)) == repr(entry.get(name)), (key, name)
    assert [k for k, _ in thin.items()] == list(whole)
    assert "missing" not in thin


def test_a_thinned_text_is_a_fraction_of_the_whole() -> None:
    entry = ('{"session_id": "%s", "updated_at": 1753505499887, "session_file": "%s.jsonl", '
             '"label": "Trip planning", "channel": "webchat", "model": "claude-sonnet-4", '
             '"input_tokens": 128173, "output_tokens": 18310, "context_tokens": 200000}')
    text = "{" + ", ".join(f'"agent:main:k{n}": ' + entry % (f"id-{n}", f"id-{n}")
                           for n in range(6000)) + "}"  # joined in chunks
    held = ObjectMembers.split(text)
    assert held is not None
    thin = held.thinned(NAMES)
    assert sys.getsizeof(thin._text) < sys.getsizeof(held._text) / 2
    assert thin["agent:main:k1234"] == {"session_id": "id-1234", "session_file": "id-1234.jsonl"}
    assert thin["agent:main:k5999"] == {"session_id": "id-5999", "session_file": "id-5999.jsonl"}
    assert list(thin) == list(held)
    assert thin._careful == frozenset()
