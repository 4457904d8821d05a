"""A dry run of a workspace with no sessions.json and no transcript yet (the usual first
run) does not import what reads those: the store's members and the transcripts' encoding
and comparison are imported by the scan where it meets them.  And where it meets them, it
does, and reads them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

READERS_OF_WHAT_IS_NOT_THERE = [
    "migrate_tui.core.object_members",
    "migrate_tui.engine.transcript_compare",
    "migrate_tui.engine.transcript_encoding",
]
STAMP = "2026-02-11T10:00:00.708193"


def _dry_run(workspace: Path, *options: str) -> tuple[dict, set[str]]:
    code = (
        "import contextlib, io, json, sys\nfrom migrate_tui.cli import cli\nout = io.StringIO()\n"
        "with contextlib.redirect_stdout(out):\n"
        f"    try: cli.main(['migrate', {str(workspace)!r}, '--dry-run', '--json', *{list(options)!r}])\n"
        "    except SystemExit: pass\n"
        "print(json.dumps([json.loads(out.getvalue()), sorted(sys.modules)]))\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    report, loaded = json.loads(done.stdout.splitlines()[-1])
    return report, set(loaded)


def _workspace(root: Path) -> Path:
    sessions = root / ".sessions"
    sessions.mkdir(parents=True)
    for sid in ("a1", "b2"):
        (sessions / f"{sid}.json").write_text(json.dumps(
            {"session_id": sid, "created_at": STAMP, "updated_at": STAMP,
             "messages": [{"role": "user", "content": "hi"}]}), encoding="utf-8")
    return root


def test_a_first_dry_run_leaves_them_out(tmp_path: Path) -> None:
    report, loaded = _dry_run(_workspace(tmp_path / "ws"))
    assert report["dry_run"] and report["migrated"] == 2, report
    assert sorted(loaded & set(READERS_OF_WHAT_IS_NOT_THERE)) == []
    assert "migrate_tui.engine.selection" not in loaded  # no query: not the query language


def test_a_dry_run_with_a_store_and_transcripts_reads_them(tmp_path: Path) -> None:
    root = _workspace(tmp_path / "ws")
    sessions = root / ".sessions"
    from migrate_tui.engine.scan import transcript_bytes  # what the run would write

    (sessions / "a1.jsonl").write_bytes(transcript_bytes([{"role": "user", "content": "hi"}]))
    (sessions / "b2.jsonl").write_text("something else\n", encoding="utf-8")
    (sessions / "sessions.json").write_text(json.dumps(
        {"agent:main:other": {"session_id": "other", "updated_at": 1}}), encoding="utf-8")
    report, loaded = _dry_run(root)
    assert "migrate_tui.core.object_members" in loaded
    by_id = {s["session_id"]: s for s in report["sessions"]}
    assert "transcript_conflict" in by_id["b2"]["problems"], by_id["b2"]
    assert "transcript_conflict" not in by_id["a1"]["problems"], by_id["a1"]


def test_the_query_language_is_loaded_by_a_run_that_has_a_query(tmp_path: Path) -> None:
    report, loaded = _dry_run(_workspace(tmp_path / "ws"), "--skip-where", "msgs<2")
    assert "migrate_tui.engine.selection" in loaded
    assert {s["action"] for s in report["sessions"]} == {"skip"}, report["sessions"]
