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
