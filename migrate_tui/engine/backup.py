"""The backup: byte-identical copies of every file the migration reads or replaces, and
a manifest of their sizes and SHA-256, written and checked before anything new is written.

A later run never overwrites an earlier, different backup: a changed file is kept beside
the first copy as ``<name>.2``, ``<name>.3`` ...
"""

from __future__ import annotations

import itertools
import json
import stat
import struct
from collections.abc import Iterator, Mapping, MutableMapping
from dataclasses import dataclass
from typing import Any

from migrate_tui.core import fsio
from migrate_tui.core.errors import BackupError, DamagedRecord
from migrate_tui.core.layout import JOURNAL, MANIFEST, REPORT, Layout, check_backup_dir
from migrate_tui.engine.journal import Damage, file_lines

MAX_MANIFEST_BYTES = 1 << 30
BACKGROUND_BYTES = 1 << 20  # a copy alone in its batch this big is written in the background


# a copy's record as a run writes it, held packed: size, mtime_ns and the number of its
# profile (mode, uid, gid, run, whether uid and gid are recorded: the same for most copies)
# among the manifest's; the SHA-256's 32 bytes follow.  85 bytes with the object's header,
# where the profile's numbers took 114 (a 96-byte block instead of a 128-byte one)
_PACKED = struct.Struct("<qqI")
_KEYS = ("original", "size", "sha256", "mode", "mtime_ns", "run")
_KEYS_OWNED = (*_KEYS, "uid", "gid")
_INT64 = range(-(1 << 63), 1 << 63)
# how ``json.dumps`` writes a string (``ensure_ascii``, its default)
_encode_string = json.encoder.encode_basestring_ascii


def _key(name: str) -> str:
    """A copy's key among the held records: ``<stem>`` for ``<stem>.json`` (the scan's file
    id, when the caller hands it over: no string of its own a copy), ``/<name>`` for any
    other name (no file name holds a ``/``, so no two names have one key)."""
    return name[:-5] if name.endswith(".json") else "/" + name


def _name(key: str) -> str:
    return key[1:] if key.startswith("/") else key + ".json"


