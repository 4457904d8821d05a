"""``migrate-tui migrate --target openclaw`` end to end, on real files: what it writes in
OpenClaw's folder, the report's next steps, a rerun, rollback, clean-up, the SQLite refusal."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from migrate_tui.core import fsio
from migrate_tui.demo import generate_workspace
from migrate_tui.engine import commands
from migrate_tui.engine.targets.openclaw_layout import openclaw_layout
from tests.docs.test_report_schema import valid
from tests.openclaw.openclaw_support import database_with, strict_json


def cli(*args: Any, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run([sys.executable, "-m", "migrate_tui", *map(str, args)],
                          capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=300,
                          env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1", **(env or {})})
    assert "Traceback" not in proc.stderr + proc.stdout, proc.stderr
    return proc


def tree(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` (relative path → bytes)."""
    if not folder.exists():
        return {}
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture
def demo(tmp_path: Path) -> tuple[Path, Path]:
    workspace, state = tmp_path / "ws", tmp_path / "state"
    generate_workspace(str(workspace))
    return workspace, state


def sessions_dir(state: Path, agent: str = "main") -> Path:
    return state / "agents" / agent / "sessions"


def test_migrate_into_openclaw_end_to_end(demo: tuple[Path, Path]) -> None:
    workspace, state = demo
    legacy = tree(workspace / ".sessions")
    run = cli("migrate", workspace, "--target", "openclaw", "--openclaw-state", state, "--json")
    assert run.returncode == 0, run.stdout + run.stderr
    report = json.loads(run.stdout)
    valid(report)  # docs/report.schema.json
    assert report["status"] == "success" and report["committed"] is True
    folder = sessions_dir(state)
    assert report["target"]["sessions_dir"] == str(folder)
    assert report["store_path"] == str(folder / "sessions.json")
    env = f"OPENCLAW_STATE_DIR={state}"
    assert report["next_steps"] == [f"{env} openclaw doctor --session-sqlite dry-run",
                                    f"{env} openclaw doctor --session-sqlite import"]
    store = strict_json((folder / "sessions.json").read_bytes())
    migrated = [s for s in report["sessions"] if s["status"] == "migrated"]
    assert migrated and len(migrated) == report["sessions_found"]
    for s in migrated:
        transcript = (folder / f"{s['session_id']}.jsonl").read_bytes().decode().splitlines()
        header = strict_json(transcript[0])
        assert header["type"] == "session" and header["id"] == s["session_id"]
        assert len(transcript) == s["messages"] + 1
        for key in s["keys"]:
            assert store[key]["sessionId"] == s["session_id"]
            assert isinstance(store[key]["updatedAt"], int)
            assert not any("_" in name for name in store[key])  # camelCase
    # nothing of the workspace changed but its backup folder; the legacy files are backed up
    after = tree(workspace / ".sessions")
    assert {k: v for k, v in after.items() if not k.startswith("backup_old_format/")} == legacy
    for name in legacy:
        if name.endswith(".json") and name != "session_map.json":
            assert after[f"backup_old_format/{name}"] == legacy[name]
    assert not (workspace / ".sessions" / "sessions.json").exists()
    assert not (folder / "sessions.json.lock").exists()


def test_human_output_gives_the_next_steps_and_the_default_state_dir(demo: tuple[Path, Path]) -> None:
    workspace, state = demo
    run = cli("migrate", workspace, "--target", "openclaw", env={"OPENCLAW_STATE_DIR": str(state)})
    assert run.returncode == 0, run.stderr
    assert "Target:            OpenClaw, " + str(sessions_dir(state)) in run.stdout
    # the state folder is the default one ($OPENCLAW_STATE_DIR): the plain commands
    assert "\n  openclaw doctor --session-sqlite dry-run\n" in run.stdout
    assert "\n  openclaw doctor --session-sqlite import" in run.stdout
    assert (sessions_dir(state) / "sessions.json").exists()


def test_another_agent_goes_to_its_folder_and_its_doctor_commands_name_it(demo: tuple[Path, Path]) -> None:
    workspace, state = demo
    run = cli("migrate", workspace, "--target", "openclaw", "--openclaw-state", state,
              "--agent-id", "ops", "--json")
    assert run.returncode == 0, run.stdout
    report = json.loads(run.stdout)
    assert report["next_steps"][1].endswith("openclaw doctor --session-sqlite import "
                                            "--session-sqlite-agent ops")
    assert (sessions_dir(state, "ops") / "sessions.json").exists()
    assert not (state / "agents" / "main").exists()


