"""End to end: the real command in a pseudo-terminal (80×24), driven with keys, its screen
rendered with pyte; checked on the screen and on the files written."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import sys
import time
from pathlib import Path

import pexpect
import pyte
import pytest

from migrate_tui.engine import build_plan, scan_workspace
from migrate_tui.engine.selection import select

COLUMNS, LINES = 80, 24
DOWN = "\x1b[B"


class Terminal:
    def __init__(self, args: list[str], cwd: Path) -> None:
        env = dict(os.environ, TERM="xterm-256color", COLUMNS=str(COLUMNS), LINES=str(LINES),
                   TEXTUAL_ANIMATIONS="none")
        self.child = pexpect.spawn(args[0], args[1:], cwd=str(cwd), env=env,
                                   dimensions=(LINES, COLUMNS), encoding="utf-8",
                                   codec_errors="replace")
        self.screen = pyte.Screen(COLUMNS, LINES)
        self.stream = pyte.Stream(self.screen)

    @property
    def text(self) -> str:
        return "\n".join(self.screen.display)

    def _read(self, timeout: float) -> None:
        with contextlib.suppress(pexpect.TIMEOUT):
            self.stream.feed(self.child.read_nonblocking(65536, timeout=timeout))

    def wait_for(self, needle: str, timeout: float = 20.0) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self._read(0.1)
            if needle in self.text:
                self._read(0.2)  # let the rest of the frame arrive
                return self.text
        raise AssertionError(f"{needle!r} never appeared; the screen shows:\n{self.text}")

    def send(self, keys: str) -> None:
        self.child.send(keys)

    def wait_exit(self, timeout: float = 20.0) -> int:
        deadline = time.monotonic() + timeout
        while self.child.isalive() and time.monotonic() < deadline:
            try:
                self._read(0.1)
            except pexpect.EOF:
                break
        self.child.close()
        return self.child.exitstatus if self.child.exitstatus is not None else -1


@pytest.mark.skipif(sys.platform == "win32", reason="needs a pseudo-terminal")
def test_the_command_migrates_in_a_terminal(demo, tmp_path: Path) -> None:
    folder = Path(demo.sessions_dir)
    term = Terminal([sys.executable, "-m", "migrate_tui", "demo"], tmp_path)
    try:
        screen = term.wait_for("Legacy session files")
        assert "step 1 of 8: Workspace" in screen and "18" in screen
        term.send("\r")  # scan
        screen = term.wait_for("step 3 of 8: Plan")
        assert "To migrate 13" in term.wait_for("To migrate 13")
        term.send(DOWN)
        time.sleep(0.3)
        term.send(" ")  # skip the second session
        term.wait_for("skipped 1")
        term.send("\r")  # → the errors review (problems are left)
        term.wait_for("step 4 of 8: Errors review")
        term.send("\r")  # → backup
        term.wait_for("step 6 of 8: Backup")
        screen = term.wait_for("demo/.sessions/backup_old_format")
        assert "Originals are never modified" in screen
        term.send("\r")  # migrate
        screen = term.wait_for("step 8 of 8: Result", timeout=30)
        screen = term.wait_for("Verification:")
        assert "passed" in screen
        term.send("q")
        code = term.wait_exit()
    finally:
        if term.child.isalive():
            term.child.terminate(force=True)
    assert code == 1  # the sessions with problems were not migrated
    skipped = sorted(p.name[:-5] for p in folder.glob("*.json")
                     if p.name not in ("sessions.json", "session_map.json"))[1]
    store = json.loads((folder / "sessions.json").read_text())
    assert "agent:main:main" in store
    assert all(entry["session_id"] != skipped for entry in store.values())
    assert not (folder / f"{skipped}.jsonl").exists()
    assert (folder / "legacy-notes.jsonl").exists()


@pytest.mark.skipif(sys.platform == "win32", reason="needs a pseudo-terminal")
def test_a_bulk_decision_then_continuing_after_a_partial_run(crowd, tmp_path: Path) -> None:
    """In a real terminal: the old cron sessions skipped with a query and three keys; the
    migration; back to the plan with what is left; every session cut short salvaged at once
    from the fix dialog; migrated again; all without restarting."""
    folder = Path(crowd.sessions_dir)
    plan = build_plan(scan_workspace(str(crowd.root)))
    old_cron = {ps.file_id for ps in select(plan, "key:*:cron:* older:30d")}
    cut = {ps.file_id for ps in select(plan, "problem:invalid_json")}
    assert len(old_cron) >= 8 and len(cut) == 7
    term = Terminal([sys.executable, "-m", "migrate_tui", "demo"], tmp_path)
    try:
        term.wait_for("Legacy session files")
        term.send("\r")
        term.wait_for("step 3 of 8: Plan")
        term.wait_for("To migrate")  # the plan's totals: the screen takes keys (a "/" sent
        term.send("/")               # before it was lost now and then, under load)
        # the query typed once the search box has the focus (its footer shown): Textual gives
        # the focus by a callback queued behind keys already typed, which a busy first second
        # of the screen (its first preview) would send to the table
        term.wait_for("/ Search esc Back")
        term.send("key:*:cron:* older:30d\r")
        term.wait_for(f"row 1 of {len(old_cron)}")
        term.send("a")
        term.wait_for(f"{len(old_cron)} marked")
        term.send(" ")
        term.wait_for(f"skipped {len(old_cron)}")
        term.send("\r")  # → the errors review (problems are left)
        term.wait_for("step 4 of 8: Errors review")
        term.send("\r")
        term.wait_for("step 6 of 8: Backup")
        term.wait_for("enough")
        term.send("\r")
        term.wait_for("step 8 of 8: Result", timeout=60)
        term.wait_for("back to the plan with what is left")
        for fid in old_cron | cut:
            assert not (folder / f"{fid}.jsonl").exists()
        term.send("p")
        term.wait_for("step 3 of 8: Plan", timeout=60)
        term.wait_for("already done")
        term.send("/")
        term.wait_for("/ Search esc Back")  # (the search box has the focus: see above)
        term.send("\x15")  # ctrl+u: clear the query typed before
        term.send("problem:invalid_json\r")
        term.wait_for("row 1 of 7")
        term.send("f")
        term.wait_for("apply to every session with this problem")
        term.send("a")
        term.wait_for("[x] a:")
        term.send("\r")  # salvage, for all seven
        term.wait_for("fixed 7")
        term.send("\r")
        term.wait_for("step 4 of 8: Errors review")
        term.send("\r")
        term.wait_for("step 6 of 8: Backup")
        term.wait_for("enough")
        term.send("\r")
        screen = term.wait_for("step 8 of 8: Result", timeout=60)
        screen = term.wait_for("Verification:")
        assert "7 sessions migrated" in screen
        term.send("q")
        code = term.wait_exit()
    finally:
        if term.child.isalive():
            term.child.terminate(force=True)
    assert code == 1  # problems are still left (the four other damaged files)
    for fid in cut:
        assert (folder / f"{fid}.jsonl").exists()
    for fid in old_cron:
        assert not (folder / f"{fid}.jsonl").exists()
    store = json.loads((folder / "sessions.json").read_text())
    assert {e["session_id"] for e in store.values()} >= cut


@pytest.mark.skipif(sys.platform == "win32", reason="needs a pseudo-terminal")
def test_a_held_lock_is_waited_for_in_a_terminal(demo, tmp_path: Path) -> None:
    """The agent (here: this test's process) holds sessions.json.lock when the migration is
    asked for: the wizard waits and says who holds it; once it is free, `r` migrates."""
    folder = Path(demo.sessions_dir)
    lock = folder / "sessions.json.lock"
    lock.write_text(f"{os.getpid()}\n{socket.gethostname()}\n")
    term = Terminal([sys.executable, "-m", "migrate_tui", "demo"], tmp_path)
    try:
        term.wait_for("Legacy session files")
        term.send("\r")
        term.wait_for("step 3 of 8: Plan")
        term.wait_for("To migrate 13")
        term.send("\r")
        term.wait_for("step 4 of 8: Errors review")
        term.send("\r")
        term.wait_for("step 6 of 8: Backup")
        term.wait_for("enough")
        term.send("\r")
        screen = term.wait_for("Waiting for a lock")
        screen = term.wait_for(f"held by process {os.getpid()}")
        assert "nothing was written" in screen and "Next try in" in screen
        assert not (folder / "sessions.json").exists() and not (folder / "backup_old_format").exists()
        lock.unlink()
        term.send("r")
        term.wait_for("step 8 of 8: Result", timeout=30)
        term.wait_for("Verification:")
        term.send("q")
        code = term.wait_exit()
    finally:
        if term.child.isalive():
            term.child.terminate(force=True)
    assert code == 1  # done; the sessions with problems were not migrated
    assert (folder / "sessions.json").exists()