class _Files(MutableMapping[str, dict[str, Any]]):
    """backup name -> {"original", "size", "sha256", "mode", "mtime_ns", "run"[, "uid",
    "gid"]}, each record made when asked for (a new dict: changing it changes nothing).

    Held compactly, 100,000 at a time: a record with exactly those keys, in that order, of
    those types, is one bytes object (``_PACKED`` and the SHA-256), with its original's name
    beside it only when that is not the copy's own name (a tuple), and what most copies
    share (mode, owner, run) held once; any other record is kept as the dict it was (its
    bytes in the manifest stay the same)."""

    def __init__(self) -> None:
        self._held: dict[str, Any] = {}  # by ``_key``, in the order recorded
        # (mode, uid, gid, run, owned): each held once, numbered in the order first seen
        self._profiles: list[tuple[int, int, int, str, bool]] = []
        self._profile_numbers: dict[tuple[int, int, int, str, bool], int] = {}

    def __len__(self) -> int:
        return len(self._held)

    def __iter__(self) -> Iterator[str]:
        return map(_name, self._held)

    def __contains__(self, name: object) -> bool:
        return type(name) is str and _key(name) in self._held

    def __getitem__(self, name: str) -> dict[str, Any]:
        held = self._held.get(_key(name), _NONE)
        if held is _NONE:
            raise KeyError(name)
        return self._record(name, held)

    def __setitem__(self, name: str, info: dict[str, Any]) -> None:
        self.put(name, info)

    def put(self, name: str, info: dict[str, Any], stem: str | None = None) -> None:
        """``self[name] = info``; ``stem``: a string equal to ``name`` without its
        ".json" that the caller holds anyway (the scan's file id), kept as its key."""
        key = stem if stem is not None and stem + ".json" == name else _key(name)
        self._held[key] = self._packed(name, info)

    def __delitem__(self, name: str) -> None:
        try:
            del self._held[_key(name)]
        except KeyError:
            raise KeyError(name) from None

    def original_and_sha256(self, name: str) -> tuple[Any, Any] | None:
        """(original, sha256) of the copy ``name`` (None: not in the manifest), without
        making its whole record."""
        held = self._held.get(_key(name))
        if held is None:
            return None
        if type(held) is dict:
            return held.get("original"), held.get("sha256")
        original, packed = (name, held) if type(held) is bytes else held
        return original, packed[_PACKED.size:].hex()

    def _packed(self, name: str, info: dict[str, Any]) -> Any:
        keys = tuple(info)
        if keys != _KEYS and keys != _KEYS_OWNED:
            return info
        original, sha, run = info["original"], info["sha256"], info["run"]
        numbers = [info["size"], info["mode"], info["mtime_ns"], info.get("uid", 0), info.get("gid", 0)]
        if type(original) is not str or type(run) is not str or type(sha) is not str \
                or any(type(n) is not int or n not in _INT64 for n in numbers):
            return info
        try:
            raw = bytes.fromhex(sha)
        except ValueError:
            return info
        if len(raw) != 32 or raw.hex() != sha:
            return info
        profile = (numbers[1], numbers[3], numbers[4], run, len(keys) == len(_KEYS_OWNED))
        number = self._profile_numbers.get(profile)
        if number is None:
            number = self._profile_numbers[profile] = len(self._profiles)
            self._profiles.append(profile)
        packed = _PACKED.pack(numbers[0], numbers[2], number) + raw
        return packed if original == name else (original, packed)

    def lines(self) -> Iterator[str]:
        """Each copy's line of the manifest, in order: ``json.dumps(name) + ": " +
        json.dumps(record)``, the same text, a packed record's written from its parts with
        no dict made (20,000 copies: 0.03 s of CPU instead of 0.10 here), what its profile gives
        made once a profile."""
        enc = _encode_string
        made: dict[int, tuple[str, str]] = {}  # profile number -> (its mode's text, its end)
        for key, held in self._held.items():
            name = _name(key)
            if type(held) is dict:
                yield enc(name) + ": " + json.dumps(held)
                continue
            original, packed = (name, held) if type(held) is bytes else held
            size, mtime_ns, number = _PACKED.unpack_from(packed)
            parts = made.get(number)
            if parts is None:
                mode, uid, gid, run, owned = self._profiles[number]
                end = f', "run": {enc(run)}' + (f', "uid": {uid!r}, "gid": {gid!r}}}' if owned else "}")
                parts = made[number] = (f"{mode!r}", end)
            yield (f'{enc(name)}: {{"original": {enc(original)}, "size": {size!r}, "sha256": '
                   f'"{packed[_PACKED.size:].hex()}", "mode": {parts[0]}, "mtime_ns": {mtime_ns!r}{parts[1]}')

    def _record(self, name: str, held: Any) -> dict[str, Any]:
        if type(held) is dict:
            return dict(held)
        original, packed = (name, held) if type(held) is bytes else held
        size, mtime_ns, number = _PACKED.unpack_from(packed)
        mode, uid, gid, run, owned = self._profiles[number]
        info = {"original": original, "size": size, "sha256": packed[_PACKED.size:].hex(),
                "mode": mode, "mtime_ns": mtime_ns, "run": run}
        if owned:
            info["uid"], info["gid"] = uid, gid
        return info


_NONE: Any = object()


