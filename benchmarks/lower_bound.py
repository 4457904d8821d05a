"""The lower bound: the least work any durable migration of a clean workspace has to do,
done as fast as this machine allows, with every safety check left out.

    python -m benchmarks.lower_bound WORKSPACE
    python -m benchmarks.lower_bound WORKSPACE --dry-run    the first pass alone: read and
                                                            parse every file, write nothing

Measured by ``make bench`` beside the naive script, to show how far below it a migration
can get here at all.  It is not a migration anyone should run:

* every file is parsed by orjson, which turns integers past 64 bits into floats and
  rewrites float literals (not lossless);
* it checks nothing: no SHA-256 of the sources, no check of the backup copies, no read-back,
  no journal, no lock, no manifest, no problems, no key conflicts;
* it holds every encoded transcript in memory until the backup is on disk, except a huge
  session's (below).

What it keeps is the work that cannot be left out: a first pass over every file (a plan
needs all of them before anything is written), the backup written and fsynced before any
transcript, each new file written to a temporary file, fsynced and renamed, and
``sessions.json`` written the same way.  Two worker processes share the files (started by
fork: nothing here runs threads before they start).  Durability as the migration gets it
(docs/durability.md): on Linux >= 5.8 each worker writes its temporary files, makes them
durable with one syncfs(2) (the file system's descriptor opened before they are written),
renames them and fsyncs the folder, for the backup and then for the transcripts; elsewhere
each file is fsynced, through 16 threads.  A huge session (``STREAM_BYTES`` or more, as
the migration's threshold) is handled as the migration handles one: its bytes are held, but
never its parse or its transcript whole.  Its messages are parsed about ``PIECE_BYTES`` at a
time (cut where the legacy writer's layout puts one message after another) in both passes,
and its transcript is written to its temporary file a piece at a time, fsynced and renamed.
Standard library and orjson only.

    python -m benchmarks.lower_bound WORKSPACE --proven    the proven lower bound

The proven lower bound is this bound plus, in its first pass, exactly what
``benchmarks.dry_bound`` proves of each file, and nothing else: each file's SHA-256 (the
plan names the bytes it was made from) and the proof that orjson's value is the one the
lossless parser gives (``benchmarks.proof``, the same code: no key lost to a repetition, no
``\\u0022``, no float, no ``-0`` beside an integer).  A migration that skipped them could
carry a file differently from its source, as the naive script does; ours cannot skip them.
A file that fails the proof stops it before anything is written (``Unproven``, exit code 1,
the file named), as ``benchmarks.dry_bound`` stops.  The second pass is the same as the plain bound's (it
parses again with orjson and needs no second proof: the bytes are those just proven).
On a huge session the proof follows the parse: the document without its messages, then
each piece of messages (the bytes in brackets and the list parsed from them), so no parse
is held whole; the SHA-256 is of the file's bytes, held whole, as the plain bound holds
them, and as our scan holds them (it digests them whole too), while ``benchmarks.dry_bound``
parses and proves a huge file whole.
"""

from __future__ import annotations

import ctypes
import hashlib
import json
import multiprocessing
import os
import sys
from concurrent.futures import ThreadPoolExecutor

import orjson

from benchmarks.proof import Unproven, prove

WORKERS = 2
WRITERS = 16
STREAM_BYTES = 16 * 1024 * 1024  # engine/apply.py's threshold for a huge session
PIECE_BYTES = 1 << 20  # of messages parsed at a time (engine/transcript_encoding.py's)

_ARRAY = b'"messages": ['
_NEXT = b"\n    },\n    {"  # one message ends and the next begins (json.dump, indent 2)


def _spans(data: bytes) -> tuple[bytes, list[tuple[int, int]]] | None:
    """A huge legacy file laid out as its writer did: the document without its messages,
    and the spans of ``data`` that hold about ``PIECE_BYTES`` of messages each (each span,
    in brackets, is a JSON array of whole messages).  None for any other layout."""
    start = data.find(_ARRAY)
    if start < 0 or data[start + len(_ARRAY):start + len(_ARRAY) + 1] == b"]":
        return None
    body = start + len(_ARRAY)
    end = data.find(b"\n  ]", body)  # a string holds no raw newline: the array's own end
    if end < 0:
        return None
    spans = []
    at = body
    while at < end:
        cut = data.find(_NEXT, at + PIECE_BYTES, end)
        stop = end if cut < 0 else cut + len(b"\n    }")
        spans.append((at, stop))
        at = stop + 1  # past the comma
    return data[:body] + data[end + 3:], spans


def _piece(data: bytes, span: tuple[int, int]) -> list:
    return orjson.loads(b"[" + data[span[0]:span[1]] + b"]")


def _first_pass(job: tuple[str, list[str]], proven: bool = False) -> list[tuple]:
    """Each file read and parsed: (its name, session id, message count); with ``proven``,
    also its SHA-256 (sent back with them, as a plan keeps it) and orjson's value proven
    lossless (``benchmarks.proof``), a piece at a time for a huge session."""
    folder, names = job
    found = []
    for name in names:
        path = os.path.join(folder, name)
        with open(path, "rb") as f:
            data = f.read()
        digest = (hashlib.sha256(data).digest(),) if proven else ()
        split = _spans(data) if len(data) >= STREAM_BYTES else None
        if split is not None:  # its messages a piece at a time, never all at once
            head, spans = split
            doc = orjson.loads(head)
            if proven:
                prove(path, head, doc)
            count = 0
            for span in spans:
                if proven:
                    piece = b"[" + data[span[0]:span[1]] + b"]"
                    messages = orjson.loads(piece)
                    prove(path, piece, messages)
                else:
                    messages = _piece(data, span)
                count += len(messages)
            found.append((name, doc["session_id"], count, *digest))
            continue
        doc = orjson.loads(data)
        if proven:
            prove(path, data, doc)
        found.append((name, doc["session_id"], len(doc["messages"]), *digest))
    return found


