"""From a legacy file to the bytes of its transcript, checked.

The CPU-heavy part of the transcripts phase.  A function of the file alone, so it can run
in a worker process (``processes.InOrder``); writing stays with the caller.  The file read
must be the one the scan saw (same SHA-256).  Then, one of two ways:

* fast: orjson parses it, where its value is provably the lossless parser's.  The scan
  proved it for these very bytes when it left the token ``exact_token(sha256)`` as the
  messages digest; otherwise ``jsonio.exact_loads`` proves it here.  With no content fix.
* checked: the lossless parser reads it (with the content fixes), the lines are encoded,
  and parsed once more to check they hold the messages.  With a content fix, and whenever
  orjson cannot be proven to read the file exactly.

``transcript_pieces`` gives the same bytes a piece at a time, for ``verify`` on a huge
session.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, cast

from migrate_tui.core import fsio, jsonio
from migrate_tui.engine.legacy import exact_token, read_legacy, transcript_lines

CHANGED = "changed since the scan (is the agent running?); scan again"


@dataclass(frozen=True)
class Encoded:
    """The transcript's bytes and their SHA-256, or why there are none (code, message)."""

    out: bytes = b""
    sha256: str = ""
    failure: tuple[str, str] | None = None
    fast: bool = False  # made the fast way (orjson's value, proven exact)


@dataclass(frozen=True, slots=True)
class Job:
    """One transcript to encode; held for every session of a run until it is encoded, so
    made of the strings the scan holds already: ``folder + source`` is the file's path."""

    source: str
    source_sha256: str
    fixes: frozenset[str]
    messages_digest: str | None = None  # the scan's (``exact_token``), for the file with no content fix
    folder: str = ""  # with a trailing separator, or "" when ``source`` is the whole path

    @property
    def path(self) -> str:
        return self.folder + self.source


_encoder = jsonio.LineEncoder()


def encode_transcript(job: Job) -> Encoded:
    try:
        data = fsio.read_regular(job.path)[0]  # open, fstat, one read, close
    except OSError as exc:
        return Encoded(failure=("unreadable", f"cannot be read: {exc.strerror or exc}"))
    if fsio.sha256_bytes(data) != job.source_sha256:
        return Encoded(failure=("changed_during_migration", CHANGED))
    if not job.fixes:
        out = _fast(data, job.messages_digest == exact_token(job.source_sha256))
        if out is not None:
            return Encoded(out=out, sha256=fsio.sha256_bytes(out), fast=True)
    return checked_transcript(data, job.path, job.fixes)


def checked_transcript(data: bytes, source: str, fixes: frozenset[str]) -> Encoded:
    """The checked way: the lossless parser, the lines encoded and parsed back."""
    # apply reads bytes the scan already checked, so the duplicate-key search is skipped
    content = read_legacy(data, source, fixes, check_duplicates=False)
    lines = transcript_lines(content.messages)
    del content, data  # one copy of the messages at a time
    out = _encoder.lines(lines)
    bad_line = jsonio.first_difference(out, lines, _encoder)
    if bad_line is not None:
        return Encoded(failure=("verify_failed", f"line {bad_line} would not read back as its message"))
    return Encoded(out=out, sha256=fsio.sha256_bytes(out))


def _fast(data: bytes, proven: bool) -> bytes | None:
    """The transcript of an intact file through orjson's parser, or None unless its value is
    the lossless one (``proven``: the scan showed it for these bytes)."""
    if proven:
        try:
            doc = jsonio.fast_loads(data)
        except ValueError:
            return None
    else:
        exact = jsonio.exact_loads(data)
        if exact is None:
            return None
        doc = exact[0]
    messages = doc.get("messages") if type(doc) is dict else None
    if type(messages) is not list:
        return None
    del doc
    return message_lines(messages)


def message_lines(messages: list[Any]) -> bytes:
    """``_encoder.lines(transcript_lines(messages))``, the same bytes, made in one pass: each
    message without its null-valued fields goes straight to orjson (``LineEncoder.line``'s
    first try), so no list of the trimmed messages is built and no method is called a
    line; a group of lines orjson refuses is made again by ``LineEncoder``, as before.
    Joined ``jsonio.JOIN_LINES`` lines at a time, as ``LineEncoder.lines`` joins them."""
    dumps, default, option = jsonio.fast_line_writer()
    if dumps is None:  # pragma: no cover - orjson is a declared dependency
        return _encoder.lines(transcript_lines(messages))
    step = jsonio.JOIN_LINES
    groups = []
    for start in range(0, len(messages), step):
        group = messages[start:start + step]
        try:
            groups.append(b"".join([
                dumps({k: v for k, v in m.items() if v is not None} if isinstance(m, dict) else m,
                      default=default, option=option)
                for m in group]))
        except TypeError:  # what only the standard library writes: line by line, as before
            groups.append(_encoder.lines(transcript_lines(group)))
    return groups[0] if len(groups) == 1 else b"".join(groups)


