"""The engine's data: what a scan found, what the plan will do, what apply reports.

Plain dataclasses, no I/O.  The data flows one way: files → ``ScanResult`` → ``Plan``
(with the user's ``Decision`` per session) → apply events → ``ApplyResult`` → report.
"""

from __future__ import annotations

import marshal
import os
import pickle
import struct
from collections import Counter
from collections.abc import Mapping, MutableSequence, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cached_property
from types import MappingProxyType
from typing import Any, Literal, Protocol

from migrate_tui.core import ids


class Severity(StrEnum):
    WARNING = "warning"  # migrates, with a note
    PROBLEM = "problem"  # needs a decision: a fix, or skip


# Problem codes (docs/problems.md) and the fixes each offers.  Skipping is always possible.
FIXES_BY_CODE: dict[str, tuple[str, ...]] = {
    "invalid_json": ("salvage",),
    "not_utf8": ("replace-bytes",),
    "wrong_shape": (),
    "bad_messages": ("drop-bad-messages",),
    "id_mismatch": ("use-filename", "use-content"),
    "unsafe_id": ("rename",),
    "duplicate_id": ("rename",),
    "bad_updated_at": ("use-created-at", "use-file-mtime"),
    "key_conflict": ("keep-existing", "replace-existing"),
    "transcript_conflict": ("keep-existing", "replace-existing"),
    "not_regular": (),
    "symlink": (),
    "too_deep": (),
    "too_large": (),
    "unreadable": (),
    "changed_during_migration": (),
}
ALL_FIXES: tuple[str, ...] = (
    "salvage", "replace-bytes", "drop-bad-messages", "use-filename", "use-content",
    "rename", "use-created-at", "use-file-mtime", "keep-existing", "replace-existing",
)
# Fixes that change what is read from the file (the others change ids, keys or targets).
CONTENT_FIXES = frozenset({"salvage", "replace-bytes", "drop-bad-messages"})


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a file, said plainly: where (file, line, column) and what."""

    code: str
    message: str
    file: str
    severity: Severity = Severity.PROBLEM
    line: int | None = None
    column: int | None = None
    fixes: tuple[str, ...] = ()
    excerpt: str | None = None  # the source text around the error, for the errors review

    @property
    def where(self) -> str:
        if self.line is None:
            return self.file
        if self.column is None:
            return f"{self.file}:{self.line}"
        return f"{self.file}:{self.line}:{self.column}"

    def __str__(self) -> str:
        return f"{self.where}: {self.message}"


# what an existing transcript is, compared with what the migration would write
TranscriptState = Literal["same", "extended", "different", "not_regular"]
# what the migration does with one legacy file
Action = Literal["migrate", "skip", "done", "blocked"]


@dataclass(slots=True)
class TranscriptCheck:
    """How an existing ``<id>.jsonl`` compares with what the migration would write."""

    state: TranscriptState  # "extended": ours, continued by the agent since; "not_regular":
    # something else than a regular file is at its path
    size: int


# Shared, immutable empties: most sessions have no problem, no variant, no bad message.  A
# record holds these (or a tuple made once, when it has something) rather than a fresh list
# or dict per session: at 100,000 sessions the empties alone were 0.4 KB a session.  Being
# immutable, one session's problems can never land in another's by an append.
NO_PROBLEMS: tuple[Problem, ...] = ()
_NO_MAPPING: Mapping[Any, Any] = MappingProxyType({})


def _rare_attribute(name: str, default: Any) -> Any:
    """An attribute most records leave at ``default``: kept in the record's ``_rare`` dict,
    made only when one such attribute is set to something else."""

    def get(self: ContentSummary) -> Any:
        rare = self._rare
        if rare is None:
            return default
        if type(rare) is dict:
            return rare.get(name, default)
        # a read-only stand-in for the dict (verify_records.OnlyTranscripts), maybe shared
        # by many records: given the record it is read for
        return rare.read(self, name, default)  # type: ignore[attr-defined]

    def put(self: ContentSummary, value: Any) -> None:
        rare = self._rare
        if value is None if default is None else not value:  # the default (or an empty one)
            if rare is not None:
                rare.pop(name, None)
            return
        if rare is None:
            rare = self._rare = {}
        rare[name] = value

    return property(get, put)


class _Record:
    """Equality and repr of a compact record, from the values it is read by (``_values``,
    in the order of ``_SHOWN``) however it holds them."""

    __slots__ = ()
    _SHOWN: tuple[str, ...] = ()

    def _values(self) -> tuple[Any, ...]:
        return tuple(getattr(self, name) for name in self._SHOWN)

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__ or not isinstance(other, _Record):
            return NotImplemented
        return self._values() == other._values()

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return type(self).__name__ + "(" + ", ".join(
            f"{n}={v!r}" for n, v in zip(self._SHOWN, self._values(), strict=True)) + ")"


class ContentSummary(_Record):
    """What a legacy file holds, read with one set of content fixes.  No messages kept.

    Held compactly (one per session, 100,000 at a time): the sequences are tuples (the
    shared empty one when there is nothing), the metadata carried into the entry is a tuple
    of field names shared by every file with the same fields plus a tuple of their values,
    the few attributes most files leave at their default live in one small dict made only
    when one is set, and ``messages_digest`` refers to the scan's SHA-256 bytes."""

    # six slots: 80 bytes a record (eight took 96); ``readable`` and ``message_count`` are
    # one int (``_count``), ``problems`` (most files have none) lives in ``_rare``
    __slots__ = (
        "_count",
        "_digest",
        "_fields",
        "_rare",
        "content_id",
        "not_carried",
    )
    _SHOWN = ("readable", "content_id", "message_count", "bad_messages", "entry_fields",
              "not_carried", "updated_at_ms", "created_at_ms", "meta_key", "salvage_count",
              "salvage_missing", "replaced_bytes", "problems", "transcripts", "messages_digest")

    content_id: Any  # "session_id" inside the file (any JSON value), None when absent
    not_carried: Sequence[str]
    # readable: bool, message_count: int (properties over ``_count``); problems:
    # Sequence[Problem], the content problems and warnings (a property over ``_rare``)
    # updated_at_ms, created_at_ms: int | None (properties: held in ``_fields``, below)
    # bad_messages: Sequence[int]; meta_key: metadata["session_key"] when it is a valid key;
    # salvage_count: int | None; salvage_missing: Sequence[str]; replaced_bytes: int;
    # transcripts: candidate id → TranscriptCheck (properties below)

    def __init__(self, readable: bool = False, content_id: Any = None, message_count: int = 0,
                 bad_messages: Sequence[int] = (), entry_fields: Mapping[str, Any] | None = None,
                 not_carried: Sequence[str] = (), updated_at_ms: int | None = None,
                 created_at_ms: int | None = None, meta_key: str | None = None,
                 salvage_count: int | None = None, salvage_missing: Sequence[str] = (),
                 replaced_bytes: int = 0, problems: Sequence[Problem] = NO_PROBLEMS,
                 transcripts: Mapping[str, TranscriptCheck] | None = None,
                 messages_digest: str | None = None) -> None:
        self._count = message_count << 1 | (1 if readable else 0)
        self.content_id = content_id
        self.not_carried = not_carried
        self._fields: bytes | tuple[Any, ...] | None = None if (
            updated_at_ms is None and created_at_ms is None) else _join(updated_at_ms, created_at_ms, None)
        self._digest: bytes | str | None = None
        self._rare: dict[str, Any] | None = None
        if entry_fields:
            self.entry_fields = entry_fields
        if messages_digest is not None:
            self.messages_digest = messages_digest
        if bad_messages:
            self.bad_messages = bad_messages
        if meta_key is not None:
            self.meta_key = meta_key
        if salvage_count is not None:
            self.salvage_count = salvage_count
        if salvage_missing:
            self.salvage_missing = salvage_missing
        if replaced_bytes:
            self.replaced_bytes = replaced_bytes
        if transcripts:
            self.transcripts = transcripts
        if problems:
            self.problems = problems

    def __new__(cls, *args: Any, **kwargs: Any) -> ContentSummary:
        # what the properties below read is there from the start, for a record made without
        # __init__ (the scan sets the values of a worker's records one by one)
        record = object.__new__(cls)
        record._count = 0
        record._rare = None
        return record

    @property
    def readable(self) -> bool:
        return bool(self._count & 1)

    @readable.setter
    def readable(self, value: bool) -> None:
        self._count = self._count & ~1 | (1 if value else 0)

    @property
    def message_count(self) -> int:
        return self._count >> 1

    @message_count.setter
    def message_count(self, value: int) -> None:
        if type(value) is not int or value < 0:
            raise ValueError(f"a count of messages, not {value!r}")
        self._count = value << 1 | self._count & 1

    # the dates and the metadata carried into the entry: one bytes object (``_join``), or
    # the tuple (updated_at_ms, created_at_ms, names, values) when they cannot be packed
    @property
    def entry_fields(self) -> dict[str, Any]:
        """The metadata carried into the entry (a new dict at each call)."""
        held = self._fields
        if held is None:
            return {}
        if isinstance(held, bytes):
            if not held[0] & _HAS_FIELDS:
                return {}
            return dict(zip(_FIELD_NAMES[held[17] | held[18] << 8], _unpack_values(held),
                            strict=True))
        return {} if held[2] is None else dict(zip(held[2], held[3], strict=True))

    @entry_fields.setter
    def entry_fields(self, value: Mapping[str, Any]) -> None:
        self._fields = _join(self.updated_at_ms, self.created_at_ms,
                             (tuple(value), tuple(value.values())) if value else None)

    def set_entry_fields(self, names: tuple[str, ...], values: Sequence[Any]) -> None:
        """``entry_fields`` from its names (shared by the caller between files) and values."""
        if len(names) != len(values):
            raise ValueError("as many names as values")
        held = self._fields
        if held is None and names:  # (the usual way: set before the dates)
            at = _FIELD_NAME_AT.get(names)
            if at is not None:
                try:
                    self._fields = b"".join((_NO_DATES_MARSHALLED, at.to_bytes(2, "little"),
                                             marshal.dumps(tuple(values))))
                    return
                except ValueError:
                    pass
        self._fields = _join(self.updated_at_ms, self.created_at_ms,
                             (names, tuple(values)) if names else None)

    @property
    def updated_at_ms(self) -> int | None:
        held = self._fields
        if held is None:
            return None
        if isinstance(held, bytes):
            return _DATE.unpack_from(held, 1)[0] if held[0] & _HAS_UPDATED else None
        return held[0]

    @updated_at_ms.setter
    def updated_at_ms(self, value: int | None) -> None:
        held = self._fields
        if type(held) is bytes and type(value) is int and -(2**63) <= value < 2**63:
            # (the usual way: the date set in place, the rest as it is)
            self._fields = _FLAGS_DATE.pack(held[0] | _HAS_UPDATED, value) + held[9:]
        else:
            self._fields = _with_dates(held, value, self.created_at_ms)

    @property
    def created_at_ms(self) -> int | None:
        held = self._fields
        if held is None:
            return None
        if isinstance(held, bytes):
            return _DATE.unpack_from(held, 9)[0] if held[0] & _HAS_CREATED else None
        return held[1]

    @created_at_ms.setter
    def created_at_ms(self, value: int | None) -> None:
        held = self._fields
        if type(held) is bytes and type(value) is int and -(2**63) <= value < 2**63:
            self._fields = b"".join((_FLAGS.pack(held[0] | _HAS_CREATED), held[1:9],
                                     _DATE.pack(value), held[17:]))
        else:
            self._fields = _with_dates(held, self.updated_at_ms, value)

    @property
    def messages_digest(self) -> str | None:
        """With no content fix: legacy.exact_token(sha256) when orjson provably reads the
        file exactly as the lossless parser does (apply may then parse it with orjson)."""
        held = self._digest
        if held is None or isinstance(held, str):
            return held
        from migrate_tui.engine.legacy import exact_token
        return exact_token(held[-32:].hex())

    @messages_digest.setter
    def messages_digest(self, value: str | None) -> None:
        self._digest = value

    def mark_exact(self, sha256: bytes) -> None:
        """``messages_digest`` is the exact token of the SHA-256 in the last 32 bytes of
        ``sha256`` (``SessionScan.stat_and_sha256``: referred to, not copied)."""
        if len(sha256) < 32:
            raise ValueError("no SHA-256 in these bytes")
        self._digest = sha256

    def __getstate__(self) -> dict[str, Any]:  # pickled (a variant, sent by a worker)
        state = {name: getattr(self, name) for name in self.__slots__}
        state["_fields"] = packed_fields_out(self._fields)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        for name, value in state.items():
            setattr(self, name, packed_fields_in(value) if name == "_fields" else value)

    problems = _rare_attribute("problems", NO_PROBLEMS)
    bad_messages = _rare_attribute("bad_messages", ())
    meta_key = _rare_attribute("meta_key", None)
    salvage_count = _rare_attribute("salvage_count", None)
    salvage_missing = _rare_attribute("salvage_missing", ())
    replaced_bytes = _rare_attribute("replaced_bytes", 0)
    transcripts = _rare_attribute("transcripts", _NO_MAPPING)

    def _values(self) -> tuple[Any, ...]:
        return (self.readable, self.content_id, self.message_count, tuple(self.bad_messages),
                self.entry_fields, tuple(self.not_carried), self.updated_at_ms,
                self.created_at_ms, self.meta_key, self.salvage_count,
                tuple(self.salvage_missing), self.replaced_bytes, tuple(self.problems),
                dict(self.transcripts), self.messages_digest)


