"""ObjectMembers thinned as it is split (verify's sessions.json): the members named, and the
whole object back from its compressed text."""

from __future__ import annotations

from migrate_tui.core import jsonio
from migrate_tui.core.object_members import ObjectMembers, thinning_at_split

TEXT = ('{"a": {"session_id": "x", "label": "caf\u00e9 \ud83d\ude00", "session_file": "x.jsonl"},\n'
        ' "b": {"n": -0, "session_id": "y", "big": ' + "9" * 5000 + '},\n'
        ' "c": {"session_file": ["not", "plain"], "session_id": "z"}}')


def test_split_in_it_keeps_only_the_members_named_and_the_whole_back() -> None:
    with thinning_at_split(("session_id", "session_file")):
        thin = ObjectMembers.split(TEXT)
    assert thin is not None and thin.is_thinned_at_split()
    assert dict(thin.items()) == {"a": {"session_id": "x", "session_file": "x.jsonl"},
                                  "b": {"session_id": "y"},
                                  "c": {"session_file": ["not", "plain"], "session_id": "z"}}
    whole = thin.whole()
    assert not whole.is_thinned_at_split()
    assert list(whole) == ["a", "b", "c"]
    for key, value in jsonio.loads(TEXT).items():
        assert jsonio.same_value(whole[key], value)
    thin.drop_whole()
    assert thin.whole() is thin


def test_split_outside_it_is_whole() -> None:
    with thinning_at_split(("session_id",)):
        pass
    held = ObjectMembers.split(TEXT)
    assert held is not None and not held.is_thinned_at_split()
    assert held["a"]["label"] == "caf\u00e9 \ud83d\ude00"


VALID = ('  {"a": {"session_id": "x", "label": "caf\u00e9 \U0001f600", "session_file": "x.jsonl"},\n'
         ' "b": {"n": -0, "session_id": "y", "big": ' + "9" * 5000 + '},\n'
         ' "c\\u00e9" : {"session_file": ["not", "plain"], "session_id": "z", "d": {"q": 1, "q": 2}},'
         '"e":{}}  \n')


def _in_pieces(data: bytes, size: int) -> list[bytes]:
    return [data[at:at + size] for at in range(0, len(data), size)]


def test_split_thinned_in_pieces_is_split_thinned_whole() -> None:
    for text in (VALID, "{}", " { } ", '{"a": {}}'):
        data = text.encode("utf-8")
        with thinning_at_split(("session_id", "session_file")):
            whole_dups = jsonio.DuplicateKeys()
            whole = ObjectMembers.split(text, whole_dups)
            assert whole is not None
            for size in (1, 2, 3, 7, 100, 1 << 20):
                dups = jsonio.DuplicateKeys()
                thin = ObjectMembers.split_thinned(iter(_in_pieces(data, size)), dups)
                assert thin is not None and thin.is_thinned_at_split()
                assert dups.keys == whole_dups.keys
                assert list(thin) == list(whole)
                assert thin._text == whole._text
                assert (thin._starts, thin._ends, thin._keys) == (whole._starts, whole._ends, whole._keys)
                assert thin._careful == whole._careful
                assert thin.whole()._text == whole.whole()._text
                for key in whole:
                    assert jsonio.same_value(thin[key], whole[key])


def test_split_thinned_gives_up_where_the_whole_text_says_what_is_wrong() -> None:
    wrong = [b'{"a": 1}', b'{"a": {}, }', b'{"a": {}} x', b'{"a": {}, "a": {}}', b'[]', b'',
             b'{"a": {}', b'{"a" {}}', '\ufeff{"a": {}}'.encode(), b'{"a": {"x": "\xff"}}',
             b'{"a": {"x": "\xc3']
    with thinning_at_split(("session_id",)):
        for data in wrong:
            for size in (1, 3, 1 << 20):
                assert ObjectMembers.split_thinned(iter(_in_pieces(data, size))) is None, data
        assert ObjectMembers.split_thinned(iter([b'{"a": {"x": "\xc3', b'\xa9"}}'])) is not None
    assert ObjectMembers.split_thinned(iter([b'{"a": {}}'])) is None  # thinning off


def test_split_thinned_keeps_whole_what_it_is_told_and_no_compressed_text() -> None:
    data = VALID.encode("utf-8")
    with thinning_at_split(("session_id", "session_file")):
        whole = ObjectMembers.split(VALID)
        assert whole is not None
        for size in (1, 5, 1 << 20):
            thin = ObjectMembers.split_thinned(iter(_in_pieces(data, size)), None,
                                               lambda entry: entry.get("session_id") == "y")
            assert thin is not None and thin.is_thinned_at_split() and thin.whole() is thin
            assert list(thin) == list(whole)
            assert thin["a"] == {"session_id": "x", "session_file": "x.jsonl"}
            assert jsonio.same_value(thin["b"], whole.whole()["b"])  # kept whole, -0 and all
            assert thin._careful == frozenset({1})
