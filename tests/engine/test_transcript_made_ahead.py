"""The one huge session's transcript is made while the backup's last copies are written and
synced (apply ``_encode_ahead``): into its temporary file, read back and fsynced, but
announced in the journal and renamed into place only in the transcripts phase, once the
backup is durable and the run begun.  The outputs are those the transcripts phase makes."""

from __future__ import annotations

import errno
import json
import os
import re
import shutil
import threading
from pathlib import Path
from typing import Any

import pytest

from migrate_tui.core import fsio
from migrate_tui.engine import apply, apply_plan, build_plan, scan_workspace, transcript_encoding
from migrate_tui.engine.model import PhaseStarted
from tests.engine.engine_support import Workspace, conversation

UUID_A = "c25b364a-8e88-468e-ba3c-526b48c4fcf0"
UUID_B = "7d1f0a55-3b2c-4e8f-9a61-0c2d4e6f8a9b"


@pytest.fixture(autouse=True)
def _one_huge_session(monkeypatch: pytest.MonkeyPatch) -> None:
    """A's file is "huge" (streamed, kept from the backup), B's is not."""
    monkeypatch.setattr(apply, "STREAM_BYTES", 4000)
    monkeypatch.setattr(transcript_encoding, "STREAM_PIECE_BYTES", 300)


def _fill(ws: Workspace) -> None:
    msgs = conversation("a", 60)
    msgs[1]["content"] = "é — 漢字 \U0001f600 \"quoted\"\n"
    msgs[2]["name"] = None
    ws.add(UUID_A, msgs, keys=("agent:main:main",))
    ws.add(UUID_B, conversation("b", 3), keys=("agent:main:cron:daily",))
    assert (ws.sessions / f"{UUID_A}.json").stat().st_size >= 4000
    assert (ws.sessions / f"{UUID_B}.json").stat().st_size < 4000


def _migrate(ws: Workspace, **kwargs: Any) -> apply.ApplyResult:
    return apply_plan(build_plan(scan_workspace(str(ws.root)), "main"), lock_timeout=5, **kwargs)


def _journal(ws: Workspace) -> list[str]:
    """The journal's lines, the run's id, time and process left out."""
    text = (ws.backup / "journal.jsonl").read_text()
    run = json.loads(text.splitlines()[0])["run"]
    text = text.replace(run, "RUN")
    return [re.sub(r'"(time|pid)": [^,}]*', "", line) for line in text.splitlines()]


def _no_temp_files(ws: Workspace) -> bool:
    return not list(ws.root.rglob(f"*{fsio.TEMP_SUFFIX}"))


