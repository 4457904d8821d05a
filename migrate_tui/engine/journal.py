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

import contextlib
import itertools
import json
import os
import re
import secrets
import stat
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from migrate_tui.core import fsio
from migrate_tui.core.errors import OperationBusy
from migrate_tui.core.layout import Layout

try:
    import orjson as _orjson
except ImportError:  # pragma: no cover - a declared dependency; the standard library suffices
    _orjson = None  # type: ignore[assignment]

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
    append_lines(layout, b"".join(map(record_line, records)))


def record_line(record: dict[str, Any]) -> bytes:
    """The journal's line for ``record``: ``json.dumps``'s text (a transcript's ``create``
    record, one a session, written by ``_create_line``)."""
    if type(record) is dict and len(record) == 8 and record.get("op") == "create":
        line = _create_line(record)
        if line is not None:
            return line
    return (json.dumps(record, ensure_ascii=True) + "\n").encode("ascii")


# how ``json.dumps`` writes a string (``ensure_ascii``, its default)
_encode_string = json.encoder.encode_basestring_ascii
_CREATE_KEYS = ("op", "run", "file", "sha256", "size", "source", "source_sha256", "fixes")


def _create_line(record: dict[str, Any]) -> bytes | None:
    """``json.dumps(record)``'s line for a transcript's ``create`` record (apply's
    ``_record``) made from its parts, in 1.3 us instead of 6 (20,000 sessions: 0.1 s of the
    writer thread); None for any other shape (its keys in another order, a value of
    another type)."""
    if tuple(record) != _CREATE_KEYS:
        return None
    run, file, sha, size, source, source_sha, fixes = (
        record["run"], record["file"], record["sha256"], record["size"], record["source"],
        record["source_sha256"], record["fixes"])
    if not (type(run) is str and type(file) is str and type(sha) is str and type(size) is int
            and type(source) is str and (type(source_sha) is str or source_sha is None)
            and type(fixes) is list and all(type(fix) is str for fix in fixes)):
        return None
    enc = _encode_string
    return (f'{{"op": "create", "run": {enc(run)}, "file": {enc(file)}, "sha256": {enc(sha)}, '
            f'"size": {size!r}, "source": {enc(source)}, "source_sha256": '
            f'{"null" if source_sha is None else enc(source_sha)}, '
            f'"fixes": [{", ".join(map(enc, fixes))}]}}\n').encode("ascii")


def append_lines(layout: Layout, data: bytes | bytearray) -> None:
    """Append records already made into lines, durably."""
    append_pieces(layout, (data,))


def append_pieces(layout: Layout, pieces: Iterable[bytes | bytearray]) -> None:
    """Append records made into lines a piece at a time as ``pieces`` makes them
    (``commit_pieces``, ``keys_pieces``), durably: one fsync at the end."""
    st = fsio.lstat_or_none(layout.journal)
    if st is not None and st.st_size and fsio.read_range(layout.journal, -1, 1) != b"\n":
        pieces = itertools.chain((b"\n",), pieces)  # a crash cut the last record short: never glue onto it
    fsio.append_durable_pieces(layout.journal, pieces)


COMMIT_ROWS_A_PIECE = 1024


def commit_record(run: str, migrated: int, outcomes: Iterable[tuple[bool, str, list[Any]]],
                  extra: Mapping[str, Any] | None = None) -> bytes:
    """The line ``append`` writes for ``{"op": "commit", "run": run, "migrated": migrated,
    "sessions": {...}, "not_migrated": {...}, **extra}``, byte for byte (``commit_pieces``
    joined)."""
    return b"".join(commit_pieces(run, migrated, outcomes, extra))


def commit_pieces(run: str, migrated: int, outcomes: Iterable[tuple[bool, str, list[Any]]],
                  extra: Mapping[str, Any] | None = None) -> Iterator[bytes | bytearray]:
    """``commit_record``'s line a piece at a time, made from each session's outcome as it
    comes: (migrated or not, its file name, [its SHA-256, the session id or why not]).  The
    sessions migrated are encoded a thousand at a time and handed out as they are made;
    those not migrated (a few, as a rule) are kept until the others are done, as they come
    after them.  So the record, which holds every session of the workspace (15 MB at
    100,000), is never held whole (``append_pieces`` writes each piece as it comes)."""
    head = json.dumps({"op": "commit", "run": run, "migrated": migrated}, ensure_ascii=True)
    yield head[:-1].encode("ascii") + b', "sessions": {'
    others = bytearray()  # the members of "not_migrated"
    pending: tuple[dict[str, list[Any]], dict[str, list[Any]]] = ({}, {})
    first = True  # no member of "sessions" handed out yet
    for done, name, value in outcomes:
        rows = pending[done]
        rows[name] = value
        if len(rows) >= COMMIT_ROWS_A_PIECE:
            if done:
                yield _members(rows) if first else b", " + _members(rows)
                first = False
            else:
                _add_members(others, rows)
            rows.clear()
    if pending[True]:
        yield _members(pending[True]) if first else b", " + _members(pending[True])
    if pending[False]:
        _add_members(others, pending[False])
    others[:0] = b'}, "not_migrated": {'
    others += b"}"
    if extra:
        others += b", " + _members(dict(extra))
    others += b"}\n"
    yield others


def keys_record(run: str, keys: Iterable[tuple[str, str]]) -> bytes:
    """The line ``append`` writes for ``{"op": "keys", "run": run, "keys": dict(keys)}``,
    byte for byte (``keys_pieces`` joined)."""
    return b"".join(keys_pieces(run, keys))


