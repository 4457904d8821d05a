"""What the wizard asks about a workspace (engine/workspace_info.py): the default workspace,
folder completion, free space and the backup estimate, on real folders, every file-system
call seen by ``fsio.fault_hook``."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from migrate_tui.core import fsio
from migrate_tui.demo import generate_workspace
from migrate_tui.engine import commands
from migrate_tui.engine.workspace_info import (
    backup_estimate,
    complete_folder,
    default_workspace,
    disk_free,
)


class Seen:
    """A fault hook that records each (operation, path) and fails none."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []

    def __call__(self, op: str, path: str) -> None:
        self.calls.append((op, path))


def test_completion_offers_folders_only_not_links_nor_hidden(tmp_path: Path) -> None:
    (tmp_path / "work").mkdir()
    (tmp_path / "workbench").mkdir()
    (tmp_path / "worknotes.txt").write_text("not a folder")
    (tmp_path / ".workhidden").mkdir()
    os.symlink(tmp_path / "work", tmp_path / "worklink")
    assert complete_folder(str(tmp_path / "workb")) == str(tmp_path / "workbench") + os.sep
    # "work" itself is typed whole: the next folder that starts with it
    assert complete_folder(str(tmp_path / "work")) == str(tmp_path / "workbench") + os.sep
    assert complete_folder(str(tmp_path / "worklin")) is None  # a symlink is not offered
    assert complete_folder(str(tmp_path / ".workh")) == str(tmp_path / ".workhidden") + os.sep
    assert complete_folder(str(tmp_path / "nothing-here")) is None
    assert complete_folder(str(tmp_path / "missing" / "x")) is None  # parent absent: no error
    assert complete_folder("") is None


def test_default_workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    assert default_workspace("/some/where") == "/some/where"
    assert default_workspace(None) == ""
    (tmp_path / ".openclaw").mkdir()
    assert default_workspace(None) == "~/.openclaw"


def test_every_call_goes_through_fsio(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    (tmp_path / "folder").mkdir()
    generate_workspace(tmp_path / "ws", sessions=3)
    plan = commands.prepare(str(tmp_path / "ws")).plan
    assert plan is not None
    seen = Seen()
    with fsio.fault_hook(seen):
        complete_folder(str(tmp_path / "fol"))
        default_workspace(None)
        estimate = backup_estimate(plan)
    ops = set(seen.calls)
    assert ("listdir", str(tmp_path)) in ops
    assert ("stat", os.path.join(str(tmp_path), ".openclaw")) in ops
    sessions = str(tmp_path / "ws" / ".sessions")
    assert ("stat", sessions) in ops  # the free space
    assert ("stat", os.path.join(sessions, "session_map.json")) in ops
    assert estimate.free_bytes is not None and estimate.free_bytes > 0


def test_a_failing_disk_is_unknown_room_not_an_error(tmp_path: Path) -> None:
    generate_workspace(tmp_path / "ws", sessions=3)
    plan = commands.prepare(str(tmp_path / "ws")).plan
    assert plan is not None

    def fail_stat(op: str, path: str) -> None:
        if op == "stat":
            raise OSError(5, "Input/output error", path)

    with fsio.fault_hook(fail_stat):
        assert disk_free(str(tmp_path)) is None
        estimate = backup_estimate(plan)
    assert estimate.free_bytes is None and estimate.enough_room is None


def test_the_estimate_counts_each_file_the_backup_copies(tmp_path: Path) -> None:
    info = generate_workspace(tmp_path / "ws", sessions=4)
    plan = commands.prepare(str(tmp_path / "ws")).plan
    assert plan is not None
    estimate = backup_estimate(plan, free_space=lambda path: 10**12)
    legacy = [p for p in info.sessions_dir.glob("*.json")]  # the sessions and session_map.json
    assert estimate.files == len(legacy)
    assert estimate.bytes == sum(p.stat().st_size for p in legacy)
    assert estimate.enough_room is True
    assert backup_estimate(plan, free_space=lambda path: estimate.bytes).enough_room is False
