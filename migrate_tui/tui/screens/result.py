"""Step 8: the result.  Totals, verification, the sessions not migrated and why, where the
backup and the JSON report are; roll back or clean up (each confirmed first), or quit."""

from __future__ import annotations

from typing import Any, ClassVar

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Static

from migrate_tui.core.errors import BackupError
from migrate_tui.engine import LockBusy, WorkspaceError
from migrate_tui.engine.cleanup import CleanupPlan, cleanup_workspace, plan_cleanup
from migrate_tui.engine.rollback import RollbackPlan, describe, plan_rollback, rollback_workspace
from migrate_tui.tui.formatting import human_bytes, plural
from migrate_tui.tui.messages import ApplyOutcome
from migrate_tui.tui.parts import Parts
from migrate_tui.tui.screens.confirm import ConfirmDialog
from migrate_tui.tui.widgets.step_header import StepHeader


def headline(outcome: ApplyOutcome) -> tuple[str, str]:
    report = outcome.report
    if report is None:
        return f"✗ The migration did not run to the end: {outcome.error}", "$text-error bold"
    if report.get("cancelled"):
        return "■ Cancelled at a safe point: sessions.json was not changed", "$text-warning bold"
    if report.get("error"):
        return f"✗ Stopped at a safe point: {report['error']}", "$text-error bold"
    if report.get("verified") is False:
        return "✗ Verification found a difference", "$text-error bold"
    if report["errors"]:
        return f"! Done, but {plural(report['errors'], 'session')} not migrated", "$text-warning bold"
    return "✓ Migration complete and verified", "$text-success bold"


def outcome_text(outcome: ApplyOutcome, show_path) -> Parts:  # noqa: ANN001, C901
    text = Parts()
    line, style = headline(outcome)
    text.append(line + "\n\n", style)
    report: dict[str, Any] | None = outcome.report
    if report is None:
        text.append("Nothing in sessions.json was changed. Close whatever holds the lock (the "
                    "agent?) and run the wizard or `migrate-tui migrate` again; `migrate-tui "
                    "rollback` undoes what was written so far.\n")
        return text
    rows = [
        ("Sessions found", report["sessions_found"]),
        ("Migrated", report["migrated"]),
        ("Already migrated", report["already_migrated"]),
        ("Skipped", report["skipped"]),
        ("Errors", report["errors"]),
        ("Warnings", report["warnings"]),
    ]
    for label, value in rows:
        text.append(f"{label + ':':<18}", "bold").append(f"{value:,}\n")
    verified = report.get("verified")
    text.append(f"{'Verification:':<18}", "bold")
    if verified is True:
        text.append("passed: every entry and transcript reads back as planned\n", "$text-success")
    elif verified is False:
        text.append("FAILED\n", "$text-error bold")
        for problem in report.get("verify_problems", []):
            text.append(f"  - {problem}\n", "$text-error")
    else:
        text.append("not run\n", "$text-muted")
    text.append(f"{'Backup:':<18}", "bold").append(show_path(report["backup_dir"]) + "\n")
    text.append(f"{'Report (JSON):':<18}", "bold").append(
        (show_path(outcome.report_path) if outcome.report_path else "not saved (no backup folder)") + "\n")
    if report.get("cancelled") or report.get("error"):
        text.append("\nTo finish, run the wizard (or `migrate-tui migrate`) again; to undo, press "
                    "r (roll back).\n", "italic")
    not_migrated = [s for s in report["sessions"] if s["status"] in ("skip", "blocked", "failed")]
    if not_migrated:
        text.append(f"\nNot migrated ({len(not_migrated)}):\n", "bold")
        details = {d["session_id"]: d for d in report["error_details"]}
        for s in not_migrated:
            detail = details.get(s["session_id"])
            if detail is not None:
                why = f"{detail['problem']}: {detail['error']}"
                if detail["fixes"]:
                    why += f" (fixes: {', '.join(detail['fixes'])})"
            else:
                why = "skipped by you"
            text.append(f"  {s['file']}: ", "bold").append(why + "\n")
    return text


