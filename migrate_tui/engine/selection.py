"""Choosing sessions by what they are: a small query language, shared by the wizard's filter
and search and by the command line's bulk decisions (``migrate --skip-where``,
``--fix-where``).

A query is terms separated by spaces; a session matches when every term does::

    key:*:cron:* older:30d      every cron session not updated for 30 days
    problem:invalid_json        every session with that problem (open, or a warning)
    status:blocked channel:telegram
    size>1MB msgs<3             bigger than 1 MB, fewer than 3 messages
    empty                       no messages (also: an empty file)
    -key:agent:main:main        a leading minus turns a term around
    discord  telegram:dm        other words: a part of the id or of a key (any case)

Fields: ``id:``, ``key:`` (a pattern with ``*``/``?`` matches a whole key, any other text a
part of one), ``problem:`` (a problem code, or a pattern), ``status:`` (migrate, skip,
blocked, done, fixed, warning), ``channel:``, ``older:``/``newer:`` (``30d``, ``12h``,
``2w``, or a date ``2026-01-31``), ``size`` and ``msgs`` with ``< <= > >= =`` (sizes take
B, kB, MB, GB, KiB, MiB, GiB); ``msgs`` counts only sessions whose file can be read.  Pure:
no I/O; "now" is given for ``older:``/``newer:``.
"""

from __future__ import annotations

import fnmatch
import re
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from migrate_tui.core.errors import MigrateError
from migrate_tui.engine.model import Decision, Plan, PlannedSession, Severity

FIELDS = ("id", "key", "problem", "status", "channel", "older", "newer", "size", "msgs", "empty")
STATUSES = ("migrate", "skip", "blocked", "done", "fixed", "warning")
_STATUS_ALIASES = {"skipped": "skip", "problem": "blocked", "problems": "blocked",
                   "migrated": "done", "ok": "migrate", "warnings": "warning", "fix": "fixed"}
_UNITS = {"": 1, "b": 1, "kb": 1000, "mb": 1000**2, "gb": 1000**3, "k": 1000, "m": 1000**2,
          "g": 1000**3, "kib": 1024, "mib": 1024**2, "gib": 1024**3}
_AGES = {"m": 60, "h": 3600, "d": 86400, "w": 7 * 86400, "y": 365 * 86400}
_COMPARE = re.compile(r"(size|msgs|messages)\s*(<=|>=|<|>|=|:)\s*(\S+)$", re.IGNORECASE)
_OPS: dict[str, Callable[[int, int], bool]] = {
    "<": lambda a, b: a < b, "<=": lambda a, b: a <= b, ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b, "=": lambda a, b: a == b, ":": lambda a, b: a == b,
}


class QueryError(MigrateError):
    """A query that cannot be read; the sentence names the term and what is wrong."""


Test = Callable[[PlannedSession], bool]


@dataclass(frozen=True)
class Term:
    text: str  # as written, for messages
    test: Test
    negated: bool = False

    def __call__(self, ps: PlannedSession) -> bool:
        return self.test(ps) is not self.negated


@dataclass(frozen=True)
class Query:
    """A parsed query; ``matches(ps)`` says whether a session is chosen."""

    text: str
    terms: tuple[Term, ...] = ()

    @property
    def is_empty(self) -> bool:
        return not self.terms

    def matches(self, ps: PlannedSession) -> bool:
        return all(term(ps) for term in self.terms)

    @property
    def test(self) -> Test:
        """``matches``, as one function with as few calls as the terms allow (a query is
        asked of every session: 200,000 in the wizard)."""
        terms = self.terms
        if len(terms) == 1:
            only = terms[0].test
            if not terms[0].negated:
                return only
            return lambda ps: not only(ps)
        return self.matches


# ---------------------------------------------------------------- what a session is


def session_keys(ps: PlannedSession) -> list[str]:
    """The keys a session is known by: those it will be written under, those left as they
    are, or (when it cannot be migrated yet) those session_map.json gives it."""
    return ps.known_keys() or list(ps.scan.keys)


def problem_codes(ps: PlannedSession) -> list[str]:
    """The codes of its open problems, then of its warnings (with the fixes chosen)."""
    codes = [p.code for p in ps.open_problems]
    codes += [p.code for p in ps.scan.summary_for(ps.decision.fixes).problems
              if p.severity is Severity.WARNING]
    return codes


def has_warning(ps: PlannedSession) -> bool:
    problems = ps.scan.summary_for(ps.decision.fixes).problems
    if not problems:  # most sessions: asked of every one by a filter, a count or a sort
        return False
    return any(p.severity is Severity.WARNING for p in problems)


# the order of the statuses (the table's status column, its sort): problem, warning, fixed,
# migrate, skip, done
_ACTION_RANK = {"blocked": 0, "skip": 4, "done": 5}


