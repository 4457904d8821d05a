"""The commands' outcomes: a refusal gives the exit code and the JSON whatever the command;
otherwise each command's own status, sentence and JSON (what the command line prints)."""

from __future__ import annotations

from pathlib import Path

from migrate_tui.engine import commands
from migrate_tui.engine.cleanup import CleanupPlan, CleanupResult
from migrate_tui.engine.commands import (
    CleanupOutcome,
    MigrateOutcome,
    Refusal,
    RollbackOutcome,
    VerifyOutcome,
)
from migrate_tui.engine.report import EXIT_CANCELLED, EXIT_LOCKED, EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE
from migrate_tui.engine.rollback import RollbackResult


def test_a_refusal_decides_every_outcome() -> None:
    busy = Refusal("busy", "another command runs")
    for outcome in (MigrateOutcome(refusal=busy), VerifyOutcome(refusal=busy),
                    RollbackOutcome(refusal=busy), CleanupOutcome(refusal=busy)):
        assert outcome.exit_code == EXIT_LOCKED
        assert outcome.to_json() == {"status": "busy", "error": "another command runs"}
    damaged = Refusal("damaged", "the journal is damaged")
    for op in (RollbackOutcome(refusal=damaged), CleanupOutcome(refusal=damaged)):
        assert (op.status, op.message, op.exit_code) == ("failed", "the journal is damaged", EXIT_USAGE)
        assert list(op.to_json()) == ["status", "error"]
    assert VerifyOutcome(refusal=damaged).status == "refused"
    assert MigrateOutcome(refusal=damaged).message == "the journal is damaged"


def test_rollback_outcomes() -> None:
    assert RollbackOutcome().to_json() == {"status": "nothing_to_do", "removed": [], "restored": []}
    assert (RollbackOutcome().message, RollbackOutcome().exit_code) == ("nothing to roll back", EXIT_OK)
    done = RollbackOutcome(result=RollbackResult(True, removed=["a.jsonl"], message="rolled back"))
    assert (done.status, done.exit_code, done.message) == ("success", EXIT_OK, "rolled back")
    assert done.to_json() == {"status": "success", "removed": ["a.jsonl"], "restored": [],
                              "refused": [], "message": "rolled back"}
    stopped = RollbackOutcome(result=RollbackResult(False, cancelled=True, message="stopped"))
    assert (stopped.status, stopped.exit_code) == ("cancelled", EXIT_CANCELLED)
    refused = RollbackOutcome(result=RollbackResult(False, refused=["a.jsonl"], message="refused"))
    assert (refused.status, refused.exit_code) == ("refused", EXIT_PROBLEMS)


def test_cleanup_outcomes(tmp_path: Path) -> None:
    ws = str(tmp_path)
    nothing = CleanupOutcome(CleanupPlan(ws, keep=[("a.json", "it changed")]))
    assert (nothing.status, nothing.exit_code, nothing.message) == (
        "nothing_to_do", EXIT_OK, "Nothing to clean up.")
    assert nothing.to_json() == {"status": "nothing_to_do", "message": "Nothing to clean up.",
                                 "removed": [], "kept": [{"file": "a.json", "why": "it changed"}]}
    asked = CleanupOutcome(CleanupPlan(ws, remove=["b.json"], bytes=1234))
    assert asked.status == "success"
    assert asked.message == (f"1 original(s), 1,234 bytes, have a verified backup copy in "
                             f"{tmp_path / '.sessions' / 'backup_old_format'}.")
    assert CleanupOutcome(CleanupPlan(ws, refused="a run is interrupted")).message == \
        "Clean-up refused: a run is interrupted."
    failed = CleanupOutcome(result=CleanupResult(False, message="oops"))
    assert (failed.status, failed.exit_code, failed.message) == ("failed", EXIT_PROBLEMS, "oops")
    cancelled = CleanupOutcome(result=CleanupResult(False, cancelled=True, removed=["a.json"]))
    assert (cancelled.status, cancelled.exit_code) == ("cancelled", EXIT_CANCELLED)
    assert cancelled.to_json()["removed"] == ["a.json"]


def test_every_outcome_is_exported() -> None:
    for name in ("CommandOutcome", "OperationOutcome", "MigrateOutcome", "VerifyOutcome",
                 "RollbackOutcome", "CleanupOutcome"):
        assert name in commands.__all__