class Manifest:
    """The manifest's copies (``files``), and which copy holds which bytes of an original
    (``find``)."""

    def __init__(self, files: Mapping[str, dict[str, Any]] | None = None) -> None:
        self.files = _Files()
        # (original, sha256) -> name, for the copies not named after their original (a copy
        # named after it is found by its name)
        self._by_content: dict[tuple[str, str], str] = {}
        for name, info in (files or {}).items():
            self.add(name, info)

    def __repr__(self) -> str:
        return f"Manifest({len(self.files)} copies)"

    def add(self, name: str, info: dict[str, Any], stem: str | None = None) -> None:
        """Record the copy ``name``; ``stem``: see ``_Files.put``."""
        original, sha = info["original"], info["sha256"]
        if name != original and (original, sha) not in self._by_content \
                and self.files.original_and_sha256(original) != (original, sha):
            self._by_content[(original, sha)] = name
        self.files.put(name, info, stem)

    def find(self, original: str, sha256: str) -> str | None:
        """The backup copy of ``original`` with these bytes, if there is one (the first one
        recorded)."""
        name = self._by_content.get((original, sha256))
        if name is not None:
            return name
        return original if self.files.original_and_sha256(original) == (original, sha256) else None

    def to_json(self) -> bytes:
        """One line per copy: readable, and written by the C encoder at any size."""
        return b"".join(self.to_json_pieces())

    def to_json_pieces(self, lines_a_piece: int = 1024) -> list[bytes]:
        """``to_json``'s bytes in pieces of ``lines_a_piece`` lines (``json_pieces``)."""
        return list(self.json_pieces(lines_a_piece))

    def json_pieces(self, lines_a_piece: int = 1024) -> Iterator[bytes]:
        """``to_json``'s bytes in pieces of ``lines_a_piece`` lines, made as they are asked
        for: ``save_manifest`` writes each before the next is made, so the text of 100,000
        copies (20 MB) is never held, neither whole nor as a list of its pieces."""
        if not self.files:
            yield b'{\n  "version": 1,\n  "files": {}\n}\n'
            return
        yield b'{\n  "version": 1,\n  "files": {\n    '
        items = self.files.lines()
        first = True
        while True:
            lines = list(itertools.islice(items, lines_a_piece))
            if not lines:
                break
            text = ",\n    ".join(lines)
            del lines
            yield text.encode("ascii") if first else b",\n    " + text.encode("ascii")
            first = False
        yield b"\n  }\n}\n"


def load_manifest(layout: Layout) -> Manifest:
    """The manifest; ``DamagedRecord`` (naming the file and the line) when it is damaged."""
    manifest, damage = read_manifest(layout)
    if damage is not None:
        raise DamagedRecord(f"{damage}; the backup cannot be trusted, so nothing was changed")
    return manifest


def check_manifest(layout: Layout) -> Damage | None:
    """The damage found in the manifest, or None; nothing of it is held (the commands that
    need its entries read it again: ``read_manifest``).  A manifest as we write it (one line
    per copy) is checked a line at a time; anything else, or any damage, is read whole by
    ``read_manifest``, which says what is wrong."""
    path = layout.manifest
    st = fsio.lstat_or_none(path)
    if st is None:
        return None
    if stat.S_ISREG(st.st_mode) and st.st_size <= MAX_MANIFEST_BYTES:
        try:
            if _good_by_line(path, st.st_size):
                return None
        except (fsio.NotRegularFile, fsio.FileTooLarge):
            pass
    return read_manifest(layout)[1]


_HEAD = (b"{", b'  "version": 1,', b'  "files": {')


def _good_by_line(path: str, size: int) -> bool:
    """True when the manifest is laid out as ``Manifest.to_json`` writes it, with at least
    one copy, and every entry is good (False: read it whole to know)."""
    lines = file_lines(path, size)
    for want in _HEAD:
        if next(lines, (0, None))[1] != want:
            return False
    seen = False  # an entry was read
    comma = False  # the entry before ended with a comma: another one follows
    for _number, raw in lines:
        if raw == b"  }":
            return (seen and not comma and next(lines, (0, None))[1] == b"}"
                    and next(lines, None) is None)
        if (seen and not comma) or not raw.startswith(b'    "'):
            return False
        comma = raw.endswith(b",")
        try:
            entry = json.loads(b"{" + (raw[4:-1] if comma else raw[4:]) + b"}")
        except (ValueError, RecursionError):
            return False
        if not isinstance(entry, dict) or len(entry) != 1:
            return False
        ((name, info),) = entry.items()
        if _wrong_entry(name, info) is not None:
            return False
        seen = True
    return False


