"""A transcript's times as OpenClaw writes them: epoch milliseconds and an ISO 8601 UTC
time that keeps every fractional digit the legacy time had (read by ``core.iso_time``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from migrate_tui.core.iso_time import aware_time

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Moment:
    ms: int  # epoch milliseconds, UTC
    iso: str  # ISO 8601 UTC ("Z"), with every fractional digit the source had (at least 3)


def parse_time(value: Any) -> Moment | None:
    """An ISO 8601 time (naive means UTC) as OpenClaw writes times, or None."""
    moment = aware_time(value) if isinstance(value, str) else None
    if moment is None:
        return None
    try:
        moment = moment.astimezone(UTC)
    except (ValueError, OverflowError):
        return None
    delta = moment - _EPOCH
    ms = delta.days * 86_400_000 + delta.seconds * 1000 + delta.microseconds // 1000
    fraction = f"{moment.microsecond:06d}".rstrip("0").ljust(3, "0")
    iso = (f"{moment.year:04d}-{moment.month:02d}-{moment.day:02d}T{moment.hour:02d}:"
           f"{moment.minute:02d}:{moment.second:02d}.{fraction}Z")
    return Moment(ms, iso)