def keys_pieces(run: str, keys: Iterable[tuple[str, str]]) -> Iterator[bytes]:
    """``keys_record``'s line a piece at a time, ``keys`` being each key written and the
    session id its entry holds, no key twice (a dict's items): encoded a thousand keys at a
    time and handed out as they are made, so that at 100,000 keys neither a dict of them
    nor the record is held whole (``append_pieces``)."""
    yield json.dumps({"op": "keys", "run": run}, ensure_ascii=True)[:-1].encode("ascii") + b', "keys": {'
    rows: dict[str, str] = {}
    first = True
    for key, value in keys:
        rows[key] = value
        if len(rows) >= COMMIT_ROWS_A_PIECE:
            yield _members(rows) if first else b", " + _members(rows)
            first = False
            rows.clear()
    if rows:
        yield _members(rows) if first else b", " + _members(rows)
    yield b"}}\n"


def _add_members(into: bytearray, rows: dict[str, Any]) -> None:
    """Put ``rows``' members at the end of ``into`` (after a comma, unless they are the first)."""
    if into:
        into += b", "
    into += _members(rows)


def _members(obj: dict[str, Any]) -> bytes:
    """The members of ``obj`` as ``json.dumps`` writes them inside its braces."""
    return json.dumps(obj, ensure_ascii=True)[1:-1].encode("ascii")


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


@dataclass(frozen=True, slots=True)
class Outcome:
    """What the latest committed migration that saw a legacy file made of it."""

    run: str
    sha256: str | None  # the file's bytes as that run read them
    session_id: str | None  # the id it was migrated as; None when it was not migrated
    why: str | None = None  # not migrated: "skip" or the problem's code


class Outcomes(Mapping[str, Outcome]):
    """Legacy file name → ``Outcome``, held small: the common outcome (migrated under its
    file name's id, a SHA-256 in hex) as 34 bytes (the run's number, the digest), any other
    as its ``Outcome``.  At 100,000 sessions: about 20 MB instead of 40.  A name ending in
    ``.json`` is held as its id (the name without it), which ``share_ids`` makes the
    scan's own string (9 MB of names at 100,000 sessions, not held twice); any other name
    as a 1-tuple of it (in the same dict: the order of the names is kept).  While
    ``shared_ids`` is set (``sharing_ids``: verify's scan, as the journal is read at its
    end), an id is held as the string it maps to as it is put: the names are never held
    twice, even at that peak."""

    # an id -> the same id, another object (the scan's own string); only which of two equal
    # strings is held depends on it, never what the mapping holds
    shared_ids: Mapping[str, str] | None = None

    def __init__(self) -> None:
        self._runs: list[str] = []
        self._run_numbers: dict[str, int] = {}
        self._by_name: dict[str | tuple[str], bytes | Outcome] = {}

    @staticmethod
    def _held(name: str) -> str | tuple[str]:
        return name[:-5] if name.endswith(".json") else (name,)

    def share_ids(self, ids: Mapping[str, str]) -> None:
        """The names held as ``ids`` holds them (an id → the same id, the scan's own
        string), where it has them: the same mapping, held once."""
        self._by_name = {ids.get(held, held) if type(held) is str else held: value
                         for held, value in self._by_name.items()}

    def put(self, name: str, outcome: Outcome) -> None:
        held = self._held(name)
        shared = Outcomes.shared_ids
        if shared is not None and type(held) is str:
            held = shared.get(held, held)
        self._by_name[held] = self._pack(name, outcome)

    def put_migrated(self, name: str, run: str, sha: Any, sid: Any) -> None:
        """``put(name, Outcome(run, sha, sid))`` for a commit's pair, no Outcome made for the
        common one (100,000 of them in one record)."""
        if (type(sid) is str and type(sha) is str and len(sha) == 64 and name.endswith(".json")
                and len(name) == len(sid) + 5 and name.startswith(sid) and _is_lower_hex(sha)):
            number = self._run_numbers.get(run)
            if number is not None:
                shared = Outcomes.shared_ids
                self._by_name[sid if shared is None else shared.get(sid, sid)] = (
                    number.to_bytes(2, "big") + bytes.fromhex(sha))
                return
        self.put(name, Outcome(run, sha if isinstance(sha, str) else None,
                               sid if isinstance(sid, str) else None))

    def setdefault_outcome(self, name: str, outcome: Outcome) -> None:
        if self._held(name) not in self._by_name:
            self.put(name, outcome)

    def update_from(self, other: Outcomes) -> None:
        for name in other:
            self.put(name, other[name])

    def _pack(self, name: str, outcome: Outcome) -> bytes | Outcome:
        sha = outcome.sha256
        if (outcome.why is not None or outcome.session_id is None or not name.endswith(".json")
                or outcome.session_id != name[:-5] or sha is None or len(sha) != 64
                or not _is_lower_hex(sha)):
            return outcome
        number = self._run_numbers.get(outcome.run)
        if number is None:
            if len(self._runs) >= 1 << 16:
                return outcome
            number = self._run_numbers[outcome.run] = len(self._runs)
            self._runs.append(outcome.run)
        return number.to_bytes(2, "big") + bytes.fromhex(sha)

    def __getitem__(self, name: str) -> Outcome:
        value = self._by_name.get(self._held(name)) if type(name) is str else None
        if value is None:
            raise KeyError(name)
        if type(value) is bytes:
            return Outcome(self._runs[int.from_bytes(value[:2], "big")], value[2:].hex(), name[:-5])
        return value  # type: ignore[return-value]

    def __contains__(self, name: object) -> bool:
        return type(name) is str and self._held(name) in self._by_name

    def __iter__(self) -> Iterator[str]:
        for held in self._by_name:
            yield held + ".json" if type(held) is str else held[0]

    def __len__(self) -> int:
        return len(self._by_name)