def read_manifest(layout: Layout) -> tuple[Manifest, Damage | None]:
    """The manifest, read defensively: (what could be read, the damage found or None).  An
    I/O error (EIO...) is no damage: it is raised."""
    path = layout.manifest
    try:
        if fsio.lstat_or_none(path) is None:
            return Manifest(), None
        data = fsio.read_bytes(path, MAX_MANIFEST_BYTES)
    except fsio.NotRegularFile as exc:
        return Manifest(), Damage(path, f"is a {exc.kind}, not a manifest; it is not followed or read")
    except fsio.FileTooLarge as exc:
        return Manifest(), Damage(path, f"is {exc.size:,} bytes, too large to be a manifest")
    try:
        doc = json.loads(data)
    except json.JSONDecodeError as exc:
        return Manifest(), Damage(path, f"is not valid JSON ({exc.msg}, column {exc.colno})", exc.lineno)
    except (ValueError, RecursionError):
        return Manifest(), Damage(path, "is not valid JSON")
    files = doc.get("files") if isinstance(doc, dict) else None
    if not isinstance(files, dict):
        return Manifest(), Damage(path, "is not a manifest (no object of files)", 1)
    good: dict[str, dict[str, Any]] = {}
    runs: dict[str, str] = {}
    for name, info in files.items():
        wrong = _wrong_entry(name, info)
        if wrong is not None:
            return Manifest(good), Damage(path, f"the entry {name!r} {wrong}"[:300], _line_of(data, name))
        # held for every session migrated: the run id and the original's name (mostly the
        # copy's own) one string object each, not one per entry
        if info.get("original") == name:
            info["original"] = name
        if type(info.get("run")) is str:
            info["run"] = runs.setdefault(info["run"], info["run"])
        good[name] = info
    return Manifest(good), None


def _wrong_entry(name: str, info: Any) -> str | None:
    if not name or "/" in name or name in (".", "..", MANIFEST, JOURNAL, REPORT):
        return "is not a plain file name of a copy"
    if not isinstance(info, dict):
        return "is not an object"
    original = info.get("original")
    if not isinstance(original, str) or not original or "/" in original:
        return "names no original"
    if not isinstance(info.get("size"), int) or not isinstance(info.get("sha256"), str) \
            or len(info["sha256"]) != 64:
        return "has no size or SHA-256"
    for key in ("mode", "mtime_ns", "uid", "gid"):
        if key in info and not isinstance(info[key], int):
            return f"has a {key} that is not a number"
    return None


def _line_of(data: bytes, name: str) -> int | None:
    at = data.find(json.dumps(name).encode("ascii") + b":")
    return data.count(b"\n", 0, at) + 1 if at >= 0 else None


def save_manifest(layout: Layout, manifest: Manifest) -> None:
    """Replace the manifest atomically (temporary file, fsync, rename, fsync of the folder),
    written a piece at a time as its text is made (``Manifest.json_pieces``)."""
    writer = fsio.StreamedWrite(layout.manifest, 0o600)
    try:
        for piece in manifest.json_pieces():
            writer.write(piece)
        writer.finish()
    except BaseException:
        writer.abandon()
        raise
    fsio.fsync_dir(layout.backup_dir)


def ensure_dir(layout: Layout) -> None:
    check_backup_dir(layout)
    fsio.mkdir(layout.backup_dir, 0o700)


def names_present(layout: Layout) -> set[str]:
    """The names in the backup folder now: listed once for a batch of copies instead of one
    ``lstat`` a copy (no other command of ours writes there while we hold the operation
    lock)."""
    return set(fsio.listdir(layout.backup_dir))


def _free_name(manifest: Manifest, layout: Layout, original: str, size: int, sha: str,
               taken: set[str], present: set[str] | None = None) -> str:
    """The first name not used by another copy.  A copy an interrupted run wrote before it
    could record it in the manifest is taken over when it holds the same bytes.
    ``present``: the names in the backup folder (``names_present``); None: ask the file system."""
    # a name at the file system's limit is cut short before its number
    candidates = itertools.chain([original], (fsio.short_name(original, f".{n}") for n in itertools.count(2)))
    for name in itertools.islice(candidates, 10_000):
        if name in manifest.files or name in taken or name in (MANIFEST, JOURNAL, REPORT):
            continue
        there = (name in present) if present is not None else \
            fsio.lstat_or_none(layout.in_backup(name)) is not None
        if not there or _copy_ok(layout, name, size, sha):
            return name
    raise BackupError(f"no free backup name for {original}")