# A summary's dates and the entry fields of its file are held as one bytes object rather
# than an int per date and a tuple of the values (each an object of its own: at 100,000
# sessions, 0.34 KB a session for two dates and nine metadata fields, 0.13 KB packed):
# byte 0 says what is there (_HAS_*: the dates, the fields marshalled or pickled), bytes
# 1-8 and 9-16 are updated_at_ms and created_at_ms (0 when absent); with fields, bytes
# 17-18 are the names' place in _FIELD_NAMES (a handful of distinct sets of names, each
# held once for the process) and the values follow, packed by marshal (exact str, int,
# float, bool, None, list and dict, nested) or by pickle (anything else the parser makes,
# a JsonFloat, a RawNumber).  What neither can pack, or a date past 64 bits, is held as
# the tuple (updated_at_ms, created_at_ms, names, values).
_HAS_UPDATED, _HAS_CREATED, _MARSHALLED, _PICKLED = 1, 2, 4, 8
_HAS_FIELDS = _MARSHALLED | _PICKLED
_DATE = struct.Struct("<q")
_DATES = struct.Struct("<Bqq")
_FLAGS_DATE = struct.Struct("<Bq")
_FLAGS = struct.Struct("<B")
_NO_DATES_MARSHALLED = _DATES.pack(_MARSHALLED, 0, 0)
_FIELD_NAMES: list[tuple[str, ...]] = []
_FIELD_NAME_AT: dict[tuple[str, ...], int] = {}