_is_lower_hex = re.compile(r"[0-9a-f]*").fullmatch  # one C call, not a test a character


@dataclass
class JournalState:
    """What the journal says, held small: every run it holds, the runs in effect (after the
    last rollback), the damage found.  Its records are not held: ``records`` reads them
    again, a line at a time, from the part of the file this state was read from (the
    journal is append-only, so that part does not change; if the file was replaced since,
    ``OperationBusy``).  At 100,000 sessions the records, held whole, took about 1.4 KB a
    session."""

    runs: list[str] = field(default_factory=list)  # in effect, in order
    committed: set[str] = field(default_factory=set)
    torn_tail: bool = False  # a line was cut short by a crash (it is passed over)
    damage: list[Damage] = field(default_factory=list)
    history: list[Run] = field(default_factory=list)  # every run, undone ones too
    stamp: tuple[int, int, int] | None = None  # (size, mtime_ns, inode) of the file read
    # where the records in effect are: (path, device, inode, bytes read, first line in
    # effect, lines passed over as damaged); None: no journal
    source: tuple[str, int, int, int, int, frozenset[int]] | None = field(default=None, repr=False)
    # gathered as the file is read, for the runs in effect: legacy file name → what the
    # latest committed migration that saw it made of it (``WorkspaceState.outcomes``) ...
    outcomes: Outcomes = field(default_factory=lambda: Outcomes(), repr=False)
    # ... and (source, its SHA-256, fixes) of each record that migrated a file with fixes
    fixed_sources: list[tuple[str, str | None, frozenset[str]]] = field(default_factory=list, repr=False)
    has_changes: bool = False  # a create, replace or delete record is in effect

    @property
    def records(self) -> Records:
        """The records in effect, in order (read again each time they are gone through)."""
        return Records(self, None)

    @property
    def changes(self) -> Records:
        """The create, replace and delete records in effect (``has_changes``: whether there
        is one, known without reading the file again)."""
        return Records(self, ("create", "replace", "delete"))

    def iter_records(self, ops: tuple[str, ...] | None = None) -> Iterator[dict[str, Any]]:
        """The records in effect (only those of ``ops``, when given), read again from the
        file, a line at a time; the keys and short repeated values of the records of one
        pass are one string object each."""
        shared: dict[str, str] = {}
        for raw in self._lines(ops):
            record = _compact(_loads(raw), shared)
            if record["op"] == "rollback":
                continue
            if ops is None or record["op"] in ops:
                yield record

    def iter_keys(self) -> Iterator[tuple[str, str]]:
        """(key, session id) of each keys record in effect, in order; the latest word on a
        key is the last pair naming it (a key may come twice in a row: only the last counts).
        A record as we write it is read a pair at a time, never held as one dict (100,000
        keys: 44 MB at once)."""
        for raw in self._lines(("keys",)):
            if raw.startswith(_KEYS_HEAD):
                try:
                    yield from _keys_pairs(raw)
                    continue
                except (ValueError, UnicodeDecodeError):
                    pass  # not laid out as we write it: read whole (what came is said again)
            record = _loads(raw)
            if record["op"] == "keys":
                yield from record["keys"].items()

    def _lines(self, ops: tuple[str, ...] | None) -> Iterator[bytes]:
        """The lines of the records in effect (those of ``ops`` and any not laid out as we
        write them, when given), read again from the file."""
        if self.source is None:
            return
        path, dev, ino, size, first, skip = self.source
        st = fsio.lstat_or_none(path)
        if st is None or (st.st_dev, st.st_ino) != (dev, ino) or st.st_size < size:
            raise OperationBusy(f"{path} changed while it was read; run the command again")
        prefixes = None if ops is None else tuple(f'{{"op": "{op}"'.encode("ascii") for op in ops)

        def wanted(head: bytes) -> bool:
            return prefixes is None or not head.startswith(b'{"op": "') or head.startswith(prefixes)

        for number, raw in file_lines(path, size, None, wanted, AGAIN_CHUNK):
            if number < first or number in skip or not raw.strip():
                continue
            if prefixes is not None and raw.startswith(b'{"op": "') and not raw.startswith(prefixes):
                continue  # written by us: its operation is not one of those asked for
            yield raw

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


_KEYS_HEAD = b'{"op": "keys", "run": "'
_STRING_REST = re.compile(rb'[^"\\]*(?:\\.[^"\\]*)*"')  # a JSON string's rest, its closing quote
_PAIR = re.compile(rb'"([^"\\]*(?:\\.[^"\\]*)*)": "([^"\\]*(?:\\.[^"\\]*)*)"')


def _string(inside: bytes) -> str:
    """A JSON string of ASCII bytes, given without its quotes."""
    if b"\\" in inside:
        text: str = json.loads(b'"' + inside + b'"')
        return text
    return inside.decode("ascii")


