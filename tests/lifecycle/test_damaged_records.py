"""The backup folder is read defensively: damage to the journal or the manifest (garbage,
wrong-shaped lines, a folder, a symlink, a FIFO) never gives a traceback in any command —
one sentence naming the file (and the line) — and every command whose safety depends on it
refuses; a journal a crash cut short is no damage.  No open of ours waits on a FIFO."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from migrate_tui.cli import cli
from tests.lifecycle.lifecycle_support import Workspace, diff, outside_backup, run_cli, three

COMMANDS: dict[str, tuple[tuple[str, ...], int]] = {  # command → (arguments, exit code when refused)
    "migrate": (("migrate", "--json"), 2),
    "dry run": (("migrate", "--json", "--dry-run"), 2),
    "rollback": (("rollback", "--yes", "--json"), 2),
    "cleanup": (("cleanup", "--yes", "--json"), 2),
    "verify": (("verify", "--json"), 4),
}


def invoke(ws: Workspace, args: tuple[str, ...]) -> tuple[int, dict[str, Any]]:
    """The command line in this process (fast); no exception may escape it."""
    result = CliRunner().invoke(cli, [args[0], str(ws.root), *args[1:]])
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        args, result.output, result.exc_info)
    return result.exit_code, json.loads(result.stdout)


def _migrated(ws: Workspace) -> None:
    three(ws)
    assert ws.migrate().rc == 0


def _text_of(out: dict[str, Any]) -> str:
    return json.dumps(out)


JOURNAL_DAMAGE = {
    "garbage": (b"\x00\xffnot json at all\n", 2),
    "a number": (b"123\n", 2),
    "a list": (b"[]\n", 2),
    "a begin without its run": (b'{"op":"begin"}\n', 2),
    "an unknown operation": (b'{"op":"frobnicate","run":"x"}\n', 2),
    "a create of a run that never began": (b'{"op":"create","run":"nope","file":"x.jsonl","sha256":"' +
                                           b"0" * 64 + b'","size":1}\n', 2),
}


@pytest.mark.parametrize("damage", list(JOURNAL_DAMAGE))
def test_a_damaged_journal_line_is_named_and_every_command_refuses(ws: Workspace, damage: str) -> None:
    _migrated(ws)
    journal = ws.backup / "journal.jsonl"
    lines = journal.read_bytes().splitlines(keepends=True)
    bad, line = JOURNAL_DAMAGE[damage]
    journal.write_bytes(lines[0] + bad + b"".join(lines[1:]))
    before = outside_backup(ws)
    for name, (args, refused) in COMMANDS.items():
        code, out = invoke(ws, args)
        assert code == refused, (name, out)
        text = _text_of(out)
        assert f"journal.jsonl, line {line}" in text, (name, out)
    assert diff(before, outside_backup(ws)) == []


MANIFEST_DAMAGE = {
    "garbage": b"\x00\xff not json",
    "cut short": None,  # its first half
    "a number": b"123\n",
    "a list": b"[]\n",
    "an entry that is no object": b'{"version": 1, "files": {\n  "x.json": 123\n}}\n',
    # laid out as we write it (checked a line at a time), one entry wrong in the middle
    "an entry without its SHA-256": "sha256",
    "an entry cut short": "cut entry",
}


@pytest.mark.parametrize("damage", list(MANIFEST_DAMAGE))
def test_a_damaged_manifest_is_named_and_every_command_refuses(ws: Workspace, damage: str) -> None:
    _migrated(ws)
    manifest = ws.backup / "manifest.json"
    data = MANIFEST_DAMAGE[damage]
    if isinstance(data, str):  # one entry of the manifest as written, made wrong
        lines = manifest.read_bytes().split(b"\n")
        assert lines[:3] == [b"{", b'  "version": 1,', b'  "files": {'] and len(lines) > 6
        middle = len(lines) // 2
        lines[middle] = lines[middle].replace(b'"sha256"', b'"sha"') if data == "sha256" \
            else lines[middle][:30]
        manifest.write_bytes(b"\n".join(lines))
    else:
        manifest.write_bytes(manifest.read_bytes()[: manifest.stat().st_size // 2] if data is None else data)
    before = outside_backup(ws)
    for name, (args, refused) in COMMANDS.items():
        code, out = invoke(ws, args)
        assert code == refused, (name, out)
        assert "manifest.json" in _text_of(out), (name, out)
    assert diff(before, outside_backup(ws)) == []
    code, out = invoke(ws, ("migrate", "--json"))
    assert ", line " in out["error"] or "line" not in damage  # lines are named where there are lines


@pytest.mark.parametrize("what", ["journal.jsonl", "manifest.json"])
@pytest.mark.parametrize("kind", ["folder", "symlink", "fifo"])
def test_something_else_than_a_file_in_the_backup_folder_is_refused_without_waiting(
        ws: Workspace, tmp_path: Path, what: str, kind: str) -> None:
    """Through the real command, with a timeout: a FIFO used to hang migrate for ever."""
    _migrated(ws)
    path = ws.backup / what
    path.unlink()
    outside = tmp_path / "outside"
    outside.write_text("never read")
    if kind == "folder":
        path.mkdir()
    elif kind == "symlink":
        os.symlink(outside, path)
    else:
        os.mkfifo(path)
    before = outside_backup(ws)
    for name, (args, refused) in COMMANDS.items():
        run = run_cli(args[0], ws.root, *args[1:], timeout=30)
        assert run.rc == refused, (name, str(run))
        assert what in run.stdout and "is a " in run.stdout, (name, str(run))
    assert diff(before, outside_backup(ws)) == []
    assert outside.read_text() == "never read"


def test_a_journal_cut_short_by_a_crash_is_no_damage(ws: Workspace) -> None:
    _migrated(ws)
    journal = ws.backup / "journal.jsonl"
    data = journal.read_bytes()
    journal.write_bytes(data + b'{"op": "create", "run": "2026')  # the last record, cut short
    code, out = invoke(ws, ("verify", "--json"))
    assert code == 0, out
    ws.add("late", keys=("agent:main:late",))
    assert ws.migrate().rc == 0  # appends after it, on a line of its own
    code, out = invoke(ws, ("verify", "--json"))
    assert code == 0, out
    assert invoke(ws, ("rollback", "--yes", "--json"))[0] == 0


@pytest.mark.parametrize("kind", ["folder", "symlink", "fifo"])
def test_a_report_that_cannot_be_saved_is_a_warning(ws: Workspace, tmp_path: Path, kind: str) -> None:
    three(ws)
    ws.backup.mkdir()
    report = ws.backup / "last_report.json"
    if kind == "folder":
        report.mkdir()
        (report / "keep").write_text("x")  # a folder with something in it cannot be replaced
    elif kind == "symlink":
        os.symlink(tmp_path / "elsewhere.json", report)
    else:
        os.mkfifo(report)
    run = run_cli("migrate", ws.root, "--json", timeout=30)
    assert run.rc == 0, str(run)
    out = run.report  # exactly one JSON object
    assert out["status"] == "success" and out["migrated"] == 3
    if kind == "folder":
        assert "could not be saved" in out["report_error"]
        assert any(w["problem"] == "report_not_saved" for w in out["warning_details"])
    else:  # replaced by the rename, never written through
        assert "report_error" not in out
        assert not (tmp_path / "elsewhere.json").exists()
    text = run_cli("migrate", ws.root)  # and as text, after a rerun with nothing to do
    assert text.rc == 0, str(text)