# the names _place_of last looked up, and their place: most files have the same names, and
# the scan's records of one batch, or its shapes (scan._shapes), share one tuple of them
_last_place: list[Any] = [None, None]


def _place_of(names: tuple[str, ...]) -> int | None:
    last = _last_place
    if names is last[0]:  # (held here: its id cannot be another tuple's meanwhile)
        return last[1]
    at = _FIELD_NAME_AT.get(names)
    if at is not None:
        last[0], last[1] = names, at
        return at
    if len(_FIELD_NAMES) > 0xFFFF:  # (never seen) held as a tuple
        return None
    at = _FIELD_NAME_AT[names] = len(_FIELD_NAMES)
    _FIELD_NAMES.append(names)
    return at


def _packs_as_date(value: int | None) -> bool:
    return value is None or (type(value) is int and -(2**63) <= value < 2**63)


def _join(updated: int | None, created: int | None,
          fields: tuple[tuple[str, ...], tuple[Any, ...]] | None) -> bytes | tuple[Any, ...] | None:
    """What ``ContentSummary._fields`` holds for these dates and entry fields."""
    if updated is None and created is None and fields is None:
        return None
    if _packs_as_date(updated) and _packs_as_date(created):
        flags = (_HAS_UPDATED if updated is not None else 0) | (_HAS_CREATED if created is not None else 0)
        tail = b""
        if fields is not None:
            at = _place_of(fields[0])
            packed = None
            if at is not None:
                try:
                    packed, kind = marshal.dumps(fields[1]), _MARSHALLED
                except ValueError:  # a type marshal does not write exactly, or too deep
                    try:
                        packed, kind = pickle.dumps(fields[1], pickle.HIGHEST_PROTOCOL), _PICKLED
                    except Exception:  # unpicklable: held as it is
                        packed = None
            if packed is None or at is None:
                return (updated, created, *fields)
            flags |= kind
            tail = bytes((at & 0xFF, at >> 8)) + packed
        return _DATES.pack(flags, updated or 0, created or 0) + tail
    return (updated, created, *(fields or (None, None)))


def _with_dates(held: bytes | tuple[Any, ...] | None, updated: int | None,
                created: int | None) -> bytes | tuple[Any, ...] | None:
    """``held`` with these dates (the fields as they are, not unpacked)."""
    if isinstance(held, bytes) and _packs_as_date(updated) and _packs_as_date(created):
        flags = (held[0] & _HAS_FIELDS | (_HAS_UPDATED if updated is not None else 0)
                 | (_HAS_CREATED if created is not None else 0))
        if not flags:
            return None
        return _DATES.pack(flags, updated or 0, created or 0) + held[17:]
    fields = None
    if isinstance(held, bytes):
        if held[0] & _HAS_FIELDS:
            fields = (_FIELD_NAMES[held[17] | held[18] << 8], _unpack_values(held))
    elif held is not None and held[2] is not None:
        fields = (held[2], held[3])
    return _join(updated, created, fields)


def _unpack_values(held: bytes) -> tuple[Any, ...]:
    if held[0] & _MARSHALLED:
        return marshal.loads(memoryview(held)[19:])
    return pickle.loads(memoryview(held)[19:])


def packed_fields_out(held: Any) -> Any:
    """``ContentSummary._fields`` as another process can take it in (``packed_fields_in``):
    the place of the names in this process's table means nothing in another one."""
    if type(held) is bytes and held[0] & _HAS_FIELDS:
        return (held, _FIELD_NAMES[held[17] | held[18] << 8])  # (the fallback's first item: a date)
    return held