def _keys_pairs(raw: bytes) -> Iterator[tuple[str, str]]:
    """The pairs of a keys record laid out as ``append`` writes it (``json.dumps``'s
    separators, ASCII), one at a time, read from its bytes (no copy of the line is made);
    ValueError as soon as the line is laid out otherwise."""
    run = _STRING_REST.match(raw, len(_KEYS_HEAD))
    if run is None or not raw.startswith(b', "keys": {', run.end()):
        raise ValueError("not as written")
    at = run.end() + 11
    end = len(raw) - 2
    if at == end and raw.endswith(b"}}"):
        return
    pair = _PAIR.match
    while True:
        found = pair(raw, at)
        if found is None:
            raise ValueError("not as written")
        yield _string(found.group(1)), _string(found.group(2))
        at = found.end()
        if raw.startswith(b", ", at):
            at += 2
        elif at == end and raw.endswith(b"}}"):
            return
        else:
            raise ValueError("not as written")


class Records:
    """The records in effect, gone through again on each iteration (nothing held)."""

    def __init__(self, state: JournalState, ops: tuple[str, ...] | None) -> None:
        self._state = state
        self._ops = ops

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return self._state.iter_records(self._ops)

    def __bool__(self) -> bool:
        if self._ops == ("create", "replace", "delete"):
            return self._state.has_changes
        return next(iter(self), None) is not None

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Records):
            other = list(other)
        return list(self) == other if isinstance(other, list) else NotImplemented

    __hash__ = None  # type: ignore[assignment]


def stamp(layout: Layout) -> tuple[int, int, int] | None:
    """The identity of the journal file as it is now (to tell whether it changed)."""
    st = fsio.lstat_or_none(layout.journal)
    return None if st is None else (st.st_size, st.st_mtime_ns, st.st_ino)


READ_CHUNK = 4 << 20
AGAIN_CHUNK = 1 << 20  # read again for some records: the others' long lines are passed over


def file_lines(path: str, size: int, torn: list[bool] | None = None,
               keep: Callable[[bytes], bool] | None = None,
               chunk_bytes: int = READ_CHUNK,
               spans: Callable[[bytes], bool] | None = None) -> Iterator[tuple[int, bytes]]:
    """The whole lines (number, bytes without the newline) of the first ``size`` bytes of
    ``path``, read a chunk at a time; a last line without its newline is no line (it was
    cut short: ``torn`` says so).  ``keep``: asked with the first ``HEAD_BYTES`` of a line
    longer than a chunk (or all of it), whether it is wanted; one that is not is never
    assembled (a journal's commit record at 100,000 sessions is 15 MB) — the caller is
    still given every line that fits in a chunk, wanted or not.

    A line longer than what is left of its chunk is not gathered piece by piece: only where
    it starts (and its first bytes, for ``keep``) is noted, and once its end is found it is
    read again in one piece (``_long_line``): its bytes are held once, never as pieces
    beside their join (at 100,000 sessions: 15 MB less at verify's peak, a commit record).
    ``spans``: asked with the first ``HEAD_BYTES`` of such a line longer than ``SPAN_BYTES``,
    whether it is given as a ``Span`` (where it is in the file, for its reader to read a
    piece at a time) rather than as its bytes."""
    at = 0
    number = 0
    begun = -1  # where the line being read began, when it began in an earlier chunk
    head = b""  # its first HEAD_BYTES bytes (for ``keep``)
    passed = False  # the line being read is not wanted: it is not read again
    while at < size:
        chunk = fsio.read_range(path, at, min(chunk_bytes, size - at))
        if not chunk:
            break  # shorter than it was: what is left is read as a tail cut short
        chunk_at = at
        at += len(chunk)
        start = 0
        while (end := chunk.find(b"\n", start)) >= 0:
            number += 1
            if begun >= 0:
                first, begun, line_head, head = begun, -1, head, b""
                start = end + 1
                if passed:
                    passed = False
                    continue
                if spans is not None and chunk_at + end - first > SPAN_BYTES:
                    if len(line_head) < HEAD_BYTES:
                        line_head += chunk[:min(end, HEAD_BYTES - len(line_head))]
                    if spans(line_head):
                        yield number, Span(first, chunk_at + end, line_head)
                        continue
                line = _long_line(path, first, chunk_at + end)
                if line is None:
                    at = size  # shorter than it was: no line more (the tail is cut short)
                    break
                yield number, line
                del line
                continue
            line = chunk[start:end]
            start = end + 1
            yield number, line
        if start < len(chunk):
            if begun < 0:
                begun = chunk_at + start
            if not passed and len(head) < HEAD_BYTES:
                head += chunk[start:start + HEAD_BYTES - len(head)]
                if keep is not None and len(head) >= HEAD_BYTES and not keep(head):
                    passed = True
    if torn is not None and begun >= 0:
        torn.append(True)


SPAN_BYTES = 1 << 20


class Span(bytes):
    """A line ``file_lines`` gives by where it is in the file (``spans``): from ``start`` to
    ``end`` (its newline); as bytes, empty."""

    start: int
    end: int
    head: bytes  # its first HEAD_BYTES

    def __new__(cls, start: int, end: int, head: bytes) -> Span:
        span = super().__new__(cls)
        span.start, span.end, span.head = start, end, head
        return span


def _long_line(path: str, start: int, end: int) -> bytes | None:
    """The bytes from ``start`` to ``end`` of ``path``, read in one piece (None when the
    file is shorter than that now)."""
    line = fsio.read_range(path, start, end - start)
    return line if len(line) == end - start else None


HEAD_BYTES = 64


# The last journal summary read, by its identity (inode, size, mtime and ctime): a command
# that reads it twice (the state, then the scan's earlier fixes) reads it once.  Only the
# small summary is kept, never the records.  Callers treat a JournalState as read-only.
_last: tuple[tuple[Any, ...], JournalState] | None = None


