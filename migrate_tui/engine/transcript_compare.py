"""An existing transcript compared with what a legacy file's messages make, a piece at a time.

The expected bytes come a piece at a time (``transcript_encoding.transcript_pieces``) and the
file is read a chunk at a time alongside: neither is held whole, nor the messages' parse (a
session of 200,000 messages is about 90 MB of each, and its parse several times that).
"""

from __future__ import annotations

from collections.abc import Generator, Iterable

from migrate_tui.core import fsio

READ_CHUNK = 1 << 20


def same_start(path: str, pieces: Iterable[bytes]) -> tuple[int, int] | None:
    """(the expected transcript's size, the file's) when the file at ``path`` starts with the
    expected transcript, given a piece at a time, and either ends there or goes on after a
    whole last line (the agent continued it); else None.  What ``pieces`` raises (``NotExact``)
    and the file's errors (``OSError``, ``fsio.NotRegularFile``) go to the caller."""
    at = 0  # the file's bytes read so far
    chunk = b""  # the last chunk read, compared up to ``pos``
    pos = 0
    expected = 0
    last = b""
    for piece in pieces:
        done = 0
        while done < len(piece):
            if pos == len(chunk):
                chunk, pos = fsio.read_range(path, at, READ_CHUNK), 0
                if not chunk:
                    return None  # the file ends before the transcript does
                at += len(chunk)
            n = min(len(chunk) - pos, len(piece) - done)
            if chunk[pos:pos + n] != piece[done:done + n]:
                return None
            pos += n
            done += n
        expected += len(piece)
        last = piece or last
    if pos < len(chunk) and last and not last.endswith(b"\n"):
        return None  # more after a transcript that does not end a line
    while True:  # what the file holds after the transcript: only its size is wanted
        more = fsio.read_range(path, at, READ_CHUNK)
        if not more:
            break
        at += len(more)
    if at > expected and last and not last.endswith(b"\n"):
        return None
    return expected, at


def lines_of(path: str) -> Generator[bytes, None, None]:
    """The lines of a file (without their newline; the last one even without it), read a
    chunk at a time."""
    at = 0
    pending = b""
    while True:
        chunk = fsio.read_range(path, at, READ_CHUNK)
        if not chunk:
            break
        at += len(chunk)
        parts = chunk.split(b"\n")
        parts[0] = pending + parts[0]
        pending = parts.pop()
        yield from parts
    if pending:
        yield pending
