"""Helpers for the proof suite (tests/proof): a small workspace with every kind of write the
migration makes, an independent model of what it must become, fault plans that go through
``fsio.fault_hook`` only, a checker of the write protocol (docs/guarantees.md), and invariant checks.

What every suite shares comes from ``tests.support``.

Nothing here trusts the engine to describe its own result: the expected transcripts are
parsed from the legacy files with a parser that keeps every number's literal text and every
object's key order, and the expected final files come from a clean run that is itself
checked against that model (test_faults_apply.py::test_reference_run_is_what_the_spec_says).
"""

from __future__ import annotations

import errno
import json
import os
import re
import shutil
import signal
import stat
import subprocess
import sys
import traceback
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path
from typing import Any

from filelock import SoftFileLock

from migrate_tui.core import fsio
from migrate_tui.demo import write_legacy_session, write_session_map  # the suites import them from here too
from migrate_tui.engine import Decision, apply_plan, build_plan, build_report, scan_workspace
from migrate_tui.engine.rollback import rollback_workspace
from migrate_tui.engine.verify import verify_workspace
from tests.support import REPO as ROOT
from tests.support import run_command, sha

LONG = os.environ.get("PROOF") == "long"
JOBS = max(1, min(int(os.environ.get("PROOF_JOBS", "2")), os.cpu_count() or 1))
CLI_TIMEOUT = 120
OLD_MTIME = 1_767_225_600  # 2026-01-01T00:00:00Z: the sources look settled, not "recently changed"
TEMP_SUFFIX = fsio.TEMP_SUFFIX
_TMP_NAME = re.compile(r"^\.(.+)\.[0-9a-f]{8}" + re.escape(TEMP_SUFFIX) + r"$")

SESSIONS = ".sessions"
BACKUP = "backup_old_format"
STORE = "sessions.json"
LOCK = "sessions.json.lock"
OPLOCK = "migrate-tui.lock"  # our own commands' operation lock (what a kill may leave)
JOURNAL = "journal.jsonl"
MANIFEST = "manifest.json"
REPORT = "last_report.json"

# ---------------------------------------------------------------- the scenario

A = "c25b364a-8e88-468e-ba3c-526b48c4fcf0"  # two keys, tricky values
B = "9f1c7b1e-2a44-4b8e-9d0e-1f2e3d4c5b6a"  # key conflict and existing transcript: replace-existing
NOTES = "legacy-notes"  # free-form id, no key: gets agent:main:legacy-notes
D = "4b7e2c1d-0a9f-4e3b-8c6d-5f4e3d2c1b0a"  # no key, metadata.session_key, no messages
CREATED = "2026-02-11T10:00:00.708148+00:00"
UPDATED = "2026-02-11T12:00:00.708267+00:00"
FIXES = {B: frozenset({"replace-existing"})}
CLI_FIX_ARGS = ("--fix", f"{B}=replace-existing")


def _msg(role: str, content: Any, minute: int, **extra: Any) -> dict[str, Any]:
    return {"role": role, "content": content, "timestamp": f"2026-02-11T10:{minute:02d}:00.708193",
            **extra}


SESSION_DEFS: dict[str, dict[str, Any]] = {
    A: {
        "keys": ("agent:main:main", "agent:main:telegram:dm:12345"),
        "metadata": {"label": "Main", "display_name": "Main chat", "thinking_level": "high",
                     "total_tokens": 2**64 + 1, "x_unknown": {"b": None, "a": [1, 2.5]}},
        "messages": [
            _msg("user", "naïve café 🚀 \u2028 \ud800 \"quoted\" \\ back", 0),
            _msg("assistant", "ok", 1, tool_calls=[{"id": "t1", "args": {"n": 2**70 + 3,
                 "f": 0.30000000000000004, "none": None, "order": {"z": 1, "a": 2}}}]),
            _msg("tool", "NaN and friends", 2, name="calc", tool_call_id="t1",
                 score=float("nan"), hi=float("inf"), lo=float("-inf"), neg0=-0.0),
        ],
    },
    B: {
        "keys": ("agent:main:discord:group:g-77",),
        "metadata": {"label": "Group", "chat_type": "group", "channel": "discord"},
        "messages": [_msg("user", f"group message {i}", i) for i in range(4)],
    },
    NOTES: {
        "keys": (),
        "metadata": {"label": "Notes", "not_a_field": True},
        "messages": [_msg("user", "note one", 5), _msg("assistant", "note two", 6, images=[])],
    },
    D: {
        "keys": (),
        "metadata": {"session_key": "agent:main:cron:daily", "label": "Daily"},
        "messages": [],
    },
}
EXISTING_STORE = {
    "agent:main:other": {"session_id": "other", "updated_at": 1700000000000,
                         "session_file": "other.jsonl", "x_future": [1, {"b": 2, "a": 3}]},
    "agent:main:discord:group:g-77": {"session_id": "old-b", "updated_at": 1700000000001,
                                      "session_file": "old-b.jsonl"},
}
EXISTING_FILES = {
    "other.jsonl": b'{"role":"user","content":"other"}\n',
    "old-b.jsonl": b'{"role":"user","content":"old b"}\n',
    f"{B}.jsonl": b'{"role":"user","content":"an older, different transcript of B"}\n',
}


