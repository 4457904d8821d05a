"""A stateful proof: any sequence of migrate, crash, rerun, rollback, new sessions and crash
debris agrees with a simple model of the files (docs/guarantees.md).

The model is the pristine workspace as the user has it (a folder the machine adds new legacy
sessions to) and what a clean migration makes of it (``reference_from``).  After every step
the workspace must be consistent with that model (``check_consistent``); after a clean
migrate it must be exactly the migrated files, after a clean rollback exactly the pristine
ones.  Crashes are faults injected through ``fsio.fault_hook`` at a random operation: an
OSError (ENOSPC, EIO, EXDEV...), a torn write, or a KeyboardInterrupt (a second Ctrl-C,
which stops at once); "debris" is what a SIGKILL leaves that an exception does not: a
temporary file in .sessions/ and in the backup folder, and a lock file of a dead process.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from filelock._identity import host_name
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from tests.proof.proof_support import (
    LOCK,
    LONG,
    OLD_MTIME,
    SESSIONS,
    Fault,
    Protocol,
    check_consistent,
    check_migrated,
    check_pristine,
    copy_workspace,
    migrate_inproc,
    proof_settings,
    reference_from,
    rollback_inproc,
    write_legacy_session,
    write_scenario,
)

KINDS = st.sampled_from([None, "ENOSPC", "EIO", "EXDEV", "torn", "short", "interrupt"])


def _dead_pid() -> int:
    child = subprocess.Popen(["true"])
    child.wait()
    return child.pid


class MigrationMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.tmp = Path(tempfile.mkdtemp(prefix="proof-stateful-"))
        self.pristine = self.tmp / "pristine"
        write_scenario(self.pristine)
        self.ws = copy_workspace(self.pristine, self.tmp / "ws")
        self.ref = reference_from(self.pristine, self.tmp / "scratch")
        self.added = 0
        self.state = "pristine"  # "pristine" | "migrated" | "between"

    def teardown(self) -> None:
        shutil.rmtree(self.tmp, ignore_errors=True)

    # ------------------------------------------------------------ clean runs

    @rule()
    def migrate(self) -> None:
        protocol = Protocol(self.ws, "apply")
        run = migrate_inproc(self.ws, Fault(None, protocol=protocol))
        assert run.code == 0 and run.result.error is None, run
        protocol.finish()
        assert protocol.violations == []
        assert check_migrated(self.ws, self.ref) == []
        self.state = "migrated"

    @rule()
    def rollback(self) -> None:
        protocol = Protocol(self.ws, "rollback")
        result = rollback_inproc(self.ws, Fault(None, protocol=protocol))
        assert result.ok, result.message
        protocol.finish()
        assert protocol.violations == []
        assert check_pristine(self.ws, self.ref) == []
        self.state = "pristine"

    # ------------------------------------------------------------ crashes

    @rule(k=st.integers(0, 280), kind=KINDS, persistent=st.booleans())
    def migrate_crashing(self, k: int, kind: str | None, persistent: bool) -> None:
        protocol = Protocol(self.ws, "apply")
        hook = Fault(k, kind, persistent=persistent, protocol=protocol)
        try:
            migrate_inproc(self.ws, hook)
        except KeyboardInterrupt:
            assert kind == "interrupt"
        assert protocol.violations == []
        if hook.fired is None:  # fewer operations than k: that was a clean run
            assert check_migrated(self.ws, self.ref) == []
            self.state = "migrated"
        else:
            self.state = "between"

    @rule(k=st.integers(0, 120), kind=KINDS, persistent=st.booleans())
    def rollback_crashing(self, k: int, kind: str | None, persistent: bool) -> None:
        protocol = Protocol(self.ws, "rollback")
        hook = Fault(k, kind, persistent=persistent, protocol=protocol)
        try:
            rollback_inproc(self.ws, hook)
        except KeyboardInterrupt:
            assert kind == "interrupt"
        assert protocol.violations == []
        self.state = "between" if hook.fired is not None else self.state

    @precondition(lambda self: (self.ws / SESSIONS / "backup_old_format").is_dir())
    @rule(in_backup=st.booleans(), lock=st.booleans())
    def debris_of_a_kill(self, in_backup: bool, lock: bool) -> None:
        """What a SIGKILL of a migration leaves (only once a migration started: the backup
        folder comes first)."""
        sessions = self.ws / SESSIONS
        (sessions / ".legacy-notes.jsonl.0badf00d.migrate_tui.tmp").write_bytes(b'{"role":"us')
        backup = sessions / "backup_old_format"
        if in_backup and backup.is_dir():
            (backup / ".manifest.json.0badf00d.migrate_tui.tmp").write_bytes(b'{"vers')
        if lock and not (sessions / LOCK).exists():
            (sessions / LOCK).write_text(f"{_dead_pid()}\n{host_name()}\n")
        self.state = "between"

    # ------------------------------------------------------------ the user keeps using the agent

    @rule(messages=st.integers(0, 3), keyed=st.booleans())
    def a_new_legacy_session(self, messages: int, keyed: bool) -> None:
        sid = f"added-{self.added}"
        self.added += 1
        msgs = [{"role": "user", "content": f"{sid} #{i}", "n": 10**30 + i, "x": None}
                for i in range(messages)]
        meta = {"label": sid, "session_key": f"agent:main:added:{sid}"} if keyed else {"label": sid}
        for folder in (self.pristine, self.ws):
            path = write_legacy_session(folder / SESSIONS, sid, msgs, meta, "2026-02-11T10:00:00+00:00",
                                        "2026-02-11T12:00:00+00:00")
            os.utime(path, (OLD_MTIME, OLD_MTIME))
        self.ref = reference_from(self.pristine, self.tmp / "scratch")
        if self.state == "migrated":
            self.state = "between"

    # ------------------------------------------------------------ always

    @invariant()
    def consistent(self) -> None:
        problems = check_consistent(self.ws, self.ref)
        assert problems == [], problems

    @precondition(lambda self: self.state == "between")
    @invariant()
    def recoverable_both_ways(self) -> None:
        """From an in-between state both recoveries work (tried on copies)."""
        forward = copy_workspace(self.ws, self.tmp / "forward")
        run = migrate_inproc(forward)
        assert run.code == 0 and run.result.error is None, run
        assert check_migrated(forward, self.ref) == []
        back = copy_workspace(self.ws, self.tmp / "back")
        result = rollback_inproc(back)
        assert result.ok, result.message
        assert check_pristine(back, self.ref) == []


MigrationMachine.TestCase.settings = proof_settings(
    default=20, long=200, stateful_step_count=30 if LONG else 10)
test_migrate_crash_rerun_rollback_agree_with_the_model = MigrationMachine.TestCase