def status_rank(ps: PlannedSession) -> int:
    """Where a session's status sorts: 0 blocked (a problem left), 1 migrates with a
    warning, 2 migrates with a fix, 3 migrates, 4 skipped, 5 done (an int, no text made:
    a sort by status asks it of every session)."""
    action = ps.action
    if action != "migrate":
        return _ACTION_RANK.get(action, 3)
    if ps.decision.fixes:
        return 2
    return 1 if has_warning(ps) else 3


def channel_of(ps: PlannedSession) -> str | None:
    """The channel a session came through: its ``channel`` (or ``last_channel``) field, else
    the part of its key after the agent (``agent:main:telegram:dm:1`` → telegram), else
    ``cron`` for a ``cron:<job>`` key."""
    fields = ps.scan.summary_for(ps.decision.fixes).entry_fields
    for name in ("channel", "last_channel"):
        value = fields.get(name)
        if isinstance(value, str) and value:
            return value.lower()
    for key in session_keys(ps):
        parts = key.split(":")
        if parts[0] == "agent" and len(parts) >= 4:
            return parts[2].lower()
        if parts[0] == "cron":
            return "cron"
    return None


def last_update_ms(ps: PlannedSession) -> int:
    """When the session was last updated (ms since the epoch): the ``updated_at`` written in
    its entry, else the one in the file, else the file's modification time."""
    written = ps.entry_updated_at
    if isinstance(written, int):
        return int(written)
    updated = ps.scan.summary_for(ps.decision.fixes).updated_at_ms
    return updated if updated is not None else ps.scan.mtime_ns // 1_000_000


def fixes_offered(ps: PlannedSession) -> list[str]:
    """The fixes its open problems offer, in the order they are offered, not yet chosen.
    ``salvage`` is not offered for an empty file: there is nothing to keep."""
    out: list[str] = []
    for p in ps.open_problems:
        for fix in p.fixes:
            if fix in out or fix in ps.decision.fixes:
                continue
            if fix == "salvage" and ps.scan.size == 0:
                continue
            out.append(fix)
    return out


def problem_counts(plan: Plan) -> Counter[str]:
    """How many sessions have each problem code (open problems and warnings)."""
    counts: Counter[str] = Counter()
    for ps in plan.sessions:
        if ps.open_problems or ps.scan.content.problems or ps.scan.variants:
            counts.update(set(problem_codes(ps)))
    return counts


# ---------------------------------------------------------------- parsing


def parse_query(text: str, now: float | None = None) -> Query:
    """Read a query (see the module's docstring); ``now`` (seconds since the epoch) is
    what ``older:30d`` counts back from.  Raises QueryError naming the term at fault."""
    now = time.time() if now is None else now
    terms = []
    for word in _words(text):
        negated = word.startswith("-") and len(word) > 1
        body = word[1:] if negated else word
        terms.append(Term(word, _term(body, now), negated))
    return Query(text, tuple(terms))


def _words(text: str) -> Iterable[str]:
    """Words split on spaces; "quoted text" stays one word (quotes removed)."""
    for match in re.finditer(r'(-?)"([^"]*)"|(\S+)', text):
        if match.group(3) is not None:
            yield match.group(3)
        elif match.group(2):
            yield match.group(1) + match.group(2)


def _term(body: str, now: float) -> Test:
    compare = _COMPARE.match(body)
    if compare:
        field, op, value = compare.groups()
        return _compare_term(body, field.lower(), op, value)
    field, sep, value = body.partition(":")
    field = field.lower()
    if not sep or field not in FIELDS:  # a word, or a part of a key such as telegram:dm
        if body.lower() == "empty":
            return _is_empty
        return _words_test(body.lower())
    if not value and field != "empty":
        raise QueryError(f"{body!r}: {field}: needs a value")
    if field == "id":
        return _id_test(value)
    if field == "key":
        return _key_test(value)
    if field == "problem":
        return _problem_test(value.lower())
    if field == "status":
        return _status_test(body, value.lower())
    if field == "channel":
        wanted = value.lower()
        return lambda ps: channel_of(ps) == wanted
    if field in ("older", "newer"):
        limit = _moment(body, value, now)
        if field == "older":
            return lambda ps: last_update_ms(ps) < limit
        return lambda ps: last_update_ms(ps) >= limit
    if field == "empty":
        return _is_empty
    raise QueryError(f"{body!r}: {field} takes a comparison, e.g. {field}>10")


def _counted(ps: PlannedSession) -> bool:
    """Whether its message count is known: the file reads (with its fixes), or is empty."""
    return ps.scan.size == 0 or (not ps.scan.file_problems
                                 and ps.scan.summary_for(ps.decision.fixes).readable)


def _is_empty(ps: PlannedSession) -> bool:
    return ps.message_count == 0 and _counted(ps)


def _words_test(needle: str) -> Test:
    def test(ps: PlannedSession) -> bool:
        if needle in ps.file_id.lower() or (ps.final_id and needle in ps.final_id.lower()):
            return True
        for key in ps.query_keys():  # noqa: SIM110 (a loop: no generator made a session)
            if needle in key.lower():
                return True
        return False
    return test


