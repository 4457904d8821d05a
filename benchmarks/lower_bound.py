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
* it holds every encoded transcript in memory until the backup is on disk.

What it keeps is the work that cannot be left out: a first pass over every file (a plan
needs all of them before anything is written), the backup written and fsynced before any
transcript, each new file written to a temporary file, fsynced and renamed, and
``sessions.json`` written the same way.  Two worker processes share the files (started by
fork: nothing here runs threads before they start).  Durability as the migration gets it
(docs/durability.md): on Linux >= 5.8 each worker writes its temporary files, makes them
durable with one syncfs(2) (the file system's descriptor opened before they are written),
renames them and fsyncs the folder, for the backup and then for the transcripts; elsewhere
each file is fsynced, through 16 threads.  Standard library and orjson only.
"""

from __future__ import annotations

import ctypes
import json
import multiprocessing
import os
import sys
from concurrent.futures import ThreadPoolExecutor

import orjson

WORKERS = 2
WRITERS = 16


def _first_pass(job: tuple[str, list[str]]) -> list[tuple[str, str, int]]:
    folder, names = job
    found = []
    for name in names:
        with open(os.path.join(folder, name), "rb") as f:
            doc = orjson.loads(f.read())
        found.append((name, doc["session_id"], len(doc["messages"])))
    return found


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


def _second_pass(job: tuple[str, list[str]]) -> int:
    folder, names = job
    backup = os.path.join(folder, "backup_old_format")
    if SYNCFS:
        copies = []
        transcripts = []
        for name in names:
            with open(os.path.join(folder, name), "rb") as f:
                data = f.read()
            copies.append((os.path.join(backup, name), data))
            doc = orjson.loads(data)
            transcripts.append((os.path.join(folder, f"{doc['session_id']}.jsonl"),
                                b"".join(map(_line, doc["messages"]))))
        _synced_batch(backup, copies)
        del copies
        _synced_batch(folder, transcripts)
        return len(names)
    with ThreadPoolExecutor(WRITERS) as writers:
        copies = []
        transcripts = []
        for name in names:
            with open(os.path.join(folder, name), "rb") as f:
                data = f.read()
            copies.append(writers.submit(_durable, os.path.join(backup, name), data))
            doc = orjson.loads(data)
            transcripts.append((doc["session_id"], b"".join(map(_line, doc["messages"]))))
        for copy in copies:
            copy.result()
        for done in [writers.submit(_durable, os.path.join(folder, f"{sid}.jsonl"), out)
                     for sid, out in transcripts]:
            done.result()
    return len(names)


def lower_bound(workspace: str, agent_id: str = "main", dry_run: bool = False) -> int:
    folder = os.path.join(workspace, ".sessions")
    names = sorted(n for n in os.listdir(folder)
                   if n.endswith(".json") and n not in ("session_map.json", "sessions.json"))
    jobs = [(folder, names[i::WORKERS]) for i in range(WORKERS)]
    if dry_run:  # what any dry run must do: read and parse every file
        with multiprocessing.get_context("fork").Pool(WORKERS) as pool:
            return len([item for part in pool.map(_first_pass, jobs) for item in part])
    os.mkdir(os.path.join(folder, "backup_old_format"))
    with multiprocessing.get_context("fork").Pool(WORKERS) as pool:
        found = [item for part in pool.map(_first_pass, jobs) for item in part]
        migrated = sum(pool.map(_second_pass, jobs))
    index = {f"agent:{agent_id}:{sid}": {"sessionId": sid, "messages": count}
             for _name, sid, count in found}
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
    args = [a for a in args if a != "--dry-run"]
    if len(args) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    print(json.dumps({"migrated": lower_bound(args[0], dry_run=dry_run)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
