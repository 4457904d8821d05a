"""The compact records: a ContentSummary's metadata packed into one bytes object, a plain
PlannedSession that reads from its scan.  What they give back is what was put in, whatever
the values, across processes and pickling."""

from __future__ import annotations

import multiprocessing
import pickle
from typing import Any

import pytest

from migrate_tui.core import jsonio
from migrate_tui.core.entry_fields import SESSION_ENTRY_FIELDS
from migrate_tui.engine import model
from migrate_tui.engine.model import (
    MIGRATE,
    SKIP,
    ContentSummary,
    Decision,
    PlannedSession,
    SessionScan,
    packed_fields_in,
    packed_fields_out,
)
from migrate_tui.engine.plan import build_plan
from migrate_tui.engine.scan import scan_workspace
from tests.engine.engine_support import Workspace

ODD: dict[str, Any] = {
    "big": 123456789012345678901234567890,
    "negative_big": -(2**80),
    "small": 7,
    "non_ascii": "Grüße 日本 🎉",
    "surrogate": "\ud800 alone",
    "none": None,
    "true": True,
    "false": False,
    "float": 0.1,
    "negative_zero": -0.0,
    "nested": {"a": [1, {"b": None, "c": ["x", 2.5, {"d": {}}]}], "z": []},
    "empty": "",
}