def sent_fields(held: Any) -> tuple[Any, ...] | None:
    """The entry fields in ``ContentSummary._fields`` as a worker sends them back: the
    tuple (names, *values), or None (``restored_fields`` packs them again with the dates:
    the worker's short way, scan._plain, sends that tuple too)."""
    if held is None:
        return None
    if isinstance(held, bytes):
        if not held[0] & _HAS_FIELDS:
            return None
        return (_FIELD_NAMES[held[17] | held[18] << 8], *_unpack_values(held))
    return None if held[2] is None else (held[2], *held[3])


def packed_fields(updated: int | None, created: int | None, names: tuple[str, ...] | None,
                  values: tuple[Any, ...]) -> Any:
    """``ContentSummary._fields`` for these dates and entry fields (none: ``names`` None),
    as another process can take it in (``packed_fields_out``): what a scan's worker sends."""
    return packed_fields_out(_join(updated, created, None if names is None else (names, values)))


def field_place(names: tuple[str, ...]) -> bytes | None:
    """The two bytes ``_join`` writes for these names (their place in this process's table,
    which is never cleared), None when they have none: what ``packed_fields_plain`` takes."""
    at = _place_of(names)
    return None if at is None else bytes((at & 0xFF, at >> 8))


def packed_fields_plain(updated: int, created: int | None, place: bytes,
                        values: tuple[Any, ...]) -> bytes | None:
    """What ``ContentSummary._fields`` holds (``_join``'s bytes) for these dates (an int and
    an int or None) and the values of entry fields whose names are at ``place`` in this
    process's table (``field_place``), made without ``_join``'s tests for the general case:
    9,600 instructions a file rather than 16,200 (with the values taken by an itemgetter,
    scan._plain_shapes: the workers' 11.14 G instructions on corpus B -> 10.95 G).  None
    when the values do not marshal or a date does not pack (the general way, then)."""
    try:
        return (_DATES.pack(_HAS_UPDATED | _HAS_CREATED | _MARSHALLED, updated, created)
                if created is not None else
                _DATES.pack(_HAS_UPDATED | _MARSHALLED, updated, 0)) + place + marshal.dumps(values)
    except (ValueError, struct.error):
        return None


def restored_fields(updated: int | None, created: int | None, sent: Any) -> Any:
    """``ContentSummary._fields`` of a summary made in another process, from its dates and
    what ``packed_fields_out`` gave there, or its fields as the tuple (names, *values)."""
    if sent is None:
        return _join(updated, created, None)
    if type(sent) is tuple and type(sent[0]) is tuple:  # (names, *values): packed here
        return _join(updated, created, (sent[0], sent[1:]))
    return packed_fields_in(sent)  # the dates are in it


def packed_fields_in(sent: Any) -> Any:
    """``ContentSummary._fields`` from what ``packed_fields_out`` gave in another process."""
    if type(sent) is not tuple or type(sent[0]) is not bytes:
        return sent
    return packed_held_in(*sent)


def packed_held_in(held: bytes, names: tuple[str, ...]) -> Any:
    """``packed_fields_in((held, names))``: ``_join``'s bytes made in another process, and
    the names of their entry fields."""
    at = _place_of(names)
    if at is None:
        return (_DATE.unpack_from(held, 1)[0] if held[0] & _HAS_UPDATED else None,
                _DATE.unpack_from(held, 9)[0] if held[0] & _HAS_CREATED else None,
                names, _unpack_values(held))
    if held[17] | held[18] << 8 == at:
        return held
    return held[:17] + bytes((at & 0xFF, at >> 8)) + held[19:]


_MODES: dict[int, int] = {}
# (folder, mode) pairs, each held once: every session of a scan shares its folder, and most
# their mode
_PLACES: dict[tuple[str | None, int], tuple[str | None, int]] = {}
_NOWHERE: tuple[str | None, int] = (None, 0o600)


def _placed(folder: str | None, mode: int) -> tuple[str | None, int]:
    """The pair (folder, mode), shared with every record that has the same."""
    held = _PLACES.get((folder, mode))
    if held is None:
        if len(_MODES) < 64:
            mode = _MODES.setdefault(mode, mode)
        held = (folder, mode)
        if len(_PLACES) < 1024:
            _PLACES[held] = held
    return held


class _StatLayout:
    """How ``SessionScan._stat`` begins: the size in 7 bytes (files under 2**56 bytes) and
    mtime_ns in 8 (signed), little-endian, 15 bytes; the SHA-256's 32 follow when read.  47
    bytes with the SHA-256 make a bytes object of 80 bytes (48 took 96: one per session)."""

    _PARTS = struct.Struct("<IHBq")  # the size's low 32, next 16 and top 8 bits, mtime_ns
    size = _PARTS.size  # 15

    def pack(self, size: int, mtime_ns: int) -> bytes:
        if not 0 <= size < 2**56:
            raise ValueError(f"a file size, not {size!r}")
        return self._PARTS.pack(size & 0xFFFFFFFF, size >> 32 & 0xFFFF, size >> 48, mtime_ns)

    def unpack_from(self, buffer: bytes) -> tuple[int, int]:
        low, middle, high, mtime_ns = self._PARTS.unpack_from(buffer)
        return low | middle << 32 | high << 48, mtime_ns


_STAT = _StatLayout()  # size, mtime_ns; the SHA-256's 32 bytes follow when read
_STAT_PARTS = _StatLayout._PARTS
_STAT_END = _STAT.size


