"""The proven dry bound: the least work a dry run that keeps its promises has to do, done
as fast as this machine allows.

    python -m benchmarks.dry_bound WORKSPACE

``benchmarks.lower_bound --dry-run`` reads every file and parses it with orjson: it shows
how fast a first pass can get, but our dry run may not stop there.  What it says is a
promise about the real run, and these parts of it cannot be left out:

* every legacy file read whole (a plan needs all of them before anything is written);
* its SHA-256: the plan names the bytes it was made from, and apply refuses to write from
  a file that changed since;
* a parse, and the proof that the parsed value is the one the lossless parser gives (a
  dry run that passes a file the real run would carry differently predicts nothing).
  The proof is ``benchmarks.proof``'s (shared with ``benchmarks.lower_bound --proven``):
  orjson's value checked against the source, without the standard library's parse.
* each file's ``updated_at`` read as a date: it is the entry's ``updated_at`` in the plan,
  and a file without a usable one is a problem the dry run must report;
* ``session_map.json`` read (orjson, the same proof): the keys of every session are part of
  the plan, and a key repeated in it is a warning the dry run must give;
* the report: what a dry run is run for is its report of every session, printed.  Here a
  JSON object per session (its id, its file, the keys that point at it, its message count,
  its ``updated_at``), the whole written by ``json.dumps`` as one text, as the plainest
  program would; ours prints more about each session (its action, status, problems, the
  fields not carried, notes).

Two worker processes share the files (forked: nothing here runs threads before), each
sends back one small tuple per file (its name, its session id, its message count, its
``updated_at`` and its SHA-256), and this process gathers them, as a dry run must before it
can plan.  Left out: everything else our dry run does (classifying every other problem,
the fields carried, the plan's checks, reading sessions.json, the locks); that is why this
is a bound and not a dry run.  Standard library and orjson only.

It parses each file whole.  On one huge file (corpus C) our scan, which parses and proves
a big file a megabyte at a time to bound its memory, took less CPU than this does: there
the bound is not the least, and ours is compared with it only as an upper estimate.
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
import sys
from datetime import UTC, datetime, timedelta

from benchmarks.proof import Unproven, read_proven

WORKERS = 2
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MS = timedelta(milliseconds=1)


def _first_pass(job: tuple[str, list[str]]) -> list[tuple[str, str, int, int, str]]:
    folder, names = job
    found = []
    for name in names:
        doc, data = read_proven(os.path.join(folder, name))
        digest = hashlib.sha256(data).hexdigest()
        moment = datetime.fromisoformat(doc["updated_at"])
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        found.append((name, doc["session_id"], len(doc["messages"]),
                      (moment - _EPOCH) // _MS, digest))
    return found


def dry_bound(workspace: str) -> dict[str, object]:
    folder = os.path.join(workspace, ".sessions")
    names = sorted(n for n in os.listdir(folder)
                   if n.endswith(".json") and n not in ("session_map.json", "sessions.json"))
    jobs = [(folder, names[i::WORKERS]) for i in range(WORKERS)]
    with multiprocessing.get_context("fork").Pool(WORKERS) as pool:
        found = [item for part in pool.map(_first_pass, jobs) for item in part]
    keys: dict[str, list[str]] = {}
    map_path = os.path.join(folder, "session_map.json")
    if os.path.exists(map_path):
        session_map, _ = read_proven(map_path)
        for key, sid in session_map.items():
            keys.setdefault(sid, []).append(key)
    found.sort()
    sessions = [{"session_id": sid, "file": name, "keys": keys.get(sid, []), "messages": count,
                 "updated_at": updated_at} for name, sid, count, updated_at, _ in found]
    return {"migrated": len(sessions), "sessions": sessions}


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    try:
        print(json.dumps(dry_bound(args[0])))
    except Unproven as exc:
        print(exc, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