def _pattern(value: str) -> Callable[[str], bool]:
    """A glob (``*``, ``?``, ``[…]``) matches a whole text; other text, a part of it."""
    lowered = value.lower()
    if any(ch in value for ch in "*?["):
        regex = re.compile(fnmatch.translate(lowered))
        return lambda text: regex.match(text.lower()) is not None
    return lambda text: lowered in text.lower()


def _id_test(value: str) -> Test:
    found = _pattern(value)
    return lambda ps: found(ps.file_id) or (ps.final_id is not None and found(ps.final_id))


def _key_test(value: str) -> Test:
    lowered = value.lower()
    if any(ch in value for ch in "*?["):  # (``_pattern`` written out: asked of every session)
        match = re.compile(fnmatch.translate(lowered)).match

        def test(ps: PlannedSession) -> bool:
            for key in ps.query_keys():  # noqa: SIM110 (a loop: no generator made a session)
                if match(key.lower()) is not None:
                    return True
            return False
    else:
        def test(ps: PlannedSession) -> bool:
            for key in ps.query_keys():  # noqa: SIM110 (a loop: no generator made a session)
                if lowered in key.lower():
                    return True
            return False
    return test


def _problem_test(value: str) -> Test:
    if any(ch in value for ch in "*?["):
        regex = re.compile(fnmatch.translate(value))
        return lambda ps: any(regex.match(code) for code in problem_codes(ps))
    return lambda ps: value in problem_codes(ps)


def _status_test(body: str, value: str) -> Test:
    value = _STATUS_ALIASES.get(value, value)
    if value not in STATUSES:
        raise QueryError(f"{body!r}: the statuses are " + ", ".join(STATUSES))
    if value == "fixed":
        return lambda ps: ps.action == "migrate" and bool(ps.decision.fixes)
    if value == "warning":
        return has_warning
    return lambda ps: ps.action == value


def _compare_term(body: str, field: str, op: str, value: str) -> Test:
    compare = _OPS[op]
    if field == "size":
        limit = _size(body, value)
        return lambda ps: compare(ps.scan.size, limit)
    try:
        count = int(value.replace(",", "").replace("_", ""))
    except ValueError:
        raise QueryError(f"{body!r}: {value!r} is not a number of messages") from None
    return lambda ps: compare(ps.message_count, count) and _counted(ps)


def _size(body: str, value: str) -> int:
    match = re.fullmatch(r"([0-9][0-9_,]*(?:\.[0-9]+)?)\s*([a-z]*)", value.lower())
    if not match or match.group(2) not in _UNITS:
        raise QueryError(f"{body!r}: {value!r} is not a size (e.g. 500kB, 1MB, 2GiB)")
    return int(float(match.group(1).replace(",", "").replace("_", "")) * _UNITS[match.group(2)])


def _moment(body: str, value: str, now: float) -> int:
    """``30d`` (before now) or a date/time in ISO 8601 (UTC unless it says otherwise), in ms."""
    match = re.fullmatch(r"([0-9]+(?:\.[0-9]+)?)\s*([mhdwy])", value.lower())
    if match:
        return int((now - float(match.group(1)) * _AGES[match.group(2)]) * 1000)
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise QueryError(f"{body!r}: {value!r} is neither an age (30d, 12h, 2w) nor a date "
                         "(2026-01-31)") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)


# ---------------------------------------------------------------- choosing


def select(plan: Plan, query: Query | str, now: float | None = None) -> list[PlannedSession]:
    """The sessions of ``plan`` the query chooses, in the plan's order."""
    if isinstance(query, str):
        query = parse_query(query, now)
    if query.is_empty:
        return list(plan.sessions)
    test = query.test
    return [ps for ps in plan.sessions if test(ps)]


# ---------------------------------------------------------------- bulk decisions


def skips_where(plan: Plan, query: Query | str, now: float | None = None) -> dict[str, Decision]:
    """Skip every session the query chooses (the fixes chosen before are kept, for an
    un-skip): file id → decision, for ``with_decisions``."""
    return {ps.file_id: Decision(skip=True, fixes=ps.decision.fixes)
            for ps in select(plan, query, now) if not ps.decision.skip}


def fixes_where(plan: Plan, query: Query | str, fix: str, now: float | None = None
                ) -> dict[str, Decision]:
    """Add ``fix`` to every session the query chooses whose open problems offer it (see
    ``fixes_offered``): file id → decision, for ``with_decisions``."""
    return {ps.file_id: ps.decision.with_fix(fix)
            for ps in select(plan, query, now) if fix in fixes_offered(ps)}


__all__ = [
    "FIELDS",
    "STATUSES",
    "Query",
    "QueryError",
    "channel_of",
    "fixes_offered",
    "fixes_where",
    "has_warning",
    "last_update_ms",
    "parse_query",
    "problem_codes",
    "problem_counts",
    "select",
    "session_keys",
    "skips_where",
    "status_rank",
]
