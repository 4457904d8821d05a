"""Scanning: read the workspace once, classify every legacy session, keep no messages."""

from __future__ import annotations

import bisect
import gc
import hashlib
import itertools
import json
import operator
import os
import stat
from collections.abc import Callable, Iterator
from typing import Any

from migrate_tui.core import fsio, ids, jsonio
from migrate_tui.core.layout import (
    DEFAULT_MAX_FILE_BYTES,
    LOCK,
    SESSION_MAP,
    STORE,
    Layout,
    open_layout,
)
from migrate_tui.engine import journal, processes
from migrate_tui.engine.legacy import (
    STREAM_BYTES,
    LegacyContent,
    carried_fields,
    decode,
    line_col,
    problem,
    read_legacy,
    to_ms,
    transcript_lines,
    warning,
)
from migrate_tui.engine.model import (
    _STAT_PARTS,
    CONTENT_FIXES,
    NO_PROBLEMS,
    CancelFlag,
    ContentSummary,
    EventSink,
    NeverCancel,
    PhaseStarted,
    Problem,
    Progress,
    ScanResult,
    SessionScan,
    TranscriptCheck,
    _placed,
    field_place,
    no_events,
    packed_fields,
    packed_fields_in,
    packed_fields_out,
    packed_fields_plain,
    packed_held_in,
)

RECENT_SECONDS = 60
IGNORED = {STORE, SESSION_MAP}


def is_legacy_name(name: str) -> bool:
    return name.endswith(".json") and name not in IGNORED and len(name) > 5


def scan_workspace(
    workspace: str,
    *,
    on_event: EventSink = no_events,
    cancel: CancelFlag | None = None,
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES,
    workers: bool = False,
    each: Callable[[SessionScan], SessionScan] | None = None,
) -> ScanResult:
    """Read the workspace and classify each legacy session.  Writes nothing.

    ``workers``: parse in worker processes when there are many big files (processes.py).
    The calling program's top-level code must then be guarded by ``if __name__ ==
    "__main__"``, as multiprocessing requires; the command line and the wizard are.

    The cyclic garbage collector is paused while the files are read: every collection
    would go through all the sessions read so far (at 100,000 sessions, a third of the
    scan's time), and the scan makes no cycle.  A program that keeps the result for long
    may move it out of the collector's way with ``gc.freeze()`` (the wizard does).

    ``each``: given each record as the scan gathers it, the one it returns is kept in its
    place (verify makes them smaller, so that what it lets go is never held for all the
    sessions at once)."""
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _scan(workspace, on_event, cancel, max_file_bytes, workers, each)
    finally:
        if collecting:
            gc.enable()


def _scan(workspace: str, on_event: EventSink, cancel: CancelFlag | None, max_file_bytes: int,
          workers: bool,
          each: Callable[[SessionScan], SessionScan] | None) -> ScanResult:
    layout = open_layout(workspace)
    cancel = cancel or NeverCancel()
    _forget_shared()
    result = ScanResult(layout.workspace, layout.sessions_dir, fsio.is_real_dir(layout.sessions_dir))
    if not result.sessions_dir_exists:
        return result
    # by name (each is in the folder once): the same order as the pairs', in half the time
    listing = sorted(fsio.list_regular(layout.sessions_dir), key=_first)
    # (is_legacy_name's test written out: no call a name, a third of this line's time)
    legacy = [item for item in listing if item[0].endswith(".json")
              and len(item[0]) > 5 and item[0] not in IGNORED]
    # many legacy files the listing says are regular: not looked at one by one here, since
    # each is opened, fstat-ed and read anyway (by a worker, maybe): its size and time come
    # from there, and a sample of them says how big they are (for the workers, below)
    unlooked = sum(regular for _, regular in legacy) >= LOOK_AT_ALL_BELOW
    sizes = _inventory(layout, listing, result, unlooked)
    _read_store(layout, result, max_file_bytes)

    total_bytes = 0
    on_event(PhaseStarted("scan", len(legacy)))
    # the files are parsed in worker processes when there are many (processes.py)
    usual = _usual_size(layout, legacy) if unlooked else 0
    legacy_sizes = _batch_sizes(legacy, sizes, min(usual, max_file_bytes), max_file_bytes)
    jobs = processes.jobs_for(legacy_sizes, SCAN_MIN_AVERAGE_BYTES) if workers else 0
    if not jobs:  # the sizes only make the workers' batches: not held while the files are read
        legacy_sizes = [0] * len(legacy)
    del listing, sizes  # not held while the sessions are read (0.1 KB a file)
    # with workers, the names held compactly before they are forked: a tuple and a string a
    # file (16 MB at 100,000 files), shared with the workers at the fork, had each of its
    # pages copied as this process went through them (reference counts), the old copies
    # kept by the workers: 20 MB more for the process tree at corpus D.  In one process the
    # list stays (compacting it there raised corpus E's peak by 1 MB)
    listed: _Listed | list[tuple[str, bool]] = _Listed(legacy) if jobs else legacy
    del legacy
    folder = _folder(layout)
    reader = fsio.FolderReader(layout.sessions_dir)
    scans: processes.InOrder[SessionScan | tuple[Any, ...]] = processes.InOrder(
        _scan_named, iter(listed), legacy_sizes, jobs=jobs,
        initializer=_scan_setup, initargs=(layout, result.transcripts, max_file_bytes),
        local_task=lambda item: _scan_listed(layout, reader, item, result.transcripts, max_file_bytes))
    # with workers, this process has little to do until their first batches come back: a
    # small session_map.json is read then (corpus B: its 13 ms no longer after the scan);
    # a big one is read in pieces once the files are, its ids held as theirs
    store_fatal = result.fatal
    map_read = bool(jobs) and _session_map_small(layout)
    shown = on_event is not no_events  # (none made for no one: a Progress a session)
    unpack_stat = _STAT_PARTS.unpack_from  # (the size's three parts, mtime_ns: _STAT's)
    # (the results a batch at a time: no method call a session)
    cancelled, add = cancel.is_set, result.sessions.append
    next_scan = itertools.chain.from_iterable(scans.batches()).__next__
    # the names are made again (from _Listed) only for the events: a record's file name is
    # its listed name (its id is the name without ".json")
    pairs: Any = zip(itertools.repeat(None), listed.regular) \
        if type(listed) is _Listed and not shown else listed
    try:
        if map_read:
            _read_session_map(layout, result, max_file_bytes)
        for done, (name, _) in enumerate(pairs, 1):
            if cancelled():
                break
            session = _restored(next_scan(), folder)
            low, middle, high, _ = unpack_stat(session._stat)  # (stat_and_sha256's start)
            total_bytes += low | middle << 32 | high << 48
            add(session if each is None else each(session))
            if shown:
                on_event(Progress("scan", done, len(listed), name, total_bytes))
    finally:
        scans.close()
    del scans, next_scan, listed, legacy_sizes  # the names and sizes listed: not held with what follows
    result.total_bytes = total_bytes
    # otherwise session_map.json read once the files are: its ids are then held once, as the
    # files' (_attach_keys), never beside the listing (0.1 KB a key at the scan's peak)
    if not map_read:
        _read_session_map(layout, result, max_file_bytes)
    result.fatal = store_fatal or result.fatal  # sessions.json's, if both are unusable
    _attach_keys(result)
    result.earlier_fixes = _earlier_fixes(layout, result)
    return result