class SessionScan(_Record):
    """Everything scanning learned about one legacy file.

    Held compactly (100,000 at a time): ``file_name`` and ``path`` are made from
    ``file_id`` and the folder when asked for; ``size``, ``mtime_ns`` and the SHA-256 are
    one bytes object of 80 bytes (the SHA-256 given as hex); the folder and the mode are
    one pair shared by the records that have the same; ``file_problems`` and ``keys`` are
    tuples (the shared empty one when there is nothing); what most files leave at its
    default (``kind``, ``variants``, ``file_problems``, an unusual name or path) is held
    only when it is not."""

    # six slots: 80 bytes a record (eight took 96): the folder and the mode are one shared
    # pair (``_place``), the file problems (most files have none) live in ``_odd``
    __slots__ = ("_keys", "_odd", "_place", "_stat", "content", "file_id")
    _SHOWN = ("file_name", "file_id", "path", "kind", "size", "mtime_ns", "mode", "sha256",
              "file_problems", "content", "variants", "keys")

    file_id: str  # the name without ".json"
    content: ContentSummary  # read as it is
    # file_problems: Sequence[Problem], symlink, FIFO, too large, ... (a property)
    # keys: Sequence[str], the session_map keys pointing at this session (a property: one
    # key, as most sessions have, is held as its string rather than in a tuple of its own)

    def __init__(self, file_name: str, file_id: str, path: str = "", kind: str = "regular file",
                 size: int = 0, mtime_ns: int = 0, mode: int = 0o600, sha256: str | bytes | None = None,
                 file_problems: Sequence[Problem] = NO_PROBLEMS,
                 content: ContentSummary | None = None,
                 variants: dict[frozenset[str], ContentSummary] | None = None,
                 keys: Sequence[str] = (), *, folder: str | None = None) -> None:
        self.file_id = file_id
        # what is not as usual: "file_name" (not file_id + ".json"), "path" (not made from
        # the folder), "kind", "variants", "sha256" (not one in hex), "file_problems"
        self._odd: dict[str, Any] | None = None
        # ``folder``: the folder the file is in, the path then made from it (given by the
        # scan, one string shared by every session)
        self._place = _placed(folder, mode)
        if file_name != file_id + ".json":
            self._set_odd("file_name", file_name)
        if folder is None and path:
            self._set_odd("path", path)
        if kind != "regular file":
            self._set_odd("kind", kind)
        if variants:
            self._set_odd("variants", dict(variants))
        self._stat = _STAT.pack(size, mtime_ns)
        if sha256 is not None:
            self.sha256 = sha256
        self.file_problems = file_problems
        self.content = content if content is not None else ContentSummary()
        self.keys = keys

    def _set_odd(self, name: str, value: Any) -> None:
        if self._odd is None:
            self._odd = {}
        self._odd[name] = value

    def __new__(cls, *args: Any, **kwargs: Any) -> SessionScan:
        # what the properties below read is there from the start, for a record made without
        # __init__ (the scan sets the values of a worker's records one by one)
        record = object.__new__(cls)
        record._place = _NOWHERE
        record._odd = None
        return record

    # the folder and the mode, each read and set on its own (as the scan sets them)
    @property
    def _dir(self) -> str | None:
        return self._place[0]

    @_dir.setter
    def _dir(self, value: str | None) -> None:
        self._place = _placed(value, self._place[1])

    @property
    def file_problems(self) -> Sequence[Problem]:
        """Symlink, FIFO, too large, ... (the shared empty tuple for most files)."""
        odd = self._odd
        return NO_PROBLEMS if odd is None else odd.get("file_problems", NO_PROBLEMS)

    @file_problems.setter
    def file_problems(self, value: Sequence[Problem]) -> None:
        if value:
            self._set_odd("file_problems", value)
        elif self._odd is not None:
            self._odd.pop("file_problems", None)

    @property
    def file_name(self) -> str:
        """The name inside .sessions/ (may be unsafe; never joined into a path unchecked)."""
        odd = self._odd
        if odd is not None and "file_name" in odd:
            return odd["file_name"]
        return self.file_id + ".json"

    @property
    def path(self) -> str:
        """The full path, for messages ("" when the scan did not say)."""
        odd = self._odd
        if odd is not None and "path" in odd:
            return odd["path"]
        if self._dir is None:
            return ""
        return ids.display(os.path.join(self._dir, self.file_name))

    @path.setter
    def path(self, value: str) -> None:
        self._set_odd("path", value)

    @property
    def kind(self) -> str:
        odd = self._odd
        return "regular file" if odd is None else odd.get("kind", "regular file")

    @kind.setter
    def kind(self, value: str) -> None:
        self._set_odd("kind", value)

    @property
    def size(self) -> int:
        low, middle, high, _mtime_ns = _STAT_PARTS.unpack_from(self._stat)
        return low | middle << 32 | high << 48

    @size.setter
    def size(self, value: int) -> None:
        self._stat = _STAT.pack(value, self.mtime_ns) + self._stat[_STAT_END:]

    @property
    def mtime_ns(self) -> int:
        return _STAT.unpack_from(self._stat)[1]

    @mtime_ns.setter
    def mtime_ns(self, value: int) -> None:
        self._stat = _STAT.pack(self.size, value) + self._stat[_STAT_END:]

    def set_read(self, size: int, mtime_ns: int, mode: int, sha256: bytes) -> None:
        """What reading the file found at once: its size, mtime_ns, mode and SHA-256 (the
        32 bytes of the digest)."""
        if len(sha256) != 32:
            raise ValueError("a SHA-256 is 32 bytes")
        if self._odd is not None:
            self._odd.pop("sha256", None)
        self._stat = _STAT.pack(size, mtime_ns) + sha256
        self.mode = mode

    @property
    def mode(self) -> int:
        return self._place[1]

    @mode.setter
    def mode(self, value: int) -> None:
        self._place = _placed(self._place[0], value)

    @property
    def sha256(self) -> str | None:
        """The file's SHA-256, hex (None: not read)."""
        held = self._stat
        if len(held) == _STAT_END + 32:
            return held[_STAT_END:].hex()
        odd = self._odd
        return None if odd is None else odd.get("sha256")

    @sha256.setter
    def sha256(self, value: str | bytes | None) -> None:
        if self._odd is not None:
            self._odd.pop("sha256", None)
        raw: bytes | None = value if isinstance(value, bytes) else None
        if isinstance(value, str):
            try:
                raw = bytes.fromhex(value) if len(value) == 64 else None
            except ValueError:
                raw = None
            if raw is not None and raw.hex() != value:
                raw = None
        elif value is not None and len(value) != 32:
            raise ValueError("a SHA-256 is 32 bytes")
        self._stat = self._stat[:_STAT_END] + raw if raw is not None else self._stat[:_STAT_END]
        if raw is None and value is not None:  # not a SHA-256 in hex (a stand-in): as it is
            self._set_odd("sha256", value)

    @property
    def stat_and_sha256(self) -> bytes:
        """size and mtime_ns (``_STAT``: 15 bytes) and the SHA-256's 32 bytes when read:
        what ``ContentSummary.mark_exact`` refers to instead of a copy of the SHA-256."""
        return self._stat

    @property
    def variants(self) -> Mapping[frozenset[str], ContentSummary]:
        """The file read with each combination of the content fixes it needs."""
        odd = self._odd
        if odd is None:
            return _NO_MAPPING
        return odd.get("variants", _NO_MAPPING)

    def add_variant(self, fixes: frozenset[str], summary: ContentSummary) -> None:
        odd = self._odd
        if odd is None or "variants" not in odd:
            self._set_odd("variants", {})
        self._odd["variants"][fixes] = summary  # type: ignore[index]

    @property
    def keys(self) -> Sequence[str]:
        """The session_map keys pointing at this session (a tuple)."""
        held = self._keys
        return (held,) if type(held) is str else held

    @keys.setter
    def keys(self, value: Sequence[str]) -> None:
        self._keys = value[0] if len(value) == 1 and type(value[0]) is str else tuple(value)

    @property
    def problems(self) -> list[Problem]:
        return [*self.file_problems, *self.content.problems]

    @property
    def content_fixes(self) -> frozenset[str]:
        """The content fixes that change what this file yields."""
        out: set[str] = set()
        for combo in self.variants:
            out |= combo
        return frozenset(out)

    def summary_for(self, fixes: frozenset[str]) -> ContentSummary:
        if not fixes or self._odd is None:  # most sessions: no fix, or none that reads differently
            return self.content
        combo = fixes & self.content_fixes
        return self.variants.get(combo, self.content) if combo else self.content

    def _values(self) -> tuple[Any, ...]:
        return (self.file_name, self.file_id, self.path, self.kind, self.size, self.mtime_ns,
                self.mode, self.sha256, tuple(self.file_problems), self.content,
                dict(self.variants), tuple(self.keys))


