"""docs/report.schema.json against real reports: the command run in a subprocess on generated
workspaces, each outcome's ``--json`` object validated (migrate: success, partial, dry run,
fixes, refusals, usage errors; verify; rollback; cleanup), and ``last_report.json`` too;
a cancelled run through the engine function the command line calls.

The schema names every key and allows no other, so a key renamed in the code (or in the
schema) fails here."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from migrate_tui.core.layout import open_layout
from migrate_tui.demo import generate_workspace
from migrate_tui.engine import commands
from migrate_tui.engine.model import ALL_FIXES, FIXES_BY_CODE
from migrate_tui.engine.oplock import operation_lock
from tests.support import run_command

DOCS = Path(__file__).resolve().parents[2] / "docs"
SCHEMA = json.loads((DOCS / "report.schema.json").read_text(encoding="utf-8"))
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA)
TIMEOUT = 120  # seconds: a hang fails the test instead of the suite


def run(*args: str, expect: int) -> dict[str, Any]:
    """Run ``migrate-tui ARGS --json``: its exit code, and its stdout is one valid report."""
    proc = run_command(*args, "--json", timeout=TIMEOUT)
    assert proc.returncode == expect, (proc.returncode, proc.stdout, proc.stderr)
    report = json.loads(proc.stdout)  # one JSON object, nothing else on stdout
    valid(report)
    return report


def valid(report: Any) -> None:
    errors = sorted(VALIDATOR.iter_errors(report), key=lambda e: list(e.absolute_path))
    assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message[:300]}" for e in errors)


def kind(report: dict[str, Any]) -> str:
    """Which of the schema's shapes the report is (exactly one: oneOf)."""
    shapes = [name for name in ("migrate", "verify", "rollback", "cleanup", "refusal")
              if jsonschema.Draft202012Validator(
                  {"$defs": SCHEMA["$defs"], "$ref": f"#/$defs/{name}"}).is_valid(report)]
    assert len(shapes) == 1, shapes
    return shapes[0]


@pytest.fixture
def good(tmp_path: Path) -> str:
    generate_workspace(tmp_path / "good", sessions=4)
    return str(tmp_path / "good")


@pytest.fixture
def damaged(tmp_path: Path) -> str:
    generate_workspace(tmp_path / "damaged", sessions=3, damaged=True)
    return str(tmp_path / "damaged")


