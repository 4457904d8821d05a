"""Apply: carry out a plan.  Backup (checked) → transcripts → index (under the lock) →
verify → commit.

The whole run holds the workspace's operation lock (oplock.py), and first asks what would
make it refuse (preflight.py), ``sessions.json.lock`` included, so it never fails for those
after writing.  Emits events as it goes and stops at a safe point when the cancel flag is
set.  Killed at any instant it leaves a workspace that a rerun completes and a rollback
restores: every change is announced in the journal (fsynced) before it is made, every new
file is written atomically, and ``sessions.json`` is written last, so no entry ever points
at a transcript that is not on disk.  The run's commit record is written only once
sessions.json is merged and verified: until then the run is *interrupted* (state.py).
"""

from __future__ import annotations

import collections
import contextlib
import hashlib
import itertools
import os
import stat
import threading
import time
from collections.abc import Iterator, MutableSequence
from typing import Any, overload

from migrate_tui.core import fsio, jsonio
from migrate_tui.core.error_text import describe_error
from migrate_tui.core.errors import ApplyError, BackupError, LockBusy, LockTimeout, WorkspaceError
from migrate_tui.core.layout import SESSION_MAP, STORE, Layout, open_layout
from migrate_tui.engine import backup, collector, journal, preflight, processes
from migrate_tui.engine.model import (
    CONTENT_FIXES,
    ApplyResult,
    CancelFlag,
    EventSink,
    LogLine,
    NeverCancel,
    PhaseStarted,
    Plan,
    PlannedSession,
    Problem,
    Progress,
    SessionFailure,
    no_events,
)
from migrate_tui.engine.oplock import operation_lock
from migrate_tui.engine.report import build_report, save_report
from migrate_tui.engine.state import WorkspaceState, workspace_state
from migrate_tui.engine.transcript_encoding import CHANGED, Encoded, Job, encode_transcript, transcript_stream

BATCH_BYTES = 4 * 1024 * 1024
BATCH_FILES = 512
# batches of backup copies or transcripts started at once: FLIGHTS - 1 are written, synced
# and named by writer threads while this thread makes the next; when it starts one more, it
# waits for the oldest to land
FLIGHTS = 2
VERIFY_LISTING = 256  # written transcripts from which verify lists the folder once
# a session this big (and with no content fix) has its transcript written a piece at a time
STREAM_BYTES = 16 * 1024 * 1024
# a file other than a session this big is backed up a chunk at a time (``backup.copy_streamed``)
STREAM_COPY_BYTES = 1024 * 1024
# each file counts this many times its size in the workers' window (processes.InOrder): the
# transcripts encoded ahead, held here until written, come from at most half the window's
# bytes of sources (A, 2,000 x 200 messages: the tree's peak 95 -> 77 MB, no slower)
ENCODED_AHEAD_WEIGHT = 2
_NO_FIXES: frozenset[str] = frozenset()
_NO_LIMIT = 1 << 62  # the backup copies a file whatever its size
_NOT_WRITTEN = ("same", "extended", "keep-existing")  # transcripts already right, or kept


def _read_sha256(ps: PlannedSession) -> str:
    """The SHA-256 the scan found for a session's file.  A session whose transcript is
    written was read by the scan, so it has one; were it missing, "" matches no file and
    the encoder reports that session as changed during the migration (nothing written)."""
    return ps.scan.sha256 or ""


def new_file_mode(source_modes: list[int]) -> int:
    """Owner read/write, and no group/other access that a source did not have (with no
    source at all: none)."""
    if not source_modes:
        return 0o600
    others = 0o066
    for mode in source_modes:
        others &= mode
    return 0o600 | others


