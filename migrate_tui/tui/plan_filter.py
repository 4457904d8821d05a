"""Which sessions of a plan the plan screen lists: the filter (all / problems / warnings /
skipped) and the search over ids and keys."""

from __future__ import annotations

from migrate_tui.engine import Plan, PlannedSession, Severity

FILTERS = ("all", "problems", "warnings", "skipped")


def has_warning(ps: PlannedSession) -> bool:
    return any(p.severity is Severity.WARNING for p in ps.scan.summary_for(ps.decision.fixes).problems)


def session_keys(ps: PlannedSession) -> list[str]:
    """The keys a session is known by: those it will be written under, those left as they
    are, or (when it cannot be migrated yet) those session_map.json gives it."""
    return (ps.keys + ps.kept_keys) or list(ps.scan.keys)


def matches(ps: PlannedSession, which: str) -> bool:
    if which == "problems":
        return ps.action == "blocked"
    if which == "warnings":
        return has_warning(ps)
    if which == "skipped":
        return ps.action == "skip"
    return True


def _found(ps: PlannedSession, needle: str) -> bool:
    if needle in ps.file_id.lower() or (ps.final_id and needle in ps.final_id.lower()):
        return True
    return any(needle in key.lower() for key in session_keys(ps))


def filter_sessions(plan: Plan, which: str = "all", search: str = "") -> list[PlannedSession]:
    needle = search.strip().lower()
    return [ps for ps in plan.sessions
            if (which == "all" or matches(ps, which)) and (not needle or _found(ps, needle))]


def filter_counts(plan: Plan) -> dict[str, int]:
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