def read(layout: Layout) -> JournalState:
    """The journal, read defensively a line at a time: damage is collected in ``damage``.
    An I/O error (EIO...) is no damage: it is raised, and the command stops at a safe point."""
    return _read(layout, lean=False)


def _read(layout: Layout, lean: bool) -> JournalState:
    """``read`` (each line parsed whole) or ``read_lean`` (below)."""
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
        if not stat.S_ISREG(st.st_mode):
            raise fsio.NotRegularFile(path, fsio.describe_mode(st.st_mode))
        if st.st_size > MAX_JOURNAL_BYTES:
            raise fsio.FileTooLarge(path, st.st_size, MAX_JOURNAL_BYTES)
        torn: list[bool] = []
        runs: dict[str, Run] = {}
        first = 1  # the first line in effect (after the last rollback)
        skip: set[int] = set()
        gathered = _Gathered()
        for number, raw in file_lines(path, st.st_size, torn, None, READ_CHUNK,
                                      _is_spanned if lean else None):
            if type(raw) is Span:  # a long keys or commit record: read a piece at a time, if as we write it
                if (_lean_keys_span(runs, path, raw) if raw.head.startswith(_KEYS_HEAD)
                        else _lean_commit_span(runs, path, raw, gathered)):
                    continue
                whole = _long_line(path, raw.start, raw.end)
                if whole is None:  # the file is shorter than it was: what is left is cut short
                    torn.append(True)
                    break
                raw = whole
                del whole
            op = _lean_line(runs, raw, gathered) if lean else None
            if op is None:  # (lean: not as we write it, or not right) read as ``read`` reads it
                op = _check_line(state, runs, path, number, raw, gathered)
            if op is None:
                skip.add(number)
            elif op == "rollback":
                first = number + 1
            del raw  # the line is not held while the next one is read
        state.torn_tail = state.torn_tail or bool(torn)
    except fsio.NotRegularFile as exc:
        state.damage.append(Damage(path, f"is a {exc.kind}, not a journal; it is not followed or read"))
        return state
    except fsio.FileTooLarge as exc:
        state.damage.append(Damage(path, f"is {exc.size:,} bytes, too large to be a journal"))
        return state
    in_effect = [run for run in state.history if run.line >= first]
    state.runs = [run.run for run in in_effect]
    state.committed = {run.run for run in in_effect if run.commit is not None}
    state.source = (path, st.st_dev, st.st_ino, st.st_size, first, frozenset(skip))
    state.outcomes = gathered.outcomes([run for run in in_effect if run.command == "migrate"
                                        and run.commit is not None])
    state.fixed_sources = gathered.fixed
    state.has_changes = gathered.changed
    _last = (identity, state)
    return state


class _Gathered:
    """What the records in effect say of each legacy file, gathered as they are read."""

    def __init__(self) -> None:
        self.by_run: dict[str, Outcomes] = {}
        self.committed: set[str] = set()
        self.fixed: list[tuple[str, str | None, frozenset[str]]] = []
        self.changed = False  # a create, replace or delete record since the last rollback

    def undone(self) -> None:
        self.by_run.clear()
        self.fixed = []
        self.changed = False

    def record(self, record: dict[str, Any], run: Run | None) -> None:
        op = record["op"]
        if op in ("create", "replace", "delete"):
            self.changed = True
        if run is None:  # a delete record without its run
            return
        if op in ("create", "replace"):
            source = record.get("source")
            if source and record.get("fixes"):
                self.fixed.append((source, record.get("source_sha256"), frozenset(record["fixes"])))
            self.made(run, record["file"], source, record.get("source_sha256"))
        elif op == "commit" and run.command == "migrate":
            self.committed.add(run.run)
            found = self._of(run.run)
            put = found.put_migrated
            for name, (sha, sid) in record.get("sessions", {}).items():
                put(name, run.run, sha, sid)
            for name, (sha, why) in record.get("not_migrated", {}).items():
                found.put(name, Outcome(run.run, sha if isinstance(sha, str) else None, None,
                                        why if isinstance(why, str) else "skip"))

    def made(self, run: Run, file: str, source: Any, source_sha256: Any) -> None:
        """A create or replace record of ``run`` in effect: ``file`` made from ``source``."""
        if run.command != "migrate" or not source or not file.endswith(".jsonl"):
            return
        found = self._of(run.run)
        # journals written before commits said it all; a commit says it better
        if run.run in self.committed:
            found.setdefault_outcome(source, Outcome(run.run, source_sha256, file[:-6]))
        else:  # put(source, Outcome(...)), no Outcome made for the common one
            found.put_migrated(source, run.run, source_sha256, file[:-6])

    def _of(self, run: str) -> Outcomes:
        found = self.by_run.get(run)
        if found is None:
            found = self.by_run[run] = Outcomes()
        return found

    def outcomes(self, runs: list[Run]) -> Outcomes:
        """The outcomes of these runs (committed migrations in effect), the later ones last."""
        order = [run.run for run in runs if run.run in self.by_run]
        if len(order) == 1:
            return self.by_run.pop(order[0])
        out = Outcomes()
        for run in order:
            out.update_from(self.by_run.pop(run))
        return out


