"""The journal: what each run did, written ahead of doing it.

``backup_old_format/journal.jsonl`` is append-only; each record is fsynced before the
action it announces.  Every command derives the workspace's state from it (engine/state.py).
Records:

* ``begin``    a run starts: run id, command (migrate, rollback, cleanup), time, pid
* ``create``   a file that did not exist is about to be written: file, sha256, size,
               and for a transcript its source file, source sha256 and fixes
* ``replace``  an existing file is about to be replaced: also old_sha256 and the backup name
* ``keys``     entries about to be written to sessions.json: {key: session_id}
* ``delete``   clean-up is about to remove an original (backup name, sha256)
* ``commit``   the run finished: for a migration, written only once sessions.json is merged
               and verified, with every session's outcome (``sessions``: file → [sha256, id];
               ``not_migrated``: file → [sha256, why])
* ``rollback`` everything before this record has been undone

A run into another target (today's OpenClaw) says so on its records: ``target``
("openclaw") and ``dir``, the absolute folder its files and keys are in (without ``dir``, a
file is in ``.sessions/``).

A run without its commit is *interrupted*.  The journal is read defensively: a line a crash
cut short is passed over; any other damage (garbage, a line that is no record, a record
without its run) is reported as one sentence naming the file and the line.
"""

from __future__ import annotations

import json
import os
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

from migrate_tui.core import fsio
from migrate_tui.core.layout import Layout

MAX_JOURNAL_BYTES = 1 << 30
COMMANDS = ("migrate", "rollback", "cleanup")


def new_run_id() -> str:
    """Time, pid and a random part: two runs of one process in one second differ too."""
    return time.strftime("%Y%m%dT%H%M%S", time.gmtime()) + f"-{os.getpid()}-{secrets.token_hex(3)}"


def now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def begin_record(run: str, command: str) -> dict[str, Any]:
    return {"op": "begin", "run": run, "command": command, "pid": os.getpid(), "time": now()}


def append(layout: Layout, *records: dict[str, Any]) -> None:
    data = "".join(json.dumps(r, ensure_ascii=True) + "\n" for r in records).encode("ascii")
    st = fsio.lstat_or_none(layout.journal)
    if st is not None and st.st_size and fsio.read_range(layout.journal, -1, 1) != b"\n":
        data = b"\n" + data  # a crash cut the last record short: never glue onto it
    fsio.append_durable(layout.journal, data)


@dataclass(frozen=True)
class Damage:
    """Something wrong in a file of the backup folder, at a line when known."""

    path: str
    what: str
    line: int | None = None

    def __str__(self) -> str:
        where = f"{self.path}, line {self.line}" if self.line is not None else self.path
        return f"{where}: {self.what}"


@dataclass
class Run:
    """One run as the journal tells it."""

    run: str
    command: str = "migrate"
    line: int = 0  # the line of its begin record
    pid: int | None = None
    time: str | None = None
    commit: dict[str, Any] | None = None
    undone: bool = False  # a later rollback undid it

    @property
    def committed(self) -> bool:
        return self.commit is not None

    def describe(self) -> str:
        when = f" begun {self.time}" if self.time else ""
        who = f" by process {self.pid}" if self.pid else ""
        return f"{self.command} run {self.run}{when}{who}"


@dataclass
class JournalState:
    """The records that are still in effect (after the last rollback), in order, and every
    run the journal holds."""

    records: list[dict[str, Any]] = field(default_factory=list)
    runs: list[str] = field(default_factory=list)  # in effect, in order
    committed: set[str] = field(default_factory=set)
    torn_tail: bool = False  # a line was cut short by a crash (it is passed over)
    damage: list[Damage] = field(default_factory=list)
    history: list[Run] = field(default_factory=list)  # every run, undone ones too
    stamp: tuple[int, int, int] | None = None  # (size, mtime_ns, inode) of the file read

    @property
    def changes(self) -> list[dict[str, Any]]:
        return [r for r in self.records if r.get("op") in ("create", "replace", "delete")]

    @property
    def in_effect(self) -> list[Run]:
        wanted = set(self.runs)
        return [r for r in self.history if r.run in wanted]

    @property
    def interrupted(self) -> list[str]:
        return [r.run for r in self.interrupted_runs]

    @property
    def interrupted_runs(self) -> list[Run]:
        """Runs in effect without their commit that no later committed run completed: a
        migration (or rollback) is completed by a later committed migration, a clean-up by a
        later committed clean-up."""
        out = []
        runs = self.in_effect
        for n, run in enumerate(runs):
            if run.committed:
                continue
            completers = ("cleanup",) if run.command == "cleanup" else ("migrate",)
            if any(later.committed and later.command in completers for later in runs[n + 1:]):
                continue
            out.append(run)
        return out