def test_dry_run_writes_nothing_and_says_the_same(demo: tuple[Path, Path]) -> None:
    workspace, state = demo
    before = tree(workspace)
    run = cli("migrate", workspace, "--target", "openclaw", "--openclaw-state", state, "--dry-run", "--json")
    assert run.returncode == 0, run.stdout
    report = json.loads(run.stdout)
    valid(report)
    assert report["dry_run"] is True and report["migrated"] == report["sessions_found"]
    assert report["next_steps"]
    assert tree(workspace) == before and not state.exists()


def test_a_rerun_is_a_no_op(demo: tuple[Path, Path]) -> None:
    workspace, state = demo
    assert cli("migrate", workspace, "--target", "openclaw", "--openclaw-state", state).returncode == 0
    journal = workspace / ".sessions" / "backup_old_format" / "journal.jsonl"
    def times() -> dict[Path, int]:
        return {p: p.stat().st_mtime_ns for p in sessions_dir(state).iterdir()}

    before = tree(state), journal.read_bytes(), times()
    run = cli("migrate", workspace, "--target", "openclaw", "--openclaw-state", state, "--json")
    assert run.returncode == 0
    report = json.loads(run.stdout)
    assert report["migrated"] == 0 and report["already_migrated"] == report["sessions_found"]
    after = tree(state), journal.read_bytes(), times()
    assert after == before


def _existing_store(state: Path) -> bytes:
    folder = sessions_dir(state)
    folder.mkdir(parents=True)
    data = json.dumps({"agent:main:elsewhere": {"sessionId": "theirs", "updatedAt": 1}}, indent=2).encode()
    (folder / "sessions.json").write_bytes(data)
    (folder / "theirs.jsonl").write_bytes(b'{"type":"session","version":3,"id":"theirs"}\n')
    return data


def test_merge_then_rollback_exact(demo: tuple[Path, Path]) -> None:
    workspace, state = demo
    _existing_store(state)
    before_state, before_ws = tree(state), tree(workspace / ".sessions")
    run = cli("migrate", workspace, "--target", "openclaw", "--openclaw-state", state, "--json")
    assert run.returncode == 0, run.stdout
    store = strict_json((sessions_dir(state) / "sessions.json").read_bytes())
    assert store["agent:main:elsewhere"] == {"sessionId": "theirs", "updatedAt": 1}  # merged
    assert len(store) > 1
    run = cli("rollback", workspace, "--yes", "--json")
    assert run.returncode == 0, run.stdout
    assert json.loads(run.stdout)["status"] == "success"
    assert tree(state) == before_state  # byte for byte: the old sessions.json restored
    after_ws = tree(workspace / ".sessions")
    assert {k: v for k, v in after_ws.items() if not k.startswith("backup_old_format/")} == before_ws


def test_a_key_taken_in_openclaws_store_is_a_decision(demo: tuple[Path, Path]) -> None:
    workspace, state = demo
    folder = sessions_dir(state)
    folder.mkdir(parents=True)
    session_map = json.loads((workspace / ".sessions" / "session_map.json").read_text())
    key, sid = next(iter(session_map.items()))
    (folder / "sessions.json").write_text(json.dumps({key: {"sessionId": "other", "updatedAt": 5}}))
    run = cli("migrate", workspace, "--target", "openclaw", "--openclaw-state", state, "--json")
    assert run.returncode == 1
    report = json.loads(run.stdout)
    blocked = [d for d in report["error_details"] if d["problem"] == "key_conflict"]
    assert blocked and blocked[0]["fixes"] == ["keep-existing", "replace-existing"]
    assert strict_json((folder / "sessions.json").read_bytes())[key]["sessionId"] == "other"
    run = cli("migrate", workspace, "--target", "openclaw", "--openclaw-state", state, "--json",
              "--fix", f"{sid}=replace-existing")
    assert run.returncode == 0, run.stdout
    assert strict_json((folder / "sessions.json").read_bytes())[key]["sessionId"] == sid