def _check_line(state: JournalState, runs: dict[str, Run], path: str, number: int,
                raw: bytes, gathered: _Gathered) -> str | None:
    """Read one line into ``state`` (a run begins, commits, is undone); its operation, or
    None when it is no record (damage, or a record a crash cut short)."""
    if not raw.strip():
        return None
    try:
        record = _loads(raw)
    except (ValueError, RecursionError) as exc:
        if _cut_short(raw, exc):
            state.torn_tail = True  # a record a crash cut short: what it announced never began
        else:
            state.damage.append(Damage(path, f"is not a journal record ({_excerpt(raw)})", number))
        return None
    wrong = _wrong(record, runs)
    if wrong is not None:
        state.damage.append(Damage(path, wrong, number))
        return None
    op: str = record["op"]
    if op == "rollback":
        for run in runs.values():
            run.undone = True
        gathered.undone()
    elif op == "begin":
        run = Run(record["run"], record.get("command", "migrate"), number,
                  record.get("pid") if isinstance(record.get("pid"), int) else None,
                  record.get("time") if isinstance(record.get("time"), str) else None)
        runs[run.run] = run
        state.history.append(run)
    elif op == "commit":
        # what the commit says of each session is in ``outcomes``, held small
        runs[record["run"]].commit = {k: v for k, v in record.items()
                                      if k not in ("sessions", "not_migrated")}
    if op in ("create", "replace", "delete", "commit"):
        run_id = record.get("run")
        gathered.record(record, runs.get(run_id) if isinstance(run_id, str) else None)
    return op


def _loads(raw: bytes) -> Any:
    """One journal line, parsed as ``json.loads`` parses it (raising what it raises).  orjson
    first, three times faster: what it accepts it reads to the same value (our records hold
    strings, small integers, lists and objects; a repeated key keeps its last value in
    both); what it refuses (NaN, integers past 64 bits, lone surrogates, text that is not
    UTF-8...) goes to the standard library, which reads it or says what is wrong."""
    if _orjson is not None:
        try:
            return _orjson.loads(raw)
        except _orjson.JSONDecodeError:
            pass
    return json.loads(raw)


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


# --- verify's reading ---
#
# ``read`` parses each line whole.  Two records name every session of a migration: its keys
# record and its commit record (at 100,000 sessions 8 and 15 MB of text, over 100 MB once
# parsed, all at once).  ``read_lean`` gives the very same state, those two records, when laid
# out as ``append`` and ``commit_record`` write them, gone through a member at a time from
# their bytes; any other line (or one of those laid out otherwise, damaged or cut short) is
# read by ``_check_line`` as ``read`` reads it.


def read_lean(layout: Layout) -> JournalState:
    """``read``, lighter at its peak: the same ``JournalState`` (damage, runs, outcomes...),
    kept as the last one read (``read`` of the same file then returns it)."""
    # read at the end of a scan, on top of every session's record: the free pages of the C
    # heap (what the scan read whole and let go) given back first (core/heap.py, ~2 ms; verify
    # at 100,000 sessions: its peak, there, 207 -> 201 MB)
    from migrate_tui.core import heap  # (imported here: this section is verify's own)

    heap.give_back()
    return _read(layout, lean=True)


_COMMIT_HEAD = re.compile(rb'\{"op": "commit", "run": "([^"\\]*(?:\\.[^"\\]*)*)", '
                          rb'"migrated": -?(?:0|[1-9][0-9]*)')
_SESSIONS_OPEN = b', "sessions": {'
_NOT_MIGRATED_OPEN = b'}, "not_migrated": {'
# a member of a commit's sessions (or not_migrated), in a line without a backslash:
# "file": ["sha256" or null, "id" (or why)]
_OUTCOME_PAIR = re.compile(rb'"([^"]*)": \[(?:"([^"]*)"|null), "([^"]*)"\]')
_CONTROL = re.compile(rb"[\x00-\x1f]").search  # not allowed raw in a JSON string
# the members of a commit's sessions (or not_migrated) object, of a line without a backslash
# (a file name is plain: not empty, no "/"; "." and "..": _DOTS)
_OUTCOME_MEMBER = rb'"[^"/]+": \[(?:"[^"]*"|null), "[^"]*"\]'
_OUTCOME_MEMBERS = re.compile(rb"(?:" + _OUTCOME_MEMBER + rb"(?:, " + _OUTCOME_MEMBER + rb")*+)?+").match
_KEYS_OPEN = b', "keys": {'
_KEY_MEMBERS = re.compile(rb'(?:"[^"]*": "[^"]*"(?:, "[^"]*": "[^"]*")*+)?+').match
_DOTS = re.compile(rb'"\.\.?": \[').search


@contextlib.contextmanager
def sharing_ids(ids: Mapping[str, str]) -> Iterator[None]:
    """Within the block, the outcomes read hold each id as ``ids`` holds it (``Outcomes``:
    verify's scan reads the journal at its end, on top of every session's record; the ids
    as their own strings there were 8.5 MB at 100,000 sessions)."""
    Outcomes.shared_ids = ids
    try:
        yield
    finally:
        Outcomes.shared_ids = None


def _lean_line(runs: dict[str, Run], raw: bytes, gathered: _Gathered) -> str | None:
    """A keys or commit record laid out as we write it and right, read into ``runs`` and
    ``gathered`` as ``_check_line`` would; its operation.  None (nothing read): anything
    else, left to ``_check_line``."""
    if raw.startswith(_KEYS_HEAD):
        return "keys" if _lean_keys(runs, raw) else None
    if raw.startswith(_CREATE_HEAD):
        return "create" if _lean_create(runs, raw, gathered) else None
    if raw.startswith(b'{"op": "commit", "run": "'):
        return "commit" if _lean_commit(runs, raw, gathered) else None
    return None


