"""OpenClaw's ISO 8601 times, read once for the lock's createdAt and the transcripts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from migrate_tui.core.iso_time import aware_time
from migrate_tui.engine.targets.openclaw_lock import inspect
from migrate_tui.engine.targets.openclaw_time import parse_time


def test_naive_and_z_mean_utc() -> None:
    utc = datetime(2026, 2, 11, 10, 0, tzinfo=UTC)
    assert aware_time("2026-02-11T10:00:00") == utc
    assert aware_time(" 2026-02-11T10:00:00Z ") == utc
    assert aware_time("2026-02-11T10:00:00z") == utc
    plus2 = aware_time("2026-02-11T12:00:00+02:00")
    assert plus2 == utc and plus2 is not None and plus2.utcoffset() == timedelta(hours=2)
    assert plus2.tzinfo == timezone(timedelta(hours=2))


def test_what_is_not_a_time() -> None:
    for bad in ("", "   ", "yesterday", "2026-13-01", "Z"):
        assert aware_time(bad) is None
        assert parse_time(bad) is None
    assert parse_time(None) is None and parse_time(17) is None


def test_a_time_too_early_for_utc_is_no_moment_but_an_age() -> None:
    # year 1 with a positive offset is before datetime's first UTC instant
    assert parse_time("0001-01-01T00:00:00+01:00") is None
    lock = b'{"pid": 1, "createdAt": "0001-01-01T00:00:00+01:00"}'
    state = inspect(lock, "/nowhere/sessions.json.lock", now=0.0, mtime=0.0)
    assert "invalid-createdAt" not in state.reasons and "too-old" in state.reasons
