"""A migration into OpenClaw's folder writes its transcripts there, not beside the legacy
files: its backup phase makes no transcript ahead in the legacy folder (``Run.encode_ahead``
is left off), so nothing of it is left behind there."""

from __future__ import annotations

from pathlib import Path

import pytest

from migrate_tui.core import fsio
from migrate_tui.demo import generate_workspace
from migrate_tui.engine import apply, commands, transcript_encoding


def test_no_transcript_is_made_ahead_in_the_legacy_folder(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    workspace, state = tmp_path / "ws", tmp_path / "state"
    generate_workspace(str(workspace))
    sessions = workspace / ".sessions"
    legacy = [p for p in sessions.glob("*.json") if p.name not in ("session_map.json", "sessions.json")]
    sizes = sorted(p.stat().st_size for p in legacy)
    assert sizes[-1] > sizes[-2]
    # the biggest session alone is "huge": streamed, its bytes kept from the backup
    monkeypatch.setattr(apply, "STREAM_BYTES", sizes[-1])
    monkeypatch.setattr(transcript_encoding, "STREAM_PIECE_BYTES", 300)
    made: list[str] = []

    def hook(op: str, path: str) -> None:
        if op == "open" and Path(path).parent == sessions and path.endswith(fsio.TEMP_SUFFIX) \
                and ".jsonl." in path:
            made.append(path)

    target = commands.openclaw_target(str(state), "main")
    prepared = commands.prepare(str(workspace), target=target)  # type: ignore[arg-type]
    with fsio.fault_hook(hook):
        outcome = commands.migrate(prepared.plan, target=target)  # type: ignore[arg-type]
    assert outcome.report.committed, outcome
    assert made == []
    assert not list(sessions.glob(f"*{fsio.TEMP_SUFFIX}"))
    assert not list(sessions.glob("*.jsonl"))