_CREATE_HEAD = b'{"op": "create", "run": "'
_TEXT = rb'[\x20\x21\x23-\x5b\x5d-\x7e]'  # printable ASCII but '"' and a backslash: a string's own bytes
_NAME = rb'[\x20\x21\x23-\x2e\x30-\x5b\x5d-\x7e]+'  # ... nor "/", not empty: a file name
# a transcript's create record as apply writes it (no fixes: those are read whole), each of
# its strings its own bytes
_CREATE = re.compile(rb'\{"op": "create", "run": "(' + _TEXT + rb'*)", "file": "(' + _NAME
                     + rb')", "sha256": "[0-9a-f]{64}", "size": (?:0|[1-9][0-9]{0,17}), "source": "('
                     + _NAME + rb')", "source_sha256": "([0-9a-f]{64})", "fixes": \[\]\}').fullmatch


def _lean_create(runs: dict[str, Run], raw: bytes, gathered: _Gathered) -> bool:
    """A right create record of a transcript, as apply writes it, read into ``gathered`` as
    ``_check_line`` reads it, without the record made whole (100,000 of them in a journal
    of 100,000 sessions): what it says is checked on its bytes (``_wrong``'s checks:
    a run that began, plain names, a SHA-256, a size), and only the names, the run and the
    source's SHA-256 are made strings."""
    found = _CREATE(raw)
    if found is None:
        return False
    run_id, file, source, source_sha256 = found.groups()
    run = runs.get(run_id.decode("ascii"))
    if run is None or file in (b".", b"..") or source in (b".", b".."):
        return False  # not right: read whole, to say what is wrong as ``read`` says it
    gathered.changed = True
    gathered.made(run, file.decode("ascii"), source.decode("ascii"), source_sha256.decode("ascii"))
    return True


def _lean_keys(runs: dict[str, Run], raw: bytes) -> bool:
    """A right keys record (nothing is gathered of it: only that it is right matters)."""
    run = _STRING_REST.match(raw, len(_KEYS_HEAD))
    if run is None or _CONTROL(raw) is not None:
        return False
    try:
        if _string(raw[len(_KEYS_HEAD):run.end() - 1]) not in runs:
            return False
        if raw.isascii() and b"\\" not in raw:  # each string is its bytes: one look at them all
            at = run.end() + len(_KEYS_OPEN)
            found = _KEY_MEMBERS(raw, at)
            return (raw.startswith(_KEYS_OPEN, run.end()) and found is not None
                    and found.end() == len(raw) - 2 and raw.endswith(b"}}"))
        for _pair in _keys_pairs(raw):
            pass
    except (ValueError, UnicodeDecodeError):
        return False
    return True


def _outcome_members(raw: bytes, at: int) -> int | None:
    """Where the closing brace is of the object whose members start at ``at``, when they
    are laid out as we write them (the caller has made sure the line is ASCII without a
    backslash or a control character, and names no file "." or ".."); else None."""
    found = _OUTCOME_MEMBERS(raw, at)
    return found.end() if found is not None and raw.startswith(b"}", found.end()) else None


def _lean_commit(runs: dict[str, Run], raw: bytes, gathered: _Gathered,
                 members: Callable[[], Iterator[tuple[bytes, int, int]]] | None = None) -> bool:
    """A right commit record laid out as we write it, read into ``runs`` and ``gathered``
    as ``_check_line`` would (False: nothing read).  ``members``: ``raw`` is the record
    without the members of its sessions (``_lean_commit_span``), which ``members()`` gives
    again, in order, a piece at a time (each piece with where its members begin and end in it)."""
    head = _COMMIT_HEAD.match(raw)
    if (head is None or not raw.startswith(_SESSIONS_OPEN, head.end()) or not raw.isascii()
            or b"\\" in raw or _CONTROL(raw) is not None or _DOTS(raw) is not None):
        return False  # escapes, other characters, names that are no file's: read whole
    sessions = head.end() + len(_SESSIONS_OPEN)
    sessions_end = _outcome_members(raw, sessions)
    if sessions_end is None or not raw.startswith(_NOT_MIGRATED_OPEN, sessions_end):
        return False
    not_migrated = sessions_end + len(_NOT_MIGRATED_OPEN)
    at = _outcome_members(raw, not_migrated)
    if at is None:
        return False
    try:  # the record without its two big members: parsed whole, checked as ``_wrong`` checks
        record = _loads(raw[:head.end()] + raw[at + 1:])
    except (ValueError, RecursionError):
        return False
    if (not isinstance(record, dict) or "sessions" in record or "not_migrated" in record
            or _wrong(record, runs) is not None):
        return False
    run = runs[record["run"]]
    run.commit = record
    if run.command != "migrate":
        return True
    gathered.committed.add(run.run)
    outcomes = gathered._of(run.run)
    put_migrated = outcomes.put_migrated
    pieces = members() if members is not None else iter(((raw, sessions, sessions_end),))
    for piece, first, last in pieces:
        for member in _OUTCOME_PAIR.finditer(piece, first, last):
            name, sha, sid = member.groups()
            put_migrated(name.decode("ascii"), run.run, None if sha is None else sha.decode("ascii"),
                         sid.decode("ascii"))
    for member in _OUTCOME_PAIR.finditer(raw, not_migrated, at):
        name, sha, why = member.groups()
        outcomes.put(name.decode("ascii"), Outcome(run.run, None if sha is None else sha.decode("ascii"),
                                                   None, why.decode("ascii")))
    return True


def _is_spanned(head: bytes) -> bool:
    """A record read a piece at a time when long: a keys or commit record."""
    return head.startswith((b'{"op": "commit", "run": "', _KEYS_HEAD))