def _same(a: Any, b: Any) -> bool:
    """Equal, and of the same types all the way down (1 == 1.0 == True would hide a loss)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return list(a) == list(b) and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float):
        return repr(a) == repr(b)
    if isinstance(a, jsonio.RawNumber):
        return repr(a) == repr(b)
    return bool(a == b)


def test_odd_values_come_back_as_they_went_in() -> None:
    c = ContentSummary(readable=True, entry_fields=ODD)
    assert type(c._fields) is bytes  # packed, not a tuple of objects
    assert _same(c.entry_fields, ODD)
    assert list(c.entry_fields) == list(ODD)  # in their order
    c.entry_fields["big"] = 0  # a new dict at each call
    assert c.entry_fields["big"] == ODD["big"]


def test_values_the_lossless_parser_tags_come_back_tagged() -> None:
    parsed = jsonio.loads('{"f": 1.5, "e": 1E5, "t": 0.10, "n": [2.0, {"deep": 1e-7}], "i": 3}')
    assert type(parsed["e"]) is not float  # what marshal cannot write exactly
    c = ContentSummary(readable=True, entry_fields=parsed)
    assert type(c._fields) is bytes
    back = c.entry_fields
    assert _same(back, parsed)
    # written back as they were read
    assert jsonio.LineEncoder().line(back) == jsonio.LineEncoder().line(parsed)


def test_set_entry_fields_keeps_names_and_values_paired() -> None:
    c = ContentSummary(readable=True)
    c.set_entry_fields(("b", "a"), [None, {"x": 10**30}])
    assert c.entry_fields == {"b": None, "a": {"x": 10**30}}
    c.set_entry_fields((), [])
    assert c.entry_fields == {} and c._fields is None
    with pytest.raises(ValueError):
        c.set_entry_fields(("a", "b"), [1])


def test_what_cannot_be_packed_is_held_as_it_is() -> None:
    class Odd:  # neither marshal nor pickle can write a local class
        pass

    odd = Odd()
    c = ContentSummary(readable=True, entry_fields={"o": odd, "s": "x"})
    assert type(c._fields) is tuple
    assert c.entry_fields == {"o": odd, "s": "x"}


def test_equal_summaries_compare_equal_however_they_are_held() -> None:
    a = ContentSummary(readable=True, entry_fields=ODD)
    b = ContentSummary(readable=True, entry_fields=dict(ODD))
    assert a == b
    assert a != ContentSummary(readable=True, entry_fields={**ODD, "small": 8})


def _pack_in_child(fields: dict[str, Any]) -> Any:
    # a new set of names first: this process's table then places ``fields``' names
    # elsewhere than the parent's table does
    for n in range(3):
        ContentSummary(entry_fields={f"other{n}": n})
    summary = ContentSummary(readable=True, entry_fields=fields)
    return packed_fields_out(summary._fields), pickle.dumps(summary)


def test_packed_fields_cross_processes_with_their_names() -> None:
    fields = {"label": "Groceries", "big": 10**40, "nested": {"k": ["é", None]}}
    ContentSummary(entry_fields={"first": 1})  # the parent's table differs from the child's
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        sent, pickled = pool.apply(_pack_in_child, (fields,))
    got = ContentSummary(readable=True)
    got._fields = packed_fields_in(sent)
    assert got.entry_fields == fields
    assert pickle.loads(pickled).entry_fields == fields  # a variant comes back pickled


def test_a_scan_through_workers_carries_odd_metadata(ws: Workspace) -> None:
    # the odd values under names an entry carries
    carried = dict(zip(SESSION_ENTRY_FIELDS[3:], ODD.values(), strict=False))
    for n in range(12):
        ws.add(f"s-{n:02d}", metadata={**carried, "label": n})
    slow = scan_workspace(str(ws.root))
    fast = scan_workspace(str(ws.root), workers=True)
    for a, b in zip(slow.sessions, fast.sessions, strict=True):
        assert _same(a.content.entry_fields, b.content.entry_fields)
    assert fast.sessions == slow.sessions
    got = fast.sessions[3].content.entry_fields
    assert got == {**carried, "label": 3} and list(got) == [*carried, "label"]
    assert list(got.values())[:5] == list(ODD.values())[:5]  # big ints, non-ASCII, surrogate


def test_a_plain_planned_session_reads_its_scan_until_something_is_set(ws: Workspace) -> None:
    ws.add("a", metadata={"label": "Ä", "input_tokens": 2**70}, keys=("agent:main:a",))
    scan = scan_workspace(str(ws.root))
    plain = build_plan(scan, "main").sessions[0]
    s = scan.sessions[0]
    assert plain._more is None  # nothing held but its scan, decision and action
    assert (plain.final_id, plain.keys, plain.kept_keys, plain.transcript) == ("a", s.keys, (), "write")
    assert plain.entry == {"session_id": "a", "updated_at": s.content.updated_at_ms,
                           "session_file": "a.jsonl", "label": "Ä", "input_tokens": 2**70}
    assert plain.has_entry and plain.message_count == s.content.message_count
    assert plain.not_carried == s.content.not_carried

    # the same session spelled out value by value is the same, and shows the same
    full = PlannedSession(s, MIGRATE, "migrate", final_id="a", keys=s.keys,
                          entry=model.lazy_entry(s.content.updated_at_ms),
                          not_carried=s.content.not_carried,
                          message_count=s.content.message_count)
    assert full == plain and repr(full) == repr(plain)

    # setting a value holds them all: the others keep what they read
    plain.notes = ("a note",)
    assert plain._more is not None and plain.notes == ("a note",)
    assert plain.final_id == "a" and plain.entry == full.entry and plain != full
    plain.entry = None
    assert not plain.has_entry and plain.entry is None
    plain.final_id = "b"
    plain.entry = model.lazy_entry(5)
    assert plain.entry is not None and plain.entry["session_id"] == "b"
    assert plain.entry["updated_at"] == 5


def test_a_skipped_ordinary_session_is_plain_too(ws: Workspace) -> None:
    ws.add("a", keys=("agent:main:a",))
    ws.add("b", keys=("agent:main:b",))
    scan = scan_workspace(str(ws.root))
    plan = build_plan(scan, "main", {"b": SKIP})
    a, b = plan.sessions
    assert a._more is None and b._more is None
    assert (a.action, a.label, b.action, b.label) == ("migrate", "migrate", "skip", "skip")
    assert b.decision == Decision(skip=True)


def test_records_hold_no_dict_of_their_own() -> None:
    for record in (ContentSummary(), SessionScan("a.json", "a"),
                   PlannedSession(SessionScan("a.json", "a"), MIGRATE, "migrate")):
        assert not hasattr(record, "__dict__")


@pytest.mark.parametrize("updated, created", [
    (None, None), (0, None), (None, -1), (1_770_811_200_708, 1_770_811_100_000),
    (2**63 - 1, -(2**63)), (2**70, 5), (None, -(2**64)),
])
def test_dates_and_fields_packed_together_come_back(updated: int | None, created: int | None) -> None:
    fields = {"label": "x", "big": 10**30}
    c = ContentSummary(readable=True, updated_at_ms=updated, created_at_ms=created)
    assert (c.updated_at_ms, c.created_at_ms, c.entry_fields) == (updated, created, {})
    c.entry_fields = fields  # the dates stay
    assert (c.updated_at_ms, c.created_at_ms, c.entry_fields) == (updated, created, fields)
    c.updated_at_ms = 42  # the fields and the other date stay
    assert (c.updated_at_ms, c.created_at_ms, c.entry_fields) == (42, created, fields)
    c.created_at_ms = None
    c.updated_at_ms = updated
    assert (c.updated_at_ms, c.created_at_ms, c.entry_fields) == (updated, None, fields)
    c.entry_fields = {}
    assert (c.updated_at_ms, c.created_at_ms, c.entry_fields) == (updated, None, {})
    back = pickle.loads(pickle.dumps(c))
    assert back == c and back.updated_at_ms == updated
    if updated is not None and -(2**63) <= updated < 2**63:
        assert type(c._fields) is bytes  # the dates packed, no int of their own


def test_the_cheap_readers_give_what_the_entry_and_keys_give(ws: Workspace) -> None:
    # known_keys / entry_updated_at (the wizard's queries and sorts) against the slow forms,
    # for a plain session, one with values set, one with its own entry and one with none
    ws.add("a", metadata={"label": "x"}, keys=("agent:main:a", "cron:a"))
    scan = scan_workspace(str(ws.root))
    ps = build_plan(scan, "main").sessions[0]
    assert ps._more is None

    def check() -> None:
        assert ps.known_keys() == [*ps.keys, *ps.kept_keys]
        entry = ps.entry
        assert ps.entry_updated_at == (None if entry is None else entry.get("updated_at"))

    check()
    ps.kept_keys = ("agent:main:kept",)
    check()
    ps.entry = {"session_id": "a", "updated_at": 7, "session_file": "a.jsonl"}
    check()
    ps.entry = {"session_id": "a"}
    check()
    ps.entry = None
    check()


def test_a_settled_session_shares_its_values_and_reads_the_same(ws: Workspace) -> None:
    ws.add("a", metadata={"label": "x"}, keys=("agent:main:a",))
    ws.add("b", keys=("agent:main:b",))
    scan = scan_workspace(str(ws.root))
    a, b = scan.sessions

    def done(s: SessionScan) -> PlannedSession:
        return PlannedSession(s, MIGRATE, "done", final_id=s.file_id, kept_keys=s.keys,
                              entry=model.lazy_entry(s.content.updated_at_ms), transcript="same",
                              not_carried=s.content.not_carried,
                              message_count=s.content.message_count)

    first, second, spelled = done(a), done(b), done(a)
    first.share_more()
    second.share_more()
    assert type(first._more) is tuple and first._more is second._more  # one for both
    assert first == spelled and repr(first) == repr(spelled)
    assert (first.final_id, first.kept_keys, first.entry) == ("a", a.keys, spelled.entry)
    assert (second.final_id, second.message_count) == ("b", b.content.message_count)
    assert first.known_keys() == spelled.known_keys() and first.has_entry
    shared = first._more
    first.notes = ("a note",)  # a list of its own: the shared one is left as it was
    assert type(first._more) is list and first.notes == ("a note",) and first.final_id == "a"
    assert second._more is shared and second.notes == () and second.final_id == "b"

    # a value that is not the scan's, nor empty: not shared
    other = done(a)
    other.notes = ("kept",)
    other.share_more()
    assert type(other._more) is list