@dataclass(slots=True)
class Copy:
    """The bytes of .sessions/``original`` as read, to be kept in the backup (never changed
    once made; not frozen, which makes one three times slower to make)."""

    original: str
    data: bytes
    sha256: str
    mode: int
    mtime_ns: int
    owner: tuple[int, int] | None = None  # (uid, gid) of the original, restored with it
    # ``original`` without its ".json", as the caller holds it anyway (the scan's file id):
    # the manifest keeps it as the copy's key rather than a name string of its own (90
    # bytes a copy, 9 MB at 100,000)
    stem: str | None = None


@dataclass
class Started:
    """Backup copies being written (``start_copies``); ``land`` checks and records them."""

    writes: fsio.WriteBatch
    pending: list[tuple[Copy, str]]
    names: list[str]


def start_copies(layout: Layout, manifest: Manifest, copies: list[Copy], taken: set[str],
                 present: set[str] | None = None) -> Started:
    """Start writing each copy not in the backup already (synced while the caller goes on);
    each is read back through the descriptor that wrote it and compared with the bytes
    hashed before it is made durable (``PendingWrite.check``).  The batch lands early
    (``fsio.start_writes(..., land_early=True)``): where one writer thread syncs it with
    ``syncfs``, that thread also renames the copies into place, in order, once they are
    synced, so the caller does not wait on the backup folder's lock for each rename while it
    reads the next batch.  A copy in place is not yet in the manifest: ``land`` records it,
    and the manifest is saved after the folder's fsync (a copy a killed run left unrecorded
    is taken over by the next run when it holds the same bytes: ``_free_name``).  A copy
    under a name the folder did not have when listed (``present``) is ``exclusive``: it never
    replaces a file another program put there meanwhile (``land`` stops the run instead).
    ``taken``: names of copies still in flight, never given twice; ``present``: see
    ``_free_name``."""
    names: list[str] = []
    pending: list[tuple[Copy, str]] = []
    items: list[fsio.PendingWrite] = []
    for copy in copies:
        existing = manifest.find(copy.original, copy.sha256)
        if existing is not None and _copy_ok(layout, existing, len(copy.data), copy.sha256):
            names.append(existing)
            continue
        name = existing or _free_name(manifest, layout, copy.original, len(copy.data), copy.sha256,
                                      taken, present)
        taken.add(name)
        pending.append((copy, name))
        names.append(name)
        # a name nothing had when the folder was listed: the copy must not replace anything
        # there (``exclusive``: where the batch lands early it is made with no name and named
        # after the sync); a copy taken over, or rewritten over a damaged one, replaces it
        new = existing is None and present is not None and name not in present
        items.append(fsio.PendingWrite(layout.in_backup(name), copy.data, copy.mode, copy.mtime_ns,
                                       check=True, exclusive=new))
    # a batch of one big copy (a huge session) is written and fsynced by a writer thread
    # too, while the caller goes on (apply makes that session's transcript meanwhile)
    big = len(items) == 1 and len(items[0].data) >= BACKGROUND_BYTES
    writes = fsio.start_writes(items, land_early=True, background=big)
    return Started(writes, pending, names)


def land(layout: Layout, manifest: Manifest, started: Started, run: str, taken: set[str]) -> list[str]:
    """Wait until the copies are in place (renamed once all are on disk, by the writer
    thread when the batch landed early; each was read back and checked against the bytes
    hashed before that), then record them in the manifest; return the backup names."""
    try:
        try:
            found = started.writes.finish()
        except fsio.ReadBackMismatch as exc:
            original = next((c.original for c, name in started.pending
                             if layout.in_backup(name) == exc.filename), exc.filename)
            raise BackupError(f"the backup copy {exc.filename} does not match {original} "
                              "after writing it") from None
        if found:  # another program wrote in the backup folder during the run
            raise BackupError(f"{found[0].path} appeared in the backup folder during the run; "
                              "it is left as it is and nothing new was written")
        for copy, name in started.pending:
            info = {"original": copy.original, "size": len(copy.data), "sha256": copy.sha256,
                    "mode": copy.mode, "mtime_ns": copy.mtime_ns, "run": run}
            if copy.owner is not None:
                info["uid"], info["gid"] = copy.owner
            manifest.add(name, info, copy.stem if name == copy.original else None)
    finally:
        taken.difference_update(name for _copy, name in started.pending)
    return started.names