_KEY_MEMBER = rb'"[^"]*": "[^"]*"'
_KEY_MEMBERS_ON = re.compile(rb"(?:" + _KEY_MEMBER + rb", )++").fullmatch
_KEY_MEMBERS_TO = re.compile(_KEY_MEMBER + rb"(?:, " + _KEY_MEMBER + rb")*+\}\}").fullmatch


def _lean_keys_span(runs: dict[str, Run], path: str, span: Span) -> bool:
    """``_lean_keys`` of a keys record longer than ``SPAN_BYTES`` (8 MB at 100,000 keys),
    never held whole: its members read a piece at a time (cut where a member ends), each
    checked as ``_lean_keys`` checks the whole line (ASCII without a backslash: any other
    is read whole)."""
    first = fsio.read_range(path, span.start, min(span.end - span.start, HEAD_BYTES * 4))
    run = _STRING_REST.match(first, len(_KEYS_HEAD))
    if (run is None or not first.startswith(_KEYS_OPEN, run.end()) or not first.isascii()
            or _CONTROL(first, 0, run.end()) is not None
            or first.find(b"\\", 0, run.end()) >= 0
            or first[len(_KEYS_HEAD):run.end() - 1].decode("ascii") not in runs):
        return False
    ended = False  # the last piece, the end of the record, is read and right
    try:
        for n, piece in enumerate(_member_pieces(path, span.start + run.end() + len(_KEYS_OPEN),
                                                 span.end, b'", "')):
            if ended or not piece.isascii() or b"\\" in piece or _CONTROL(piece) is not None:
                return False
            if piece.endswith(b"}}") and (_KEY_MEMBERS_TO(piece) is not None
                                          or (n == 0 and piece == b"}}")):
                ended = True
            elif _KEY_MEMBERS_ON(piece) is None:
                return False
    except _Shorter:
        return False
    return ended


# the members of a commit's sessions, each followed by ", " (a piece of them, not the last)
_OUTCOME_MEMBERS_ON = re.compile(rb"(?:" + _OUTCOME_MEMBER + rb", )++").fullmatch
_OUTCOME_MEMBERS_TO = re.compile(_OUTCOME_MEMBER + rb"(?:, " + _OUTCOME_MEMBER + rb")*+").fullmatch
_MEMBER_ENDS = b'"], "'  # where a member ends and the next begins (no string holds a '"')


def _lean_commit_span(runs: dict[str, Run], path: str, span: Span, gathered: _Gathered) -> bool:
    """``_lean_commit`` of a commit record longer than ``SPAN_BYTES`` (15 MB at 100,000
    sessions), never held whole: its sessions' members are read a piece at a time (cut
    where a member ends), checked piece by piece as ``_lean_commit`` checks the whole line,
    then read again into ``gathered``; the rest of the line (its head, the members not
    migrated, what follows: small) is read by ``_lean_commit`` as a line whose sessions are
    empty.  False (nothing read) as ``_lean_commit`` would be, or when the members not
    migrated are not small too: the line is then read whole."""
    first = fsio.read_range(path, span.start, min(span.end - span.start, HEAD_BYTES * 4))
    head = _COMMIT_HEAD.match(first)
    if head is None or not first.startswith(_SESSIONS_OPEN, head.end()):
        return False
    sessions = span.start + head.end() + len(_SESSIONS_OPEN)
    rest = None  # from the end of the sessions' members to the end of the line
    try:
        for n, piece in enumerate(_member_pieces(path, sessions, span.end)):
            if (not piece.isascii() or b"\\" in piece or _CONTROL(piece) is not None
                    or _DOTS(piece) is not None):
                return False
            if rest is not None:
                if len(rest) + len(piece) > SPAN_BYTES:
                    return False
                rest += piece
                continue
            end = piece.find(_NOT_MIGRATED_OPEN)
            if end < 0:
                if _OUTCOME_MEMBERS_ON(piece) is None:
                    return False
                continue
            if (end or n) and _OUTCOME_MEMBERS_TO(piece, 0, end) is None:
                return False  # (no member at all: only when the sessions are empty)
            rest = piece[end:]
    except _Shorter:
        return False
    if rest is None:
        return False

    def members() -> Iterator[tuple[bytes, int, int]]:
        for piece in _member_pieces(path, sessions, span.end):
            end = piece.find(_NOT_MIGRATED_OPEN)
            yield piece, 0, len(piece) if end < 0 else end
            if end >= 0:
                return

    try:
        return _lean_commit(runs, first[:head.end() + len(_SESSIONS_OPEN)] + rest, gathered, members)
    except _Shorter:  # (read again) the file is shorter than it was
        raise OperationBusy(f"{path} changed while it was read; run the command again") from None


class _Shorter(Exception):
    """The file is shorter than it was."""


def _member_pieces(path: str, at: int, end: int, ends: bytes = _MEMBER_ENDS) -> Iterator[bytes]:
    """The bytes of ``path`` from ``at`` to ``end``, in pieces of about ``SPAN_BYTES``, each
    cut right after the ", " that follows a member (``ends``: where one ends and the next
    begins; a commit's sessions by default), the last one at ``end``."""
    carry = b""
    while at < end:
        data = fsio.read_range(path, at, min(SPAN_BYTES, end - at))
        if not data:
            raise _Shorter
        at += len(data)
        if carry:
            data, carry = carry + data, b""
        if at >= end:
            yield data
            return
        cut = data.rfind(ends)
        if cut < 0:
            carry = data
            continue
        cut += len(ends) - 1
        yield data[:cut]
        carry = data[cut:]