def stamp(layout: Layout) -> tuple[int, int, int] | None:
    """The identity of the journal file as it is now (to tell whether it changed)."""
    st = fsio.lstat_or_none(layout.journal)
    return None if st is None else (st.st_size, st.st_mtime_ns, st.st_ino)


# The last journal parsed, by its identity (inode, size, mtime and ctime): a command that
# reads it twice (the state, then the scan's earlier fixes) parses it once.  Callers treat
# a JournalState as read-only.
_last: tuple[tuple[Any, ...], JournalState] | None = None


def read(layout: Layout) -> JournalState:
    """The journal, read defensively: damage is collected in ``damage``.  An I/O error
    (EIO...) is no damage: it is raised, and the command stops at a safe point."""
    global _last
    state = JournalState()
    path = layout.journal
    try:
        st = fsio.lstat_or_none(path)
        if st is None:
            return state
        identity = (path, st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_mode)
        last = _last
        if last is not None and last[0] == identity:
            return last[1]
        state.stamp = (st.st_size, st.st_mtime_ns, st.st_ino)
        data = fsio.read_bytes(path, MAX_JOURNAL_BYTES)
    except fsio.NotRegularFile as exc:
        state.damage.append(Damage(path, f"is a {exc.kind}, not a journal; it is not followed or read"))
        return state
    except fsio.FileTooLarge as exc:
        state.damage.append(Damage(path, f"is {exc.size:,} bytes, too large to be a journal"))
        return state
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    elif lines:
        state.torn_tail = True
        lines.pop()
    runs: dict[str, Run] = {}
    in_effect: list[dict[str, Any]] = []
    shared: dict[str, str] = {}
    for number, raw in enumerate(lines, 1):
        if not raw.strip():
            continue
        try:
            record = json.loads(raw)
        except (ValueError, RecursionError) as exc:
            if _cut_short(raw, exc):
                state.torn_tail = True  # a record a crash cut short: what it announced never began
            else:
                state.damage.append(Damage(path, f"is not a journal record ({_excerpt(raw)})", number))
            continue
        wrong = _wrong(record, runs)
        if wrong is not None:
            state.damage.append(Damage(path, wrong, number))
            continue
        record = _compact(record, shared)
        op = record["op"]
        if op == "rollback":
            for run in runs.values():
                run.undone = True
            in_effect = []
            continue
        in_effect.append(record)
        if op == "begin":
            run = Run(record["run"], record.get("command", "migrate"), number,
                      record.get("pid") if isinstance(record.get("pid"), int) else None,
                      record.get("time") if isinstance(record.get("time"), str) else None)
            runs[run.run] = run
            state.history.append(run)
        elif op == "commit":
            runs[record["run"]].commit = record
    state.records = in_effect
    state.runs = [r["run"] for r in in_effect if r["op"] == "begin"]
    state.committed = {r["run"] for r in in_effect if r["op"] == "commit"}
    if len(data) == st.st_size:  # read whole, as the identity says
        _last = (identity, state)
    return state


def _compact(record: dict[str, Any], shared: dict[str, str]) -> dict[str, Any]:
    """The same record, its keys and its short repeated values (op, run id, command, target,
    folder) one string object each across the journal: a record is parsed alone, so each
    would otherwise be a string of its own, and a journal of 100,000 sessions is held whole."""
    out = {}
    for key, value in record.items():
        key = shared.setdefault(key, key)
        if key in _SHARED_VALUES and type(value) is str:
            value = shared.setdefault(value, value)
        out[key] = value
    return out


