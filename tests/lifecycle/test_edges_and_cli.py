"""The edges: a repeated key in sessions.json is refused (never a silent drop); repeated or
malformed session_map.json keys are warnings; a rerun with another --agent-id adds no second
key; a dry run predicts each refusal with the real run's exit code.  And the command line:
one JSON object for click's own usage errors, exit 5 for a run stopped by Ctrl-C."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.lifecycle.lifecycle_support import (
    ROOT,
    TIMEOUT,
    A,
    B,
    C,
    Workspace,
    diff,
    oplock_held,
    store_lock_held,
    three,
    tree,
)


def test_a_repeated_key_in_sessions_json_is_refused_not_dropped(ws: Workspace) -> None:
    three(ws)
    ws.write_store(textwrap.dedent("""\
        {
          "agent:main:x": {"session_id": "one", "updated_at": 1, "session_file": "one.jsonl"},
          "agent:main:y": {"session_id": "y", "updated_at": 1, "session_file": "y.jsonl"},
          "agent:main:x": {"session_id": "two", "updated_at": 2, "session_file": "two.jsonl"}
        }
        """))
    before = tree(ws.root)
    for args in ((), ("--dry-run",)):
        run = ws.migrate(*args)
        assert run.rc == 2, str(run)
        error = run.report["error"]
        assert "repeats the key 'agent:main:x' in one object (lines 2, 4)" in error
        assert "sessions.json" in error
    assert diff(before, tree(ws.root)) == []


def test_repeated_and_malformed_session_map_keys_are_warnings(ws: Workspace) -> None:
    ws.add(A)
    ws.add(B)
    ws.write_raw("session_map.json", textwrap.dedent(f"""\
        {{
          "agent:main:main": "{A}",
          "bad key with spaces": "{B}",
          "agent:main:main": "{B}"
        }}
        """))
    run = ws.migrate("--dry-run")
    assert run.rc == 0, str(run)
    warnings = {w["problem"]: w for w in run.report["warning_details"]}
    assert "appears more than once (lines 2, 4)" in warnings["duplicate_key"]["error"]
    assert warnings["duplicate_key"]["line"] == 4
    assert "'bad key with spaces' is not a well-formed session key" in warnings["bad_key"]["error"]
    real = ws.migrate()
    assert real.rc == 0, str(real)
    assert ws.store()["agent:main:main"]["session_id"] == B  # the last one, as the agent read it
    assert ws.store()["bad key with spaces"]["session_id"] == B  # carried, never lost


def test_a_rerun_with_another_agent_id_adds_no_second_key(ws: Workspace) -> None:
    three(ws)
    assert ws.migrate().rc == 0
    keys = set(ws.store())
    before = tree(ws.root)
    run = ws.migrate("--agent-id", "other", "-v")
    assert run.rc == 0, str(run)
    assert set(ws.store()) == keys and f"agent:other:{C}" not in keys
    assert run.report["already_migrated"] == 3 and run.report["migrated"] == 0
    notes = run.session(C)["notes"]
    assert notes == [f"already migrated: reachable as 'agent:main:{C}'; no other key is made for it"]
    assert diff(before, tree(ws.root)) == []


# ---------------------------------------------------------------- the dry run predicts


def _both(ws: Workspace, *args: str) -> tuple[int, int]:
    dry = ws.migrate("--dry-run", *args)
    real = ws.migrate(*args)
    return dry.rc, real.rc


def test_a_dry_run_predicts_a_symlinked_lock(ws: Workspace, tmp_path: Path) -> None:
    three(ws)
    os.symlink(tmp_path / "elsewhere", ws.sessions / "sessions.json.lock")
    assert _both(ws) == (2, 2)
    assert ws.migrate("--dry-run").report["error"].endswith("Move it away and run again.")


def test_a_dry_run_predicts_a_backup_folder_that_is_a_file(ws: Workspace) -> None:
    three(ws)
    (ws.sessions / "backup_old_format").write_text("not a folder")
    assert _both(ws) == (2, 2)


def test_a_dry_run_predicts_another_command_running(ws: Workspace) -> None:
    three(ws)
    with oplock_held(ws.root, "rollback"):
        assert _both(ws) == (3, 3)


def test_a_dry_run_predicts_sessions_json_lock_held_past_the_timeout(ws: Workspace) -> None:
    three(ws)
    with store_lock_held(ws.root):
        assert _both(ws, "--lock-timeout", "0.2") == (3, 3)


def test_a_dry_run_of_a_good_workspace_still_exits_0(ws: Workspace) -> None:
    three(ws)
    assert _both(ws) == (0, 0)


# ---------------------------------------------------------------- the command line


@pytest.mark.parametrize("args", [
    ("migrate", "--json"),  # no workspace
    ("migrate", "{ws}", "--json", "--no-such-option"),
    ("migrate", "{ws}", "--json", "--lock-timeout", "soon"),
    ("verify", "--json", "{ws}", "extra"),
    ("rollback", "{ws}", "--json", "--bogus"),
    ("cleanup", "{ws}", "--json", "--bogus"),
])
def test_usage_errors_under_json_are_one_json_object(ws: Workspace, args: tuple[str, ...]) -> None:
    argv = [a.replace("{ws}", str(ws.root)) for a in args]
    proc = subprocess.run([sys.executable, "-m", "migrate_tui", *argv], capture_output=True,
                          text=True, timeout=TIMEOUT, cwd=str(ROOT))
    assert proc.returncode == 2, proc
    out = json.loads(proc.stdout)  # exactly one object
    assert out["status"] == "failed" and out["error"] and out["usage_error"] is True
    assert "Traceback" not in proc.stderr
    plain = subprocess.run([sys.executable, "-m", "migrate_tui", *[a for a in argv if a != "--json"]],
                           capture_output=True, text=True, timeout=TIMEOUT, cwd=str(ROOT))
    assert plain.stdout == "" and "Usage:" in plain.stderr


INTERRUPTED = textwrap.dedent("""
    import os, signal, sys
    from migrate_tui.core import fsio
    target, times = sys.argv[1], int(sys.argv[2])
    opened = []
    def hook(op, path):  # while the transcript is prepared: the file's second opening
        if op == "open" and path.endswith(os.sep + target):
            opened.append(1)
            if len(opened) == 2:
                for _ in range(times):
                    os.kill(os.getpid(), signal.SIGINT)
    installed = fsio.fault_hook(hook)  # kept referenced: installed for the whole process
    installed.__enter__()
    from migrate_tui.cli import main
    main(sys.argv[3:])
""")


@pytest.mark.parametrize("times", [1, 2], ids=["ctrl-c", "ctrl-c-twice"])
def test_a_migration_stopped_by_ctrl_c_exits_5(ws: Workspace, times: int) -> None:
    three(ws)
    proc = subprocess.run([sys.executable, "-c", INTERRUPTED, f"{A}.json", str(times), "migrate",
                           str(ws.root), "--json"], capture_output=True, text=True, timeout=TIMEOUT,
                          cwd=str(ROOT))
    assert proc.returncode == 5, proc
    out = json.loads(proc.stdout)
    assert out["cancelled"] is True
    assert "Traceback" not in proc.stderr
    again = ws.migrate()
    assert again.rc == 0, str(again)
    assert ws.cli("verify").rc == 0
    assert not (ws.sessions / "migrate-tui.lock").exists()
    assert signal.SIGINT  # sent by the command to itself, at a chosen point
