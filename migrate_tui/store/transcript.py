"""The last messages of a session's JSONL transcript, read from the end of the file.

A transcript can be large; a preview needs only its tail, so the file is read backwards in
chunks (``fsio.read_range``) until enough lines are found.  A last line without its newline
may be a write in progress or the trace of a crash: if it does not parse, it is left out.
"""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Iterator
from typing import Any

from migrate_tui.core import fsio, ids, jsonio
from migrate_tui.store.session_store import (
    DEFAULT_STORE_PATH,
    StoreError,
    load_session_store,
    store_file_path,
)

TRANSCRIPT_SUFFIX = ".jsonl"
CHUNK_BYTES = 64 * 1024


def read_transcript_preview(
    session_id: str,
    store_path: str | os.PathLike[str] | None = None,
    limit: int = 10,
    *,
    transcript_path: str | os.PathLike[str] | None = None,
) -> list[dict[str, Any]]:
    """The last ``limit`` messages of a session, oldest first; ``[]`` if it has no transcript.

    The transcript is ``transcript_path`` when given, else the ``session_file`` of the
    store's entry for ``session_id`` (a plain file name), else ``<session_id>.jsonl``, both
    in the folder of ``store_path`` (default ``~/.openclaw/.sessions/sessions.json``).
    """
    if not ids.is_safe_id(session_id):
        raise ValueError(f"not a safe session id: {session_id!r}")
    if limit < 0:
        raise ValueError(f"limit must be 0 or more, not {limit}")
    if transcript_path is not None:
        path = os.path.abspath(os.path.expanduser(os.fspath(transcript_path)))
    else:
        path = _transcript_path(session_id, store_path or DEFAULT_STORE_PATH)
    if limit == 0:
        return []
    st = fsio.lstat_or_none(path)
    if st is None:
        return []
    return _last_messages(path, st, limit)


def _transcript_path(session_id: str, store_path: str | os.PathLike[str]) -> str:
    store_file = store_file_path(store_path)
    name = session_id + TRANSCRIPT_SUFFIX
    for entry in load_session_store(store_file).values():
        if entry.get("session_id") == session_id and ids.is_safe_id(entry.get("session_file")):
            name = entry["session_file"]
            break
    return os.path.join(os.path.dirname(store_file), name)


def _last_messages(path: str, st: os.stat_result, limit: int) -> list[dict[str, Any]]:
    if not stat.S_ISREG(st.st_mode):
        raise fsio.NotRegularFile(path, fsio.describe_mode(st.st_mode))
    lines = _lines_backwards(path, st.st_size)
    messages: list[dict[str, Any]] = []
    end = st.st_size
    # The first piece is whatever follows the last newline: empty, or an unfinished line.
    tail = next(lines)
    end -= len(tail)
    if tail.strip():
        with contextlib.suppress(StoreError):  # an unfinished last line that does not parse is left out
            messages.append(_parse_line(path, tail, end))
    while len(messages) < limit:
        line = next(lines, None)
        if line is None:
            break
        end -= len(line) + 1
        if line.strip():
            messages.append(_parse_line(path, line, end))
    messages.reverse()
    return messages[-limit:]


def _lines_backwards(path: str, size: int) -> Iterator[bytes]:
    """The lines of a file from the last to the first (without their newlines), reading
    only as many chunks from the end as the caller consumes."""
    end = size
    pending: list[bytes] = []  # pieces of the line being assembled, last piece first
    while end > 0:
        start = max(0, end - CHUNK_BYTES)
        data = fsio.read_range(path, start, end - start)
        if not data:  # the file shrank while we read it
            break
        end = start
        parts = data.split(b"\n")
        pending.append(parts[-1])
        if len(parts) == 1:
            continue
        yield b"".join(reversed(pending))
        yield from reversed(parts[1:-1])
        pending = [parts[0]]
    yield b"".join(reversed(pending))


def _parse_line(path: str, line: bytes, offset: int) -> dict[str, Any]:
    try:
        value = jsonio.loads(line.decode("utf-8"))
    except (UnicodeDecodeError, jsonio.JSONDecodeError, RecursionError) as exc:
        reason = "not UTF-8" if isinstance(exc, UnicodeDecodeError) else "not valid JSON"
        raise StoreError(f"{path}: the line at byte {offset} is {reason}", path) from None
    if not isinstance(value, dict):
        raise StoreError(f"{path}: the line at byte {offset} is not a JSON object", path)
    return value