def write_scenario(root: Path) -> None:
    """The pristine workspace: four legacy sessions, session_map.json, an existing
    sessions.json (one unrelated entry, one that conflicts with B) and existing transcripts
    (one of them B's, with other content)."""
    sessions = root / SESSIONS
    sessions.mkdir(parents=True)
    session_map: dict[str, str] = {}
    for sid, spec in SESSION_DEFS.items():
        path = write_legacy_session(sessions, sid, spec["messages"], spec["metadata"], CREATED, UPDATED)
        os.utime(path, (OLD_MTIME, OLD_MTIME))
        for key in spec["keys"]:
            session_map[key] = sid
    path = write_session_map(sessions, session_map)
    os.utime(path, (OLD_MTIME, OLD_MTIME))
    store = sessions / STORE
    store.write_text(json.dumps(EXISTING_STORE, indent=2) + "\n")
    os.utime(store, (OLD_MTIME, OLD_MTIME))
    for name, data in EXISTING_FILES.items():
        (sessions / name).write_bytes(data)
        os.utime(sessions / name, (OLD_MTIME, OLD_MTIME))


def copy_workspace(src: Path, dst: Path) -> Path:
    if dst.exists():
        shutil.rmtree(dst)
    shutil.copytree(src, dst, symlinks=True)
    return dst


# ---------------------------------------------------------------- exact JSON, independently


def exact_loads(data: bytes | str) -> Any:
    """Parse JSON keeping what the guarantees are about: every object as its (key, value)
    pairs in order, every float as its literal text, NaN/Infinity as text, integers as
    digits (no conversion, so no size limit).  Two values are equal exactly when they are
    the same JSON value written the same way (the integer ``-0`` too: it is kept as written)."""
    text = data.decode("utf-8") if isinstance(data, bytes) else data
    return json.JSONDecoder(
        object_pairs_hook=lambda pairs: ("obj", tuple(pairs)),
        parse_float=lambda s: ("float", s),
        parse_int=lambda s: ("int", s),
        parse_constant=lambda s: ("const", s),
    ).decode(text)


def without_nulls(message: Any) -> Any:
    """A legacy message as a transcript line: its top-level null fields left out."""
    assert message[0] == "obj", message
    return ("obj", tuple((k, v) for k, v in message[1] if v is not None))


def obj_get(value: Any, key: str) -> Any:
    assert value[0] == "obj"
    for k, v in value[1]:
        if k == key:
            return v
    raise KeyError(key)


def obj_keys(value: Any) -> list[str]:
    return [k for k, _ in value[1]]


def expected_lines(legacy_bytes: bytes) -> list[Any]:
    doc = exact_loads(legacy_bytes)
    return [without_nulls(m) for m in obj_get(doc, "messages")]


def transcript_values(data: bytes) -> list[Any] | None:
    """The lines of a transcript, parsed exactly; None if it is not complete JSON Lines."""
    if data and not data.endswith(b"\n"):
        return None
    try:
        return [exact_loads(line) for line in data.split(b"\n")[:-1]]
    except ValueError:
        return None


# ---------------------------------------------------------------- looking at a workspace