def test_the_outputs_are_those_made_in_the_transcripts_phase(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    later, ahead = Workspace(tmp_path / "later"), Workspace(tmp_path / "ahead")
    _fill(later)
    shutil.copytree(later.root, ahead.root, symlinks=True, dirs_exist_ok=True)
    made_ahead: list[bool] = []
    real = apply.Run._encode_ahead

    def spied(run: apply.Run) -> None:
        real(run)
        made_ahead.append(run.ahead is not None)

    monkeypatch.setattr(apply.Run, "_encode_ahead", spied)
    assert _migrate(ahead).committed
    assert made_ahead == [True]
    monkeypatch.setattr(apply.Run, "_encode_ahead", lambda run: None)
    assert _migrate(later).committed

    assert ahead.store_bytes() == later.store_bytes()
    names = sorted(p.name for p in later.sessions.glob("*.jsonl"))
    assert names == sorted(p.name for p in ahead.sessions.glob("*.jsonl")) == sorted(
        [f"{UUID_A}.jsonl", f"{UUID_B}.jsonl"])
    for name in names:
        assert (ahead.sessions / name).read_bytes() == (later.sessions / name).read_bytes()
    assert _journal(ahead) == _journal(later)
    for path in later.backup.iterdir():
        if path.name not in ("journal.jsonl", "manifest.json", "last_report.json"):
            assert (ahead.backup / path.name).read_bytes() == path.read_bytes()
    assert _no_temp_files(ahead)


def test_made_during_the_backup_and_renamed_only_once_the_backup_is_durable(ws: Workspace) -> None:
    _fill(ws)
    target = str(ws.sessions / f"{UUID_A}.jsonl")
    events: list[str] = []
    at_rename: list[tuple[bool, list[dict[str, Any]]]] = []

    def hook(op: str, path: str) -> None:
        name = os.path.basename(path)
        if op == "open" and name.startswith(f".{UUID_A}.jsonl.") and name.endswith(fsio.TEMP_SUFFIX):
            events.append("transcript made")
        elif op == "open" and name.startswith(".manifest.json.") and not events.count("manifest saved"):
            events.append("manifest saved")
        elif op == "rename" and path == target:
            journal = [json.loads(line) for line in (ws.backup / "journal.jsonl").read_text().splitlines()]
            at_rename.append(((ws.backup / "manifest.json").is_file(), journal))

    with fsio.fault_hook(hook):
        result = _migrate(ws)
    assert result.committed and result.verified
    assert events[:2] == ["transcript made", "manifest saved"]  # made during the backup
    ((manifest_saved, journal),) = at_rename
    assert manifest_saved
    manifest = json.loads((ws.backup / "manifest.json").read_bytes())["files"]
    assert f"{UUID_A}.json" in manifest
    assert journal[0]["op"] == "begin"
    (record,) = [r for r in journal if r.get("file") == f"{UUID_A}.jsonl"]
    data = (ws.sessions / f"{UUID_A}.jsonl").read_bytes()
    assert record["op"] == "create" and record["size"] == len(data)
    assert record["sha256"] == fsio.sha256_bytes(data)


@pytest.mark.parametrize("writer", ["caller", "thread"])
def test_a_failure_while_it_is_made_stops_the_run_and_leaves_nothing(
        ws: Workspace, monkeypatch: pytest.MonkeyPatch, writer: str) -> None:
    """A write of the transcript failing, made by the caller or by a writer thread
    (``fsio.WriteBehind``, as without a fault hook), stops the run at a safe point."""
    monkeypatch.setattr(fsio, "SEQUENTIAL_WHEN_HOOKED", writer == "caller")
    _fill(ws)

    failed: list[str] = []

    def hook(op: str, path: str) -> None:
        name = os.path.basename(path)
        if op == "write" and name.startswith(f".{UUID_A}.jsonl.") and name.endswith(fsio.TEMP_SUFFIX) \
                and not failed:  # once: a failure never passed by shows even when the next write works
            failed.append(path)
            raise OSError(errno.ENOSPC, "No space left on device", path)

    with fsio.fault_hook(hook):
        result = _migrate(ws)
    assert result.error and "No space left" in result.error
    assert not result.migrated and not result.committed
    assert not list(ws.sessions.glob("*.jsonl"))
    assert not (ws.sessions / "sessions.json").exists()
    assert _no_temp_files(ws)
    # the workspace is at a safe point: a rerun completes it
    rerun = _migrate(ws)
    assert rerun.committed and rerun.verified and sorted(rerun.migrated) == sorted([UUID_A, UUID_B])


def test_a_run_cancelled_after_the_backup_removes_it(ws: Workspace) -> None:
    _fill(ws)
    flag = threading.Event()

    def on_event(event: object) -> None:
        if isinstance(event, PhaseStarted) and event.phase == "transcripts":
            flag.set()

    result = _migrate(ws, on_event=on_event, cancel=flag)
    assert result.cancelled and not result.committed
    assert not (ws.sessions / f"{UUID_A}.jsonl").exists()
    assert _no_temp_files(ws)
    assert _migrate(ws).committed


def test_a_transcript_put_there_meanwhile_is_never_replaced(
        ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    """Another program writes A's transcript after the backup: the one made ahead goes,
    and A fails as a conflict (as when the transcripts phase makes it), leaving theirs."""
    _fill(ws)
    theirs = b'{"role": "user", "content": "theirs"}\n'
    real = apply.Run.transcripts_phase

    def meanwhile(run: apply.Run) -> Any:
        (ws.sessions / f"{UUID_A}.jsonl").write_bytes(theirs)
        return real(run)

    monkeypatch.setattr(apply.Run, "transcripts_phase", meanwhile)
    result = _migrate(ws)
    assert [f.problem.code for f in result.failed] == ["transcript_conflict"]
    assert (ws.sessions / f"{UUID_A}.jsonl").read_bytes() == theirs
    assert _no_temp_files(ws)
