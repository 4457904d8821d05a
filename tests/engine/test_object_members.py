"""sessions.json held as its text (``ObjectMembers``): every value, looked up, is the one a
whole lossless parse gives; anything but a well-formed object of objects is left to the
whole parse (None), and repeated keys are found as the whole parse finds them."""

from __future__ import annotations

import sys

import pytest

from migrate_tui.core import jsonio
from migrate_tui.core.object_members import ObjectMembers

TEXTS = [
    "{}",
    " {\n} \n",
    '{"a": {}}',
    '{"agent:main:x": {"session_id": "x", "n": 12345678901234567890123, "f": 1E5, "g": 0.10,'
    ' "z": -0, "u": "\\u00e9\\ud800", "nan": NaN, "deep": {"l": [1, [2, {"m": null}]]}}}',
    '{\n  "k1": {"a": 1},\n  "k2" :{ "b" : [true,false] } ,"k3":{"é": "ü"}\n}',
    '{"a": {"x": 1}, "b": {"y": 2}, "a": {"z": 3}}',  # a repeated key: the last value, first place
    '{"a": {"x": 1, "x": 2}, "b": {"y": {"q": 1, "q": 2}}}',  # repeated inside entries
    # not ASCII (held as UTF-8): one, two, three and four bytes a character, in keys and values
    '{"é": {"v": "a😀b"}, "😀": {"v": "ü"}, "z": {"\u00e9": "中文"}, "é": {"last": "ü😀"}}',
    '{"k": {"v": "' + "é" * 1000 + '"}, "k2": {"w": "😀"}, "k3": {}}',
]


def test_a_text_not_ascii_is_held_as_its_utf8() -> None:
    text = '{"a": {"v": "' + "x" * 100_000 + '"}, "b": {"v": "😀"}}'
    held = ObjectMembers.split(text)
    assert held is not None and held["b"] == {"v": "😀"} and len(held["a"]["v"]) == 100_000
    # the text as 4 bytes a character would be 400 KB: held as UTF-8, about 100 KB
    assert sys.getsizeof(held._text) < 2 * len(text.encode())


@pytest.mark.parametrize("text", TEXTS)
def test_every_value_is_the_whole_parse_s(text: str) -> None:
    whole_dups, dups = jsonio.DuplicateKeys(), jsonio.DuplicateKeys()
    whole = jsonio.loads(text, whole_dups)
    held = ObjectMembers.split(text, dups)
    assert held is not None
    assert list(held) == list(whole) and len(held) == len(whole)
    for key in whole:
        assert key in held
        assert jsonio.same_value(held[key], whole[key])
        assert repr(held[key]) == repr(whole[key])  # same types: RawNumber, JsonFloat, int
    assert dups.keys == whole_dups.keys
    assert "missing" not in held and held.get("missing") is None


def test_a_value_looked_up_is_parsed_again_each_time() -> None:
    held = ObjectMembers.split('{"a": {"list": [1]}}')
    assert held is not None
    first = held["a"]
    first["list"].append(2)
    assert held["a"] == {"list": [1]}  # the caller's changes are its own


@pytest.mark.parametrize("text", [
    "", "[]", '"a"', "{", '{"a": {}', '{"a": {}}}', '{"a": {}} x', '{"a" {}}', '{"a": {},}',
    '{"a": 1}', '{"a": [{}]}', '{"a": {}, "b": null}', "{'a': {}}", '{"a": {"b": }}',
    '{"a\x01": {}}', '{"a": {"b": "\x01"}}', "{" + '"a": ' * 1 + "[" * 100000 + "]" * 100000 + "}",
])
def test_anything_else_is_left_to_the_whole_parse(text: str) -> None:
    dups = jsonio.DuplicateKeys()
    assert ObjectMembers.split(text, dups) is None
    assert dups.keys == []  # nothing half counted: the whole parse counts them


# keys held as their place in the text and their hash: looked up, read and compared there
KEYED = [
    '{"\\u0061": {"v": 1}, "b\\"q": {"v": 2}, "c\\\\d": {"v": 3}, "\\u00e9": {"v": 4}, "": {"v": 5}}',
    '{"é": {"v": 1}, "\\u00e9x": {"v": 2}, "a\\nb": {"v": 3}, "😀": {}, "é": {"v": 6}}',
    "{" + ", ".join(f'"agent:main:k{n}": {{"n": {n}}}' for n in range(5000)) + "}",
    "{" + ", ".join(f'"é{n}": {{"n": {n}}}' for n in range(3000)) + ', "é7": {"again": 1}}',
]


@pytest.mark.parametrize("text", KEYED)
def test_keys_are_found_as_a_dict_finds_them(text: str) -> None:
    whole = jsonio.loads(text)
    held = ObjectMembers.split(text)
    assert held is not None and len(held) == len(whole)
    assert list(held) == list(whole)
    assert [k for k, _ in held.items()] == list(whole)
    assert all(jsonio.same_value(a, b) for a, b in zip(held.values(), whole.values(), strict=True))
    assert all(jsonio.same_value(v, whole[k]) for k, v in held.items())
    for key in whole:
        assert key in held and jsonio.same_value(held[key], whole[key]), key
        assert (key, held[key]) in held.items()
    for other in ("missing", "a ", "agent:main:k5000", "é3000", "b", "c\\d\\", "\\u0061", 1, 1.5, None, b"a"):
        assert (other in held) == (other in whole), other
        assert held.get(other) is None if other not in whole else True  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        [] in held  # noqa: B015 - unhashable, as with a dict
    with pytest.raises(KeyError):
        held["missing"]


def test_keys_are_not_held_as_strings() -> None:
    text = "{" + ", ".join(f'"agent:main:key-{n:06d}": {{"n": {n}}}' for n in range(20_000)) + "}"
    held = ObjectMembers.split(text)
    assert held is not None
    from array import array
    held_kinds = {name: type(getattr(held, name)) for name in held.__slots__
                  if name not in ("_scan", "_plain_scan", "_careful", "_whole", "_thin")}
    assert set(held_kinds.values()) <= {array, str}, held_kinds  # no dict, no list of keys
    assert held._careful == frozenset()  # no value holds an integer to read with care
    assert held["agent:main:key-012345"] == {"n": 12345}


def test_the_values_holding_odd_integers_are_read_with_care() -> None:
    # -0 and an integer past int's limit are kept as written (RawNumber); the values beside
    # them, read the quicker way, have their integers as ints
    big = "7" * 5000
    text = ('{"a": {"n": 1, "m": [2, -3]}, "b": {"z": -0}, "c": {"big": ' + big + '}, '
            '"d": {"f": -0.0, "g": 1E5, "n": -1}, "b": {"z": [0, -0]}, "e": {"s": "-0"}}')
    whole = jsonio.loads(text)
    held = ObjectMembers.split(text)
    assert held is not None
    assert held._careful == frozenset({1, 2})  # "b" (its last value too) and "c"
    for key in whole:
        assert repr(held[key]) == repr(whole[key])
    assert held["b"]["z"][1] == jsonio.RawNumber("-0") and held["c"]["big"] == jsonio.RawNumber(big)
    assert type(held["a"]["m"][1]) is int and type(held["d"]["n"]) is int


def test_a_repeated_key_is_read_with_care_only_when_its_last_value_needs_it() -> None:
    held = ObjectMembers.split('{"a": {"z": -0}, "b": {}, "a": {"z": 0}}')
    assert held is not None and held._careful == frozenset() and repr(held["a"]) == "{'z': 0}"