def outside_backup(root: Path) -> dict[str, tuple[Any, ...]]:
    """Everything under ``root`` except ``.sessions/backup_old_format/``: relative path →
    ("file", bytes, mode) / ("dir", mode) / ("link", target).  Symlinks are not followed."""
    out: dict[str, tuple[Any, ...]] = {}
    skip = os.path.join(SESSIONS, BACKUP)
    for folder, dirs, files in os.walk(root):
        rel_folder = os.path.relpath(folder, root)
        if rel_folder == skip or rel_folder.startswith(skip + os.sep):
            dirs[:] = []
            continue
        for name in dirs + files:
            path = os.path.join(folder, name)
            rel = os.path.normpath(os.path.join(rel_folder, name))
            if rel == skip:
                continue
            st = os.lstat(path)
            if stat.S_ISLNK(st.st_mode):
                out[rel] = ("link", os.readlink(path))
            elif stat.S_ISDIR(st.st_mode):
                out[rel] = ("dir", stat.S_IMODE(st.st_mode))
            else:
                with open(path, "rb") as f:
                    out[rel] = ("file", f.read(), stat.S_IMODE(st.st_mode))
    return out


def temp_files(root: Path) -> list[str]:
    """Our temporary files anywhere under the workspace (the backup folder included)."""
    found = []
    for folder, _dirs, files in os.walk(root):
        found += [os.path.join(folder, n) for n in files if n.endswith(TEMP_SUFFIX)]
    return sorted(found)


def backup_holds(root: Path, data: bytes) -> bool:
    """Some file in the backup folder holds exactly ``data``, and the manifest lists it."""
    folder = root / SESSIONS / BACKUP
    try:
        manifest = json.loads((folder / MANIFEST).read_bytes())["files"]
    except (OSError, ValueError):
        return False
    digest = sha(data)
    for name, info in manifest.items():
        path = folder / name
        if info.get("sha256") == digest and path.is_file() and not path.is_symlink() \
                and path.read_bytes() == data:
            return True
    return False


def diff(a: dict[str, Any], b: dict[str, Any], limit: int = 12) -> list[str]:
    out = []
    for name in sorted(set(a) | set(b)):
        if a.get(name) != b.get(name):
            out.append(f"{name}: {_short(a.get(name))} != {_short(b.get(name))}")
    return out[:limit]


def _short(v: Any) -> str:
    text = repr(v)
    return text if len(text) < 160 else text[:150] + "…"


@dataclass
class Reference:
    """The pristine workspace, and the files a clean migration of it leaves (outside the
    backup).  ``template`` is a pristine copy to start each case from."""

    template: Path
    pristine: dict[str, tuple[Any, ...]]
    migrated: dict[str, tuple[Any, ...]]
    # transcript file name → the exact lines it must hold (from the legacy file)
    lines: dict[str, list[Any]] = field(default_factory=dict)
    originals: list[str] = field(default_factory=list)  # legacy files + session_map.json

    @property
    def store_rel(self) -> str:
        return os.path.join(SESSIONS, STORE)


def make_reference(base: Path) -> Reference:
    template = base / "template"
    write_scenario(template)
    return reference_from(template, base / "reference-run")


def reference_from(template: Path, scratch: Path) -> Reference:
    """The reference for the pristine workspace in ``template``: a clean migration of a copy
    of it (in ``scratch``, removed after), and the exact lines of every legacy file."""
    pristine = outside_backup(template)
    work = copy_workspace(template, scratch)
    run = migrate_inproc(work)
    assert run.result.error is None and run.code == 0, run
    migrated = outside_backup(work)
    lines = {}
    originals = []
    for rel, value in sorted(pristine.items()):
        name = os.path.basename(rel)
        if value[0] != "file" or os.path.dirname(rel) != SESSIONS:
            continue
        if name == "session_map.json":
            originals.append(rel)
        elif name.endswith(".json") and name != STORE:
            originals.append(rel)
            lines[name[:-5] + ".jsonl"] = expected_lines(value[1])
    shutil.rmtree(work)
    return Reference(template, pristine, migrated, lines, originals)


# ---------------------------------------------------------------- running it in-process


@dataclass
class MigrateRun:
    result: Any
    code: int
    report: dict[str, Any]

    def __repr__(self) -> str:
        r = self.result
        return (f"MigrateRun(code={self.code}, error={r.error!r}, verified={r.verified}, "
                f"failed={[(f.file_id, f.problem.message) for f in r.failed]}, "
                f"problems={r.verify_problems})")