class WrittenPaths(MutableSequence[str]):
    """The paths a run created or replaced (``ApplyResult.written``), held small: a
    transcript of ours as its session's plan (its path, the sessions folder's joined with
    ``<final id>.jsonl``, made when read), any other path as itself.  A path string a
    session took 111 bytes (11 MB at 100,000 sessions); a pointer takes 8."""

    def __init__(self, sessions_dir: str) -> None:
        self._prefix = os.path.join(sessions_dir, "")
        self._items: list[str | PlannedSession] = []

    def _path(self, item: str | PlannedSession) -> str:
        return item if type(item) is str else f"{self._prefix}{item.final_id}.jsonl"  # type: ignore[union-attr]

    def add_transcript(self, ps: PlannedSession) -> None:
        """``ps``'s transcript, ``<final id>.jsonl`` in the sessions folder, was written."""
        self._items.append(ps)

    @overload
    def __getitem__(self, index: int) -> str: ...
    @overload
    def __getitem__(self, index: slice) -> list[str]: ...

    def __getitem__(self, index: int | slice) -> str | list[str]:
        if isinstance(index, slice):
            return [self._path(item) for item in self._items[index]]
        return self._path(self._items[index])

    def __setitem__(self, index: Any, value: Any) -> None:
        self._items[index] = value

    def __delitem__(self, index: int | slice) -> None:
        del self._items[index]

    def __len__(self) -> int:
        return len(self._items)

    def insert(self, index: int, value: str) -> None:
        self._items.insert(index, value)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, (list, WrittenPaths)):
            return list(self) == list(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return repr(list(self))


class Run:
    """One run of apply: its layout, run id, result, manifest and phases (the OpenClaw target
    runs its backup phase too)."""

    def __init__(self, plan: Plan, on_event: EventSink, cancel: CancelFlag, lock_timeout: float,
                 workers: bool = False) -> None:
        self.plan = plan
        self.workers = workers
        self.layout: Layout = open_layout(plan.scan.workspace)
        self.on_event = on_event
        self.cancel = cancel
        self.lock_timeout = lock_timeout
        self.result = ApplyResult(backup_dir=self.layout.backup_dir,
                                  written=WrittenPaths(self.layout.sessions_dir))
        self.run_id = journal.new_run_id()
        self._manifest: backup.Manifest | None = backup.Manifest()
        self.encoder = jsonio.LineEncoder()
        self.encoded: processes.InOrder[Encoded] | None = None
        self.encoded_for: collections.deque[PlannedSession] = collections.deque()
        self.todo = [ps for ps in plan.sessions if ps.action == "migrate"]
        self.lost_keys: dict[str, list[str]] = {}  # keys another writer took since the scan
        self.sessions_prefix = os.path.join(self.layout.sessions_dir, "")
        self.in_sessions = _joiner(self.layout.sessions_dir)
        self.store_sha256: str | None = None  # of sessions.json as the index phase left it
        # sessions written that no key of that sessions.json points at (few, as a rule: a
        # set of the others would hold every session, 4 MB at 100,000)
        self.unreachable: set[str] = set()
        # key -> the session whose entry the index put there (``index_phase``), until the
        # check after it has compared the entries (a dict of every key: 4 MB at 100,000)
        self.intended: dict[str, PlannedSession] = {}
        # (file name, SHA-256, bytes) of the one huge session whose transcript is streamed,
        # as the backup read them and proved them the scan's: its transcript is made from
        # them instead of reading and hashing the file again (``_stream``)
        self.kept: tuple[str, str, bytes] | None = None
        # that session's transcript, made from ``kept`` while the backup's last copies were
        # written and synced (``_encode_ahead``): in its temporary file, read back and
        # fsynced, neither announced nor renamed yet (``_stream`` does both)
        self.ahead: tuple[PlannedSession, fsio.StreamedWrite] | None = None
        # whether the backup phase makes that transcript ahead: only for transcripts written
        # beside the legacy files, as ``_stream`` writes them (``_apply`` sets it; a run
        # writing elsewhere, as the OpenClaw target's, leaves it off)
        self.encode_ahead = False
        # set once the last batch of transcripts started has been announced in the journal
        # (or failed to be): the next one's announcement waits for it (``_start``)
        self.announced: threading.Event | None = None

    @property
    def manifest(self) -> backup.Manifest:
        """The backup's manifest as this run made it; read again from the backup folder
        once the run let go of it (``let_go_of_manifest``) and needs it after all."""
        if self._manifest is None:
            self._manifest = backup.load_manifest(self.layout)
        return self._manifest

    @manifest.setter
    def manifest(self, manifest: backup.Manifest) -> None:
        self._manifest = manifest

    def let_go_of_manifest(self) -> None:
        """After the backup phase the manifest is needed only to add the copy of a file
        about to be replaced: ``sessions.json``, or a transcript ``replace-existing``.  When
        neither was there at the scan it is let go (100,000 copies: 17 MB, the copies' names
        and records), and read again from the file saved at the end of the backup phase
        should one have appeared since (``manifest``)."""
        if not self.plan.scan.store_present and not any(
                ps.transcript == "replace-existing" for ps in self.todo):
            self._manifest = None

    def log(self, level: str, text: str) -> None:
        self.on_event(LogLine(level, text))

    def fail(self, ps: PlannedSession, code: str, message: str) -> None:
        path = self.layout.in_sessions(ps.scan.file_name)
        self.result.failed.append(SessionFailure(ps.file_id, Problem(code, message, path)))
        self.log("error", f"{ps.scan.file_name}: {message}")

    # ------------------------------------------------------------ phases

    def backup_phase(self) -> None:
        backup.ensure_dir(self.layout)
        self.manifest = backup.load_manifest(self.layout)
        total = sum(1 for _ in self._backup_names(counting=True))
        self.on_event(PhaseStarted("backup", total))
        failed_ids = set()
        batch: list[backup.Copy] = []
        batch_bytes = 0
        # batches of copies are synced (FLIGHTS - 1 at once) while the next is read and hashed
        taken: set[str] = set()
        present = backup.names_present(self.layout)  # one listing, not one lstat a copy
        flights: list[backup.Started] = []  # started, not yet landed, oldest first
        in_sessions = self.in_sessions
        keep = self._to_keep()
        # open, fstat, one read, close: the status comes with the bytes; the folder looked up
        # once, not for each file
        reader = fsio.FolderReader(self.layout.sessions_dir)
        try:
            for done, (name, seen_sha, stem) in enumerate(self._backup_names(), 1):
                path = in_sessions(name)  # a plain file name, or ValueError
                if seen_sha is None and self._big(path):
                    # session_map.json, sessions.json, a transcript replaced: copied a chunk
                    # at a time once the copies before it are in (the manifest's order)
                    if batch:
                        flights.append(backup.start_copies(self.layout, self.manifest, batch, taken, present))
                        batch, batch_bytes = [], 0
                    while flights:
                        backup.land(self.layout, self.manifest, flights.pop(0), self.run_id, taken)
                    backup.copy_streamed(self.layout, self.manifest, path, name, self.run_id, present)
                    self.on_event(Progress("backup", done, total, name))
                    continue
                try:
                    data, st = reader.read(name, _NO_LIMIT)
                except FileNotFoundError:
                    continue
                except fsio.NotRegularFile:
                    continue
                sha = fsio.sha256_bytes(data)
                if seen_sha is not None and sha != seen_sha:
                    failed_ids.add(name)
                elif name == keep and seen_sha is not None:
                    self.kept = (name, sha, data)
                batch.append(backup.Copy(name, data, sha, st.st_mode & 0o777, st.st_mtime_ns,
                                         (st.st_uid, st.st_gid), stem))
                del data
                batch_bytes += st.st_size
                if len(batch) >= BATCH_FILES or batch_bytes >= BATCH_BYTES:
                    flights.append(backup.start_copies(self.layout, self.manifest, batch, taken, present))
                    batch, batch_bytes = [], 0
                    if len(flights) >= FLIGHTS:
                        backup.land(self.layout, self.manifest, flights.pop(0), self.run_id, taken)
                self.on_event(Progress("backup", done, total, name))
            flights.append(backup.start_copies(self.layout, self.manifest, batch, taken, present))
            batch = []
            self._encode_ahead()  # while the copies in flight are written and synced
            while flights:
                backup.land(self.layout, self.manifest, flights.pop(0), self.run_id, taken)
        except BaseException:
            for flight in flights:  # written, never renamed: their temporary files go
                flight.writes.abandon()
            raise
        fsio.fsync_dir(self.layout.backup_dir)
        backup.save_manifest(self.layout, self.manifest)
        for ps in list(self.todo):
            if ps.scan.file_name in failed_ids:
                self.todo.remove(ps)
                self.fail(ps, "changed_during_migration",
                          "changed since the scan (is the agent running?); scan again")
        self.result.backup_files = len(self.manifest.files)

    @staticmethod
    def _big(path: str) -> bool:
        """A file the backup copies a chunk at a time rather than holding it whole (one
        ``lstat`` each, for the few files that are not sessions)."""
        st = fsio.lstat_or_none(path)
        return st is not None and stat.S_ISREG(st.st_mode) and st.st_size >= STREAM_COPY_BYTES

    def _encode_ahead(self) -> None:
        """Make the transcript of the session whose bytes the backup kept (``kept``) into
        its temporary file now, while writer threads write and sync the backup's last
        copies (C, one session of 92 MB: its copy's fsync and the encoding overlap), then
        read it back and fsync it.  Only for a transcript none was at the scan
        (``write``).  Nothing is announced or renamed here: ``_stream`` appends its
        journal record and renames it in the transcripts phase, once the backup is
        durable and the run begun, as it would have made it then; a transcript this
        cannot make (not provably exact, or it does not read back) is left to ``_stream``."""
        kept = self.kept
        if kept is None or not self.encode_ahead:
            return
        ps = next((ps for ps in self.todo if ps.scan.file_name == kept[0]), None)
        if ps is None or ps.transcript != "write" or not self._streamed(ps) \
                or kept[1] != _read_sha256(ps):
            return
        pieces = transcript_stream(kept[2], self._job(ps))
        if pieces is None:
            return
        writer = fsio.StreamedWrite(self.in_sessions(f"{ps.final_id}.jsonl"), new_file_mode([ps.scan.mode]))
        try:
            fsio.write_behind(writer, pieces)  # written and hashed while the next piece is made
            del pieces
            if not writer.reads_back():
                writer.abandon()  # made again, and checked again, by ``_stream``
                return
            writer.sync()
        except jsonio.NotExact:
            writer.abandon()
            return
        except BaseException:
            writer.abandon()
            raise
        self.ahead = (ps, writer)
        self.kept = None  # its bytes go once the backup's copy of them is written

    def drop_ahead(self) -> None:
        """Remove the transcript made ahead and never renamed (a run stopped or cancelled)."""
        ahead, self.ahead = self.ahead, None
        if ahead is not None:
            ahead[1].abandon()

    def _to_keep(self) -> str | None:
        """The file name of the session whose bytes the backup keeps for its transcript
        (``kept``): the only one streamed, if only one is (the bytes of one huge file are
        held anyway while it is copied and while its transcript is made; holding those of
        several from the backup to their transcripts would add up)."""
        if not self.plan.backup:
            return None
        streamed = [ps for ps in self.todo if ps.transcript not in _NOT_WRITTEN and self._streamed(ps)]
        return streamed[0].scan.file_name if len(streamed) == 1 else None

    def _backup_names(self, counting: bool = False) -> Iterator[tuple[str, str | None, str | None]]:
        """(file name, SHA-256 the scan saw or None, the scan's file id or None) of each
        file to back up, made as they are read rather than held for 100,000 files;
        ``counting``: names not made."""
        scan = self.plan.scan
        if self.plan.backup:
            for s in scan.sessions:
                sha = s.sha256
                if sha is not None:
                    yield ("", None, None) if counting else (s.file_name, sha, s.file_id)
            if scan.session_map_present:
                yield SESSION_MAP, None, None
        if scan.store_present:
            yield STORE, None, None
        for ps in self.todo:
            if ps.transcript == "replace-existing":
                yield f"{ps.final_id}.jsonl", None, None

    def transcripts_phase(self) -> list[PlannedSession]:
        total = len(self.todo)
        self.on_event(PhaseStarted("transcripts", total, sum(ps.scan.size for ps in self.todo)))
        written: list[PlannedSession] = []  # their transcripts are in place (``_transcript``)
        batch: list[tuple[PlannedSession, str, bytes, dict[str, Any]]] = []
        batch_bytes = 0
        done = 0
        bytes_done = 0
        # batches are written and synced (FLIGHTS - 1 at once) while the next is read and
        # encoded; the encoding itself runs ahead in worker processes when there are many files (processes.py)
        if self.encoded is None:
            self.start_encoding()
        flights: list[tuple[fsio.WriteBatch, list[Any]]] = []  # started, not landed, oldest first
        try:
            for ps in self.todo:
                if self.cancel.is_set():
                    self.result.cancelled = True
                    break
                if ps.transcript in _NOT_WRITTEN:
                    prepared = self._prepare(ps, None)
                elif self._streamed(ps):
                    prepared = self._stream(ps)
                else:
                    prepared = self._prepare(ps, self._encoded(ps))
                done += 1
                bytes_done += ps.scan.size
                if prepared is not None and prepared[2] is None:  # same, extended or kept
                    written.append(ps)
                elif prepared is not None:
                    batch.append(prepared)
                    batch_bytes += len(prepared[2])
                    if len(batch) >= BATCH_FILES or batch_bytes >= BATCH_BYTES:
                        flights.append(self._start(batch))
                        batch, batch_bytes = [], 0
                        if len(flights) >= FLIGHTS:
                            written += self._land(flights.pop(0))
                self.on_event(Progress("transcripts", done, total, ps.file_id, bytes_done))
            if batch:
                flights.append(self._start(batch))
            while flights:
                written += self._land(flights.pop(0))
        except BaseException:
            for writes, _batch in flights:  # not renamed: their temporary files go
                writes.abandon()
                # renamed already by the writer thread (``_start``): in place, and said so
                self.result.written += [item.path for item in writes.landed()]
            raise
        finally:
            self.stop_encoding()  # a cancel: the workers stop after the file at hand
        fsio.fsync_dir(self.layout.sessions_dir)
        return written

    def start_encoding(self) -> processes.InOrder[Encoded]:
        """Hand the transcripts to encode to the worker processes (if any): they start on
        the first files while the backup is written.  Reading ahead is safe, as each file's
        SHA-256 is checked against the scan's where it is read.  Each job is made as it is
        handed out (a generator): never one for every session at once (0.45 KB a session,
        45 MB at 100,000), and none ahead of the writing when there is no worker."""
        needed = [ps for ps in self.todo if ps.transcript not in _NOT_WRITTEN and not self._streamed(ps)]
        sizes = [ps.scan.size for ps in needed]
        self.encoded = processes.InOrder(
            encode_transcript, (self._job(ps) for ps in needed),
            (n * ENCODED_AHEAD_WEIGHT for n in sizes), jobs=processes.jobs_for(sizes) if self.workers else 0)
        self.encoded_for = collections.deque(needed)
        return self.encoded

    def _job(self, ps: PlannedSession) -> Job:
        fixes = ps.decision.fixes
        return Job(ps.scan.file_name, _read_sha256(ps), fixes & CONTENT_FIXES if fixes else _NO_FIXES,
                   ps.scan.content.messages_digest, self.sessions_prefix)

    @staticmethod
    def _streamed(ps: PlannedSession) -> bool:
        """A huge session with no content fix: its transcript is written a piece at a time."""
        return ps.scan.size >= STREAM_BYTES and not ps.decision.fixes & CONTENT_FIXES

    def _stream(self, ps: PlannedSession) -> Any:
        """Write the transcript of a huge session a piece at a time (``transcript_stream``),
        so the parse of its file and its encoded lines are never held whole: the source's
        bytes are read and checked against the scan's SHA-256 (or taken from the backup,
        which read and checked them: ``kept``), each piece is written to the
        temporary file as it is made and hashed, the file is read back and its SHA-256
        compared, then the journal announces it (with that SHA-256 and size) before it is
        made durable and renamed into place (only where no file is: one another writer made
        meanwhile is left as it is, ``_found_there``).  A transcript already there, or a file that
        cannot be proven to be read exactly piece by piece, is encoded whole (``_prepare``).
        Returns as ``_prepare`` does; a written transcript as one with nothing to write."""
        target = self.in_sessions(f"{ps.final_id}.jsonl")
        kept, self.kept = self.kept, None  # let go of whatever way the transcript is made
        ahead, self.ahead = self.ahead, None
        if ahead is not None and ahead[0] is not ps:
            ahead[1].abandon()
            ahead = None
        if fsio.lstat_or_none(target) is not None:
            del kept
            if ahead is not None:
                ahead[1].abandon()
            return self._prepare(ps, encode_transcript(self._job(ps)))
        if ahead is not None:  # made, read back and fsynced during the backup
            del kept
            return self._announce_streamed(ps, target, ahead[1])
        if kept is not None and kept[0] == ps.scan.file_name and kept[1] == _read_sha256(ps):
            data = kept[2]  # read by the backup, and proven the scan's bytes there
        else:
            try:
                data = fsio.read_bytes(self.in_sessions(ps.scan.file_name))
            except OSError as exc:
                self.fail(ps, "unreadable", f"cannot be read: {exc.strerror or exc}")
                return None
            if fsio.sha256_bytes(data) != _read_sha256(ps):
                self.fail(ps, "changed_during_migration", CHANGED)
                return None
        del kept
        pieces = transcript_stream(data, self._job(ps))  # the job says what the scan proved
        if pieces is None:
            del data
            return self._prepare(ps, encode_transcript(self._job(ps)))
        writer = fsio.StreamedWrite(target, new_file_mode([ps.scan.mode]))
        try:
            try:
                fsio.write_behind(writer, pieces)  # written and hashed while the next is made
            except jsonio.NotExact:
                writer.abandon()
                del data, pieces
                return self._prepare(ps, encode_transcript(self._job(ps)))
            del data, pieces
            if not writer.reads_back():
                raise fsio.ReadBackMismatch(target)
        except BaseException:
            writer.abandon()
            raise
        return self._announce_streamed(ps, target, writer)

    def _announce_streamed(self, ps: PlannedSession, target: str, writer: fsio.StreamedWrite) -> Any:
        """A streamed transcript written and read back: its record in the journal, then
        made durable and renamed into place (``_rename_streamed``); as ``_prepare`` returns."""
        try:
            record = self._record(ps, target, writer.sha256, writer.size)
            journal.append(self.layout, record)
        except BaseException:
            writer.abandon()
            raise
        return self._rename_streamed(ps, target, writer, record)

    def _rename_streamed(self, ps: PlannedSession, target: str, writer: fsio.StreamedWrite,
                         record: dict[str, Any]) -> Any:
        """Make a streamed transcript durable and rename it into place, its record in the
        journal already; as ``_prepare`` returns."""
        if not writer.finish(exclusive=True):  # another writer made it since the look above
            return (ps, target, None, None) if self._found_there(ps, target, record) else None
        self.result.written.add_transcript(ps)  # type: ignore[attr-defined]
        return ps, target, None, None

    def _record(self, ps: PlannedSession, target: str, sha256: str, size: int) -> dict[str, Any]:
        """The journal's record of a transcript about to be created."""
        return {"op": "create", "run": self.run_id, "file": os.path.basename(target),
                "sha256": sha256, "size": size, "source": ps.scan.file_name,
                "source_sha256": ps.scan.sha256, "fixes": sorted(ps.decision.fixes)}

    def _encoded(self, ps: PlannedSession) -> Encoded:
        """The encoding of ``ps``'s transcript.  Sessions the backup phase dropped from
        ``todo`` (changed since the scan) were handed out too: their results are passed by."""
        assert self.encoded is not None
        while self.encoded_for:
            owner = self.encoded_for.popleft()
            if owner is ps:
                return next(self.encoded)
            self.encoded.skip()
        raise AssertionError(f"{ps.file_id} was not handed out for encoding")

    def stop_encoding(self) -> None:
        if self.encoded is not None:
            self.encoded.close()

    def _prepare(self, ps: PlannedSession, encoded: Encoded | None) -> Any:
        target = self.in_sessions(f"{ps.final_id}.jsonl")
        if encoded is None:  # same, extended or kept: nothing to write
            return ps, target, None, None
        if encoded.failure is not None:
            self.fail(ps, *encoded.failure)
            return None
        out = encoded.out
        record = self._record(ps, target, encoded.sha256, len(out))
        if ps.transcript == "write":
            # none was there at the scan: not looked for again, one lookup a session saved;
            # it is renamed into place only if none is there then either (``_land``)
            return ps, target, out, record
        st = fsio.lstat_or_none(target)
        if st is not None:
            try:
                existing = fsio.read_bytes(target)
            except fsio.NotRegularFile:
                self.fail(ps, "transcript_conflict", f"{record['file']} is not a regular file")
                return None
            if existing == out or (existing.startswith(out) and (not out or out.endswith(b"\n"))):
                return ps, target, None, None
            if ps.transcript != "replace-existing":
                self.fail(ps, "transcript_conflict", f"{record['file']} appeared since the scan "
                          "with other content; it is left as it is")
                return None
            name = backup.back_up(self.layout, self.manifest, record["file"], existing,
                                  st.st_mode & 0o777, st.st_mtime_ns, self.run_id,
                                  (st.st_uid, st.st_gid))
            backup.save_manifest(self.layout, self.manifest)
            record.update(op="replace", old_sha256=fsio.sha256_bytes(existing), backup=name)
        return ps, target, out, record

    def _start(self, batch: list[Any]) -> tuple[fsio.WriteBatch, list[Any]]:
        """Start writing a batch, its announcement in the journal (fsynced) first: by the
        writer thread, before it creates the batch's first file, while this one encodes the
        next batch (``fsio.start_writes``'s ``before``).  Each file is read back through the
        descriptor that wrote it and compared with the bytes checked against the source in
        _prepare, before it is made durable (``PendingWrite.check``): one that differs fails
        the batch, nothing of it is renamed, and the run stops at a safe point.

        Once synced, the writer thread renames the batch's files into place too
        (``land_early``): this thread goes on encoding instead of waiting on the folder's
        lock (the next batch's files are being created in it) for each rename."""
        records = [item[3] for item in batch]
        layout = self.layout
        # batches in flight are announced by their writer threads in the order they were
        # started (the journal's lines are the same whichever thread runs first)
        prior, done = self.announced, threading.Event()
        self.announced = done

        def announce() -> None:
            try:
                if prior is not None:
                    prior.wait()
                journal.append(layout, *records)
            finally:
                done.set()
        return fsio.start_writes([fsio.PendingWrite(target, out, new_file_mode([ps.scan.mode]), check=True,
                                                    exclusive=ps.transcript == "write")
                                  for ps, target, out, _record in batch], announce, land_early=True), batch

    def _land(self, started: tuple[fsio.WriteBatch, list[Any]]) -> list[PlannedSession]:
        """Rename a written (and read back) batch into place.  A new transcript is renamed
        only where no file is (``fsio.rename_exclusive``): one another writer made since
        the scan is never replaced (``_found_there``)."""
        writes, batch = started
        taken = writes.finish()
        found = {item.path for item in taken} if taken else None
        written = []
        add = self.result.written.add_transcript  # type: ignore[attr-defined]
        for ps, target, _out, record in batch:
            if found is not None and target in found:
                if self._found_there(ps, target, record):
                    written.append(ps)
                continue
            add(ps)
            written.append(ps)
        return written

    def _found_there(self, ps: PlannedSession, target: str, record: dict[str, Any]) -> bool:
        """A new transcript whose name another writer took after the scan: it counts as
        written when the file there holds exactly what we would have written, or that and
        then more lines (as ``_prepare`` finds a transcript already there); otherwise the
        session fails (transcript_conflict) and that file is left as it is."""
        name = record["file"]
        try:
            existing = fsio.read_bytes(target)
        except fsio.NotRegularFile:
            self.fail(ps, "transcript_conflict", f"{name} is not a regular file")
            return False
        size = record["size"]
        head = existing[:size]
        if (len(head) == size and fsio.sha256_bytes(head) == record["sha256"]
                and (len(existing) == size or size == 0 or head.endswith(b"\n"))):
            return True
        self.fail(ps, "transcript_conflict", f"{name} appeared since the scan with other content; "
                  "it is left as it is")
        return False

    def index_phase(self, written: list[PlannedSession]) -> dict[str, PlannedSession]:
        """Merge the new entries into sessions.json under the lock; return what was intended:
        each key written, and the session whose entry it holds.

        The merge is never held: its bytes are ``dumps_document``'s for the merged document,
        written a few hundred entries at a time (``jsonio.document_pieces``), each entry made
        from the plan as it is written, hashed on the way; then the journal announces the
        file (with that SHA-256 and size) before it is made durable and renamed into place."""
        self.on_event(PhaseStarted("index", 1))
        path = self.layout.store
        with contextlib.ExitStack() as held:
            try:
                held.enter_context(fsio.presence_lock(self.layout.lock, self.lock_timeout))
            except LockTimeout as exc:
                raise LockBusy(str(exc)) from None
            st, current_bytes, current = store_as_it_is(path)
            # key -> the session whose entry it gets, in the order the merge adds them
            intended: dict[str, PlannedSession] = {}
            for ps in written:
                assert ps.has_entry
                for key in ps.keys:
                    there = self._merged_session_id(key, current, intended)
                    if (there is not _ABSENT and there is not _NOT_AN_ENTRY and there != ps.final_id
                            and "replace-existing" not in ps.decision.fixes):
                        self.log("warning", f"{key!r} was written by someone else since the scan; "
                                 "it keeps that entry")
                        self.lost_keys.setdefault(ps.file_id, []).append(key)
                        continue
                    if there == ps.final_id and key not in self.plan.scan.store_entries:
                        continue  # another writer added the same entry meanwhile: theirs is newer
                    intended[key] = ps
            merge = _Merge(current, intended)
            if current_bytes is not None:  # unchanged: nothing is written (hashed, not held)
                size, sha256 = merge.hashed()
                changed = (size, sha256) != (len(current_bytes), fsio.sha256_bytes(current_bytes))
            else:
                changed = True
            writer: fsio.StreamedWrite | None = None
            try:
                if changed:
                    owner = None  # a new one: the owner of .sessions/ (when run as root)
                    mode = new_file_mode([ps.scan.mode for ps in written])
                    replacing: dict[str, Any] = {}
                    if current_bytes is not None and st is not None:
                        owner = (st.st_uid, st.st_gid)
                        mode = st.st_mode & 0o777
                        name = backup.back_up(self.layout, self.manifest, STORE, current_bytes,
                                              mode, st.st_mtime_ns, self.run_id, owner)
                        backup.save_manifest(self.layout, self.manifest)
                        replacing = {"op": "replace", "old_sha256": fsio.sha256_bytes(current_bytes),
                                     "backup": name}
                    del current_bytes
                    writer = merge.write(path, mode, owner)
                    size, sha256 = writer.size, writer.sha256
                    record: dict[str, Any] = {"op": "create", "run": self.run_id, "file": STORE,
                                              "sha256": sha256, "size": size, **replacing}
                # what the check after the index needs of the merge, kept instead of the merge
                self.store_sha256 = sha256
                self.unreachable = {ps.file_id for ps in written if not merge.points_at(ps)}
                if writer is not None:
                    # the keys written, each with its session's id: made from ``intended``
                    journal.append_pieces(self.layout, itertools.chain(
                        (journal.record_line(record),),
                        journal.keys_pieces(self.run_id, ((key, owner.final_id or "")
                                                          for key, owner in intended.items()))))
                    writer.finish()
                    writer = None
                    fsio.fsync_dir(self.layout.sessions_dir)
                    self.result.written.append(path)
            finally:
                if writer is not None:
                    writer.abandon()
        self.on_event(Progress("index", 1, 1, STORE))
        return intended

    def _merged_session_id(self, key: str, current: dict[str, Any],
                           intended: dict[str, PlannedSession]) -> Any:
        """The session id of the entry the merge so far holds under ``key``: ``_ABSENT``
        (none), ``_NOT_AN_ENTRY`` (a value that is not an object), or its "session_id"."""
        ps = intended.get(key)
        if ps is not None:
            return _entry_of(ps).get("session_id")
        there = current.get(key, _ABSENT)
        if there is _ABSENT or there is None:
            return _ABSENT
        if not isinstance(there, dict):
            return _NOT_AN_ENTRY
        return there.get("session_id")

    def verify_phase(self, written: list[PlannedSession]) -> None:
        self.on_event(PhaseStarted("verify", len(written)))
        problems = self.result.verify_problems
        path = self.layout.store
        there = fsio.lstat_or_none(path) is not None
        # hashed a chunk at a time: the bytes are read whole only when they are not the merge's
        same = there and self.store_sha256 is not None and fsio.sha256_file(path)[1] == self.store_sha256
        store: dict[str, Any] | None = None
        if not same:
            # not the bytes the merge was written as (another writer changed it since, or
            # it is gone): read what it holds and compare each entry, made again from the plan
            data = fsio.read_bytes(path) if there else None
            store = jsonio.loads_document(data) if data is not None else {}
            del data
            for key, ps in self.intended.items():
                if not jsonio.same_value(store.get(key), ps.entry, self.encoder):
                    problems.append(f"sessions.json: the entry {key!r} is not what was written")
        self.intended = {}  # compared, or proven by the bytes: not needed any more
        # else: the bytes on disk are those of the merge written under the lock (or found
        # already right), which holds every intended entry: what reading them back and
        # comparing each entry would show, proven by the bytes in hand
        # many files: one listing of the folder instead of one lstat each, gone through a
        # name at a time and kept as the final ids of the transcripts not seen in it (no set
        # of every name in the folder: 40 MB at 100,000 sessions; the ids are the plan's)
        missing: set[str | None] | None = None
        if len(written) >= VERIFY_LISTING:
            missing = {ps.final_id for ps in written}
            for name in fsio.iter_names(self.layout.sessions_dir):
                if name.endswith(".jsonl"):
                    missing.discard(name[:-6])
        for n, ps in enumerate(written, 1):
            reachable = ps.file_id not in self.unreachable if store is None else _points_at(store, ps)
            if not reachable and ps.transcript != "keep-existing":
                lost = self.lost_keys.get(ps.file_id)
                if lost:
                    self.fail(ps, "key_conflict", ", ".join(map(repr, lost)) + " was written by "
                              "another process since the scan and keeps that entry; run migrate "
                              "again to decide (keep-existing or replace-existing)")
                    continue
                problems.append(f"{ps.scan.file_name}: no key in sessions.json points at {ps.final_id!r}")
            there = (ps.final_id not in missing) if missing is not None else \
                fsio.lstat_or_none(self.in_sessions(f"{ps.final_id}.jsonl")) is not None
            if not there:
                problems.append(f"{ps.final_id}.jsonl is missing")
            else:
                self.result.migrated.append(ps.file_id)
            self.on_event(Progress("verify", n, len(written), ps.file_id))
        self.result.verified = not problems


_ABSENT: Any = object()
_NOT_AN_ENTRY: Any = object()


def _entry_of(ps: PlannedSession) -> dict[str, Any]:
    """``ps``'s entry as a dict (made when asked for; read, not changed)."""
    entry = ps.entry
    assert entry is not None
    return entry if type(entry) is dict else dict(entry)


class _Merge:
    """sessions.json as it was, with the intended entries put in: the keys it had first, in
    its order (an intended one holding its new entry), then the new keys in the order they
    were added, as ``dict(current)`` updated key by key would hold them."""

    def __init__(self, current: dict[str, Any], intended: dict[str, PlannedSession]) -> None:
        self.current = current
        self.intended = intended
        # intended keys whose entry is not of its session's final id (seen while written)
        self.odd: set[str] = set()
        self.complete = False  # every member was made once

    def members(self) -> Any:
        intended, current = self.intended, self.current
        for key, value in current.items():
            ps = intended.get(key)
            yield key, (value if ps is None else self._entry(key, ps))
        for key, ps in intended.items():
            if key not in current:
                yield key, self._entry(key, ps)
        self.complete = True

    def _entry(self, key: str, ps: PlannedSession) -> dict[str, Any]:
        entry = _entry_of(ps)
        if entry.get("session_id") != ps.final_id:
            self.odd.add(key)
        return entry

    def hashed(self) -> tuple[int, str]:
        """The size and SHA-256 of the merge's bytes, made a piece at a time and let go."""
        for ascii_only in (False, True):
            digest = hashlib.sha256()
            size = 0
            try:
                for piece in jsonio.document_pieces(self.members(), ascii_only):
                    digest.update(piece)
                    size += len(piece)
            except jsonio.NeedsAscii:  # a lone surrogate: the whole file is written in ASCII
                continue
            return size, digest.hexdigest()
        raise AssertionError("an ASCII document always encodes")

    def write(self, path: str, mode: int, owner: tuple[int, int] | None) -> fsio.StreamedWrite:
        """The merge's bytes in a temporary file beside ``path``, hashed on the way (the
        caller announces it, then ``finish``es or ``abandon``s it; the check after the index
        compares the file's SHA-256 with this one)."""
        for ascii_only in (False, True):
            writer = fsio.StreamedWrite(path, mode, owner)
            try:
                for piece in jsonio.document_pieces(self.members(), ascii_only):
                    writer.write(piece)
            except jsonio.NeedsAscii:  # a lone surrogate: the whole file is written in ASCII
                writer.abandon()
                continue
            except BaseException:
                writer.abandon()
                raise
            return writer
        raise AssertionError("an ASCII document always encodes")

    def points_at(self, ps: PlannedSession) -> bool:
        """Whether a key of ``ps`` in the merge holds an entry of ``ps``'s session."""
        assert self.complete
        for key in (*ps.keys, *ps.kept_keys):
            owner = self.intended.get(key)
            if owner is not None:  # its entry is an object (``_entry_of``)
                if key not in self.odd and owner.final_id == ps.final_id:
                    return True
                continue
            entry = self.current.get(key)
            if isinstance(entry, dict) and entry.get("session_id") == ps.final_id:
                return True
        return False


def _points_at(store: dict[str, Any], ps: PlannedSession) -> bool:
    """Whether a key of ``ps`` in ``store`` holds an entry of ``ps``'s session."""
    for key in (*ps.keys, *ps.kept_keys):
        entry = store.get(key)
        if isinstance(entry, dict) and entry.get("session_id") == ps.final_id:
            return True
    return False


def _joiner(folder: str) -> Any:
    """``Layout.in_sessions`` with the folder's path joined once, not for every file."""
    prefix = os.path.join(folder, "")

    def in_folder(name: str) -> str:
        if not name or "/" in name or name in (".", ".."):
            raise ValueError(f"not a plain file name: {name!r}")
        return prefix + name
    return in_folder


def store_as_it_is(path: str) -> tuple[os.stat_result | None, bytes | None, dict[str, Any]]:
    """A ``sessions.json`` read again under its lock, just before the merge: its status, its
    bytes and its entries (none when it does not exist).  One that became unreadable or is no
    longer an object stops the run (ApplyError); it is not touched."""
    st = fsio.lstat_or_none(path)
    data = fsio.read_bytes(path) if st is not None else None
    if data is None:
        return st, None, {}
    try:
        current = jsonio.loads_document(data)
    except (ValueError, RecursionError) as exc:
        raise ApplyError(f"{path} became unreadable since the scan ({exc}); it was not touched") from None
    if not isinstance(current, dict):
        raise ApplyError(f"{path} is no longer a JSON object; it was not touched")
    return st, data, current


def apply_plan(
    plan: Plan,
    *,
    on_event: EventSink = no_events,
    cancel: CancelFlag | None = None,
    lock_timeout: float = 10.0,
    workers: bool = False,
) -> ApplyResult:
    """Carry out ``plan``, holding the workspace's operation lock, and save the report
    beside the backup.  Raises WorkspaceError (unusable, or damaged records: nothing
    written), OperationBusy (another command of ours runs, or ran since the scan) and
    LockBusy (sessions.json.lock held past ``lock_timeout``, found before anything is
    written); any other failure stops the run at a safe point and is returned in
    ``result.error``.  ``workers``: as for ``scan_workspace``, encode the transcripts in
    worker processes when there are many big files."""
    if plan.scan.fatal is not None:
        raise WorkspaceError(str(plan.scan.fatal))
    try:
        layout = open_layout(plan.scan.workspace)
    except OSError as exc:  # the workspace folder could not even be looked at
        return _stopped(ApplyResult(error=describe_error(exc)), on_event)
    if _nothing_to_write(layout, plan):
        return ApplyResult(backup_dir=layout.backup_dir)
    _refuse_early(layout)
    try:
        with operation_lock(layout, "migrate"):
            run = Run(plan, on_event, cancel or NeverCancel(), lock_timeout, workers)
            with collector.paused():
                _apply(run)  # stops at a safe point on any failure, said in run.result.error
                _save_report(run)
            return run.result
    except OSError as exc:  # taking the lock, or opening the workspace: nothing was written
        return _stopped(ApplyResult(backup_dir=layout.backup_dir, error=describe_error(exc)), on_event)


def _nothing_to_write(layout: Layout, plan: Plan) -> bool:
    """A rerun on a migrated workspace changes nothing, not even by taking the operation
    lock: true when no session is to be written, the journal needs no record (state.py), no
    other command runs, and nothing is left to tidy.  Anything else takes the lock (and the
    real run asks again under it)."""
    if any(ps.action == "migrate" for ps in plan.sessions):
        return False
    try:
        with fsio.anchored(layout.sessions_dir) as present:
            if not present:
                return True
            state = workspace_state(layout)
            if state.holder is not None or state.damage or _needs_record(plan, state):
                return False
            if fsio.lstat_or_none(layout.oplock) is not None or fsio.lock_left_behind(layout.lock):
                return False
            for folder in (layout.sessions_dir, layout.backup_dir):
                if fsio.is_real_dir(folder) and any(
                        n.startswith(".") and n.endswith(fsio.TEMP_SUFFIX) for n in fsio.listdir(folder)):
                    return False
            return plan.scan.journal_stamp == journal.stamp(layout)
    except (OSError, WorkspaceError):
        return False  # the real run says what is wrong


def _refuse_early(layout: Layout) -> None:
    """A refusal for damaged records or an unusable path leaves no trace, not even the
    operation lock's file: asked once before taking it (and again under it)."""
    try:
        with fsio.anchored(layout.sessions_dir):
            preflight.check_workspace(layout, workspace_state(layout))
    except OSError:
        pass  # an I/O error: the run under the lock meets it, and stops at a safe point


def _stopped(result: ApplyResult, on_event: EventSink) -> ApplyResult:
    on_event(LogLine("error", (result.error or "") + " — nothing was written"))
    return result


def _apply(run: Run) -> None:
    result = run.result
    result.run_id = run.run_id
    started = time.monotonic()
    try:
        # an I/O error while tidying or checking the paths stops the run like any other
        remove_leftovers(run.layout)
        state = workspace_state(run.layout)
        preflight.check_workspace(run.layout, state)
        preflight.check_scan_current(run.layout, run.plan)
        if not run.todo:
            _record_outcomes(run, state)
            return
        preflight.check_store_lock(run.layout, run.lock_timeout, take=True)
        run.start_encoding()  # workers (if any) encode while the backup is written
        run.encode_ahead = True  # the huge session's transcript, while its copy is synced
        run.backup_phase()
        run.let_go_of_manifest()
        journal.append(run.layout, journal.begin_record(run.run_id, "migrate"))
        written = run.transcripts_phase()
        _release_encoding(run)
        if result.cancelled:
            run.log("warning", "cancelled: sessions.json was not changed; run migrate again to "
                    "finish, or rollback to undo")
            return
        run.intended = run.index_phase(written)
        run.verify_phase(written)
        if result.verified:
            _commit(run)
        else:
            run.log("error", "verification found a difference: the run is not committed, so "
                    "no original can be cleaned up; run migrate again or rollback")
    except (LockBusy, WorkspaceError):
        raise
    except (OSError, BackupError, ApplyError) as exc:
        result.error = describe_error(exc)
        run.log("error", result.error + " — the workspace is at a safe point: run migrate again "
                "to finish, or rollback to undo")
    finally:
        run.stop_encoding()
        run.drop_ahead()  # made ahead and never renamed: the run stopped before
    run.log("info", f"done in {time.monotonic() - started:.1f} s")


def _release_encoding(run: Run) -> None:
    """Let go of the encoding once the transcripts are written: its job for each session
    written, with the strings it is made of (about 0.5 KB a session, 50 MB at 100,000), is
    needed neither by the index, nor by the verification, nor by the report."""
    run.stop_encoding()
    run.encoded = None
    run.encoded_for.clear()


def outcome_rows(plan: Plan, failures: list[SessionFailure], migrated: set[str]
                 ) -> Iterator[tuple[bool, str, list[Any]]]:
    """Every session's outcome, for the commit record, one at a time: (migrated or not, its
    file name, [its SHA-256, the session id or why it was not migrated])."""
    failed = {f.file_id: f.problem.code for f in failures}
    for ps in plan.sessions:
        name = ps.scan.file_name
        if ps.action == "done" or (ps.action == "migrate" and ps.file_id in migrated):
            yield True, name, [ps.scan.sha256, ps.final_id]
        elif ps.action == "migrate":
            yield False, name, [ps.scan.sha256, failed.get(ps.file_id, "not_migrated")]
        elif ps.action == "skip":
            yield False, name, [ps.scan.sha256, "skip"]
        else:
            code = ps.open_problems[0].code if ps.open_problems else "blocked"
            yield False, name, [ps.scan.sha256, code]


def _commit(run: Run) -> None:
    result = run.result
    journal.append_pieces(run.layout, journal.commit_pieces(
        run.run_id, len(result.migrated), outcome_rows(run.plan, result.failed, set(result.migrated))))
    result.committed = True


def _record_outcomes(run: Run, state: WorkspaceState) -> None:
    """A run with nothing to write still commits when that changes what the journal says:
    it completes an interrupted run (what that run began is now in place, as the scan found
    it), or it records a decision (a session now skipped).  Otherwise nothing is written."""
    if not _needs_record(run.plan, state):
        return
    journal.append(run.layout, journal.begin_record(run.run_id, "migrate"))
    run.result.verified = True
    _commit(run)


def _needs_record(plan: Plan, state: WorkspaceState) -> bool:
    """Whether a run with nothing to write must still commit (``_record_outcomes``)."""
    if not state.backup_present or not plan.sessions:
        return False
    if any(r.command != "cleanup" for r in state.interrupted):
        return True
    known = state.outcomes()
    for done, name, (sha, value) in outcome_rows(plan, [], set()):
        was = known.get(name)
        if was is None or was.sha256 != sha or (was.session_id if done else was.why) != value:
            return True
    return False


def _save_report(run: Run) -> None:
    """Build the run's report once (``result.report``, which the command then prints) and
    keep it beside the backup, still under the operation lock.  A report that cannot be
    saved is a warning: the run keeps its outcome, and the report says why."""
    result = run.result
    report = result.report = build_report(run.plan, result, dry_run=False)
    if not (result.written or result.error or result.committed):
        return
    try:
        result.report_path = save_report(run.layout, report)
    except (OSError, ValueError) as exc:
        result.report_path = None
        result.report_error = f"the report could not be saved: {describe_error(exc)}"
        report.note_unsaved(run.layout, result.report_error)
        run.log("warning", result.report_error)


def remove_leftovers(layout: Layout) -> None:
    """Remove what an interrupted run left behind: our temporary files, and a lock file
    whose owner is provably gone (taking and releasing the lock reclaims it).

    The agent's own writers replace sessions.json the same way, under the lock: a temporary
    file of theirs is in flight for as long as they hold it.  So a temporary sessions.json
    is removed only if, after it was listed, the lock is free (a writer takes the lock before
    it creates its file and renames the file before it lets go)."""
    if fsio.lock_left_behind(layout.lock):
        with contextlib.suppress(LockTimeout, OSError), fsio.presence_lock(layout.lock, 0):
            pass
    with contextlib.suppress(OSError):
        fsio.remove_temp_files(layout.backup_dir)
    if not fsio.is_real_dir(layout.sessions_dir):
        return
    with contextlib.suppress(OSError):
        names = [n for n in fsio.listdir(layout.sessions_dir)
                 if n.startswith(".") and n.endswith(fsio.TEMP_SUFFIX)]
        store_busy = fsio.lstat_or_none(layout.lock) is not None
        for name in names:
            if store_busy and name.startswith(f".{STORE}."):
                continue  # perhaps a live writer's: a later run removes it if it stays
            st = fsio.lstat_or_none(layout.in_sessions(name))
            if st is not None and stat.S_ISREG(st.st_mode):
                fsio.unlink_if_exists(layout.in_sessions(name))
