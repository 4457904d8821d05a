"""Builders for the hostile-workspace suite (docs/problems.md, docs/guarantees.md).

Every test builds a real workspace in ``tmp_path``::

    tmp_path/
    ├── ws/.sessions/          the workspace under test, with one good session always present
    └── outside/               files the migration must never read, write or create

and runs the real command (``python -m migrate_tui``) in a subprocess with a timeout, so a
scan that hangs (a FIFO) fails the test instead of hanging the suite.  ``Hostile.check``
asserts the guarantees every hostile case shares:

* the ``outside`` folder is byte-for-byte as it was and nothing new appeared there, nor
  anywhere in ``tmp_path`` outside ``ws/.sessions/``;
* nothing that existed in ``.sessions/`` before is lost: each entry is still there as it
  was, or (for a file the migration replaced) its exact bytes are in the backup;
* no traceback on stderr;
* the good session beside the hostile one is migrated (transcript and entry exact).
"""

from __future__ import annotations

import json
import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.support import (  # noqa: F401 - the hostile suite's tests import them from here
    CLI_TIMEOUT,
    CREATED_AT,
    CREATED_MS,
    UPDATED_AT,
    UPDATED_MS,
    conversation,
    message,
    read_jsonl,
    run_command,
    sha,
)

FIXED_MTIME = 1_767_225_600  # 2026-01-01T00:00:00Z: old enough not to look "recently changed"
OUTSIDE_MARKER = "OUTSIDE-SECRET-7f3a"  # text only the files outside the workspace hold
GOOD_ID = "good-1"
GOOD_KEY = "agent:main:main"

# ---------------------------------------------------------------- legacy content (docs/formats.md)




def legacy(session_id: Any, n: int = 3, label: str | None = None, **metadata: Any) -> dict[str, Any]:
    label = label or str(session_id)
    return {
        "session_id": session_id,
        "messages": conversation(label, n),
        "metadata": {"label": label, "display_name": label.title(), "thinking_level": "high",
                     **metadata},
        "created_at": CREATED_AT,
        "updated_at": UPDATED_AT,
    }


def dump(value: Any) -> str:
    """As the old writer wrote it: json.dump(..., indent=2, default=str)."""
    return json.dumps(value, indent=2, default=str)


def lines_of(msgs: list[Any]) -> list[dict[str, Any]]:
    """What a transcript holds for these messages: null-valued fields left out."""
    return [{k: v for k, v in m.items() if v is not None} for m in msgs]


# ---------------------------------------------------------------- trees


def snapshot(root: Path, skip: tuple[str, ...] = ()) -> dict[str, tuple[Any, ...]]:
    """Every entry under ``root`` (never following a symlink, never opening a FIFO):
    relative path → (kind, content hash or link target, permission bits)."""
    out: dict[str, tuple[Any, ...]] = {}

    def walk(folder: Path, rel: str) -> None:
        for entry in sorted(os.scandir(folder), key=lambda e: e.name):
            name = f"{rel}{entry.name}"
            if name in skip:
                continue
            st = entry.stat(follow_symlinks=False)
            mode = stat.S_IMODE(st.st_mode)
            if stat.S_ISLNK(st.st_mode):
                out[name] = ("symlink", os.readlink(entry.path))
            elif stat.S_ISDIR(st.st_mode):
                out[name] = ("dir", mode)
                walk(Path(entry.path), name + "/")
            elif stat.S_ISREG(st.st_mode):
                out[name] = ("file", sha(Path(entry.path).read_bytes()), mode)
            elif stat.S_ISFIFO(st.st_mode):
                out[name] = ("fifo", mode)
            else:
                out[name] = ("other", mode)

    walk(root, "")
    return out