class ResultScreen(Screen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("r", "rollback", "Roll back"),
        Binding("c", "cleanup", "Clean up originals"),
        Binding("q", "app.quit", "Quit", show=False),
    ]

    def compose(self) -> ComposeResult:
        yield StepHeader(8, "Result", self.app.workspace_label)
        with VerticalScroll(id="result-body"):
            yield Static(id="outcome")
        yield Static(id="after")
        yield Footer(compact=True)

    @property
    def workspace(self) -> str:
        return self.app.workspace_abs

    def on_mount(self) -> None:
        outcome = self.app.outcome
        assert outcome is not None
        self.query_one("#outcome", Static).update(outcome_text(outcome, self.app.show_path).content())
        self.query_one("#after", Static).update(
            Parts("r rolls the migration back · c removes the originals (after checking the "
                  "backup) · q quits", "italic $text-muted").content())
        self.query_one("#result-body").focus()

    def say(self, text: str, style: str = "") -> None:
        self.query_one("#after", Static).update(Parts(text, style).content())

    # ------------------------------------------------------------ roll back

    def action_rollback(self) -> None:
        self.say("Looking at what a rollback would do…", "italic")
        self._plan_rollback()

    @work(thread=True, exclusive=True, group="after", exit_on_error=False)
    def _plan_rollback(self) -> None:
        try:
            plan = plan_rollback(self.workspace)
        except (WorkspaceError, BackupError, OSError, ValueError) as exc:
            self.app.call_from_thread(self.say, f"Cannot roll back: {exc}", "$text-error")
            return
        self.app.call_from_thread(self._confirm_rollback, plan)

    def _confirm_rollback(self, plan: RollbackPlan, force: bool = False) -> None:
        if plan.nothing_to_do:
            self.say("Nothing to roll back: the workspace is as it was before the migration.")
            return
        body = Parts(describe(plan) + "\n\n")
        if plan.changed:
            body.append("Changed since the migration (the agent may have written to them): "
                        + ", ".join(plan.changed) + ". Their current content goes to the backup "
                        "first.\n\n", "$text-warning bold")
        body.append("Everything outside backup_old_format/ goes back to how it was before the "
                    "migration.", "bold")

        def answered(yes: bool | None) -> None:
            if yes:
                self.say("Rolling back…", "italic")
                self._rollback(force or bool(plan.changed))
            else:
                self.say("Not rolled back.")

        self.app.push_screen(ConfirmDialog("Roll back the migration?", body.content(), "Roll back",
                                           danger=True), answered)

    @work(thread=True, exclusive=True, group="after", exit_on_error=False)
    def _rollback(self, force: bool) -> None:
        try:
            result = rollback_workspace(self.workspace, force=force,
                                        lock_timeout=self.app.settings.lock_timeout)
        except (LockBusy, WorkspaceError, OSError) as exc:
            self.app.call_from_thread(self.say, f"Rollback stopped: {exc}", "$text-error bold")
            return
        style = "$text-success bold" if result.ok else "$text-error bold"
        self.app.call_from_thread(self.say, result.message, style)

    # ------------------------------------------------------------ clean up

    def action_cleanup(self) -> None:
        self.say("Checking the backup copies of the originals…", "italic")
        self._plan_cleanup()

    @work(thread=True, exclusive=True, group="after", exit_on_error=False)
    def _plan_cleanup(self) -> None:
        try:
            plan = plan_cleanup(self.workspace)
        except (WorkspaceError, BackupError, OSError, ValueError) as exc:
            self.app.call_from_thread(self.say, f"Cannot clean up: {exc}", "$text-error")
            return
        self.app.call_from_thread(self._confirm_cleanup, plan)

    def _confirm_cleanup(self, plan: CleanupPlan) -> None:
        if not plan.remove:
            kept = "; ".join(f"{name}: {why}" for name, why in plan.keep)
            self.say("Nothing to clean up" + (f" ({kept})" if kept else "") + ".")
            return
        body = Parts(f"Remove {plural(len(plan.remove), 'original')} ({human_bytes(plan.bytes)}) "
                     "from .sessions/: each was checked byte for byte against its backup copy, "
                     "which stays in backup_old_format/.\n")
        names = ", ".join(plan.remove[:8]) + (" …" if len(plan.remove) > 8 else "")
        body.append(names + "\n", "$text-muted")
        for name, why in plan.keep:
            body.append(f"stays: {name} ({why})\n", "italic")
        body.append("\nA rollback puts them back.", "bold")

        def answered(yes: bool | None) -> None:
            if yes:
                self.say("Cleaning up…", "italic")
                self._cleanup()
            else:
                self.say("Nothing removed.")

        self.app.push_screen(ConfirmDialog("Remove the migrated originals?", body.content(),
                                           "Remove them", danger=True), answered)

    @work(thread=True, exclusive=True, group="after", exit_on_error=False)
    def _cleanup(self) -> None:
        try:
            result = cleanup_workspace(self.workspace)
        except (WorkspaceError, BackupError, OSError, ValueError) as exc:
            self.app.call_from_thread(self.say, f"Clean-up stopped: {exc}", "$text-error bold")
            return
        self.app.call_from_thread(self.say, result.message,
                                  "$text-success bold" if result.ok else "$text-error bold")