STREAM_PIECE_BYTES = 1 << 20  # of source, parsed and encoded at a time by ``transcript_stream``


def transcript_stream(data: bytes, job: Job | None = None) -> Iterator[bytes] | None:
    """The fast transcript of a file with no content fix, a piece at a time (the lines of
    about ``STREAM_PIECE_BYTES`` of source each), so that its parse and its lines are never
    held whole: the bytes ``encode_transcript`` makes.  None when ``jsonio.exact_chunks``
    cannot prove orjson reads the file exactly from the start (not laid out as the legacy
    writer did, or its head not provably exact); iterating raises ``jsonio.NotExact`` when a
    later piece is not provably exact: the caller then encodes it whole.

    ``job``: the file's, when ``data`` are its bytes (their SHA-256 checked against the
    scan's).  When the scan proved orjson reads them exactly (its messages digest is
    ``exact_token`` of that SHA-256, which ``encode_transcript`` trusts too), the pieces are
    only parsed (``_proven_pieces``), not proved again."""
    if job is not None and job.messages_digest == exact_token(job.source_sha256):
        items = _proven_pieces(data, STREAM_PIECE_BYTES)
        if items is not None:
            return (message_lines(piece) for piece in items)
    pieces = jsonio.exact_chunks(data, "messages", STREAM_PIECE_BYTES)
    try:
        next(pieces)
    except jsonio.NotExact:
        return None
    return (_encoder.lines(transcript_lines(items)) for items, _text in pieces)


def _proven_pieces(data: bytes, chunk_bytes: int) -> Iterator[list[Any]] | None:
    """The items of the "messages" list of a document orjson is proven to read exactly, a
    list of them at a time (about ``chunk_bytes`` of source each), parsed by orjson, cut as
    ``jsonio.exact_chunks`` cuts them (the legacy writer's layout: the list at
    ``\n  "messages": [``, one item after the next at ``},\n    {``, the list closed at
    ``\n  ]``; a JSON string holds no raw newline, so no cut falls inside one).  Together the
    pieces are the list's items, so their value is the proven one.  None when the layout is
    not that; iterating raises ``jsonio.NotExact`` if a piece does not parse (the caller
    then encodes the file whole)."""
    start = data.find(b'\n  "messages": [')
    if start < 0:
        return None
    open_at = start + len(b'\n  "messages": ')  # the "["
    if data.startswith(b"]", open_at + 1):
        return iter(())
    # The list closes at the first "\n  ]" after it opens.  Looked for from the end (a
    # search from the start stops at every newline of the list: 0.07 s on 92 MB), this is
    # the last one: the same one unless another top-level list follows "messages".  Then a
    # piece holds the real end and more ("],\n  ...") which is no JSON array: it does not
    # parse, and the caller encodes the file whole; never a piece with other items.
    close_at = data.rfind(b"\n  ]", open_at) + 3
    if close_at < 3:
        return None

    def pieces() -> Iterator[list[Any]]:
        pos, end = open_at + 1, close_at
        buffer = bytearray()
        while pos < end:
            cut = data.find(b"},\n    {", min(pos + chunk_bytes, end), end)
            stop = cut + 1 if cut >= 0 else end
            # "[" + the items + "]", copied once (a slice then a concatenation: twice)
            buffer[:] = b"["
            buffer += memoryview(data)[pos:stop]
            buffer += b"]"
            try:  # orjson reads a bytearray as it reads bytes
                items = jsonio.fast_loads(cast(bytes, buffer))
            except ValueError:
                raise jsonio.NotExact from None
            if type(items) is not list:
                raise jsonio.NotExact
            yield items
            pos = stop + 1  # past the "," between two items
    return pieces()


def transcript_pieces(data: bytes, source: str, fixes: frozenset[str]) -> Iterator[bytes]:
    """The transcript of a legacy file's bytes (those ``encode_transcript`` makes), a piece at
    a time: a file laid out as the legacy writer did, with no content fix, is read by
    ``jsonio.exact_chunks`` so only a piece of its messages is held at once; anything else
    whole, the checked way.  Raises ``jsonio.NotExact`` when a piece after the first turns
    out not to be provably read exactly: the caller starts again with ``whole=True``."""
    if not fixes:
        pieces = jsonio.exact_chunks(data, "messages")
        try:
            next(pieces)
        except jsonio.NotExact:
            pass
        else:
            for items, _ in pieces:
                yield _encoder.lines(transcript_lines(items))
            return
    content = read_legacy(data, source, fixes)
    yield _encoder.lines(transcript_lines(content.messages))
