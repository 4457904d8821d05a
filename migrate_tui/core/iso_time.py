"""ISO 8601 times as the legacy files and OpenClaw write them: naive means UTC, and so does
a final ``Z`` (or ``z``)."""

from __future__ import annotations

from datetime import UTC, datetime


def iso_time(text: str) -> datetime | None:
    """``text`` (surrounding white space aside) as a time, naive when it names no offset
    (which means UTC); None when it is not an ISO 8601 time."""
    text = text.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None


def aware_time(text: str) -> datetime | None:
    """``text`` as a time with its offset, UTC when it has none; None when it is not an
    ISO 8601 time."""
    moment = iso_time(text)
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)
