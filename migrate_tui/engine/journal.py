"""The journal: what each migration did, written ahead of doing it.

``backup_old_format/journal.jsonl`` is append-only; each record is fsynced before the
action it announces.  Rollback, rerun and verify read it.  Records:

* ``begin``    a run starts (run id, time, pid)
* ``create``   a file that did not exist is about to be written: file, sha256, size,
               and for a transcript its source file, source sha256 and fixes
* ``replace``  an existing file is about to be replaced: also old_sha256 and the backup name
* ``keys``     entries written to sessions.json: {key: session_id}
* ``delete``   clean-up is about to remove an original (backup name, sha256)
* ``commit``   a run finished
* ``rollback`` everything before this record has been undone
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from typing import Any

from migrate_tui.core import fsio
from migrate_tui.core.layout import Layout


def new_run_id() -> str:
    return time.strftime("%Y%m%dT%H%M%S", time.gmtime()) + f"-{os.getpid()}"


def append(layout: Layout, *records: dict[str, Any]) -> None:
    data = "".join(json.dumps(r, ensure_ascii=True) + "\n" for r in records).encode("ascii")
    st = fsio.lstat_or_none(layout.journal)
    if st is not None and st.st_size and fsio.read_range(layout.journal, -1, 1) != b"\n":
        data = b"\n" + data  # a crash cut the last record short: never glue onto it
    fsio.append_durable(layout.journal, data)


@dataclass
class JournalState:
    """The records that are still in effect (after the last rollback), in order."""

    records: list[dict[str, Any]] = field(default_factory=list)
    runs: list[str] = field(default_factory=list)
    committed: set[str] = field(default_factory=set)
    torn_tail: bool = False  # the last line was cut short by a crash (it is ignored)

    @property
    def changes(self) -> list[dict[str, Any]]:
        return [r for r in self.records if r.get("op") in ("create", "replace", "delete")]

    @property
    def interrupted(self) -> list[str]:
        return [r for r in self.runs if r not in self.committed]


def read(layout: Layout) -> JournalState:
    state = JournalState()
    if fsio.lstat_or_none(layout.journal) is None:
        return state
    data = fsio.read_bytes(layout.journal)
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    elif lines:
        state.torn_tail = True
        lines.pop()
    for raw in lines:
        try:
            record = json.loads(raw)
        except ValueError:
            state.torn_tail = True
            continue
        op = record.get("op")
        if op == "rollback":
            state = JournalState(torn_tail=state.torn_tail)
            continue
        state.records.append(record)
        if op == "begin":
            state.runs.append(record["run"])
        elif op == "commit":
            state.committed.add(record["run"])
    return state


def latest(records: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The last create/replace record for each file."""
    out: dict[str, dict[str, Any]] = {}
    for r in records:
        if r.get("op") in ("create", "replace"):
            out[r["file"]] = r
    return out