def migrate_inproc(root: Path, hook: Callable[[str, str], Any] | None = None,
                   lock_timeout: float = 5.0) -> MigrateRun:
    """What ``migrate-tui migrate ROOT --fix B=replace-existing`` does, in this process; the
    hook (if any) is installed around apply, where every write happens."""
    scan = scan_workspace(str(root))
    decisions = {fid: Decision(fixes=fx) for fid, fx in FIXES.items()
                 if any(s.file_id == fid for s in scan.sessions)}
    plan = build_plan(scan, "main", decisions)
    if hook is None:
        result = apply_plan(plan, lock_timeout=lock_timeout)
    else:
        with fsio.fault_hook(hook):
            result = apply_plan(plan, lock_timeout=lock_timeout)
    built = build_report(plan, result, dry_run=False)
    report = built.to_json()
    return MigrateRun(result, built.exit_code, report)


def rollback_inproc(root: Path, hook: Callable[[str, str], Any] | None = None) -> Any:
    if hook is None:
        return rollback_workspace(str(root), lock_timeout=5.0)
    with fsio.fault_hook(hook):
        return rollback_workspace(str(root), lock_timeout=5.0)


# ---------------------------------------------------------------- faults


def os_error(code: int, path: str) -> OSError:
    return OSError(code, os.strerror(code), path)


# the faults tried at each kind of operation
FAULTS: dict[str, tuple[str, ...]] = {
    "write": ("ENOSPC", "short", "torn") + (("stall",) if LONG else ()),
    "fsync": ("EIO",),
    "rename": ("EXDEV", "EACCES"),
    "open": ("EIO",) + (("EACCES", "ENOSPC") if LONG else ()),
    "close": ("EIO",),
    "fsync_dir": ("EIO",),
    "read": ("EIO",),
    "stat": ("EIO",),
    "listdir": ("EIO",),
    "mkdir": ("EIO",) + (("ENOSPC",) if LONG else ()),
    "unlink": ("EIO",) + (("EACCES",) if LONG else ()),
    "copy": ("EIO",),
    "lock": ("EIO",) + (("EACCES",) if LONG else ()),
}


class Fault:
    """A hook that fails the operation number ``at`` (counting from 0) with ``kind``, and,
    when ``persistent``, every later operation of the same kind too (a full disk stays
    full).  ``kind`` None picks the first fault for that operation.  Kinds:

    * an errno name (ENOSPC, EIO, EXDEV, EACCES): raise that OSError;
    * "short": the write writes 1 byte (the rest must follow in further calls);
    * "stall": the write writes 0 bytes (the engine must see that no progress is made);
    * "torn": the write writes 1 byte, then the next write fails with ENOSPC, so a
      partial record or file is left behind.

    Every call is also shown to ``protocol`` (a ``Protocol``), if given, with whether it
    failed."""

    def __init__(self, at: int | None, kind: str | None = None, *, persistent: bool = False,
                 protocol: Protocol | None = None,
                 on_call: Callable[[int, str, str], None] | None = None) -> None:
        self.at = at
        self.kind = kind
        self.persistent = persistent
        self.protocol = protocol
        self.on_call = on_call
        self.n = 0
        self.fired: tuple[str, str] | None = None  # (op, kind)
        self.torn_pending = False
        self.trace: list[tuple[str, str]] = []

    def __call__(self, op: str, path: str) -> int | None:
        i = self.n
        self.n += 1
        self.trace.append((op, path))
        if self.on_call is not None:
            self.on_call(i, op, path)
        outcome = self._decide(i, op, path)
        if self.protocol is not None:
            self.protocol.see(op, path, failed=isinstance(outcome, BaseException))
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome

    def _decide(self, i: int, op: str, path: str) -> Any:
        if self.torn_pending and op == "write":
            self.torn_pending = False
            return os_error(errno.ENOSPC, path)
        kind = None
        if i == self.at:
            kind = self.kind or FAULTS.get(op, ("EIO",))[0]
            self.fired = (op, kind)
        elif self.persistent and self.fired is not None and self.fired[0] == op:
            kind = self.fired[1]
        if kind is None:
            return None
        if kind == "interrupt":  # a second Ctrl-C: stops at once, through every finally
            return KeyboardInterrupt()
        if kind == "short":
            return 1
        if kind == "stall":
            return 0
        if kind == "torn":
            self.torn_pending = True
            return 1
        return os_error(getattr(errno, kind), path)


class Counter:
    """A hook that only counts and records (and checks the protocol)."""

    def __init__(self, protocol: Protocol | None = None) -> None:
        self.fault = Fault(None, protocol=protocol)

    def __call__(self, op: str, path: str) -> Any:
        return self.fault(op, path)

    @property
    def trace(self) -> list[tuple[str, str]]:
        return self.fault.trace


