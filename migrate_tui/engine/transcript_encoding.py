"""From a legacy file to the bytes of its transcript, checked.

The CPU-heavy part of the transcripts phase: read the file the scan saw (same SHA-256),
parse it, leave out the null fields, encode one line per message, and parse those lines
again to check they hold the messages.  A function of the file alone, so it can run in a
worker process (``processes.in_order``); writing stays with the caller.
"""

from __future__ import annotations

from dataclasses import dataclass

from migrate_tui.engine import fsio, jsonio
from migrate_tui.engine.legacy import read_legacy, transcript_lines

CHANGED = "changed since the scan (is the agent running?); scan again"


@dataclass(frozen=True)
class Encoded:
    """The transcript's bytes and their SHA-256, or why there are none (code, message)."""

    out: bytes = b""
    sha256: str = ""
    failure: tuple[str, str] | None = None


@dataclass(frozen=True)
class Job:
    source: str
    source_sha256: str
    fixes: frozenset[str]


_encoder = jsonio.LineEncoder()


def encode_transcript(job: Job) -> Encoded:
    try:
        data = fsio.read_bytes(job.source)
    except OSError as exc:
        return Encoded(failure=("unreadable", f"cannot be read: {exc.strerror or exc}"))
    if fsio.sha256_bytes(data) != job.source_sha256:
        return Encoded(failure=("changed_during_migration", CHANGED))
    # apply reads bytes the scan already checked, so the duplicate-key search is skipped
    content = read_legacy(data, job.source, job.fixes, check_duplicates=False)
    lines = transcript_lines(content.messages)
    del content, data  # one copy of the messages at a time
    out = _encoder.lines(lines)
    bad_line = jsonio.first_difference(out, lines, _encoder)
    if bad_line is not None:
        return Encoded(failure=("verify_failed", f"line {bad_line} would not read back as its message"))
    return Encoded(out=out, sha256=fsio.sha256_bytes(out))