_first = operator.itemgetter(0)


def _batch_sizes(legacy: list[tuple[str, bool]], sizes: dict[str, int], usual: int,
                 limit: int) -> list[int]:
    """Each legacy file's size, at most ``limit`` (what is read of it): from ``sizes`` when
    it is there, else ``usual``.  The many files not looked at one by one are not in
    ``sizes`` (which then holds the folder's few other files): the list is ``usual``
    repeated, the few found put in their places (``legacy`` is sorted by name), rather than
    a look-up and a ``min()`` a file (under 0.1 ms rather than 6 at 20,000 files)."""
    if len(sizes) * 8 > len(legacy):  # (every file looked at: a small folder)
        return [min(sizes.get(name, usual), limit) for name, _ in legacy]
    out = [usual] * len(legacy)
    for name, size in sizes.items():
        at = bisect.bisect_left(legacy, name, key=_first)
        if at < len(legacy) and legacy[at][0] == name:
            out[at] = min(size, limit)
    return out


class _Listed:
    """The legacy files of the listing, (name, regular) in order, held as one string (the
    names joined by "/", which no name holds) and one byte a file, rather than a tuple and
    a string each: two objects in all, whatever the number of files.  Each pass makes the
    names again, one at a time (``regular``: the bytes alone, for a pass without them)."""

    def __init__(self, legacy: list[tuple[str, bool]]) -> None:
        self._names = "/".join(name for name, _ in legacy)
        self.regular = bytes(regular for _, regular in legacy)  # 1: a regular file

    def __len__(self) -> int:
        return len(self.regular)

    def __iter__(self) -> Iterator[tuple[str, bool]]:
        names, start = self._names, 0
        for regular in self.regular:
            end = names.find("/", start)
            if end < 0:
                end = len(names)
            yield names[start:end], bool(regular)
            start = end + 1


def _earlier_fixes(layout: Layout, result: ScanResult) -> dict[str, frozenset[str]]:
    """The fixes each unchanged file was migrated with (from the journal, read defensively:
    its damage is for apply and the other commands to refuse on, not for the scan).  Read
    the lean way (``journal.read_lean``: the same state, without each record parsed whole:
    a commit record at 100,000 sessions is 15 MB of text), at the end of the scan, when the
    records of every session are held."""
    if not result.backup_present:
        return {}
    state = journal.read_lean(layout)
    result.journal_stamp = state.stamp
    if not state.fixed_sources:  # (most workspaces: no name and SHA-256 of every session held)
        return {}
    wanted = {source for source, _, _ in state.fixed_sources}
    shas = {s.file_name: s.sha256 for s in result.sessions if s.file_name in wanted}
    out = {}
    for source, sha, fixes in state.fixed_sources:  # gathered as the journal was read
        if shas.get(source) == sha:
            out[source] = fixes
    return out


# ---------------------------------------------------------------- inventory


# From this many legacy files the listing says are regular, they are not looked at (lstat)
# one by one before they are read (_scan): 0.1 s of a dry run on 20,000 files, 0.5 s on
# 100,000, before the first file could be read.
LOOK_AT_ALL_BELOW = 256
_SAMPLE = 64


def _inventory(layout: Layout, listing: list[tuple[str, bool]], result: ScanResult,
               unlooked: bool = False) -> dict[str, int]:
    """What is in the folder besides the legacy files; returns each name's size.
    ``unlooked``: the legacy files the listing says are regular are left out (their sizes
    and times are the scan's)."""
    sizes = {}
    locked = False  # sessions.json.lock is listed (not a legacy name: never passed by below)
    for name, regular in listing:
        if unlooked and regular and name.endswith(".json") and len(name) > 5 and name not in IGNORED:
            continue  # a legacy file (is_legacy_name, written out)
        if name == LOCK:
            locked = True
        path = layout.in_sessions(name)
        st = fsio.lstat_or_none(path)
        if st is None:
            continue
        sizes[name] = st.st_size
        if name.endswith(".jsonl"):
            result.transcripts[name[:-6]] = st.st_size if stat.S_ISREG(st.st_mode) else -1
    if fsio.is_real_dir(layout.backup_dir):
        result.backup_present = True
        result.backup_files = sum(
            1 for n in fsio.listdir(layout.backup_dir) if not n.endswith(fsio.TEMP_SUFFIX))
    if locked:
        result.lock_holder = fsio.lock_holder(layout.lock)
    return sizes