def test_the_schema_is_a_draft_2020_12_schema() -> None:
    assert SCHEMA["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    jsonschema.Draft202012Validator.check_schema(SCHEMA)
    assert SCHEMA["$defs"]["fix"]["enum"] == list(ALL_FIXES)
    pattern = SCHEMA["$defs"]["code"]["pattern"]
    assert all(jsonschema.Draft202012Validator({"pattern": pattern}).is_valid(c) for c in FIXES_BY_CODE)


def test_a_migration_that_succeeds_then_verify_cleanup_rollback(good: str) -> None:
    dry = run("migrate", good, "--dry-run", expect=0)
    assert (kind(dry), dry["status"], dry["dry_run"]) == ("migrate", "success", True)
    assert "verified" not in dry and {s["status"] for s in dry["sessions"]} == {"migrate"}

    done = run("migrate", good, expect=0)
    assert (done["status"], done["verified"], done["committed"]) == ("success", True, True)
    assert {s["status"] for s in done["sessions"]} == {"migrated"}
    saved = json.loads(Path(done["report_path"]).read_text(encoding="utf-8"))
    valid(saved)
    assert saved == done

    again = run("migrate", good, expect=0)
    assert again["already_migrated"] == again["sessions_found"] and again["migrated"] == 0

    ok = run("verify", good, expect=0)
    assert (kind(ok), ok["status"]) == ("verify", "ok")

    cleaned = run("cleanup", good, expect=0)
    assert (kind(cleaned), cleaned["status"]) == ("cleanup", "success") and cleaned["removed"]

    undone = run("rollback", good, expect=0)
    assert (kind(undone), undone["status"]) == ("rollback", "success") and undone["restored"]
    nothing = run("rollback", good, expect=0)
    assert (kind(nothing), nothing["status"]) == ("rollback", "nothing_to_do")
    assert run("cleanup", good, expect=0)["status"] == "nothing_to_do"


def test_a_partial_migration_with_problems_and_fixes(damaged: str) -> None:
    dry = run("migrate", damaged, "--dry-run", expect=1)
    assert (dry["status"], dry["dry_run"]) == ("partial", True)
    problems = {d["problem"] for d in dry["error_details"]}
    assert {"invalid_json", "not_utf8", "bad_messages"} <= problems
    assert all(d["fixes"] for d in dry["error_details"] if d["problem"] == "invalid_json")
    assert any(d["line"] and d["column"] for d in dry["error_details"])

    fixed = run("migrate", damaged, "--dry-run", "--fix-where", "problem:invalid_json=salvage",
                "--fix-where", "problem:not_utf8=replace-bytes", expect=1)
    assert {"fix:salvage", "fix:replace-bytes"} <= {s["action"] for s in fixed["sessions"]}

    partial = run("migrate", damaged, "--fix-where", "problem:invalid_json=salvage", expect=1)
    assert (partial["status"], partial["verified"], partial["committed"]) == ("partial", True, True)
    assert {"migrated", "blocked"} <= {s["status"] for s in partial["sessions"]}
    assert partial["warning_details"] and partial["errors"] == len(partial["error_details"])
    valid(json.loads(Path(partial["report_path"]).read_text(encoding="utf-8")))


def test_verify_and_rollback_after_something_changed(good: str) -> None:
    done = run("migrate", good, expect=0)
    transcript = Path(done["store_path"]).parent / f"{done['sessions'][0]['session_id']}.jsonl"
    transcript.write_text('{"role": "user", "content": "not what was written"}\n', encoding="utf-8")
    different = run("verify", good, expect=4)
    assert (different["status"], bool(different["problems"])) == ("different", True)
    refused = run("rollback", good, expect=1)
    assert (kind(refused), refused["status"]) == ("rollback", "refused") and refused["refused"]


def test_refusals_and_usage_errors(good: str, tmp_path: Path) -> None:
    missing = run("migrate", str(tmp_path / "nowhere"), expect=2)
    assert (kind(missing), missing["status"]) == ("refusal", "failed")
    assert run("migrate", good, "--bogus", expect=2)["usage_error"] is True
    assert run("migrate", good, "--fix", "no-such-session=salvage", expect=2)["status"] == "failed"
    assert kind(run("verify", str(tmp_path / "nowhere"), expect=2)) == "refusal"

    with operation_lock(open_layout(good), "migrate"):  # another command is running
        for command in (["migrate", good], ["migrate", good, "--dry-run"], ["verify", good],
                        ["rollback", good], ["cleanup", good]):
            busy = run(*command, expect=3)
            assert (kind(busy), busy["status"]) == ("refusal", "busy"), command

    lock = Path(good) / ".sessions" / "sessions.json.lock"
    lock.write_text(str(os.getpid()))  # the agent (this live process) holds it
    locked = run("migrate", good, "--lock-timeout", "0", expect=3)
    assert (kind(locked), locked["status"]) == ("refusal", "failed")


def test_cancelled_runs(good: str) -> None:
    """Cancelled at the first safe point, through the engine function the command line calls
    (its to_json() is what --json prints; a timed Ctrl-C would make a flaky test)."""
    cancel = threading.Event()
    cancel.set()
    prepared = commands.prepare(good)
    assert prepared.plan is not None
    stopped = commands.migrate(prepared.plan, cancel=cancel)
    report = stopped.to_json()
    valid(report)
    assert (stopped.exit_code, kind(report), report["cancelled"]) == (5, "migrate", True)
    assert run("verify", good, expect=4)["status"] == "different"  # not migrated
    verify = commands.verify(good, cancel=cancel)
    valid(verify.to_json())
    assert (verify.exit_code, kind(verify.to_json()), verify.to_json()["cancelled"]) == (5, "refusal", True)