@dataclass
class ScanResult:
    workspace: str
    sessions_dir: str
    sessions_dir_exists: bool
    sessions: list[SessionScan] = field(default_factory=list)
    session_map: dict[str, str] = field(default_factory=dict)
    session_map_present: bool = False
    # the existing sessions.json (held as its text: core/object_members.py)
    store_entries: Mapping[str, dict[str, Any]] = field(default_factory=dict)
    store_present: bool = False
    transcripts: dict[str, int] = field(default_factory=dict)  # existing "<id>.jsonl" → size
    warnings: list[Problem] = field(default_factory=list)  # workspace-level (dangling keys, ...)
    fatal: Problem | None = None  # the workspace cannot be migrated (unreadable sessions.json, ...)
    backup_present: bool = False
    backup_files: int = 0
    lock_holder: int | None = None  # pid in sessions.json.lock, -1 if unknown
    total_bytes: int = 0
    # fixes an earlier run migrated a file with (file name → fixes), from the journal, for
    # files unchanged since: a rerun repeats those decisions unless told otherwise
    earlier_fixes: dict[str, frozenset[str]] = field(default_factory=dict)
    # the journal as the scan saw it ((size, mtime_ns, inode), None: none): apply refuses a
    # plan made before another command of ours changed the workspace
    journal_stamp: tuple[int, int, int] | None = None
    # sessions.json's keys by the session their entry points at (plan.py fills it once)
    store_keys_by_id: dict[str, list[str]] | None = field(default=None, repr=False, compare=False)


@dataclass(frozen=True)
class Decision:
    """The user's choice for one session: skip it, or apply named fixes (several may
    combine, e.g. ``use-content`` + ``rename``).  No decision means: migrate if it can."""

    skip: bool = False
    fixes: frozenset[str] = frozenset()

    @property
    def label(self) -> str:
        if self.skip:
            return "skip"
        if self.fixes:
            return "fix:" + ",".join(sorted(self.fixes))
        return "migrate"

    def with_fix(self, fix: str) -> Decision:
        return Decision(skip=False, fixes=self.fixes | {fix})


MIGRATE = Decision()
SKIP = Decision(skip=True)


def lazy_entry(updated_at: int) -> Any:
    """What ``PlannedSession.entry`` is set to for an entry made when asked for, from the
    session's final id, this ``updated_at`` and the metadata the scan carries."""
    if type(updated_at) is not int:
        raise TypeError(f"updated_at is an int of milliseconds, not {updated_at!r}")
    return updated_at


# PlannedSession's values beyond scan, decision and action, in the order of its ``_more``
_MORE = ("final_id", "keys", "kept_keys", "entry", "transcript", "open_problems", "notes",
         "not_carried", "message_count")