def copy_streamed(layout: Layout, manifest: Manifest, source: str, original: str, run: str,
                  present: set[str] | None = None) -> str | None:
    """Back up the file ``source`` (``.sessions/<original>``) a chunk at a time, never held
    whole (session_map.json at 100,000 sessions: 8 MB): copied into a temporary file in the
    backup folder and hashed on the way, read back and compared (its SHA-256 again), then,
    under the name ``start_copies`` would give those bytes, fsynced, renamed into place
    (``exclusive`` as there) and recorded in the manifest; an identical copy already in the
    backup is kept instead (the temporary file goes).  No copy may be in flight (the manifest
    records copies in the order they are made).  Returns the backup name; None when the
    source is not there or is not a regular file (nothing was written)."""
    copied = fsio.copy_streamed(source, layout.in_backup(original))
    if copied is None:
        return None
    writer, st = copied
    try:
        size, sha = writer.size, writer.sha256
        existing = manifest.find(original, sha)
        if existing is not None and _copy_ok(layout, existing, size, sha):
            writer.abandon()
            return existing
        name = existing or _free_name(manifest, layout, original, size, sha, set(), present)
        path = layout.in_backup(name)
        if not writer.reads_back():
            raise BackupError(f"the backup copy {path} does not match {original} after writing it")
        writer.retarget(path)
        new = existing is None and present is not None and name not in present
    except BaseException:
        writer.abandon()
        raise
    if not writer.finish(exclusive=new):
        raise BackupError(f"{path} appeared in the backup folder during the run; "
                          "it is left as it is and nothing new was written")
    manifest.add(name, {"original": original, "size": size, "sha256": sha, "mode": st.st_mode & 0o777,
                        "mtime_ns": st.st_mtime_ns, "run": run, "uid": st.st_uid, "gid": st.st_gid})
    return name


def back_up_many(layout: Layout, manifest: Manifest, copies: list[Copy], run: str) -> list[str]:
    """Copy each file into the backup unless an identical copy is there already; return the
    backup names.  New copies are written together (fsynced in parallel), then each is
    re-read and checked against the bytes hashed before it enters the manifest."""
    taken: set[str] = set()
    return land(layout, manifest, start_copies(layout, manifest, copies, taken), run, taken)


def back_up(layout: Layout, manifest: Manifest, original: str, data: bytes, mode: int,
            mtime_ns: int, run: str, owner: tuple[int, int] | None = None) -> str:
    """One file: see ``back_up_many``."""
    copy = Copy(original, data, fsio.sha256_bytes(data), mode, mtime_ns, owner)
    return back_up_many(layout, manifest, [copy], run)[0]


def _copy_ok(layout: Layout, name: str, size: int, sha: str) -> bool:
    try:
        got_size, got_sha = fsio.sha256_file(layout.in_backup(name))
    except OSError:
        return False
    return got_size == size and got_sha == sha


def check_copy(layout: Layout, manifest: Manifest, name: str) -> str | None:
    """None if the backup copy ``name`` matches the manifest, else what is wrong."""
    info = manifest.files.get(name)
    if info is None:
        return f"{name} is not in the manifest"
    try:
        size, sha = fsio.sha256_file(layout.in_backup(name))
    except FileNotFoundError:
        return f"the backup copy {name} is missing"
    except OSError as exc:
        return f"the backup copy {name} cannot be read: {exc.strerror or exc}"
    if size != info["size"] or sha != info["sha256"]:
        return f"the backup copy {name} differs from its manifest entry"
    return None


def read_copy(layout: Layout, manifest: Manifest, name: str) -> bytes:
    problem = check_copy(layout, manifest, name)
    if problem:
        raise BackupError(problem)
    return fsio.read_bytes(layout.in_backup(name))
