"""The plan screen's sorts and queries go over every session (200,000 in the wizard's
benchmark), so they read each session by short ways (``status_rank``, ``query_keys``,
``Query.test``, a mark looked up in the rows' index) and list a slice at a time (a listing
replaced by another stops there): each must say exactly what the plain way says, for
sessions in every state."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from migrate_tui.demo import generate_workspace
from migrate_tui.engine import SKIP, Decision, build_plan, scan_workspace
from migrate_tui.engine.plan import with_decisions
from migrate_tui.engine.selection import parse_query, session_keys, status_rank
from migrate_tui.tui import plan_filter
from migrate_tui.tui.plan_filter import filter_sessions, listed
from migrate_tui.tui.screens import fix as fix_screen
from migrate_tui.tui.screens.fix import sharing
from migrate_tui.tui.widgets.session_table import _STATUS_ORDER, SORTS, SessionTable, sorted_rows, status_of


@pytest.fixture
def plan(tmp_path: Path):  # type: ignore[no-untyped-def]
    info = generate_workspace(tmp_path, sessions=40, damaged=True, seed=7)
    folder = info.sessions_dir
    (folder / "copy-of-main.json").write_bytes((folder / f"{info.session_ids[0]}.json").read_bytes())
    (folder / "sessions.json").write_text(json.dumps(
        {next(iter(info.session_map)): {"session_id": "someone-else", "updated_at": 1}}))
    (folder / "empty.json").write_bytes(b"")
    plan = build_plan(scan_workspace(str(info.root)))
    rng = random.Random(3)
    ids = [ps.file_id for ps in plan.sessions]
    changes: dict[str, Decision] = {fid: SKIP for fid in rng.sample(ids, 6)}
    fixable = [ps for ps in plan.sessions if ps.file_id not in changes
               and ps.open_problems and ps.open_problems[0].fixes]
    for ps in fixable[::2]:  # the others stay blocked
        changes[ps.file_id] = Decision(fixes=frozenset({ps.open_problems[0].fixes[0]}))
    return with_decisions(plan, changes)


def test_the_status_rank_is_the_order_of_the_status_shown(plan) -> None:  # type: ignore[no-untyped-def]
    seen = set()
    for ps in plan.sessions:
        text = status_of(ps)[0]
        seen.add(text)
        assert status_rank(ps) == _STATUS_ORDER[text], ps.file_id
    assert {"✗ problem", "! warning", "✓ fixed", "✓ migrate", "– skip"} <= seen, seen


def test_every_sort_orders_as_the_plain_keys_do(plan) -> None:  # type: ignore[no-untyped-def]
    plain = {
        "status": lambda ps: _STATUS_ORDER[status_of(ps)[0]],
        "session": lambda ps: ps.file_id,
        "keys": lambda ps: len(session_keys(ps)),
        "size": lambda ps: ps.scan.size,
    }
    rows = list(plan.sessions)
    for name, key in plain.items():
        assert name in SORTS
        for descending in (False, True):
            assert sorted_rows(rows, name, descending) == sorted(rows, key=key, reverse=descending), name


@pytest.mark.parametrize("text", [
    "key:*:cron:*", "-key:*:cron:*", "key:telegram", "telegram", "-telegram", "status:blocked",
    "-status:skip key:agent:*", "problem:invalid_json", "msgs>2 -empty", "id:copy", "",
])
def test_a_query_lists_what_matching_each_session_lists(plan, text: str) -> None:  # type: ignore[no-untyped-def]
    query = parse_query(text)
    for ps in plan.sessions:
        assert list(ps.query_keys()) == session_keys(ps)
        assert query.test(ps) is query.matches(ps), (text, ps.file_id)
    for which in ("all", "problems", "warnings", "skipped"):
        assert filter_sessions(plan, which, query) == [ps for ps in plan.sessions if listed(ps, which, query)]


def test_the_marked_rows_listed_are_counted_from_the_rows_index(plan) -> None:  # type: ignore[no-untyped-def]
    table = SessionTable()
    rows = sorted_rows(list(plan.sessions)[5:], "status", False)
    table._items = rows  # (set_items needs a mounted widget: the rows alone are enough here)
    table._rows = None
    ids = [ps.file_id for ps in plan.sessions]
    table.marked = {ids[0], ids[7], ids[9], "not-a-session"}
    assert table.listed_marked == 2
    table.marked = set(ids)  # as many marks as rows, or more: counted over the rows
    assert table.listed_marked == len(rows)


def never() -> bool:
    return False


@pytest.mark.parametrize("chunk", [1, 7, 5_000])
def test_listing_in_slices_lists_what_filtering_then_sorting_lists(plan, chunk: int, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(plan_filter, "LIST_CHUNK", chunk)
    for which in ("all", "problems", "warnings", "skipped"):
        for text in ("", "key:agent:*", "-telegram"):
            query = parse_query(text)
            for sort, (_label, key) in SORTS.items():
                for descending in (False, True):
                    listed_rows = plan_filter.list_sessions(plan, which, query, key, descending, never)
                    expected = sorted_rows(filter_sessions(plan, which, query), sort, descending)
                    assert listed_rows == expected, (which, text, sort, descending)
                    assert plan_filter.rows_index(listed_rows, never) == \
                        {ps.file_id: n for n, ps in enumerate(listed_rows)}


def test_a_listing_replaced_by_another_stops_within_a_slice(plan, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(plan_filter, "LIST_CHUNK", 5)
    monkeypatch.setattr(fix_screen, "LIST_CHUNK", 5)
    asked: list[int] = []

    def stopped_at_third() -> bool:
        asked.append(1)
        return len(asked) >= 3

    assert plan_filter.list_sessions(plan, "all", parse_query("key:*"), SORTS["status"][1], False,
                                     stopped_at_third) is None
    assert len(asked) == 3  # asked between slices, and it stopped the first time it was told
    asked.clear()
    assert plan_filter.rows_index(list(plan.sessions), stopped_at_third) is None
    asked.clear()
    code = next(ps.open_problems[0].code for ps in plan.sessions if ps.open_problems)
    assert sharing(plan, code, None, stopped_at_third) is None
    found = sharing(plan, code, None)
    assert found and found == [ps.file_id for ps in plan.sessions
                               if any(p.code == code for p in ps.open_problems)]