@dataclass(init=False, repr=False, eq=False)  # a dataclass to dataclasses.replace and fields()
class PlannedSession(_Record):
    """What the migration will do with one legacy file, given the decision.

    Held compactly (100,000 at a time).  An ordinary session (no fix, nothing wrong, its
    file name its id: ``plain``) holds only its scan, decision and action (64 bytes);
    everything else is read from the scan when asked for, until something is set
    (``_more`` then holds the values, in the order of ``_MORE``).  The sequences are
    tuples, shared with the scan where they are the same, the shared empty one when there
    is nothing, and ``entry`` is made from ``final_id``, an ``updated_at`` and the scan's
    metadata when asked for (a new dict at each call), unless one is set: ``_more`` then
    holds that ``updated_at`` (``lazy_entry``)."""

    # (not a literal: mypy would then refuse the values below, set through properties)
    __slots__ = tuple(["_more", "action", "decision", "scan"])
    _SHOWN = ("scan", "decision", "action", *_MORE)

    scan: SessionScan
    decision: Decision
    action: Action  # "done": already migrated; "blocked": a problem left undecided
    # the values below are properties over ``_more`` (or the scan): see _more_property
    final_id: str | None
    keys: Sequence[str]  # keys whose entries will be written
    kept_keys: Sequence[str]  # keys left as they are (done, or keep-existing)
    entry: dict[str, Any] | None  # the entry written under each key
    transcript: str  # "write" | "same" | "extended" | "keep-existing" | "replace-existing"
    open_problems: Sequence[Problem]  # problems the decision leaves unresolved
    notes: Sequence[str]  # what the fixes do, what is used instead
    not_carried: Sequence[str]
    message_count: int  # messages the transcript will hold

    def __init__(self, scan: SessionScan, decision: Decision, action: Action,
                 final_id: str | None = None, keys: Sequence[str] = (),
                 kept_keys: Sequence[str] = (), entry: dict[str, Any] | None = None,
                 transcript: str = "write", open_problems: Sequence[Problem] = (),
                 notes: Sequence[str] = (), not_carried: Sequence[str] = (),
                 message_count: int = 0) -> None:
        self.scan = scan
        self.decision = decision
        self.action = action
        self._more: list[Any] | tuple[Any, ...] | None = [final_id, keys, kept_keys, entry, transcript,
                                        open_problems, notes, not_carried, message_count]

    @classmethod
    def plain(cls, scan: SessionScan, decision: Decision, action: Action,
              updated_at_ms: int | None = None) -> PlannedSession:
        """An ordinary session: its final id is its file id, its keys the scan's, its entry
        made from the scan's updated_at and metadata (an int: ``lazy_entry``), a new
        transcript, no problem, no note, what is not carried and the messages the scan's.
        (``updated_at_ms``: the scan's, when the caller has read it.)"""
        lazy_entry(scan.content.updated_at_ms if updated_at_ms is None  # type: ignore[arg-type]
                   else updated_at_ms)  # an int, or TypeError
        ps = cls.__new__(cls)
        ps.scan = scan
        ps.decision = decision
        ps.action = action
        ps._more = None
        return ps

    def _held(self) -> list[Any]:
        more = self._more
        if more is None:
            content = self.scan.content
            more = self._more = [self.scan.file_id, _FROM_SCAN if self.scan.keys else (), (),
                                 _FROM_SCAN, "write", (), (), content.not_carried,
                                 content.message_count]
        elif not isinstance(more, list):  # shared (``share_more``): a list of its own to set
            more = self._more = list(more)
        return more

    def share_more(self) -> None:
        """``_more`` held as a tuple shared by every session of the same shape, when each of
        its values is the scan's (``_FROM_SCAN``), None, empty or a transcript state: a
        session of a migrated workspace (``done``, nothing noted) holds no list of its own
        (9 values: 14 MB at 100,000 sessions, held through verify's peak, the end of its
        plan).  Setting a value gives it its own list again (``_held``): the plan shares
        each session's as soon as it is made and again once it is settled, so that the
        lists are never all held at once (shared only at the end, their memory stayed
        with the process, in holes between the sessions made meanwhile).  Empty
        ``open_problems`` and ``notes`` are held as the empty tuple (the plan makes them
        tuples when it finishes a session)."""
        more = self._more
        if type(more) is not list:
            return
        scan = self.scan
        final_id, keys, kept_keys, entry, transcript, problems, notes, not_carried, count = more
        if final_id is not None:
            if final_id != scan.file_id:
                return
            final_id = _FROM_SCAN
        content = scan.content
        if not_carried is content.not_carried:
            not_carried = _FROM_SCAN
        elif type(not_carried) is not tuple or not_carried:
            return
        if count != content.message_count or type(count) is not int:
            return
        if type(keys) is tuple and keys and keys == scan.keys:  # (as the properties hold them)
            keys = _FROM_SCAN
        if type(kept_keys) is tuple and kept_keys and kept_keys == scan.keys:
            kept_keys = _FROM_SCAN
        if type(entry) is int and entry == content.updated_at_ms:
            entry = _FROM_SCAN
        for held in (keys, kept_keys):  # each the scan's, or the empty tuple
            if held is not _FROM_SCAN and (type(held) is not tuple or held):
                return
        for held in (problems, notes):  # (lists until the plan finishes the session)
            if held or (type(held) is not tuple and type(held) is not list):
                return
        if transcript not in _TRANSCRIPT_STATES or (entry is not _FROM_SCAN and entry is not None):
            return
        shape = (final_id, keys, kept_keys, entry, transcript, (), (), not_carried, _FROM_SCAN)
        self._more = _SHARED_MORE.setdefault(shape, shape)

    @property
    def file_id(self) -> str:
        return self.scan.file_id

    @property
    def is_plain(self) -> bool:
        """Made by ``plain`` and nothing set since: every value is the scan's."""
        return self._more is None

    @property
    def has_entry(self) -> bool:
        """``entry is not None``, without making it."""
        more = self._more
        return more is None or more[3] is not None

    def known_keys(self) -> list[str]:
        """``[*keys, *kept_keys]``, read without a property call per attribute (the wizard's
        queries and sorts ask it of every session)."""
        more = self._more
        if more is None:
            return list(self.scan.keys)
        return [*_keys_held(self, more[1]), *_keys_held(self, more[2])]

    def query_keys(self) -> Sequence[str]:
        """``known_keys()``, else the scan's keys (what a query reads as a session's keys),
        as a sequence to read, not to keep: the scan's own tuple where it is that."""
        more = self._more
        if more is None or (not more[1] and not more[2]):
            held = self.scan._keys
            return (held,) if type(held) is str else held
        return [*_keys_held(self, more[1]), *_keys_held(self, more[2])]

    @property
    def entry_updated_at(self) -> Any:
        """``entry["updated_at"]`` (None without an entry), without making the entry: an
        entry made from the scan takes it from there (metadata never holds it)."""
        more = self._more
        held: Any = self.scan.content.updated_at_ms if more is None or more[3] is _FROM_SCAN \
            else more[3]
        if held is None or type(held) is int:
            return held
        return held.get("updated_at")

    @property
    def label(self) -> str:
        """The report's "action": migrate | skip | fix:NAME[,NAME]."""
        if self.action in ("skip", "blocked"):
            return "skip"
        return self.decision.label if self.decision.fixes else "migrate"