def _usual_size(layout: Layout, legacy: list[tuple[str, bool]]) -> int:
    """The average size of a sample of the legacy regular files, spread over the listing:
    what the workers' batches are made by when the files are not looked at one by one."""
    regular = [name for name, is_regular in legacy if is_regular]
    found = []
    for name in regular[::max(1, len(regular) // _SAMPLE)][:_SAMPLE]:
        st = fsio.lstat_or_none(layout.in_sessions(name))
        if st is not None:
            found.append(st.st_size)
    return sum(found) // len(found) if found else 0


def _read_json_file(path: str, label: str, limit: int, dups: jsonio.DuplicateKeys | None = None,
                    members: bool = False,
                    whole_if: Callable[[dict[str, Any]], bool] | None = None
                    ) -> tuple[Any, Problem | None]:
    """A small JSON file the migration depends on (session_map.json, sessions.json); the
    keys repeated in one of its objects go to ``dups``.  ``members``: an object of objects
    is held as its text (``ObjectMembers``, each value parsed when looked up); when it is
    thinned (``thinning_at_split``), ``whole_if``: the members to keep whole
    (``ObjectMembers.split_thinned``)."""
    if members:
        from migrate_tui.core import object_members  # (only with a sessions.json)

        if object_members.thinning():  # thinned as its pieces are read: never held whole
            thinned = _members_in_pieces(path, limit, dups, whole_if)
            if thinned is not None:
                return thinned, None
    try:
        data = fsio.read_bytes(path, limit)
    except fsio.NotRegularFile as exc:
        return None, problem("not_regular", f"is a {exc.kind}; it is not followed or read", label)
    except OSError as exc:
        return None, problem("unreadable", f"cannot be read: {exc.strerror or exc}", label)
    holder = _Holder()
    text = decode(data, label, False, holder)
    del data  # not held beside its text and what is parsed from it (8 MB at 100,000 keys)
    if text is None:
        return None, holder.problems[-1]
    if members:
        from migrate_tui.core.object_members import ObjectMembers  # (only with a sessions.json)

        held = ObjectMembers.split(text, dups)
        if held is not None:
            return held, None
    try:
        return jsonio.loads(text, dups), None
    except RecursionError:
        return None, problem("too_deep", "is nested too deeply to read safely", label)
    except jsonio.JSONDecodeError as exc:
        return None, problem(
            "invalid_json", f"invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}",
            label, line=exc.lineno, column=exc.colno)


def _members_in_pieces(path: str, limit: int, dups: jsonio.DuplicateKeys | None,
                       whole_if: Callable[[dict[str, Any]], bool] | None) -> Any:
    """``ObjectMembers.split_thinned`` of the file read a piece at a time; None on any error
    reading it, or anything unusual in it: the caller then reads it whole, and says what is
    wrong."""
    from migrate_tui.core.object_members import ObjectMembers

    try:
        pieces = fsio.read_pieces(path, limit)
        try:
            return ObjectMembers.split_thinned(pieces, dups, whole_if)
        finally:
            pieces.close()
    except OSError:
        return None


def _lines_of_key(path: str, key: str, limit: int) -> list[int]:
    """The lines where ``"key":`` appears in a JSON file, to say where a key repeats; none
    when it appears in many places (a key repeated inside one entry, say ``label``: its
    lines would mislead)."""
    try:
        data = fsio.read_bytes(path, limit)
    except OSError:
        return []
    out = []
    for variant in {json.dumps(key).encode("ascii"),
                    json.dumps(key, ensure_ascii=False).encode("utf-8", "surrogatepass")}:
        start = 0
        while (at := data.find(variant, start)) >= 0:
            rest = data[at + len(variant):at + len(variant) + 64].lstrip()
            if rest.startswith(b":"):
                out.append(data.count(b"\n", 0, at) + 1)
            start = at + 1
    lines = sorted(set(out))
    return lines if len(lines) <= 4 else []


class _Holder:
    def __init__(self) -> None:
        self.problems: list[Problem] = []
        self.replaced_bytes = 0


def _read_session_map(layout: Layout, result: ScanResult, limit: int) -> None:
    """session_map.json into ``result.session_map``.  Read a piece at a time when it is big
    and can be (``_session_map_in_pieces``), else whole (where what is wrong is found)."""
    path = layout.session_map
    st = fsio.lstat_or_none(path)
    if st is None:
        return
    result.session_map_present = True
    dups = jsonio.DuplicateKeys()
    value = None
    if st.st_size >= MAP_IN_PIECES_FROM:
        value = _session_map_in_pieces(path, limit, result.sessions)
    err = None
    if value is None:
        value, err = _read_json_file(path, path, limit, dups)
    if err is not None:
        result.fatal = Problem(err.code, err.message + "; the session keys in it cannot be read, "
                               "so nothing is migrated (fix or restore it and run again)", path,
                               err.severity, err.line, err.column)
        return
    if not isinstance(value, dict):
        result.fatal = problem("wrong_shape", "is not a JSON object of key → session id; "
                               "nothing is migrated", path)
        return
    for key in dict.fromkeys(dups.keys):
        if key in value:
            lines = _lines_of_key(path, key, limit)
            where = f" (lines {', '.join(map(str, lines))})" if len(lines) > 1 else ""
            result.warnings.append(warning(
                "duplicate_key", f"the key {key!r} appears more than once{where}; the last one, "
                f"pointing at {value[key]!r}, is used", path, line=lines[-1] if lines else None))
    # the parsed object becomes session_map itself (not copied into another dict: 5 MB at
    # 100,000 keys), what is not a session id taken out of it
    ignored = []
    for key, sid in value.items():
        if not isinstance(sid, str):
            result.warnings.append(warning(
                "bad_key", f"the key {key!r} maps to {sid!r}, which is not a session id; it is ignored",
                path))
            ignored.append(key)
            continue
        if not ids.is_valid_key(key):
            result.warnings.append(warning(
                "bad_key", f"the key {ids.display(key)!r} is not a well-formed session key "
                "(agent:<agent-id>:<name>, no white space); it is carried as it is", path))
    for key in ignored:
        del value[key]
    result.session_map = value


# From this size on, session_map.json is read in pieces (at 4 MB, about 50,000 keys): below,
# the whole text costs less CPU (parsed at once, no run merged into the others, no id looked
# up: 7 ms against 20 on corpus B's 1.6 MB) and little memory.  A piece of 256 KB: what a
# run holds while it is parsed (its bytes, text, pairs and dict) is about 4 times that.
MAP_IN_PIECES_FROM = 4 << 20
MAP_PIECE_BYTES = 256 << 10


def _session_map_small(layout: Layout) -> bool:
    """session_map.json is absent or smaller than ``MAP_IN_PIECES_FROM`` (read whole)."""
    st = fsio.lstat_or_none(layout.session_map)
    return st is None or st.st_size < MAP_IN_PIECES_FROM


def _session_map_in_pieces(path: str, limit: int, sessions: list[SessionScan]) -> Any:
    """session_map.json's object, read and parsed a piece at a time
    (``jsonio.loads_object_in_pieces``), each id that names a file held as that file's id
    (the one string ``_attach_keys`` would make it): at 100,000 keys its whole text (8 MB)
    and a string per id (8 MB) were held at the scan's peak.  None when it cannot be read
    this way (anything unusual: a repeated key, bad JSON, not an object...), or on any error
    reading it: the caller then reads it whole, and says what is wrong."""
    file_ids = {s.file_id: s.file_id for s in sessions}
    try:
        pieces = fsio.read_pieces(path, limit, MAP_PIECE_BYTES)
        try:
            return jsonio.loads_object_in_pieces(pieces, file_ids)
        finally:
            pieces.close()
    except OSError:
        return None


def _read_store(layout: Layout, result: ScanResult, limit: int) -> None:
    path = layout.store
    if fsio.lstat_or_none(path) is None:
        return
    result.store_present = True
    dups = jsonio.DuplicateKeys()
    # thinned (verify): an entry whose transcript is not one the folder lists is kept whole,
    # the only ones a reader may ask whole for (one pointing at a missing transcript)
    transcripts = result.transcripts

    def whole_if(entry: dict[str, Any]) -> bool:
        name = entry.get("session_file")
        return not (type(name) is str and name.endswith(".jsonl") and name[:-6] in transcripts)

    value, err = _read_json_file(path, path, limit, dups, members=True, whole_if=whole_if)
    if err is None and dups.keys:
        key = dups.keys[0]
        lines = _lines_of_key(path, key, limit)
        where = f" (lines {', '.join(map(str, lines))})" if len(lines) > 1 else ""
        result.fatal = problem(
            "duplicate_key", f"repeats the key {key!r} in one object{where}: the agent reads only "
            "the last one, and rewriting it would drop the others, so nothing is migrated until "
            "you remove the one you do not want", path, line=lines[0] if lines else None)
        return
    if err is not None:
        result.fatal = Problem(err.code, err.message + "; it is never overwritten blind, so nothing "
                               "is migrated until it is repaired", path, err.severity, err.line,
                               err.column)
        return
    from migrate_tui.core.object_members import ObjectMembers

    if not isinstance(value, ObjectMembers) and (  # held as its members: an object of objects
            not isinstance(value, dict) or not all(isinstance(v, dict) for v in value.values())):
        result.fatal = problem("wrong_shape", "is not a JSON object of key → entry; it is never "
                               "overwritten blind, so nothing is migrated", path)
        return
    result.store_entries = value


# ---------------------------------------------------------------- one legacy file


_setup: tuple[Layout | None, dict[str, int], int, fsio.FolderReader | None] = (None, {}, 0, None)


def _scan_setup(layout: Layout | None, transcripts: dict[str, int], limit: int) -> None:
    """What ``_scan_named`` needs, given once to each worker process."""
    global _setup
    _setup = (layout, transcripts, limit, None if layout is None else fsio.FolderReader(layout.sessions_dir))


def _scan_named(item: tuple[str, bool]) -> tuple[Any, ...]:
    """``scan_file`` in a worker process, its result as plain values (``_compact``)."""
    layout, transcripts, limit, reader = _setup
    assert layout is not None and reader is not None
    return _scan_listed(layout, reader, item, transcripts, limit)


def _scan_listed(layout: Layout, reader: fsio.FolderReader, item: tuple[str, bool],
                 transcripts: dict[str, int], limit: int) -> tuple[Any, ...]:
    """``_compact(scan_file(...))`` of a name from the folder's listing, the common case the
    short way: a regular file whose content has nothing to report (``_plain``) is read once
    and its record made straight from what was found; any other goes through
    ``_scan_content`` (with the bytes in hand) or ``scan_file``, which find the same."""
    name, regular = item
    if not regular:
        return _compact(scan_file(layout, name, transcripts, limit))
    try:
        data, st = reader.read(name, limit)
    except OSError:
        return _compact(scan_file(layout, name, transcripts, limit))
    sha256 = hashlib.sha256(data).digest()
    found = _plain(name, data, st, sha256, transcripts)
    if found is not None:
        return found
    session = SessionScan(file_name=name, file_id=name[:-5], folder=_folder(layout))
    session.set_read(len(data), st.st_mtime_ns, stat.S_IMODE(st.st_mode), sha256)
    return _compact(_scan_content(session, data, st, layout.in_sessions(name), transcripts, sha256))


def _plain(name: str, data: bytes, st: os.stat_result, sha256: bytes,
           transcripts: dict[str, int]) -> tuple[Any, ...] | None:
    """``_compact(scan_file(...))`` of a regular file read whole, when its content has
    nothing to report: orjson's value proven exact, an object whose "messages" are objects
    with a "role", "metadata" an object (or none) whose "session_key", if any, is a valid
    key, a string "session_id", an "updated_at" that is a date, no transcript there it could
    be written to.  None for any other file: ``summarize`` then finds and words what there is
    (tests/engine/test_scan_plain.py checks that both ways give the same record).  Its dates
    and metadata values are packed here (as a summary holds them: ``packed_fields``), and
    sent as ``_compact`` sends them: the process that gathers the records only stores them."""
    if len(data) >= STREAM_BYTES or (transcripts and name[:-5] in transcripts):
        # a transcript named after the file (a migrated workspace: every file, in verify
        # and the migration's final check) is compared the long way: not parsed here first
        return None
    exact = jsonio.exact_loads(data)
    if exact is None:
        return None
    doc = exact[0]
    if type(doc) is not dict:
        return None
    messages = doc.get("messages")
    metadata = doc.get("metadata")
    if metadata is None:
        metadata = _NO_METADATA
    content_id = doc.get("session_id")
    if (type(messages) is not list or type(metadata) is not dict or type(content_id) is not str
            or not _all_have_role(messages)):
        return None
    meta_key = metadata.get("session_key")
    if meta_key is not None and not ids.is_valid_key(meta_key):
        return None
    updated_at_ms = to_ms(doc.get("updated_at"))
    if updated_at_ms is None:
        return None
    file_id = name[:-5]
    if transcripts and any(sid in transcripts for sid in _candidate_ids_of(file_id, content_id)):
        return None
    key = (tuple(doc), "created_at" in doc, tuple(metadata))
    shape = _plain_shapes.get(key)
    if shape is None:
        shape = _plain_shape(key, metadata)
    names, not_carried, take, place = shape
    size = len(data)  # (_STAT.pack written out: bytes in hand are far under its 2**56)
    stat_sha = _STAT_PARTS.pack(size & 0xFFFFFFFF, size >> 32 & 0xFFFF, size >> 48,
                                st.st_mtime_ns) + sha256
    created_at_ms = to_ms(doc.get("created_at"))
    if place is not None:
        held = packed_fields_plain(updated_at_ms, created_at_ms, place, take(metadata))
        if held is not None:  # (the usual way: _PLAIN_RECORD)
            return (file_id, stat_sha, stat.S_IMODE(st.st_mode),
                    file_id if content_id == file_id else content_id, len(messages),
                    not_carried, held, names, meta_key)
    return (file_id, stat_sha, stat.S_IMODE(st.st_mode), True, None, NO_PROBLEMS, (),
            (True, file_id if content_id == file_id else content_id, len(messages),
             not_carried, NO_PROBLEMS,
             packed_fields(updated_at_ms, created_at_ms, names or None,
                           tuple(map(metadata.__getitem__, names))),
             stat_sha, None if meta_key is None else {"meta_key": meta_key}))


# (top-level names, has created_at, metadata names) -> (names carried, names not carried or
# (), what takes the values of the names carried from the metadata, the names' place for
# packed_fields_plain or None): _shapes' entry with what _plain does with it made once, not
# a file at a time (the values taken by one itemgetter call: 2,100 instructions a file,
# not 6,600)
_plain_shapes: dict[tuple[Any, ...], tuple[tuple[str, ...], tuple[str, ...], Any, bytes | None]] = {}


def _plain_shape(key: tuple[Any, ...],
                 metadata: dict[str, Any]) -> tuple[tuple[str, ...], tuple[str, ...], Any, bytes | None]:
    top_keys, has_created_at, metadata_names = key
    shape = _shapes.get(key)
    if shape is None:
        shape = _shape(top_keys, has_created_at, metadata_names, metadata)
    names, not_carried = shape
    out: tuple[tuple[str, ...], tuple[str, ...], Any, bytes | None] = (names, not_carried or (), None, None)
    if len(names) > 1:  # (an itemgetter of one name gives its value, not a tuple)
        out = (names, not_carried or (), operator.itemgetter(*names), field_place(names))
    if len(_plain_shapes) < _SHARED_MAX:
        _plain_shapes[key] = out
    return out


_NO_METADATA: dict[str, Any] = {}
_ROLE = itertools.repeat("role")


def _all_have_role(messages: list[Any]) -> bool:
    """``all(map(legacy.has_role, messages))``, with no Python call a message."""
    try:
        return all(map(dict.__contains__, messages, _ROLE))
    except TypeError:  # one is not an object
        return False


# A worker's result goes back to this process pickled.  Pickling a SessionScan and its
# ContentSummary as objects costs about as much as reading a small file; as one tuple of
# their slots' values (read and set back by one unpacking each, with no loop over the slots)
# it is a few microseconds each way, so that workers pay off for small files too
# (SCAN_MIN_AVERAGE_BYTES).  Within one batch, pickling keeps what the records share (a
# repeated string is sent once and comes back as one object); across batches, what they
# share in this process (the folder, the names not carried, the modes, the place of the
# entry fields' names: packed_fields_in) is shared again here: a worker's tables are its
# own.  The dates and entry fields come packed as the summary holds them (packed_fields_out),
# the worker's work: this process, which gathers every record, only stores them.
SCAN_MIN_AVERAGE_BYTES = 0


def _compact(session: SessionScan) -> tuple[Any, ...]:
    """A session as the tuple of its slots' values, its content (read without a fix) as the
    tuple of its own; ``_restored`` makes it back (tests/engine/test_scan_transfer.py checks
    that every slot is carried)."""
    c = session.content
    return (session.file_id, session._stat, session.mode, session._dir is not None, session._odd,
            session.file_problems, session._keys,
            (c.readable, c.content_id, c.message_count, c.not_carried, c.problems,
             packed_fields_out(c._fields), c._digest, c._rare))


# The record _plain sends (a file with nothing to report, most of them): the values of
# _compact's that are not their defaults, in one tuple of 9 (file_id, stat_and_sha256,
# mode, content_id, message_count, not_carried, the packed dates and entry fields, their
# names, meta_key or None) rather than two of 8: corpus B's records pickled 208 bytes
# rather than 224, unpickled in 2,280 instructions rather than 3,550.
_PLAIN_RECORD = 9

# (object's own: every slot is set below, so the defaults the records' __new__ sets first
# are not needed)
_new_session = _new_content = object.__new__


def _restored(result: SessionScan | tuple[Any, ...], folder: str) -> SessionScan:
    """A session from ``_compact`` or ``_plain`` (a worker's result), or one scanned here,
    as it is."""
    if type(result) is not tuple:
        return result  # type: ignore[return-value]
    content = _new_content(ContentSummary)
    if len(result) == _PLAIN_RECORD:  # what _compact would send of it, without its defaults
        (file_id, stat_sha, mode, content.content_id, message_count, not_carried, held, names,
         meta_key) = result
        content._count = message_count << 1 | 1  # (readable)
        content._fields = packed_held_in(held, names)
        content._digest = stat_sha
        content._rare = None if meta_key is None else {"meta_key": meta_key}
        in_folder, odd, keys = True, None, ()
    else:
        # the slots set as they are: the problems travel inside ``_rare`` and ``_odd`` too,
        # and readable and message_count are one int (``ContentSummary._count``)
        (readable, content.content_id, message_count, not_carried,
         _, fields, content._digest, content._rare) = result[7]
        content._count = message_count << 1 | (1 if readable else 0)
        content._fields = packed_fields_in(fields)
        file_id, stat_sha, mode, in_folder, odd, _, keys, _ = result
    if not_carried:  # (a batch's records share one tuple: shared here once a batch)
        last = _last_shared
        if not_carried is not last[0]:
            last[0], last[1] = not_carried, _share_names(not_carried)
        not_carried = last[1]
    content.not_carried = not_carried
    session = _new_session(SessionScan)
    session.file_id, session._stat, session._odd, session._keys = file_id, stat_sha, odd, keys
    last = _last_placed  # (most records: the folder and mode of the one before)
    if mode != last[1] or in_folder is not last[0] or folder is not last[2]:
        last[:] = in_folder, mode, folder, _placed(folder if in_folder else None, mode)
    session._place = last[3]
    session.content = content
    return session


# the names not carried _restored last shared (as it took them) and their shared tuple; the
# last (in folder, mode, folder) and their pair (_placed): held here, so that an object is
# never taken for another one made in its place
_last_shared: list[Any] = [None, None]
_last_placed: list[Any] = [None, None, None, None]


_last_folder: tuple[Layout | None, str] = (None, "")


def _folder(layout: Layout) -> str:
    """``layout.sessions_dir``, one string for every session of a scan (the path of each is
    made from it when asked for)."""
    global _last_folder
    if _last_folder[0] is not layout:
        _last_folder = (layout, layout.sessions_dir)
    return _last_folder[1]


def scan_file(layout: Layout, name: str, transcripts: dict[str, int], limit: int,
              regular: bool = False) -> SessionScan:
    """One legacy file.  ``regular``: the folder's listing said it is a regular file, so it
    is opened straight away (never through a symlink, and checked again once open: open,
    fstat, read, close); if that fails for any reason it is looked at the careful way, as
    anything else is: lstat first, and never opened unless it is a regular file."""
    path = layout.in_sessions(name)
    label = path
    session = SessionScan(file_name=name, file_id=name[:-5], folder=_folder(layout))
    st: os.stat_result | None
    if regular:
        try:
            data, st = fsio.read_regular(path, limit)
        except OSError:
            return scan_file(layout, name, transcripts, limit)
        return _scan_content(session, data, st, label, transcripts)
    st = fsio.lstat_or_none(path)
    if st is None:
        return _disappeared(session, label)
    session.size, session.mtime_ns, session.mode = st.st_size, st.st_mtime_ns, stat.S_IMODE(st.st_mode)
    if stat.S_ISLNK(st.st_mode):
        session.kind = "symlink"
        target = _link_target(path)
        session.file_problems = (problem(
            "symlink", f"is a symlink{target}; it is never read or written through", label),)
        return session
    if not stat.S_ISREG(st.st_mode):
        session.kind = fsio.describe_mode(st.st_mode)
        session.file_problems = (problem(
            "not_regular", f"is a {session.kind}, not a regular file; it is not opened", label),)
        return session
    try:
        data, st = fsio.read_regular(path, limit)
    except FileNotFoundError:
        return _disappeared(session, label)
    except fsio.FileTooLarge as exc:
        session.file_problems = (problem(
            "too_large", f"is {exc.size:,} bytes, over the {exc.limit:,}-byte limit for one "
            "session; it is not parsed", label),)
        return session
    except fsio.NotRegularFile as exc:
        session.kind = exc.kind
        session.file_problems = (problem(
            "not_regular", f"is a {exc.kind}; it is not opened", label),)
        return session
    except OSError as exc:
        session.file_problems = (problem(
            "unreadable", f"cannot be read: {exc.strerror or exc}", label),)
        return session
    return _scan_content(session, data, st, label, transcripts)


def _scan_content(session: SessionScan, data: bytes, st: os.stat_result, label: str,
                  transcripts: dict[str, int], sha256: bytes | None = None) -> SessionScan:
    """``sha256``: the digest of ``data``, when the caller has it (and set it)."""
    if sha256 is None:
        session.set_read(len(data), st.st_mtime_ns, stat.S_IMODE(st.st_mode), hashlib.sha256(data).digest())
    session.content = summarize(data, label, frozenset(), session, transcripts)
    offered = _offered_content_fixes(session.content)
    if offered:
        _scan_variants(data, label, session, transcripts, offered)
    return session


def _disappeared(session: SessionScan, label: str) -> SessionScan:
    session.kind = "missing"
    session.file_problems = (problem("unreadable", "disappeared during the scan", label),)
    return session


def _link_target(path: str) -> str:
    try:
        target = os.readlink(path)
    except OSError:
        return ""
    resolved = os.path.normpath(os.path.join(os.path.dirname(path), target))
    inside = os.path.dirname(resolved) == os.path.dirname(path)
    where = "inside .sessions/" if inside else "outside .sessions/"
    return f" to {ids.display(target)} ({where})"


def _offered_content_fixes(summary: ContentSummary) -> set[str]:
    return {f for p in summary.problems for f in p.fixes if f in CONTENT_FIXES}


def _scan_variants(data: bytes, label: str, session: SessionScan, transcripts: dict[str, int],
                   offered: set[str]) -> None:
    """Read the file again with each combination of the content fixes it needs, so the plan
    can show each fix's effect without touching the disk."""
    known = set(offered)
    pending = [frozenset([f]) for f in sorted(offered)]
    while pending:
        combo = pending.pop(0)
        if combo in session.variants:
            continue
        summary = summarize(data, label, combo, session, transcripts)
        session.add_variant(combo, summary)
        for extra in _offered_content_fixes(summary) - combo:
            known.add(extra)
            pending.append(combo | {extra})
    # every combination of the fixes found, so any choice the user makes is previewed
    for size in range(2, len(known) + 1):
        for names in itertools.combinations(sorted(known), size):
            key = frozenset(names)
            if key not in session.variants:
                session.add_variant(key, summarize(data, label, key, session, transcripts))


def summarize(data: bytes, label: str, fixes: frozenset[str], session: SessionScan,
              transcripts: dict[str, int]) -> ContentSummary:
    content = read_legacy(data, label, fixes, keep_messages=False)
    problems = content.problems  # frozen into a tuple at the end (_frozen)
    out = ContentSummary(
        readable=content.readable,
        content_id=session.file_id if content.content_id == session.file_id else content.content_id,
        message_count=content.message_count,
        bad_messages=tuple(content.bad_messages),
        salvage_count=content.salvage_count,
        salvage_missing=tuple(content.salvage_missing),
        replaced_bytes=content.replaced_bytes,
    )
    if not content.readable:
        return _frozen(out, problems)
    _compact_fields(out, content)
    out.created_at_ms = to_ms(content.created_at)
    out.updated_at_ms = to_ms(content.updated_at)
    meta_key = content.metadata.get("session_key")
    if meta_key is not None:
        if ids.is_valid_key(meta_key):
            out.meta_key = meta_key
        else:
            problems.append(warning(
                "bad_session_key", f"metadata.session_key {meta_key!r} is not a valid key; "
                "it is not used", label))
    if out.updated_at_ms is None:
        raw = content.updated_at
        if not content.has_updated_at:
            what = "has no updated_at"
        else:
            what = f"has an updated_at that is not a date: {raw!r}"[:200]
        if "salvage" in fixes:
            what += " (it was lost with the damage)"
        found = problem("bad_updated_at", what, label)
        if out.created_at_ms is None:
            found = Problem(found.code, found.message + "; created_at is not usable either",
                            found.file, found.severity, fixes=("use-file-mtime",))
        problems.append(found)
    if isinstance(content.content_id, str):
        pass
    elif content.content_id is None:
        problems.append(warning(
            "no_content_id", "has no session_id inside; the file name is used", label))
    else:
        problems.append(warning(
            "bad_content_id", f"its session_id is {content.content_id!r}, not a string; the file "
            "name is used", label))
        out.content_id = None
    if transcripts:
        checks = None
        if not content.messages_kept and any(
                sid in transcripts for sid in _candidate_ids(session, content.content_id)):
            # a big file whose transcript is compared: a piece at a time, if it can be
            checks = _check_transcripts_in_pieces(session, data, label, fixes, content.content_id,
                                                  transcripts, os.path.dirname(label))
            if checks is None:
                content = read_legacy(data, label, fixes)
        out.transcripts = checks if checks is not None else \
            _check_transcripts(session, content, transcripts, os.path.dirname(label))
    if not fixes and content.exact and session.sha256 is not None:
        out.mark_exact(session.stat_and_sha256)  # exact_token(sha256): apply may parse it with orjson
    return _frozen(out, problems)


def _frozen(out: ContentSummary, problems: list[Problem]) -> ContentSummary:
    out.problems = tuple(problems) if problems else NO_PROBLEMS
    return out


# Values repeated from file to file (a channel's name, a model, a label), held once: the
# first ones met, up to _SHARED_MAX, are kept to share (values met only once cost a place)
_SHARED_MAX = 8192
_shared_str: dict[str, str] = {}
_shared_int: dict[int, int] = {}
_shared_names: dict[tuple[str, ...], tuple[str, ...]] = {}
# (top-level names, has created_at, metadata names) -> (names carried, names not carried)
_shapes: dict[tuple[Any, ...], tuple[tuple[str, ...], tuple[str, ...]]] = {}


def _share(value: Any) -> Any:
    kind = type(value)
    if kind is str:
        table: dict[Any, Any] = _shared_str
    elif kind is int:  # not bool, not float: 1, True and 1.0 are one key in a dict
        table = _shared_int
    else:
        return value
    held = table.get(value)
    if held is not None:
        return held
    if len(table) < _SHARED_MAX and (kind is int or len(value) <= 64):
        table[value] = value
    return value


def _compact_fields(out: ContentSummary, content: Any) -> None:
    """The metadata carried into the entry and the names not carried (``carried_fields``),
    with what repeats between files (field names, short values, the list of names) held
    once.  Which names are carried depends only on the names at the top level and in the
    metadata, in their order: files with the same names (most of them) are told apart once
    (``_shapes``), and only their values are taken."""
    _fields_of(out, tuple(content.top_keys), content.has_created_at, content.metadata)


def _fields_of(out: ContentSummary, top_keys: tuple[str, ...], has_created_at: bool,
               metadata: dict[str, Any]) -> None:
    """``_compact_fields`` from the names at the top level, whether "created_at" is one of
    them, and the metadata."""
    metadata_names = tuple(metadata)
    shape = _shapes.get((top_keys, has_created_at, metadata_names))
    if shape is None:
        shape = _shape(top_keys, has_created_at, metadata_names, metadata)
    names, not_carried_names = shape
    if names:
        out.set_entry_fields(names, [_share(metadata[name]) for name in names])
    if not_carried_names:
        out.not_carried = not_carried_names


def _shape(top_keys: tuple[str, ...], has_created_at: bool, metadata_names: tuple[str, ...],
           metadata: dict[str, Any]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(names carried, names not carried) of a file with these names (``carried_fields``),
    kept in ``_shapes`` for the next files of the same shape."""
    carried, not_carried = carried_fields(
        LegacyContent(top_keys=list(top_keys), has_created_at=has_created_at, metadata=metadata))
    shape = (_share_names(tuple(carried)), _share_names(tuple(not_carried)))
    if len(_shapes) < _SHARED_MAX:
        _shapes[(top_keys, has_created_at, metadata_names)] = shape
    return shape


def _share_names(names: tuple[str, ...]) -> tuple[str, ...]:
    held = _shared_names.get(names)
    if held is not None:
        return held
    if len(_shared_names) < _SHARED_MAX:
        _shared_names[names] = names
    return names


def _forget_shared() -> None:
    """A new scan starts with none of the previous one's values held."""
    _shared_str.clear()
    _shared_int.clear()
    _shared_names.clear()
    _shapes.clear()
    _plain_shapes.clear()
    _last_shared[:] = None, None
    _last_placed[:] = None, None, None, None


def _candidate_ids(session: SessionScan, content_id: Any) -> set[str]:
    return _candidate_ids_of(session.file_id, content_id)


def _candidate_ids_of(file_id: str, content_id: Any) -> set[str]:
    out = set()
    for sid in (file_id, content_id):
        if isinstance(sid, str):
            out.add(sid if ids.is_safe_id(sid) else ids.rename_id(sid, file_id))
            out.add(ids.rename_id(sid, file_id))
    return {sid for sid in out if ids.is_safe_id(sid)}


def _check_transcripts(session: SessionScan, content: Any, transcripts: dict[str, int],
                       sessions_dir: str) -> dict[str, TranscriptCheck]:
    """Compare each existing transcript this session might be written to with what would be
    written.  Only when such a file exists: the common case costs nothing."""
    found = {sid: transcripts[sid] for sid in _candidate_ids(session, content.content_id)
             if sid in transcripts}
    if not found:
        return {}
    expected = transcript_bytes(content.messages)
    checks = {}
    for sid, size in found.items():
        if size < 0:
            checks[sid] = TranscriptCheck("not_regular", size)
            continue
        path = os.path.join(sessions_dir, f"{sid}.jsonl")
        try:
            existing = fsio.read_range(path, 0, len(expected) + 1) if size > len(expected) else \
                fsio.read_bytes(path, len(expected) + 1)
        except fsio.NotRegularFile:
            checks[sid] = TranscriptCheck("not_regular", size)
            continue
        except OSError:
            checks[sid] = TranscriptCheck("different", size)
            continue
        if size == len(expected) and existing == expected:
            checks[sid] = TranscriptCheck("same", size)
        elif size > len(expected) and existing[: len(expected)] == expected and (
                not expected or expected.endswith(b"\n")):
            checks[sid] = TranscriptCheck("extended", size)
        else:
            checks[sid] = TranscriptCheck("different", size)
    return checks


def _check_transcripts_in_pieces(session: SessionScan, data: bytes, label: str,
                                 fixes: frozenset[str], content_id: Any, transcripts: dict[str, int],
                                 sessions_dir: str) -> dict[str, TranscriptCheck] | None:
    """``_check_transcripts`` for a big file, its expected transcript made a piece at a time
    and compared with the file read a chunk at a time (transcript_compare): its messages'
    parse, the expected bytes and the file's are never held whole.  None when the
    piece-by-piece reading gives way (the caller then compares the whole way)."""
    # (imported where used: a dry run with no transcript there needs neither)
    from migrate_tui.engine.transcript_compare import same_start
    from migrate_tui.engine.transcript_encoding import transcript_pieces

    checks = {}
    for sid in _candidate_ids(session, content_id):
        size = transcripts.get(sid)
        if size is None:
            continue
        if size < 0:
            checks[sid] = TranscriptCheck("not_regular", size)
            continue
        try:
            same = same_start(os.path.join(sessions_dir, f"{sid}.jsonl"),
                              transcript_pieces(data, label, fixes))
        except jsonio.NotExact:
            return None
        except fsio.NotRegularFile:
            checks[sid] = TranscriptCheck("not_regular", size)
            continue
        except OSError:
            same = None
        if same is None:
            checks[sid] = TranscriptCheck("different", size)
        else:
            checks[sid] = TranscriptCheck("same" if same[0] == same[1] else "extended", size)
    return checks


_encoder = jsonio.LineEncoder()


def transcript_bytes(messages: list[dict[str, Any]]) -> bytes:
    return _encoder.lines(transcript_lines(messages))


# ---------------------------------------------------------------- keys


def _attach_keys(result: ScanResult) -> None:
    """Give each session the session_map keys that point at it (by file name first, then by
    the id inside the file: those ids are gathered only if a key names no file); report keys
    that point at no file."""
    by_file = {s.file_id: s for s in result.sessions}
    by_content: dict[str, SessionScan] | None = None  # made when a key names no file
    for key, sid in result.session_map.items():
        owner = by_file.get(sid)
        if owner is None:
            if by_content is None:
                by_content = _by_content(result.sessions, by_file)
            owner = by_content.get(sid)
        if owner is not None:
            if owner._keys == () and type(key) is str:
                owner._keys = key  # one key: held as the string (SessionScan.keys)
            else:
                owner.keys = (*owner.keys, key)
            if sid == owner.file_id and sid is not owner.file_id:
                result.session_map[key] = owner.file_id  # one string for the id, not two
        else:
            result.warnings.append(warning(
                "dangling_key", f"the key {key!r} points at session {sid!r}, which has no file; "
                "it is not migrated", os.path.join(result.sessions_dir, SESSION_MAP)))


def _by_content(sessions: list[SessionScan], by_file: dict[str, SessionScan]) -> dict[str, SessionScan]:
    """The sessions by the id inside their file (or one of their variants'), for the ids
    no file is named after: the first session in order for each."""
    by_content: dict[str, SessionScan] = {}
    for s in sessions:
        cid = s.content.content_id
        if cid is not s.file_id and isinstance(cid, str) and cid not in by_file:
            by_content.setdefault(cid, s)
        if s._odd is not None:  # (the variants are there, if any)
            for summary in s.variants.values():
                cid = summary.content_id
                if isinstance(cid, str) and cid not in by_file:
                    by_content.setdefault(cid, s)
    return by_content


__all__ = ["line_col", "scan_file", "scan_workspace", "transcript_bytes"]

