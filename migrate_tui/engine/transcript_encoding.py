"""From a legacy file to the bytes of its transcript, checked.

The CPU-heavy part of the transcripts phase.  A function of the file alone, so it can run
in a worker process (``processes.InOrder``); writing stays with the caller.  The file read
must be the one the scan saw (same SHA-256).  Then, one of two ways:

* fast: orjson parses it.  orjson is not lossless (an integer past 64 bits becomes a
  float, a float literal is not kept as written), so its messages are used only when they
  have the digest the scan computed from the lossless parser's (``jsonio.compact_digest``:
  same digest, same transcript lines).  Used when no content fix is chosen.
* checked: the lossless parser reads it (with the content fixes), the lines are encoded,
  and parsed once more to check they hold the messages.  With a content fix, and whenever
  orjson does not read the messages the scan read.
"""

from __future__ import annotations

from dataclasses import dataclass

from migrate_tui.core import fsio, jsonio
from migrate_tui.engine.legacy import read_legacy, transcript_lines

CHANGED = "changed since the scan (is the agent running?); scan again"


@dataclass(frozen=True)
class Encoded:
    """The transcript's bytes and their SHA-256, or why there are none (code, message)."""

    out: bytes = b""
    sha256: str = ""
    failure: tuple[str, str] | None = None
    fast: bool = False  # made the fast way (read as the scan's lossless parser read it)


@dataclass(frozen=True)
class Job:
    source: str
    source_sha256: str
    fixes: frozenset[str]
    messages_digest: str | None = None  # the scan's, for the file with no content fix


_encoder = jsonio.LineEncoder()


def encode_transcript(job: Job) -> Encoded:
    try:
        data = fsio.read_bytes(job.source)
    except OSError as exc:
        return Encoded(failure=("unreadable", f"cannot be read: {exc.strerror or exc}"))
    if fsio.sha256_bytes(data) != job.source_sha256:
        return Encoded(failure=("changed_during_migration", CHANGED))
    if job.messages_digest is not None and not job.fixes:
        out = _fast(data, job.messages_digest)
        if out is not None:
            return Encoded(out=out, sha256=fsio.sha256_bytes(out), fast=True)
    # apply reads bytes the scan already checked, so the duplicate-key search is skipped
    content = read_legacy(data, job.source, job.fixes, check_duplicates=False)
    lines = transcript_lines(content.messages)
    del content, data  # one copy of the messages at a time
    out = _encoder.lines(lines)
    bad_line = jsonio.first_difference(out, lines, _encoder)
    if bad_line is not None:
        return Encoded(failure=("verify_failed", f"line {bad_line} would not read back as its message"))
    return Encoded(out=out, sha256=fsio.sha256_bytes(out))


def _fast(data: bytes, digest: str) -> bytes | None:
    """The transcript of an intact file through orjson's parser, or None unless orjson
    reads the messages as the lossless parser did (the same digest)."""
    try:
        doc = jsonio.fast_loads(data)
    except ValueError:
        return None
    messages = doc.get("messages") if isinstance(doc, dict) else None
    if not isinstance(messages, list) or jsonio.compact_digest(messages) != digest:
        return None
    lines = transcript_lines(messages)
    del doc, messages
    return _encoder.lines(lines)