class _FromScan:
    """In a planned session's ``_more``, for ``keys``, ``kept_keys`` or ``entry``: the same
    as the scan's (its keys; the lazy entry of its ``updated_at``), read from there when
    asked for rather than held as an object of its own (a tuple, an int: at 100,000
    sessions, 11 MB held through verify's peak, the end of its plan).  Held for keys only
    when the scan has some (truthy, as they are)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "<from the scan>"


_FROM_SCAN: Any = _FromScan()


def _keys_held(ps: PlannedSession, held: Any) -> Sequence[str]:
    return ps.scan.keys if held is _FROM_SCAN else held


def _plain_final_id(ps: PlannedSession) -> Any:
    return ps.scan.file_id


def _plain_keys(ps: PlannedSession) -> Any:
    return ps.scan.keys


def _plain_entry(ps: PlannedSession) -> Any:
    return ps.scan.content.updated_at_ms


def _plain_not_carried(ps: PlannedSession) -> Any:
    return ps.scan.content.not_carried


def _plain_message_count(ps: PlannedSession) -> Any:
    return ps.scan.content.message_count


# the shapes of ``_more`` shared (``PlannedSession.share_more``): a few, whatever the sessions
_SHARED_MORE: dict[tuple[Any, ...], tuple[Any, ...]] = {}
_TRANSCRIPT_STATES = frozenset({"write", "same", "extended", "keep-existing", "replace-existing"})


def _more_property(at: int, plain: Any) -> property:
    """A value of ``_more``; for a plain session, what ``plain`` reads from the scan (a
    function), or ``plain`` itself; ``_FROM_SCAN`` held (``share_more``): what ``plain``
    reads."""
    if callable(plain):
        def get(ps: PlannedSession) -> Any:
            more = ps._more
            if more is None:
                return plain(ps)
            held = more[at]
            return plain(ps) if held is _FROM_SCAN else held
    else:
        def get(ps: PlannedSession) -> Any:
            more = ps._more
            return plain if more is None else more[at]

    def put(ps: PlannedSession, value: Any) -> None:
        ps._held()[at] = value

    return property(get, put)


def _keys_property(at: int, plain: Any) -> property:
    """``keys`` (``at`` 1) or ``kept_keys`` (2): a tuple the same as the scan's keys held
    as ``_FROM_SCAN``."""
    def get(ps: PlannedSession) -> Any:
        more = ps._more
        if more is None:
            return plain(ps) if callable(plain) else plain
        held = more[at]
        return ps.scan.keys if held is _FROM_SCAN else held

    def put(ps: PlannedSession, value: Any) -> None:
        if type(value) is tuple and value and value == ps.scan.keys:
            value = _FROM_SCAN
        ps._held()[at] = value

    return property(get, put)


def _get_entry(ps: PlannedSession) -> Any:
    more = ps._more
    held = ps.scan.content.updated_at_ms if more is None or more[3] is _FROM_SCAN else more[3]
    if type(held) is not int:
        return held
    final_id = ps.final_id
    entry: dict[str, Any] = {"session_id": final_id, "updated_at": held,
                             "session_file": f"{final_id}.jsonl"}
    entry.update(ps.scan.summary_for(ps.decision.fixes).entry_fields)
    return entry


for _at, (_name, _plain) in enumerate(zip(_MORE, (
        _plain_final_id, _plain_keys, (), _plain_entry, "write", (), (), _plain_not_carried,
        _plain_message_count), strict=True)):
    setattr(PlannedSession, _name, _more_property(_at, _plain))
del _at, _name, _plain


def _put_entry(ps: PlannedSession, value: Any) -> None:
    if type(value) is int and value == ps.scan.content.updated_at_ms:
        value = _FROM_SCAN  # (the scan's updated_at: read from there, not held again)
    ps._held()[3] = value


setattr(PlannedSession, "entry", property(_get_entry, _put_entry))  # noqa: B010
setattr(PlannedSession, "keys", _keys_property(1, _plain_keys))  # noqa: B010
setattr(PlannedSession, "kept_keys", _keys_property(2, ()))  # noqa: B010


@dataclass
class Totals:
    found: int = 0
    to_migrate: int = 0
    skipped: int = 0  # by the user's decision
    blocked: int = 0  # problems left: not migrated, counted as errors
    fixed: int = 0  # migrating with at least one fix
    done: int = 0  # already migrated by an earlier run
    warnings: int = 0
    messages: int = 0
    bytes: int = 0


@dataclass
class Plan:
    scan: ScanResult
    agent_id: str
    backup: bool
    sessions: list[PlannedSession]
    decisions: dict[str, Decision]
    totals: Totals
    warnings: list[Problem] = field(default_factory=list)

    @cached_property
    def index(self) -> dict[str, int]:
        """file id → position in ``sessions``."""
        return {ps.file_id: n for n, ps in enumerate(self.sessions)}

    @cached_property
    def id_counts(self) -> Counter[str]:
        """How many sessions would be written under each final id."""
        return Counter(ps.final_id for ps in self.sessions if ps.final_id is not None)

    def session(self, file_id: str) -> PlannedSession:
        return self.sessions[self.index[file_id]]

    @property
    def nothing_to_do(self) -> bool:
        return self.totals.to_migrate == 0


# ---------------------------------------------------------------- events


@dataclass(frozen=True)
class PhaseStarted:
    phase: str  # "scan" | "backup" | "transcripts" | "index" | "verify" | "rollback" | "cleanup"
    total: int  # items in this phase
    total_bytes: int = 0


@dataclass(frozen=True)
class Progress:
    phase: str
    done: int
    total: int
    item: str = ""  # the session or file at hand
    bytes_done: int = 0


@dataclass(frozen=True)
class LogLine:
    level: str  # "info" | "warning" | "error"
    text: str


Event = PhaseStarted | Progress | LogLine


class EventSink(Protocol):
    def __call__(self, event: Event) -> None: ...


class CancelFlag(Protocol):
    def is_set(self) -> bool: ...


def no_events(event: Event) -> None:
    return None


class NeverCancel:
    def is_set(self) -> bool:
        return False


@dataclass
class SessionFailure:
    file_id: str
    problem: Problem


@dataclass
class ApplyResult:
    migrated: list[str] = field(default_factory=list)  # file ids written (transcript + entries)
    failed: list[SessionFailure] = field(default_factory=list)  # failed at apply time
    cancelled: bool = False
    verified: bool | None = None
    verify_problems: list[str] = field(default_factory=list)
    backup_dir: str | None = None
    backup_files: int = 0
    # paths created or replaced (apply holds them as apply.WrittenPaths: a list's worth)
    written: MutableSequence[str] = field(default_factory=list)
    error: str | None = None  # a failure that stopped the run (disk full, I/O error, ...)
    report_path: str | None = None
    report_error: str | None = None  # the report could not be saved (a warning, not a failure)
    committed: bool = False  # the commit record was written: the run is complete
    run_id: str | None = None
    # the run's report (engine.report.Report), built once by apply and saved beside the
    # backup; the command prints this very object
    report: Any = field(default=None, repr=False, compare=False)
