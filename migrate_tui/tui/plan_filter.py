"""Which sessions of a plan the plan screen lists: the filter tab (all / problems / warnings /
skipped) and the query typed after ``/`` (engine/selection.py: words, ``key:``, ``problem:``,
``older:``…); and how those lists and the tabs' counts follow a plan that changed in some
sessions only (decisions), without going over all of them."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from operator import attrgetter
from typing import Any

from migrate_tui.engine import Plan, PlannedSession
from migrate_tui.engine.selection import Query, has_warning, parse_query

FILTERS = ("all", "problems", "warnings", "skipped")
NO_QUERY = Query("")


def matches(ps: PlannedSession, which: str) -> bool:
    if which == "problems":
        return ps.action == "blocked"
    if which == "warnings":
        return has_warning(ps)
    if which == "skipped":
        return ps.action == "skip"
    return True


def listed(ps: PlannedSession, which: str = "all", query: Query = NO_QUERY) -> bool:
    """Whether ``filter_sessions`` lists ``ps``."""
    return (which == "all" or matches(ps, which)) and query.matches(ps)


def filter_sessions(plan: Plan, which: str = "all", query: Query | str = NO_QUERY) -> list[PlannedSession]:
    if isinstance(query, str):
        query = parse_query(query)
    if which == "all" and query.is_empty:
        return list(plan.sessions)
    test = query.test
    if which == "all":
        return [ps for ps in plan.sessions if test(ps)]
    return [ps for ps in plan.sessions if matches(ps, which) and test(ps)]


LIST_CHUNK = 5_000  # sessions gone over between two looks at ``stopped`` (list_sessions)


def list_sessions(plan: Plan, which: str, query: Query, key: Callable[[PlannedSession], Any] | None,
                  descending: bool, stopped: Callable[[], bool]) -> list[PlannedSession] | None:
    """``filter_sessions`` sorted by ``key`` (stable; None: the plan's order, reversed when
    ``descending``), going over the sessions a slice at a time and asking ``stopped()``
    between two: None once it says so.  A worker lists with this: one that was replaced (a
    key pressed again) stops within a slice rather than going on over 200,000 sessions,
    which kept the interpreter from the keys pressed meanwhile."""
    sessions = plan.sessions
    test: Callable[[PlannedSession], bool] | None = None
    if which != "all":
        query_test = query.test
        test = (lambda ps: matches(ps, which)) if query.is_empty \
            else (lambda ps: matches(ps, which) and query_test(ps))
    elif not query.is_empty:
        test = query.test
    rows: list[PlannedSession] = []
    for start in range(0, len(sessions), LIST_CHUNK):
        if stopped():
            return None
        part = sessions[start:start + LIST_CHUNK]
        rows += part if test is None else [ps for ps in part if test(ps)]
    if key is None:
        return rows[::-1] if descending else rows
    keys: list[Any] = []
    for start in range(0, len(rows), LIST_CHUNK):
        if stopped():
            return None
        keys += map(key, rows[start:start + LIST_CHUNK])
    # (stable either way, as sorted(rows, key=key, reverse=descending) is)
    order = sorted(range(len(rows)), key=keys.__getitem__, reverse=descending)
    if stopped():
        return None
    return [rows[n] for n in order]


def rows_index(rows: Sequence[PlannedSession], stopped: Callable[[], bool]) -> dict[str, int] | None:
    """file id → row, a slice at a time (None once ``stopped()`` says so)."""
    index: dict[str, int] = {}
    for start in range(0, len(rows), LIST_CHUNK):
        if stopped():
            return None
        part = rows[start:start + LIST_CHUNK]
        index.update(zip(map(_file_id, part), range(start, start + len(part)), strict=True))
    return index


_file_id = attrgetter("scan.file_id")


def counted_in(ps: PlannedSession) -> list[str]:
    """The filters whose count includes ``ps`` ("all" always does)."""
    names = ["all"]
    if ps.action == "blocked":
        names.append("problems")
    elif ps.action == "skip":
        names.append("skipped")
    if has_warning(ps):
        names.append("warnings")
    return names


def filter_counts(plan: Plan) -> dict[str, int]:
    """How many sessions each filter lists (no query); ``counted_in`` for every session,
    written out as one loop (the tabs are counted once per plan shown, over all sessions)."""
    counts = dict.fromkeys(FILTERS, 0)
    counts["all"] = len(plan.sessions)
    for ps in plan.sessions:
        if ps.action == "blocked":
            counts["problems"] += 1
        elif ps.action == "skip":
            counts["skipped"] += 1
        if has_warning(ps):
            counts["warnings"] += 1
    return counts


def counts_of(plan: Plan) -> dict[str, int]:
    """``filter_counts(plan)``, read from the plan's totals (which count the same things:
    blocked, skipped, with a warning), without going over the sessions."""
    t = plan.totals
    return {"all": len(plan.sessions), "problems": t.blocked, "warnings": t.warnings, "skipped": t.skipped}


def changed_sessions(old: Plan, new: Plan) -> list[tuple[PlannedSession, PlannedSession]] | None:
    """The sessions that differ between two plans of the same scan, as (old, new) pairs; None
    when the plans do not list the same files in the same order.

    A plan made by ``with_decisions`` shares every unchanged ``PlannedSession`` with the plan
    it came from, so this is mostly an identity check; a plan built again from scratch is
    compared session by session."""
    if old is new:
        return []
    if len(old.sessions) != len(new.sessions):
        return None
    shared = old.__dict__.get("index")
    if shared is not None and new.__dict__.get("index") is shared:
        # made by with_decisions from ``old``: only the sessions whose decision changed differ
        index: dict[str, int] = old.index  # the same dict, now typed
        before, after = old.decisions, new.decisions
        changed = sorted(index[fid] for fid in before.keys() | after.keys()
                         if before.get(fid) != after.get(fid))
        return [(old.sessions[n], new.sessions[n]) for n in changed if old.sessions[n] is not new.sessions[n]]
    pairs = [(a, b) for a, b in zip(old.sessions, new.sessions, strict=False) if a is not b and a != b]
    if any(a.file_id != b.file_id for a, b in pairs):
        return None
    return pairs


def recount(counts: dict[str, int],
            pairs: Iterable[tuple[PlannedSession, PlannedSession]]) -> dict[str, int]:
    """``filter_counts`` of the new plan, from those of the old one and what changed."""
    counts = dict(counts)
    for old, new in pairs:
        for name in counted_in(old):
            counts[name] -= 1
        for name in counted_in(new):
            counts[name] += 1
    return counts