def test_refused_when_openclaws_database_would_be_shadowed(demo: tuple[Path, Path]) -> None:
    workspace, state = demo
    session_map = json.loads((workspace / ".sessions" / "session_map.json").read_text())
    key, sid = next(iter(session_map.items()))
    database_with(state, key, "live-session")
    before = tree(workspace), tree(state)
    run = cli("migrate", workspace, "--target", "openclaw", "--openclaw-state", state)
    assert run.returncode == 2
    assert "already keeps its sessions in SQLite" in run.stderr
    assert repr(key) in run.stderr and "--fix ID=replace-existing" in run.stderr
    assert (tree(workspace), tree(state)) == before  # nothing written, not even a backup
    dry = cli("migrate", workspace, "--target", "openclaw", "--openclaw-state", state, "--dry-run")
    assert dry.returncode == 2 and "SQLite" in dry.stderr
    # the user decides for that session: the run goes ahead
    run = cli("migrate", workspace, "--target", "openclaw", "--openclaw-state", state, "--json",
              "--fix", f"{sid}=replace-existing")
    assert run.returncode == 0, run.stdout
    assert strict_json((sessions_dir(state) / "sessions.json").read_bytes())[key]["sessionId"] == sid


def test_database_conflicts_are_chosen_by_a_query_as_in_the_wizard(demo: tuple[Path, Path]) -> None:
    """--fix-where and --skip-where see the sessions as the OpenClaw target does: a session
    OpenClaw's SQLite already holds is a problem a query can choose (the wizard's bulk fix)."""
    workspace, state = demo
    session_map = json.loads((workspace / ".sessions" / "session_map.json").read_text())
    key, sid = next(iter(session_map.items()))
    database_with(state, key, "live-session")
    skipped = cli("migrate", workspace, "--target", "openclaw", "--openclaw-state", state, "--json",
                  "--dry-run", "--skip-where", "problem:openclaw_database")
    assert skipped.returncode in (0, 1), skipped.stdout + skipped.stderr
    [line] = [s for s in json.loads(skipped.stdout)["sessions"] if s["session_id"] == sid]
    assert line["status"] == "skip"
    run = cli("migrate", workspace, "--target", "openclaw", "--openclaw-state", state, "--json",
              "--fix-where", "problem:openclaw_database=replace-existing")
    assert run.returncode == 0, run.stdout + run.stderr
    assert strict_json((sessions_dir(state) / "sessions.json").read_bytes())[key]["sessionId"] == sid


def test_cleanup_only_after_a_committed_run(demo: tuple[Path, Path]) -> None:
    workspace, state = demo
    target = openclaw_layout(str(state))

    def fail_merge(op: str, path: str) -> None:
        if op == "rename" and path == target.store:
            raise OSError(5, "Input/output error", path)

    prepared = commands.prepare(str(workspace))
    assert prepared.plan is not None
    with fsio.fault_hook(fail_merge):
        outcome = commands.migrate(prepared.plan, target=target)
    assert outcome.report is not None and outcome.report.committed is False
    assert "Input/output error" in (outcome.error or "")
    refused = cli("cleanup", workspace, "--json")
    assert refused.returncode != 0
    assert "did not finish" in json.loads(refused.stdout)["message"]
    legacy = sorted(p.name for p in (workspace / ".sessions").glob("*.json"))
    assert legacy == sorted(p.name for p in (workspace / ".sessions").glob("*.json"))
    assert cli("verify", workspace).returncode == 4
    # a rerun finishes it; then verify holds and clean-up removes the originals
    assert cli("migrate", workspace, "--target", "openclaw", "--openclaw-state", state).returncode == 0
    assert cli("verify", workspace).returncode == 0
    done = cli("cleanup", workspace, "--json")
    assert done.returncode == 0, done.stdout
    removed = json.loads(done.stdout)["removed"]
    assert removed and all(not (workspace / ".sessions" / name).exists() for name in removed)
    assert cli("verify", workspace).returncode == 0
    # and rollback puts everything back, OpenClaw's folder emptied of what we wrote
    assert cli("rollback", workspace, "--yes").returncode == 0
    assert all((workspace / ".sessions" / name).exists() for name in removed)
    assert not any(sessions_dir(state).iterdir())


