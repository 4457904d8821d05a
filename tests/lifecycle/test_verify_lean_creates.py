"""verify reads the journal the lean way (``journal.read_lean``: its transcripts' create
records from their bytes); on a journal whose create records are right, torn, wrong or
say other things than the commit, its report is byte for byte the one it gives when every
record is parsed whole (``journal.read``)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from migrate_tui.cli import cli
from migrate_tui.engine import journal
from tests.lifecycle.lifecycle_support import Workspace, three


def _creates(lines: list[bytes]) -> list[int]:
    return [n for n, line in enumerate(lines) if line.startswith(b'{"op": "create"')
            and b'.jsonl"' in line]


def _torn(lines: list[bytes]) -> None:
    n = _creates(lines)[0]
    lines[n] = lines[n][:-40] + b"\n"


def _torn_last(lines: list[bytes]) -> None:
    lines[:] = lines[:_creates(lines)[-1] + 1]
    lines[-1] = lines[-1][:-40]


def _dot_source(lines: list[bytes]) -> None:
    n = _creates(lines)[1]
    start = lines[n].index(b'"source": "') + 11
    lines[n] = lines[n][:start] + b"." + lines[n][lines[n].index(b'"', start):]


def _other_sha(lines: list[bytes]) -> None:
    for n in _creates(lines):
        start = lines[n].index(b'"source_sha256": "') + 18
        lines[n] = lines[n][:start] + b"0" * 64 + lines[n][start + 64:]


def _no_commit(lines: list[bytes]) -> None:
    _other_sha(lines)
    lines[:] = [line for line in lines if not line.startswith(b'{"op": "commit"')]


def _run_never_began(lines: list[bytes]) -> None:
    n = _creates(lines)[-1]
    start = lines[n].index(b'"run": "') + 8
    lines[n] = lines[n][:start] + b"x" + lines[n][start + 1:]


DAMAGE: dict[str, Callable[[list[bytes]], None]] = {
    "as written": lambda lines: None,
    "a create torn in the middle": _torn,
    "the last create torn": _torn_last,
    "a create naming its source '.'": _dot_source,
    "creates saying other SHA-256s than the commit": _other_sha,
    "creates without their commit": _no_commit,
    "a create of a run that never began": _run_never_began,
}


def _verify(ws: Workspace) -> tuple[int, str]:
    journal._last = None
    result = CliRunner().invoke(cli, ["verify", str(ws.root), "--json"])
    journal._last = None
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result.exit_code, result.stdout


@pytest.mark.parametrize("damage", list(DAMAGE))
def test_the_report_is_the_whole_readings(ws: Workspace, damage: str, monkeypatch: Any) -> None:
    three(ws)
    assert ws.migrate().rc == 0
    path = Path(ws.backup / "journal.jsonl")
    lines = path.read_bytes().splitlines(keepends=True)
    assert len(_creates(lines)) == 3 and all(journal._CREATE(lines[n][:-1]) for n in _creates(lines))
    DAMAGE[damage](lines)
    path.write_bytes(b"".join(lines))
    lean = _verify(ws)
    monkeypatch.setattr(journal, "read_lean", journal.read)
    assert _verify(ws) == lean
    assert (lean[0] == 0) == (damage in FOUND_RIGHT), lean


# a record a crash cut short is passed over (what it announced never began); the commit's
# word on each session is the latest
FOUND_RIGHT = ("as written", "a create torn in the middle", "creates saying other SHA-256s than the commit")