def _proven_first_pass(job: tuple[str, list[str]]) -> list[tuple]:
    return _first_pass(job, proven=True)


def _syncfs_usable() -> bool:
    release = os.uname().release.split(".")
    try:
        recent = (int(release[0]), int("".join(c for c in release[1][:3] if c.isdigit()))) >= (5, 8)
    except (IndexError, ValueError):
        return False
    return recent and hasattr(ctypes.CDLL(None), "syncfs")


SYNCFS = sys.platform.startswith("linux") and _syncfs_usable()


def _open_dir(path: str) -> int:
    return os.open(path, os.O_RDONLY | os.O_DIRECTORY)


def _syncfs(fd: int) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.syncfs(fd) != 0:
        raise OSError(ctypes.get_errno(), "syncfs failed")


def _synced_batch(folder: str, files: list[tuple[str, bytes]]) -> None:
    """Temporary files written, one syncfs, renamed, the folder fsynced."""
    fd = _open_dir(folder)  # before the writes: syncfs reports errors since it was opened
    try:
        for path, data in files:
            tmp = path + ".tmp"
            out = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            try:
                os.write(out, data)
            finally:
                os.close(out)
        _syncfs(fd)
        for path, _data in files:
            os.rename(path + ".tmp", path)
        os.fsync(fd)
    finally:
        os.close(fd)


def _durable(path: str, data: bytes) -> None:
    tmp = path + ".tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.rename(tmp, path)


def _line(message: dict) -> bytes:
    return orjson.dumps({k: v for k, v in message.items() if v is not None},
                        option=orjson.OPT_APPEND_NEWLINE)


def _streamed(folder: str, huge: list[tuple[bytes, bytes, list[tuple[int, int]]]]) -> None:
    """Each huge session's transcript written to its temporary file a piece at a time,
    fsynced, renamed (after the backup is on disk); then the folder fsynced once."""
    for data, head, spans in huge:
        path = os.path.join(folder, f"{orjson.loads(head)['session_id']}.jsonl")
        fd = os.open(path + ".tmp", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            for span in spans:
                view = memoryview(b"".join(map(_line, _piece(data, span))))
                while view:
                    view = view[os.write(fd, view):]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.rename(path + ".tmp", path)
    if huge:
        fd = _open_dir(folder)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _second_pass(job: tuple[str, list[str]]) -> int:
    folder, names = job
    backup = os.path.join(folder, "backup_old_format")
    huge: list[tuple[bytes, bytes, list[tuple[int, int]]]] = []  # its bytes, head, spans
    if SYNCFS:
        copies = []
        transcripts = []
        for name in names:
            with open(os.path.join(folder, name), "rb") as f:
                data = f.read()
            copies.append((os.path.join(backup, name), data))
            split = _spans(data) if len(data) >= STREAM_BYTES else None
            if split is not None:
                huge.append((data, *split))
                continue
            doc = orjson.loads(data)
            transcripts.append((os.path.join(folder, f"{doc['session_id']}.jsonl"),
                                b"".join(map(_line, doc["messages"]))))
        _synced_batch(backup, copies)
        del copies
        _synced_batch(folder, transcripts)
        _streamed(folder, huge)
        return len(names)
    with ThreadPoolExecutor(WRITERS) as writers:
        copying = []
        encoded = []
        for name in names:
            with open(os.path.join(folder, name), "rb") as f:
                data = f.read()
            copying.append(writers.submit(_durable, os.path.join(backup, name), data))
            split = _spans(data) if len(data) >= STREAM_BYTES else None
            if split is not None:
                huge.append((data, *split))
                continue
            doc = orjson.loads(data)
            encoded.append((doc["session_id"], b"".join(map(_line, doc["messages"]))))
        for copy in copying:
            copy.result()
        for done in [writers.submit(_durable, os.path.join(folder, f"{sid}.jsonl"), out)
                     for sid, out in encoded]:
            done.result()
    _streamed(folder, huge)
    return len(names)


def lower_bound(workspace: str, agent_id: str = "main", dry_run: bool = False,
                proven: bool = False) -> int:
    folder = os.path.join(workspace, ".sessions")
    names = sorted(n for n in os.listdir(folder)
                   if n.endswith(".json") and n not in ("session_map.json", "sessions.json"))
    jobs = [(folder, names[i::WORKERS]) for i in range(WORKERS)]
    first = _proven_first_pass if proven else _first_pass
    if dry_run:  # what any dry run must do: read and parse every file
        with multiprocessing.get_context("fork").Pool(WORKERS) as pool:
            return len([item for part in pool.map(first, jobs) for item in part])
    with multiprocessing.get_context("fork").Pool(WORKERS) as pool:
        found = [item for part in pool.map(first, jobs) for item in part]
        os.mkdir(os.path.join(folder, "backup_old_format"))  # once the first pass is done
        migrated = sum(pool.map(_second_pass, jobs))
    index = {f"agent:{agent_id}:{sid}": {"sessionId": sid, "messages": count}
             for _name, sid, count, *_digest in found}
    _durable(os.path.join(folder, "sessions.json"), orjson.dumps(index, option=orjson.OPT_INDENT_2))
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    return migrated


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    dry_run = "--dry-run" in args
    proven = "--proven" in args
    args = [a for a in args if a not in ("--dry-run", "--proven")]
    if len(args) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    try:
        migrated = lower_bound(args[0], dry_run=dry_run, proven=proven)
    except Unproven as exc:
        print(exc, file=sys.stderr)
        return 1
    print(json.dumps({"migrated": migrated}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
