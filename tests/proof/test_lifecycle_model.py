"""A model of the whole lifecycle: migrate (complete, cancelled, killed at a random point,
refused because sessions.json.lock or our operation lock is held), rollback, cleanup,
verify and a live agent (store updates, legacy rewrites, new legacy sessions) in random
orders.  After every step:

* every session's conversation is reachable by the agent (an entry pointing at a transcript
  that holds exactly its messages) or still there as its legacy file;
* ``verify``'s answer tells the truth: it passes exactly when every session is migrated and
  matching (transcript, entry, every session_map key) and no run is left interrupted.

Both are judged from the files and this model alone, never from what the engine says of
itself; "interrupted" is what the model saw happen: a migration or rollback that wrote its
begin record and was stopped, not followed by a complete migration or rollback.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import tempfile
import threading
from pathlib import Path
from typing import Any

from filelock import SoftFileLock
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from migrate_tui.core import fsio
from migrate_tui.core.errors import LockBusy
from migrate_tui.engine import Decision, apply_plan, build_plan, scan_workspace
from migrate_tui.engine.cleanup import cleanup_workspace
from migrate_tui.engine.rollback import rollback_workspace
from migrate_tui.engine.verify import verify_workspace
from migrate_tui.store import update_session_store
from tests.proof.proof_support import (
    LONG,
    OLD_MTIME,
    OPLOCK,
    SESSIONS,
    expected_lines,
    proof_settings,
    transcript_values,
    write_legacy_session,
    write_session_map,
)

KEYS = {"s-a": ("agent:main:main", "agent:main:telegram:dm:1"), "s-b": ("agent:main:discord:group:g",),
        "s-c": ()}
CREATED = "2026-02-11T10:00:00.708148+00:00"
UPDATED = "2026-02-11T12:00:00.708267+00:00"


def _dead_pid() -> int:
    child = subprocess.Popen(["true"])
    child.wait()
    return child.pid


class Interrupt(BaseException):
    """A kill at a chosen operation: it stops the run at once (nothing after it runs but the
    ``finally`` blocks), as a SIGKILL would; the debris only a SIGKILL leaves is added after."""


class LifecycleMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.tmp = Path(tempfile.mkdtemp(prefix="proof-lifecycle-"))
        self.ws = self.tmp / "ws"
        self.sessions = self.ws / SESSIONS
        self.sessions.mkdir(parents=True)
        self.content: dict[str, bytes] = {}  # session id → the legacy bytes the agent last wrote
        self.messages: dict[str, list[Any]] = {}
        self.interrupted = False  # a run began and was stopped, and nothing finished it since
        self.added = 0
        session_map = {}
        for sid, keys in KEYS.items():
            self._write(sid, [{"role": "user", "content": f"{sid} #0", "n": 10**20, "x": None}])
            session_map.update({k: sid for k in keys})
        os.utime(write_session_map(self.sessions, session_map), (OLD_MTIME, OLD_MTIME))
        self.map_keys = {sid: list(keys) for sid, keys in KEYS.items()}

    def teardown(self) -> None:
        shutil.rmtree(self.tmp, ignore_errors=True)

    def _write(self, sid: str, messages: list[Any]) -> None:
        self.messages[sid] = messages
        path = write_legacy_session(self.sessions, sid, messages, {"label": sid}, CREATED, UPDATED)
        os.utime(path, (OLD_MTIME, OLD_MTIME))
        self.content[sid] = path.read_bytes()

    # ------------------------------------------------------------ running our commands

    def _migrate(self, hook: Any = None, cancel: Any = None, lock_timeout: float = 5.0) -> Any:
        scan = scan_workspace(str(self.ws))
        decisions = {s.file_id: Decision(fixes=frozenset({"replace-existing"})) for s in scan.sessions}
        plan = build_plan(scan, "main", decisions)
        with fsio.fault_hook(hook) if hook is not None else contextlib.nullcontext():
            return apply_plan(plan, cancel=cancel, lock_timeout=lock_timeout)

    @rule()
    def migrate(self) -> None:
        result = self._migrate()
        assert result.error is None and not result.failed and result.verified is not False, result
        self.interrupted = False

    @rule(k=st.integers(0, 150), cancel=st.booleans())
    def migrate_stopped(self, k: int, cancel: bool) -> None:
        """Cancelled (a safe point after the k-th operation) or killed at the k-th operation."""
        journal = str(self.sessions / "backup_old_format" / "journal.jsonl")
        seen = {"n": 0, "began": False, "stopped": False}
        flag = threading.Event()

        def hook(op: str, path: str) -> None:
            n = seen["n"]
            seen["n"] += 1
            if n == k:
                seen["stopped"] = True
                if cancel:
                    flag.set()
                else:
                    raise Interrupt
            if op == "write" and path == journal:
                seen["began"] = True

        try:
            result = self._migrate(hook, flag if cancel else None)
        except Interrupt:
            result = None
            self._debris_of_a_kill()
        if (result is not None and result.committed) or (result is None and self._last_record() == "commit"):
            self.interrupted = False  # finished (killed while saving its report, or letting go)
        elif seen["stopped"] and seen["began"]:
            self.interrupted = True

    @rule()
    def migrate_killed_just_before_its_commit(self) -> None:
        """Everything is written but the commit record: the files look migrated, and the run
        is still interrupted."""
        journal = str(self.sessions / "backup_old_format" / "journal.jsonl")
        keys_written = {"yes": False}

        def hook(op: str, path: str) -> None:
            if op == "write" and path == journal and keys_written["yes"]:
                raise Interrupt
            if op == "rename" and path == str(self.sessions / "sessions.json"):
                keys_written["yes"] = True

        try:
            result = self._migrate(hook)
        except Interrupt:
            self._debris_of_a_kill()
            self.interrupted = True
            return
        if result.committed:  # it had nothing to write to sessions.json (done already)
            self.interrupted = False

    @rule()
    def rollback_cancelled_before_its_first_file(self) -> None:
        flag = threading.Event()
        flag.set()
        journal = self.sessions / "backup_old_format" / "journal.jsonl"
        before = journal.stat().st_size if journal.exists() else 0
        result = rollback_workspace(str(self.ws), cancel=flag, force=True, lock_timeout=5)
        began = journal.exists() and journal.stat().st_size > before
        if result.cancelled and began:
            self.interrupted = True
        elif result.ok:  # it had no file to undo, and finished (undoing an interrupted run)
            self.interrupted = False

    @rule()
    def migrate_while_the_agent_holds_the_lock(self) -> None:
        lock = SoftFileLock(str(self.sessions / "sessions.json.lock"), thread_local=False)
        lock.acquire()
        try:
            before = self._snapshot()
            try:
                result = self._migrate(lock_timeout=0.05)
            except LockBusy:
                result = None
            if result is not None:  # nothing to write: it did not need the lock
                assert not result.written
                if result.committed:  # it completed an interrupted run
                    self.interrupted = False
            else:
                assert self._snapshot() == before  # refused before writing anything
        finally:
            lock.release()

    @rule()
    def migrate_while_another_command_runs(self) -> None:
        before = self._snapshot()
        fd = fsio.hold_lock_file(str(self.sessions / OPLOCK), b'{"command": "rollback"}\n')
        try:
            try:
                result = self._migrate()
            except LockBusy:  # OperationBusy
                result = None
            assert result is None or not result.written
        finally:
            fsio.release_lock_file(str(self.sessions / OPLOCK), fd)
        assert self._snapshot() == before

    def _last_record(self) -> str | None:
        """The operation of the journal's last record (the run a kill stopped may have
        written its end just before)."""
        path = self.sessions / "backup_old_format" / "journal.jsonl"
        if not path.is_file():
            return None
        lines = [line for line in path.read_bytes().split(b"\n") if line.strip()]
        try:
            return json.loads(lines[-1]).get("op") if lines else None
        except ValueError:
            return None

    def _debris_of_a_kill(self) -> None:
        """What a SIGKILL leaves that an exception does not: our operation lock, naming a
        process that is gone, and a temporary file."""
        if not (self.sessions / OPLOCK).exists():
            (self.sessions / OPLOCK).write_text(json.dumps({"pid": _dead_pid(), "command": "migrate"}) + "\n")
        (self.sessions / ".s-a.jsonl.0badf00d.migrate_tui.tmp").write_bytes(b'{"role":"us')

    @rule(k=st.one_of(st.none(), st.integers(0, 60)))
    def rollback(self, k: int | None) -> None:
        journal = str(self.sessions / "backup_old_format" / "journal.jsonl")
        seen = {"n": 0, "began": False}

        def hook(op: str, path: str) -> None:
            n = seen["n"]
            seen["n"] += 1
            if n == k:
                raise Interrupt
            if op == "write" and path == journal:
                seen["began"] = True

        try:
            with fsio.fault_hook(hook):
                result = rollback_workspace(str(self.ws), lock_timeout=5)
                if not result.ok and result.refused:  # the agent wrote since: roll back anyway
                    result = rollback_workspace(str(self.ws), force=True, lock_timeout=5)
        except Interrupt:
            self._debris_of_a_kill()
            if self._last_record() == "rollback":
                self.interrupted = False  # it finished, and was killed letting go of its lock
            elif seen["began"]:
                self.interrupted = True
            return
        assert result.ok, result.message
        self.interrupted = False

    @rule()
    def cleanup(self) -> None:
        before = {sid: (self.sessions / f"{sid}.json").exists() for sid in self.content}
        result = cleanup_workspace(str(self.ws))
        if self.interrupted:
            assert result.refused and not result.removed, result
        for sid, was in before.items():
            if was and not (self.sessions / f"{sid}.json").exists():
                assert self._reachable(sid), \
                    f"clean-up removed {sid}.json, whose conversation is not reachable"

    # ------------------------------------------------------------ the agent meanwhile

    @rule(data=st.data())
    def agent_updates_the_store(self, data: st.DataObject) -> None:
        path = self.sessions / "sessions.json"
        if not path.exists():
            return
        keys = sorted(json.loads(path.read_bytes()))
        if not keys:
            return
        key = data.draw(st.sampled_from(keys))
        update_session_store(str(path), lambda s: s[key].__setitem__("thinking_level", "low"))

    @rule(data=st.data())
    def agent_rewrites_a_legacy_session(self, data: st.DataObject) -> None:
        present = sorted(sid for sid in self.content if (self.sessions / f"{sid}.json").exists())
        if not present:
            return
        sid = data.draw(st.sampled_from(present))
        n = len(self.messages[sid])
        self._write(sid, [*self.messages[sid], {"role": "assistant", "content": f"{sid} #{n}"}])

    @rule()
    def agent_adds_a_legacy_session(self) -> None:
        sid = f"new-{self.added}"
        self.added += 1
        self.map_keys[sid] = []
        self._write(sid, [{"role": "user", "content": f"{sid} #0"}])

    # ------------------------------------------------------------ looking

    def _snapshot(self) -> dict[str, bytes]:
        """Every file of the workspace but a kill's debris (which any command may tidy)."""
        out = {}
        for folder, _dirs, files in os.walk(self.sessions):
            for name in files:
                if name == OPLOCK or name.endswith(fsio.TEMP_SUFFIX):
                    continue
                path = os.path.join(folder, name)
                with open(path, "rb") as f:
                    out[os.path.relpath(path, self.sessions)] = f.read()
        return out

    def _store(self) -> dict[str, Any]:
        path = self.sessions / "sessions.json"
        return json.loads(path.read_bytes()) if path.exists() else {}

    def _transcript_holds(self, sid: str) -> bool:
        path = self.sessions / f"{sid}.jsonl"
        if not path.is_file():
            return False
        return transcript_values(path.read_bytes()) == expected_lines(self.content[sid])

    def _pointing(self, entry: Any, sid: str) -> bool:
        return isinstance(entry, dict) and entry.get("session_id") == sid \
            and entry.get("session_file") == f"{sid}.jsonl"

    def _reachable(self, sid: str) -> bool:
        return self._transcript_holds(sid) and any(self._pointing(e, sid) for e in self._store().values())

    def _migrated(self, sid: str) -> bool:
        store = self._store()
        keys = self.map_keys[sid] if (self.sessions / "session_map.json").exists() else []
        return self._reachable(sid) and all(self._pointing(store.get(k), sid) for k in keys)

    @invariant()
    def every_conversation_is_reachable_or_in_place(self) -> None:
        for sid, data in self.content.items():
            legacy = self.sessions / f"{sid}.json"
            in_place = legacy.is_file() and legacy.read_bytes() == data
            assert in_place or self._reachable(sid), f"{sid}: neither in place nor reachable"

    @invariant()
    def verify_tells_the_truth(self) -> None:
        truth = not self.interrupted and all(self._migrated(sid) for sid in self.content)
        result = verify_workspace(str(self.ws))
        assert result.ok == truth, (truth, self.interrupted, result.problems)


LifecycleMachine.TestCase.settings = proof_settings(
    default=60, long=300, stateful_step_count=40 if LONG else 15)
test_the_lifecycle_agrees_with_the_model = LifecycleMachine.TestCase