def test_verify_sees_a_changed_transcript_in_openclaws_folder(demo: tuple[Path, Path]) -> None:
    workspace, state = demo
    assert cli("migrate", workspace, "--target", "openclaw", "--openclaw-state", state).returncode == 0
    transcript = next(sessions_dir(state).glob("*.jsonl"))
    transcript.write_bytes(transcript.read_bytes()[:-20] + b"\n")
    run = cli("verify", workspace, "--json")
    assert run.returncode == 4
    assert any("changed since the migration wrote it" in p for p in json.loads(run.stdout)["problems"])
    kept = cli("cleanup", workspace, "--json")
    assert any(k["file"] == transcript.name[:-1] for k in json.loads(kept.stdout)["kept"])


def test_usage_errors(tmp_path: Path, demo: tuple[Path, Path]) -> None:
    workspace, state = demo
    run = cli("migrate", workspace, "--openclaw-state", state, "--json")
    assert run.returncode == 2 and "only with --target openclaw" in json.loads(run.stdout)["error"]
    run = cli("migrate", workspace, "--target", "openclaw", "--openclaw-state", state,
              "--agent-id", "Main", "--json")
    assert run.returncode == 2 and "not one OpenClaw uses" in json.loads(run.stdout)["error"]
    state.mkdir()
    (state / "agents").write_text("x")
    run = cli("migrate", workspace, "--target", "openclaw", "--openclaw-state", state)
    assert run.returncode == 2 and f"{state / 'agents'} is a regular file, not a folder" in run.stderr
    assert not (workspace / ".sessions" / "backup_old_format").exists()


def test_a_journal_record_with_a_relative_folder_is_damage(demo: tuple[Path, Path]) -> None:
    workspace, state = demo
    assert cli("migrate", workspace, "--target", "openclaw", "--openclaw-state", state).returncode == 0
    journal = workspace / ".sessions" / "backup_old_format" / "journal.jsonl"
    lines = journal.read_text().splitlines()
    record = json.loads(lines[1])
    assert record["op"] == "create" and record["dir"] == str(sessions_dir(state))
    record["dir"] = "../elsewhere"
    journal.write_text("\n".join([lines[0], json.dumps(record), *lines[2:]]) + "\n")
    before = tree(state)
    run = cli("rollback", workspace, "--yes")
    assert run.returncode == 2 and "journal.jsonl, line 2" in run.stderr
    assert "not an absolute path" in run.stderr
    assert tree(state) == before


def test_a_file_changed_after_the_scan_is_not_migrated(demo: tuple[Path, Path]) -> None:
    workspace, state = demo
    prepared = commands.prepare(str(workspace))
    assert prepared.plan is not None
    changed = next(ps for ps in prepared.plan.sessions if ps.action == "migrate")
    path = workspace / ".sessions" / changed.scan.file_name
    path.write_bytes(path.read_bytes().replace(b'"content": "', b'"content": "edited ', 1))
    outcome = commands.migrate(prepared.plan, target=openclaw_layout(str(state)))
    assert outcome.report is not None and outcome.report.committed is True
    assert [d.problem for d in outcome.report.error_details] == ["changed_during_migration"]
    assert not (sessions_dir(state) / f"{changed.final_id}.jsonl").exists()
    store = strict_json((sessions_dir(state) / "sessions.json").read_bytes())
    assert changed.final_id not in {e["sessionId"] for e in store.values()}
    others = [ps for ps in prepared.plan.sessions if ps.action == "migrate" and ps is not changed]
    assert others and all((sessions_dir(state) / f"{ps.final_id}.jsonl").exists() for ps in others)


def test_openclaws_lock_held_by_a_live_writer_stops_the_run_before_anything_is_written(
        demo: tuple[Path, Path]) -> None:
    from migrate_tui.engine.targets.openclaw_lock import payload

    workspace, state = demo
    folder = sessions_dir(state)
    folder.mkdir(parents=True)
    lock = folder / "sessions.json.lock"
    lock.write_bytes(payload(os.getpid()))  # this very process: alive, fresh
    before = tree(workspace), tree(state)
    run = cli("migrate", workspace, "--target", "openclaw", "--openclaw-state", state,
              "--lock-timeout", "0.3", "--json")
    assert run.returncode == 3, run.stdout
    assert "sessions.json.lock" in json.loads(run.stdout)["error"]
    assert (tree(workspace), tree(state)) == before  # not even a backup; their lock left alone
    lock.unlink()
    assert cli("migrate", workspace, "--target", "openclaw", "--openclaw-state", state).returncode == 0
