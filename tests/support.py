"""What every suite shares: legacy content as the old writer wrote it, JSONL reading, hashes,
and the real command run in a subprocess with a timeout (a hang fails the test instead of
the suite).  Each suite's own ``*_support`` module builds on this one."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
CLI_TIMEOUT = 60  # seconds
CREATED_AT = "2026-02-11T10:00:00.708148+00:00"
UPDATED_AT = "2026-02-11T12:00:00.708267+00:00"
CREATED_MS = 1770804000708  # CREATED_AT in integer ms UTC
UPDATED_MS = 1770811200708  # UPDATED_AT in integer ms UTC
OLD_MTIME = 1_767_225_600  # 2026-01-01T00:00:00Z: files look settled, not "recently changed"


def message(role: str, content: Any, minute: int = 0, **extra: Any) -> dict[str, Any]:
    """A message as the old writer produced it (pydantic model_dump: every field, nulls too)."""
    out = {"role": role, "content": content, "timestamp": f"2026-02-11T10:{minute:02d}:00.708193",
           "tool_calls": None, "tool_call_id": None, "name": None, "images": None}
    out.update(extra)
    return out


def conversation(label: str, n: int) -> list[dict[str, Any]]:
    """``n`` messages, user and assistant in turn."""
    return [message("user" if i % 2 == 0 else "assistant", f"{label} message {i}", i % 60)
            for i in range(n)]


def without_nulls(msgs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """What a transcript holds for these messages: top-level null-valued fields left out."""
    return [{k: v for k, v in m.items() if v is not None} for m in msgs]


def read_jsonl(path: Path) -> list[Any]:
    data = path.read_bytes()
    assert data == b"" or data.endswith(b"\n"), f"{path.name} does not end with a newline"
    return [json.loads(line) for line in data.decode("utf-8").split("\n")[:-1]]


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def cli_env(**extra: str) -> dict[str, str]:
    """This process's environment for a child command: no bytecode written, wide output."""
    return {**os.environ, "PYTHONDONTWRITEBYTECODE": "1", "COLUMNS": "200", **extra}


def run_command(*args: str | os.PathLike[str], module: str = "migrate_tui",
                timeout: float = CLI_TIMEOUT, env: dict[str, str] | None = None,
                cwd: Path | None = None, umask: int | None = None) -> subprocess.CompletedProcess[str]:
    """``python -m <module> args…`` in a subprocess, stdin closed."""
    return subprocess.run(
        [sys.executable, "-m", module, *(str(a) for a in args)], capture_output=True, text=True,
        timeout=timeout, cwd=cwd, env=env or cli_env(), stdin=subprocess.DEVNULL,
        preexec_fn=None if umask is None else (lambda: os.umask(umask)),
    )