# ---------------------------------------------------------------- the write protocol


def tmp_target(path: str) -> str | None:
    """The file a temporary file of ours will be renamed onto (same folder), else None."""
    m = _TMP_NAME.match(os.path.basename(path))
    return os.path.join(os.path.dirname(path), m.group(1)) if m else None


@dataclass
class _Tmp:
    dst: str
    written_bad: bool = False
    fsynced: bool = False
    fsync_failed: bool = False
    close_failed: bool = False


class Protocol:
    """Checks, operation by operation, the rules in docs/guarantees.md that a reader of the trace can
    see.  Violations are collected in ``violations`` (a hook must not raise anything but the
    faults it injects).

    * every rename onto a file is of a temporary file of ours for that very file, in the same
      folder, that was written without a failed write and fsynced (the fsync op on that same
      temporary path) and not closed with an error;
    * after a failed fsync nothing more is renamed in that run (EIO on fsync is fatal: the
      data may be gone, whatever a retry says);
    * a rename onto sessions.json happens only after a "lock" op, while the lock file exists
      and names this process, and after every earlier rename in .sessions/ was made durable
      by an fsync of the folder (no entry may point at a transcript a power cut could undo);
    * (apply) before the first new file in .sessions/, the backup's manifest was written and
      the backup folder fsynced; each new file in .sessions/ is announced in the journal (a
      record naming it with the SHA-256 of the bytes about to be renamed in), and the journal
      was fsynced since its last write;
    * nothing in .sessions/ is removed while a rename or removal of sessions.json is not yet
      durable;
    * ``finish`` (after a run that reported success): every rename was followed by an fsync
      of its folder.
    """

    def __init__(self, root: Path, mode: str) -> None:
        assert mode in ("apply", "rollback", "store")
        self.mode = mode
        self.sessions = os.path.join(str(root), SESSIONS)
        self.backup = os.path.join(self.sessions, BACKUP)
        self.store = os.path.join(self.sessions, STORE)
        self.lock = os.path.join(self.sessions, LOCK)
        self.journal = os.path.join(self.backup, JOURNAL)
        self.manifest = os.path.join(self.backup, MANIFEST)
        self.tmps: dict[str, _Tmp] = {}
        self.latest_tmp: dict[str, str] = {}  # dst → the temporary file most recently opened for it
        self.unsynced: dict[str, list[str]] = {}  # folder → renamed names not yet made durable
        self.lock_ops = 0
        self.fsync_failed_at: str | None = None
        self.manifest_written = False
        self.journal_synced = True
        self.renames: list[str] = []
        self.violations: list[str] = []

    def _bad(self, text: str) -> None:
        self.violations.append(text)

    def see(self, op: str, path: str, *, failed: bool) -> None:
        tmp = self.tmps.get(path)
        if op == "open" and tmp_target(path) is not None and not failed:
            self.tmps[path] = _Tmp(tmp_target(path) or "")
            self.latest_tmp[self.tmps[path].dst] = path
        elif op == "write":
            if tmp is not None and failed:
                tmp.written_bad = True
            if path == self.journal:
                self.journal_synced = False
        elif op == "fsync":
            if failed:
                self.fsync_failed_at = path
                if tmp is not None:
                    tmp.fsync_failed = True
            else:
                if tmp is not None:
                    tmp.fsynced = True
                if path == self.journal:
                    self.journal_synced = True
        elif op == "close" and tmp is not None and failed:
            tmp.close_failed = True
        elif op == "fsync_dir" and not failed:
            self.unsynced.pop(path, None)
        elif op == "lock" and not failed:
            self.lock_ops += 1
        elif op == "rename":
            self._rename(path, failed)
        elif op == "unlink" and path == self.store:
            if not failed:  # removing sessions.json (rollback of one the migration created)
                self.unsynced.setdefault(self.sessions, []).append(STORE)
        elif (op == "unlink" and os.path.dirname(path) == self.sessions and not path.endswith(TEMP_SUFFIX)
              and STORE in self.unsynced.get(self.sessions, [])):
            self._bad(f"{os.path.basename(path)} removed before the new sessions.json was made "
                      "durable (a power cut could leave entries pointing at removed files)")

    def _rename(self, dst: str, failed: bool) -> None:
        name = os.path.relpath(dst, self.sessions)
        # the report of a failed run is still saved: it holds no data, only what happened
        if self.fsync_failed_at is not None and dst != os.path.join(self.backup, REPORT):
            self._bad(f"rename onto {name} after the fsync of {self.fsync_failed_at} failed")
        src = self.latest_tmp.get(dst)
        tmp = self.tmps.get(src) if src else None
        if tmp is None:
            self._bad(f"rename onto {name} with no temporary file of ours opened for it")
        else:
            if not tmp.fsynced:
                self._bad(f"rename onto {name} of {os.path.basename(src or '')} before an fsync of it")
            if tmp.written_bad or tmp.fsync_failed or tmp.close_failed:
                self._bad(f"rename onto {name} of a temporary file whose write/fsync/close failed")
        folder = os.path.dirname(dst)
        if dst == self.store:
            if self.lock_ops == 0:
                self._bad("sessions.json renamed without a lock op first")
            holder = _lock_pid(self.lock)
            if holder != os.getpid():
                self._bad(f"sessions.json renamed while the lock file names {holder!r}, not us")
            pending = [n for n in self.unsynced.get(self.sessions, []) if n != STORE]
            if pending:
                self._bad(f"sessions.json renamed before the folder was fsynced after {pending}")
        if self.mode == "apply" and folder == self.sessions:
            if not self.manifest_written:
                self._bad(f"{name} renamed before the backup manifest was written")
            if self.unsynced.get(self.backup):
                self._bad(f"{name} renamed before the backup folder was fsynced")
            if not self.journal_synced:
                self._bad(f"{name} renamed while the journal's last write is not fsynced")
            if src is not None and not self._announced(os.path.basename(dst), src):
                self._bad(f"{name} renamed without a journal record of its new bytes")
        if dst == self.manifest and not failed:
            self.manifest_written = True
        if not failed:
            self.renames.append(name)
            self.unsynced.setdefault(folder, []).append(os.path.basename(dst))
            if src:
                self.latest_tmp.pop(dst, None)

    def _announced(self, file: str, src: str) -> bool:
        try:
            with open(src, "rb") as f:
                digest = sha(f.read())
            with open(self.journal, "rb") as f:
                lines = f.read().split(b"\n")
        except OSError:
            return False
        for line in lines:
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if isinstance(record, dict) and record.get("file") == file and record.get("sha256") == digest:
                return True
        return False

    def finish(self) -> None:
        """After a run that reported success: every rename was made durable."""
        for folder, names in self.unsynced.items():
            if names:
                self._bad(f"renamed in {os.path.relpath(folder, self.sessions)} and never fsynced "
                          f"the folder: {names}")