_SHARED_VALUES = frozenset({"op", "run", "command", "target", "dir"})


def _cut_short(raw: bytes, exc: BaseException) -> bool:
    """A line that is the beginning of one of our records, cut where the input ran out."""
    ours = b'{"op": "'
    if not (raw.startswith(ours) or ours.startswith(raw)) or not isinstance(exc, json.JSONDecodeError):
        return False
    return exc.pos >= len(exc.doc.rstrip()) or exc.msg.startswith("Unterminated string")


def _excerpt(raw: bytes) -> str:
    text = raw[:40].decode("utf-8", "replace")
    return repr(text) + ("…" if len(raw) > 40 else "")


def _plain(value: Any) -> bool:
    return isinstance(value, str) and bool(value) and "/" not in value and value not in (".", "..") \
        and "\0" not in value


def _is_sha(value: Any) -> bool:
    return isinstance(value, str) and len(value) == 64


def _wrong(record: Any, runs: dict[str, Run]) -> str | None:
    """What is wrong with a parsed line as a journal record (None when it is a good one)."""
    if not isinstance(record, dict):
        return f"is {_kind(record)}, not a journal record"
    op = record.get("op")
    if op not in ("begin", "create", "replace", "keys", "delete", "commit", "rollback"):
        return f"has no known operation ({_kind(op) if not isinstance(op, str) else repr(op[:40])})"
    run = record.get("run")
    if op == "begin":
        if not isinstance(run, str) or not run:
            return "a begin record without a run id"
        if run in runs:
            return f"run {run} begins twice"
        if record.get("command", "migrate") not in COMMANDS:
            return f"run {run} is of an unknown command"
        return None
    if ((op in ("create", "replace", "keys", "commit") or run is not None)
            and (not isinstance(run, str) or run not in runs)):
        began = run if isinstance(run, str) else _kind(run)
        return f"a {op} record of a run that never began ({began})"
    folder = record.get("dir")
    if folder is not None and not (isinstance(folder, str) and folder.startswith("/")
                                   and "\0" not in folder and "/../" not in folder + "/"):
        return f"a {op} record whose folder is not an absolute path"
    if op in ("create", "replace"):
        if not _plain(record.get("file")):
            return f"a {op} record without a plain file name"
        if not _is_sha(record.get("sha256")) or not isinstance(record.get("size"), int):
            return f"the {op} record of {record['file']} has no SHA-256 or size"
        source = record.get("source")
        if source is not None and (not _plain(source) or not (
                record.get("source_sha256") is None or _is_sha(record.get("source_sha256")))):
            return f"the {op} record of {record['file']} names its source wrongly"
        fixes = record.get("fixes", [])
        if not isinstance(fixes, list) or not all(isinstance(f, str) for f in fixes):
            return f"the {op} record of {record['file']} lists its fixes wrongly"
        if op == "replace" and (not _is_sha(record.get("old_sha256")) or not _plain(record.get("backup"))):
            return f"the replace record of {record['file']} does not say where the old file went"
    elif op == "keys":
        keys = record.get("keys")
        if not isinstance(keys, dict) or not all(isinstance(v, str) for v in keys.values()):
            return "a keys record without its keys"
    elif op == "delete":
        if not _plain(record.get("file")) or not _is_sha(record.get("sha256")) \
                or not _plain(record.get("backup")):
            return "a delete record without its file, SHA-256 or backup name"
    elif op == "commit":
        for name in ("sessions", "not_migrated"):
            value = record.get(name, {})
            if not isinstance(value, dict) or not all(
                    _plain(k) and isinstance(v, list) and len(v) == 2 for k, v in value.items()):
                return f"the commit record of run {run} lists its {name.replace('_', ' ')} wrongly"
    return None


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, (int, float)):
        return f"the number {value!r}"[:60]
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    return "an object"


def latest(records: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The last create/replace record for each file."""
    out: dict[str, dict[str, Any]] = {}
    for r in records:
        if r.get("op") in ("create", "replace"):
            out[r["file"]] = r
    return out