def tree_diff(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    lines = []
    for name in sorted(set(before) | set(after)):
        if before.get(name) != after.get(name):
            lines.append(f"{name}: {before.get(name)} -> {after.get(name)}")
    return lines


# ---------------------------------------------------------------- the command


@dataclass
class CliResult:
    args: tuple[str, ...]
    rc: int
    stdout: str
    stderr: str

    @property
    def report(self) -> dict[str, Any]:
        try:
            return json.loads(self.stdout)
        except ValueError:  # pragma: no cover - the failure message shows what came out
            raise AssertionError(f"stdout is not one JSON object:\n{self.stdout}\n{self.stderr}") from None

    def errors(self, code: str) -> list[dict[str, Any]]:
        return [d for d in self.report["error_details"] if d["problem"] == code]

    def error(self, code: str, file_name: str) -> dict[str, Any]:
        """The one error of ``code`` about ``file_name`` (its "file" names that file)."""
        found = [d for d in self.errors(code) if os.path.basename(d["file"]) == file_name]
        assert len(found) == 1, (code, file_name, self.report["error_details"])
        # where: the full path of the file in .sessions/
        assert found[0]["file"] == os.path.join(self.report["workspace"], ".sessions", file_name)
        return found[0]

    def warning(self, code: str, file_name: str) -> dict[str, Any]:
        found = [d for d in self.warnings(code) if os.path.basename(d["file"]) == file_name]
        assert len(found) == 1, (code, file_name, self.report["warning_details"])
        assert found[0]["file"] == os.path.join(self.report["workspace"], ".sessions", file_name)
        assert found[0]["fixes"] == []  # a warning needs no decision
        return found[0]

    def warnings(self, code: str) -> list[dict[str, Any]]:
        return [d for d in self.report["warning_details"] if d["problem"] == code]

    def session(self, file_name: str) -> dict[str, Any]:
        found = [s for s in self.report["sessions"] if s["file"] == file_name]
        assert len(found) == 1, (file_name, self.report["sessions"])
        return found[0]

    def __str__(self) -> str:
        return (f"$ {' '.join(self.args)}\nexit {self.rc}\n"
                f"--- stdout\n{self.stdout}\n--- stderr\n{self.stderr}")


def run_cli(*args: str, timeout: float = CLI_TIMEOUT, cwd: Path | None = None,
            umask: int | None = None) -> CliResult:
    proc = run_command(*args, timeout=timeout, cwd=cwd, umask=umask,
                       env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"})
    result = CliResult(args, proc.returncode, proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr, str(result)
    assert "Traceback" not in proc.stdout, str(result)
    return result


# ---------------------------------------------------------------- the workspace


class Hostile:
    """A workspace with one good session, a sibling "outside" folder, and the checks."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.ws = root / "ws"
        self.sessions = self.ws / ".sessions"
        self.sessions.mkdir(parents=True)
        (self.ws / "workspace-notes.txt").write_text("not part of the migration\n")
        self.outside = root / "outside"
        self.outside.mkdir()
        self.session_map: dict[str, str] = {}
        self.good: dict[str, tuple[str, list[dict[str, Any]]]] = {}  # file id -> (key, messages)
        # what lies outside: a legacy session that must never be read (its text is unique),
        # a transcript-like file, a store-like file, a folder with a file in it
        secret = legacy("secret", 3, label=OUTSIDE_MARKER)
        self.write_outside("secret.json", dump(secret))
        self.write_outside("target.jsonl", json.dumps({"role": "user", "content": OUTSIDE_MARKER}) + "\n")
        self.write_outside("store.json", dump({"agent:main:outside": {
            "session_id": "outside", "updated_at": 1, "session_file": "outside.jsonl",
            "label": OUTSIDE_MARKER}}))
        self.write_outside("lock-target", f"{OUTSIDE_MARKER}\n")
        (self.outside / "dir").mkdir()
        self.write_outside("dir/inner.txt", OUTSIDE_MARKER)
        self.add_good(GOOD_ID, GOOD_KEY)
        self.before: dict[str, Any] | None = None
        self.before_outside: dict[str, Any] | None = None
        self.before_root: dict[str, Any] | None = None
        self.before_bytes: dict[str, bytes] = {}

    # -------------------------------------------------------- building

    def write_outside(self, name: str, text: str) -> Path:
        path = self.outside / name
        path.write_text(text)
        os.utime(path, (FIXED_MTIME, FIXED_MTIME))
        return path

    def write(self, name: str, content: str | bytes | dict[str, Any] | list[Any], *,
              mode: int = 0o644, mtime: float = FIXED_MTIME) -> Path:
        """A file directly in .sessions/ (a dict or list is dumped as the old writer did)."""
        path = self.sessions / name
        if isinstance(content, (dict, list)):
            content = dump(content)
        if isinstance(content, str):
            content = content.encode("utf-8")
        path.write_bytes(content)
        os.chmod(path, mode)
        os.utime(path, (mtime, mtime))
        return path

    def symlink(self, name: str, target: str | Path) -> Path:
        path = self.sessions / name
        os.symlink(target, path)
        return path

    def add_good(self, sid: str, key: str, n: int = 3, mode: int = 0o644) -> None:
        msgs = conversation(sid, n)
        doc = legacy(sid, n)
        doc["messages"] = msgs
        self.write(f"{sid}.json", doc, mode=mode)
        self.map_key(key, sid)
        self.good[sid] = (key, msgs)

    def map_key(self, key: str, sid: str) -> None:
        self.session_map[key] = sid
        self.write("session_map.json", self.session_map)

    def freeze(self) -> None:
        """Remember the trees before the first command."""
        self.before = snapshot(self.sessions)
        self.before_outside = snapshot(self.outside)
        self.before_root = snapshot(self.root, skip=("ws/.sessions",))
        self.before_bytes = {}
        for name, info in self.before.items():
            if info[0] == "file":
                self.before_bytes[name] = (self.sessions / name).read_bytes()

    # -------------------------------------------------------- running

    def migrate(self, *args: str, timeout: float = CLI_TIMEOUT, umask: int | None = None) -> CliResult:
        if self.before is None:
            self.freeze()
        return run_cli("migrate", str(self.ws), "--json", "--lock-timeout", "2", *args,
                       timeout=timeout, umask=umask)

    def cli(self, command: str, *args: str, timeout: float = CLI_TIMEOUT) -> CliResult:
        if self.before is None:
            self.freeze()
        return run_cli(command, str(self.ws), *args, timeout=timeout)

    # -------------------------------------------------------- checking

    def backup_bytes(self) -> dict[str, bytes]:
        """Every regular file in backup_old_format/ → its bytes (real folder only)."""
        folder = self.sessions / "backup_old_format"
        st = os.lstat(folder) if os.path.lexists(folder) else None
        if st is None or not stat.S_ISDIR(st.st_mode):
            return {}
        return {p.name: p.read_bytes() for p in folder.iterdir()
                if stat.S_ISREG(os.lstat(p).st_mode)}

    def manifest(self) -> dict[str, dict[str, Any]]:
        return json.loads((self.sessions / "backup_old_format" / "manifest.json").read_bytes())["files"]

    def assert_outside_untouched(self) -> None:
        assert self.before_outside is not None and self.before_root is not None
        assert tree_diff(self.before_outside, snapshot(self.outside)) == []
        # nothing appears (or changes) anywhere in tmp_path outside ws/.sessions/
        assert tree_diff(self.before_root, snapshot(self.root, skip=("ws/.sessions",))) == []

    def assert_nothing_lost(self) -> None:
        """Every entry of .sessions/ from before is still there as it was, or (a file the
        migration replaced) its exact bytes are in the backup."""
        assert self.before is not None
        now = snapshot(self.sessions)
        saved = {sha(b) for b in self.backup_bytes().values()}
        for name, info in self.before.items():
            if now.get(name) == info:
                continue
            if info[0] == "file" and info[1] in saved:
                continue
            if name.startswith("backup_old_format/"):
                continue  # the backup's own bookkeeping grows
            raise AssertionError(f"{name} was {info}, is now {now.get(name)}; not in the backup")

    def assert_no_marker_inside(self) -> None:
        """No file in the workspace holds text that only the outside files have."""
        for path in self.ws.rglob("*"):
            if path.is_symlink() or not path.is_file():
                continue
            assert OUTSIDE_MARKER.encode() not in path.read_bytes(), f"{path} holds outside content"

    def store(self) -> dict[str, Any]:
        return json.loads((self.sessions / "sessions.json").read_bytes())

    def assert_migrated(self, sid: str, key: str, msgs: list[Any], *,
                        updated_at: int | None = UPDATED_MS) -> dict[str, Any]:
        """``sid``'s transcript holds exactly ``msgs`` and ``key`` points at it."""
        transcript = self.sessions / f"{sid}.jsonl"
        assert not transcript.is_symlink() and transcript.is_file(), f"{transcript.name} missing"
        assert read_jsonl(transcript) == lines_of(msgs)
        entry = self.store()[key]
        assert entry["session_id"] == sid
        assert entry["session_file"] == f"{sid}.jsonl"
        if updated_at is not None:
            assert entry["updated_at"] == updated_at
        return entry

    def assert_good_migrated(self) -> None:
        for sid, (key, msgs) in self.good.items():
            self.assert_migrated(sid, key, msgs)

    def check(self, result: CliResult, *, good_migrated: bool = True) -> None:
        """The guarantees every hostile case shares (see the module docstring)."""
        assert "Traceback" not in result.stderr, str(result)
        self.assert_outside_untouched()
        self.assert_nothing_lost()
        self.assert_no_marker_inside()
        if good_migrated:
            self.assert_good_migrated()
            # migrated by this run, or by an earlier run of the same test ("done")
            assert result.session(f"{GOOD_ID}.json")["status"] in ("migrated", "done"), str(result)
        leftovers = [p.name for p in self.sessions.rglob("*.migrate_tui.tmp")]
        assert leftovers == [], leftovers
        assert not (self.sessions / "sessions.json.lock").exists() or \
            (self.before or {}).get("sessions.json.lock") is not None