def _lock_pid(path: str) -> int | None:
    if not os.path.lexists(path):
        return None
    return SoftFileLock(path).pid


# ---------------------------------------------------------------- invariants


def check_consistent(root: Path, ref: Reference, *, debris_ok: bool = True) -> list[str]:
    """The state any interruption may leave (docs/guarantees.md): originals byte-identical;
    sessions.json absent, old or new, and whole JSON; every entry it has points at a complete
    transcript, and for a migrated session one equal to its source; every other file is as
    it was or as the migration leaves it; what was replaced is in the backup.  Temporary
    files and a lock file are tolerated only if ``debris_ok``."""
    problems: list[str] = []
    snap = outside_backup(root)
    for rel in ref.originals:
        if snap.get(rel) != ref.pristine.get(rel):
            problems.append(f"original {rel} changed")
    store_rel = ref.store_rel
    now = snap.get(store_rel)
    store: Any = None
    if now is not None:
        try:
            store = exact_loads(now[1])
        except ValueError as exc:
            problems.append(f"sessions.json is not whole JSON: {exc}")
    if store is not None and now != ref.pristine.get(store_rel):
        problems += _store_between(store, now, ref)
    if store is not None:
        for key, entry in store[1]:
            file = obj_get(entry, "session_file")
            path = root / SESSIONS / file
            if not path.is_file() or path.is_symlink():
                problems.append(f"entry {key} points at {file}, which is missing")
                continue
            values = transcript_values(path.read_bytes())
            if values is None:
                problems.append(f"entry {key} points at {file}, which is not complete JSON Lines")
            elif file in ref.lines and values != ref.lines[file]:
                problems.append(f"entry {key}: {file} differs from its source's messages")
    for rel, value in snap.items():
        base = os.path.basename(rel)
        if rel == store_rel:
            continue
        if rel in ref.pristine or rel in ref.migrated:
            if value not in (ref.pristine.get(rel), ref.migrated.get(rel)):
                problems.append(f"{rel} is neither as it was nor as the migration leaves it")
        elif debris_ok and (base.endswith(TEMP_SUFFIX) or base in (LOCK, OPLOCK)):
            pass
        else:
            problems.append(f"unexpected {rel}")
    for rel, before in ref.pristine.items():
        if before[0] != "file":
            continue
        if rel not in snap:
            problems.append(f"{rel} disappeared")
        elif snap[rel] != before and not backup_holds(root, before[1]):
            problems.append(f"{rel} was replaced but its old bytes are not in the backup")
    return problems


