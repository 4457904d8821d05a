"""Helpers for the engine suite (tests/engine): build real legacy workspaces, run the real
command, and look at the files it left.

What every suite shares (legacy messages, JSONL reading, hashes, the subprocess) comes from
``tests.support``.
"""

from __future__ import annotations

import json
import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from migrate_tui.demo import write_legacy_session, write_session_map
from tests.support import (  # noqa: F401 - the engine suite's tests import them from here
    CLI_TIMEOUT,
    CREATED_AT,
    OLD_MTIME,
    UPDATED_AT,
    UPDATED_MS,
    conversation,
    message,
    read_jsonl,
    run_command,
    sha,
    without_nulls,
)


def canonical(value: Any) -> str:
    """A text that is equal for equal JSON values *with equal key order* (NaN equals NaN)."""
    return json.dumps(value, ensure_ascii=True, allow_nan=True)


def tree(root: Path) -> dict[str, tuple[Any, ...]]:
    """Every entry under ``root`` (symlinks not followed): relative path → (kind, sha256 or
    link target, permission bits, mtime_ns).  Equal trees mean nothing was written."""
    out: dict[str, tuple[Any, ...]] = {}
    for folder, dirs, files in os.walk(root):
        for name in sorted(dirs + files):
            path = Path(folder) / name
            rel = str(path.relative_to(root))
            st = os.lstat(path)
            mode = stat.S_IMODE(st.st_mode)
            if stat.S_ISLNK(st.st_mode):
                out[rel] = ("symlink", os.readlink(path), st.st_mtime_ns)
            elif stat.S_ISDIR(st.st_mode):
                out[rel] = ("dir", mode, st.st_mtime_ns)
            else:
                out[rel] = ("file", sha(path.read_bytes()), mode, st.st_mtime_ns)
    return out


def diff(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    return [f"{name}: {before.get(name)} -> {after.get(name)}"
            for name in sorted(set(before) | set(after)) if before.get(name) != after.get(name)]


# ---------------------------------------------------------------- the command


@dataclass
class Run:
    args: tuple[str, ...]
    rc: int
    stdout: str
    stderr: str

    @property
    def report(self) -> dict[str, Any]:
        """stdout as exactly one JSON object, nothing before or after it."""
        decoder = json.JSONDecoder()
        text = self.stdout
        value, end = decoder.raw_decode(text, len(text) - len(text.lstrip()))
        assert text[end:].strip() == "", f"more than one JSON object on stdout:\n{self}"
        assert isinstance(value, dict), str(self)
        return value

    def session(self, session_id: str) -> dict[str, Any]:
        found = [s for s in self.report["sessions"] if s["session_id"] == session_id]
        assert len(found) == 1, (session_id, self.report["sessions"])
        return found[0]

    def __str__(self) -> str:
        return (f"$ migrate-tui {' '.join(self.args)}\nexit {self.rc}\n--- stdout\n{self.stdout}"
                f"\n--- stderr\n{self.stderr}")


def run_cli(*args: str | os.PathLike[str], timeout: float = CLI_TIMEOUT) -> Run:
    """The real command, ``python -m migrate_tui ...``, in a subprocess."""
    argv = tuple(str(a) for a in args)
    proc = run_command(*argv, timeout=timeout)
    run = Run(argv, proc.returncode, proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr and "Traceback" not in proc.stdout, str(run)
    return run


# ---------------------------------------------------------------- a workspace


class Workspace:
    """A legacy workspace in ``root``: ``root/.sessions/`` with files as the old writer wrote them."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.sessions = root / ".sessions"
        self.sessions.mkdir(parents=True, exist_ok=True)
        self.session_map: dict[str, str] = {}

    # building ---------------------------------------------------------

    def add(self, sid: str, msgs: list[Any] | None = None, *, keys: tuple[str, ...] = (),
            metadata: dict[str, Any] | None = None, created_at: str = CREATED_AT,
            updated_at: str = UPDATED_AT, file_name: str | None = None, mode: int | None = None,
            n: int = 3) -> Path:
        """A legacy session file (written by the demo's exact old-writer code)."""
        if msgs is None:
            msgs = conversation(sid, n)
        if metadata is None:
            metadata = {"label": sid, "display_name": sid.title(), "thinking_level": "high"}
        path = write_legacy_session(self.sessions, sid, msgs, metadata, created_at, updated_at,
                                    file_name=file_name)
        if mode is not None:
            os.chmod(path, mode)
        os.utime(path, (OLD_MTIME, OLD_MTIME))
        for key in keys:
            self.map(key, sid)
        return path

    def write_raw(self, name: str, data: str | bytes, mode: int | None = None) -> Path:
        path = self.sessions / name
        path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
        if mode is not None:
            os.chmod(path, mode)
        os.utime(path, (OLD_MTIME, OLD_MTIME))
        return path

    def map(self, key: str, sid: str) -> None:
        self.session_map[key] = sid
        path = write_session_map(self.sessions, self.session_map)
        os.utime(path, (OLD_MTIME, OLD_MTIME))

    def write_store(self, store: dict[str, Any] | str) -> Path:
        text = store if isinstance(store, str) else json.dumps(store, indent=2)
        return self.write_raw("sessions.json", text)

    # running ----------------------------------------------------------

    def migrate(self, *args: str) -> Run:
        return run_cli("migrate", self.root, "--json", "--lock-timeout", "5", *args)

    def cli(self, command: str, *args: str) -> Run:
        return run_cli(command, self.root, *args)

    # looking ----------------------------------------------------------

    @property
    def backup(self) -> Path:
        return self.sessions / "backup_old_format"

    def store_bytes(self) -> bytes:
        return (self.sessions / "sessions.json").read_bytes()

    def store(self) -> dict[str, Any]:
        return json.loads(self.store_bytes())

    def transcript(self, sid: str) -> list[Any]:
        return read_jsonl(self.sessions / f"{sid}.jsonl")

    def manifest(self) -> dict[str, dict[str, Any]]:
        return json.loads((self.backup / "manifest.json").read_bytes())["files"]

    def tree(self) -> dict[str, tuple[Any, ...]]:
        return tree(self.root)


# spying ---------------------------------------------------------------


def record_journal_parses(monkeypatch: Any) -> list[bytes]:
    """Have every journal record parsed whole (``journal._loads``) recorded, in order, in
    the list returned; the tests of the lean reading assert what never gets there."""
    from migrate_tui.engine import journal

    parsed: list[bytes] = []
    real = journal._loads

    def spy(raw: bytes) -> Any:
        parsed.append(raw)
        return real(raw)

    monkeypatch.setattr(journal, "_loads", spy)
    return parsed
