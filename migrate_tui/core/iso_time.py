"""ISO 8601 times as the legacy files and OpenClaw write them: naive means UTC, and so does
a final ``Z`` (or ``z``)."""

from __future__ import annotations

from datetime import UTC, datetime


def aware_time(text: str) -> datetime | None:
    """``text`` (surrounding white space aside) as a time with its offset, UTC when it has
    none; None when it is not an ISO 8601 time."""
    text = text.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