def _entries(data: bytes) -> dict[str, Any]:
    return dict(exact_loads(data)[1])


def _store_between(store: Any, now: tuple[Any, ...], ref: Reference) -> list[str]:
    """sessions.json as some run left it: every entry it had before is there, as it was or
    as the migration writes it; every other entry is one the migration writes, exactly."""
    problems = []
    old = _entries(ref.pristine[ref.store_rel][1]) if ref.store_rel in ref.pristine else {}
    new = _entries(ref.migrated[ref.store_rel][1])
    entries = dict(store[1])
    if len(entries) != len(store[1]):
        problems.append("sessions.json repeats a key")
    for key in old:
        if key not in entries:
            problems.append(f"sessions.json lost the entry {key}")
    for key, entry in entries.items():
        if entry != new.get(key) and entry != old.get(key):
            problems.append(f"sessions.json: {key} is neither as it was nor as migrated: {_short(entry)}")
    expected_mode = (ref.pristine.get(ref.store_rel) or ref.migrated[ref.store_rel])[2]
    if now[2] != expected_mode:
        problems.append(f"sessions.json has mode {now[2]:o}, not {expected_mode:o}")
    return problems


def check_migrated(root: Path, ref: Reference) -> list[str]:
    """The state a finished migration leaves: exactly the reference files outside the backup
    (so no lock file, no temporary file; sessions.json with exactly the reference entries,
    in whatever order the runs added them), none in the backup either, and verify agrees."""
    snap = outside_backup(root)
    problems = []
    store = snap.get(ref.store_rel)
    if store is not None and store != ref.migrated[ref.store_rel]:
        try:
            same = _entries(store[1]) == _entries(ref.migrated[ref.store_rel][1]) \
                and store[2] == ref.migrated[ref.store_rel][2]
        except ValueError:
            same = False
        if same:
            snap[ref.store_rel] = ref.migrated[ref.store_rel]
    problems += [f"not as migrated: {d}" for d in diff(snap, ref.migrated)]
    problems += [f"temporary file left: {t}" for t in temp_files(root)]
    result = verify_workspace(str(root))
    if not result.ok:
        problems += [f"verify: {p}" for p in result.problems]
    return problems


def check_pristine_simple(root: Path) -> dict[str, tuple[Any, ...]]:
    """Everything outside the backup, with the temporary files found anywhere (to compare
    before and after)."""
    snap = outside_backup(root)
    snap["<temporary files>"] = ("list", tuple(temp_files(root)))
    return snap


def check_pristine(root: Path, ref: Reference) -> list[str]:
    """The state a finished rollback leaves: everything outside the backup exactly as before
    the first run (bytes and permission bits; no lock file), and no temporary file."""
    problems = [f"not as before: {d}" for d in diff(outside_backup(root), ref.pristine)]
    problems += [f"temporary file left: {t}" for t in temp_files(root)]
    return problems


# ---------------------------------------------------------------- running many cases


_JOB: tuple[Callable[[Any], list[str]], list[Any]] | None = None


def run_cases(cases: list[Any], fn: Callable[[Any], list[str]], jobs: int = JOBS) -> list[str]:
    """Run ``fn(case)`` for each case (in ``jobs`` forked worker processes when > 1); return
    every problem found, each prefixed with its case.  An exception in a case is a problem."""
    global _JOB
    if jobs <= 1 or len(cases) < 8:
        return _run_chunk(fn, cases)
    _JOB = (fn, cases)  # inherited by the forked workers: nothing but indexes is pickled
    try:
        with ProcessPoolExecutor(max_workers=jobs, mp_context=get_context("fork")) as pool:
            futures = [pool.submit(_run_slice, i, jobs) for i in range(jobs)]
            return [p for f in futures for p in f.result()]
    finally:
        _JOB = None


