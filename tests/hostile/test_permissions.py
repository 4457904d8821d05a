"""New files are no more readable than the files they come from (docs/guarantees.md), whatever the
umask of the process that runs the migration."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from tests.hostile.hostile_support import GOOD_ID, Hostile, dump, legacy


def mode(path: Path) -> str:
    return oct(stat.S_IMODE(os.lstat(path).st_mode))


@pytest.mark.parametrize("umask", [0o000, 0o022])
def test_0600_sources_give_0600_transcripts_and_sessions_json(hw: Hostile, umask: int) -> None:
    os.chmod(hw.sessions / f"{GOOD_ID}.json", 0o600)
    os.chmod(hw.sessions / "session_map.json", 0o600)
    hw.write("private.json", legacy("private", 2), mode=0o600)

    r = hw.migrate(umask=umask)

    assert r.rc == 0, r
    assert mode(hw.sessions / f"{GOOD_ID}.jsonl") == oct(0o600)
    assert mode(hw.sessions / "private.jsonl") == oct(0o600)
    assert mode(hw.sessions / "sessions.json") == oct(0o600)
    backup = hw.sessions / "backup_old_format"
    assert mode(backup) == oct(0o700)
    for p in backup.iterdir():
        assert stat.S_IMODE(os.lstat(p).st_mode) & 0o077 == 0, p
    hw.check(r)


def test_each_transcript_follows_its_source_and_sessions_json_the_most_private(hw: Hostile) -> None:
    hw.write("shared.json", legacy("shared", 2), mode=0o644)
    hw.write("group.json", legacy("group", 2), mode=0o640)
    hw.write("private.json", legacy("private", 2), mode=0o600)
    hw.write("readonly.json", legacy("readonly", 2), mode=0o400)

    r = hw.migrate(umask=0)

    assert r.rc == 0, r
    assert mode(hw.sessions / "shared.jsonl") == oct(0o644)
    assert mode(hw.sessions / "group.jsonl") == oct(0o640)
    assert mode(hw.sessions / "private.jsonl") == oct(0o600)
    assert mode(hw.sessions / "readonly.jsonl") == oct(0o600)  # owner may write, nobody else reads
    assert mode(hw.sessions / "sessions.json") == oct(0o600)  # it holds all of them
    # backup copies keep their originals' permissions
    assert mode(hw.sessions / "backup_old_format" / "private.json") == oct(0o600)
    assert mode(hw.sessions / "backup_old_format" / "group.json") == oct(0o640)
    hw.check(r)


def test_an_existing_sessions_json_keeps_its_own_permissions(hw: Hostile) -> None:
    hw.write("sessions.json", dump({"agent:main:x": {"session_id": "x", "updated_at": 1,
                                                      "session_file": "x.jsonl"}}), mode=0o600)

    r = hw.migrate(umask=0)

    assert r.rc == 0, r
    assert set(hw.store()) == {"agent:main:x", "agent:main:main"}
    assert mode(hw.sessions / "sessions.json") == oct(0o600)
    assert mode(hw.sessions / f"{GOOD_ID}.jsonl") == oct(0o644)
    hw.check(r)