def _run_slice(i: int, jobs: int) -> list[str]:
    assert _JOB is not None
    fn, cases = _JOB
    return _run_chunk(fn, cases[i::jobs])


def _run_chunk(fn: Callable[[Any], list[str]], cases: Iterable[Any]) -> list[str]:
    out = []
    for case in cases:
        try:
            out += [f"{case}: {p}" for p in fn(case)]
        except Exception:  # any exception is reported as a problem of this case
            out.append(f"{case}: raised\n{traceback.format_exc()}")
    return out


def report(problems: list[str], limit: int = 15) -> str:
    head = "\n".join(problems[:limit])
    more = f"\n… and {len(problems) - limit} more" if len(problems) > limit else ""
    return f"{len(problems)} problem(s):\n{head}{more}"


# ---------------------------------------------------------------- the real command


@dataclass
class CliRun:
    args: tuple[str, ...]
    rc: int
    stdout: str
    stderr: str

    @property
    def json(self) -> dict[str, Any]:
        return json.loads(self.stdout)

    def __str__(self) -> str:
        return (f"$ {' '.join(self.args)}\nexit {self.rc}\n"
                f"--- stdout\n{self.stdout}\n--- stderr\n{self.stderr}")


def cli_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PROOF_KILL")}
    env.update(PYTHONDONTWRITEBYTECODE="1", COLUMNS="200", **extra)
    return env


def run_cli(*args: str | os.PathLike[str], env: dict[str, str] | None = None) -> CliRun:
    argv = tuple(str(a) for a in args)
    proc = run_command(*argv, timeout=CLI_TIMEOUT, env=env or cli_env(), cwd=ROOT)
    return CliRun(argv, proc.returncode, proc.stdout, proc.stderr)


# The real command with a hook that SIGKILLs the process just before operation number
# PROOF_KILL_AT (counting every fsio operation from the start: scan, apply, report).  With
# PROOF_KILL_TEAR=1 and a write there, one byte of it is written first.  With PROOF_TRACE
# set, the operations are recorded there on a normal exit.  Test-only code stays here: the
# engine ships nothing for it.
KILL_DRIVER = r"""
import atexit, json, os, signal, sys
from migrate_tui.core import fsio
kill_at = int(os.environ.get("PROOF_KILL_AT", "-1"))
tear = os.environ.get("PROOF_KILL_TEAR") == "1"
trace_path = os.environ.get("PROOF_TRACE")
ops = []
state = {"n": 0, "tearing": False}
def hook(op, path):
    n = state["n"]
    state["n"] = n + 1
    if trace_path:
        ops.append((op, path))
    if state["tearing"] or n == kill_at:
        if tear and op == "write" and not state["tearing"]:
            state["tearing"] = True
            return 1
        os.kill(os.getpid(), signal.SIGKILL)
    return None
if trace_path:
    def dump():
        with open(trace_path, "w") as f:
            json.dump(ops, f)
    atexit.register(dump)
installed = fsio.fault_hook(hook)  # kept referenced: installed for the whole process
installed.__enter__()
from migrate_tui.cli import main
main(sys.argv[1:])
"""


def run_killed(*args: str | os.PathLike[str], kill_at: int = -1, tear: bool = False,
               trace: Path | None = None) -> CliRun:
    argv = tuple(str(a) for a in args)
    extra = {"PROOF_KILL_AT": str(kill_at), "PROOF_KILL_TEAR": "1" if tear else "0"}
    if trace is not None:
        extra["PROOF_TRACE"] = str(trace)
    env = cli_env()
    env.update(extra)
    proc = subprocess.run([sys.executable, "-c", KILL_DRIVER, *argv], capture_output=True,
                          text=True, timeout=CLI_TIMEOUT, stdin=subprocess.DEVNULL, env=env,
                          cwd=str(ROOT))
    return CliRun(argv, proc.returncode, proc.stdout, proc.stderr)


KILLED = -signal.SIGKILL


# ---------------------------------------------------------------- hypothesis


def proof_settings(default: int = 25, long: int = 400, **extra: Any) -> Any:
    """Modest example counts by default, many more under PROOF=long; never a deadline (no
    timed assertions), no example database (the default run is derandomized instead)."""
    from hypothesis import HealthCheck, settings

    return settings(
        max_examples=long if LONG else default,
        derandomize=not LONG,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                               HealthCheck.function_scoped_fixture, HealthCheck.filter_too_much],
        **extra,
    )
