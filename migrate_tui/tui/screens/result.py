"""Step 8: the result.  Totals, the time it took, verification, the sessions not migrated and
why, where the backup and the JSON report are.  From here: back to the plan with what is
left (scanned again, decisions kept) to fix it and migrate again; roll back or clean up
(each confirmed first); or quit.

Which of those is offered, and why not otherwise, is decided in one place
(``offered_actions``).  Dismisses with "continue" (back to the plan)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.widgets import Footer, Static
from textual.worker import Worker

from migrate_tui.core.errors import BackupError
from migrate_tui.engine import LockBusy, WorkspaceError
from migrate_tui.engine.cleanup import CleanupPlan, cleanup_workspace, plan_cleanup
from migrate_tui.engine.commands import MigrateOutcome
from migrate_tui.engine.rollback import RollbackPlan, describe, plan_rollback, rollback_workspace
from migrate_tui.engine.targets.openclaw_doctor import doctor_dry_run, openclaw_executable
from migrate_tui.tui.formatting import human_bytes, plural
from migrate_tui.tui.messages import Ask, Way
from migrate_tui.tui.parts import Parts
from migrate_tui.tui.screen_base import WizardScreen
from migrate_tui.tui.throughput import duration
from migrate_tui.tui.widgets.step_header import StepHeader
from migrate_tui.tui.workers import background

MAX_LISTED = 300  # sessions listed as not migrated; the rest are counted


def headline(outcome: MigrateOutcome) -> tuple[str, str]:
    report = outcome.report
    if report is None:
        return f"✗ The migration did not run to the end: {outcome.error}", "$text-error bold"
    if report.cancelled:
        return "■ Cancelled at a safe point: sessions.json was not changed", "$text-warning bold"
    if report.error:
        return f"✗ Stopped at a safe point: {report.error}", "$text-error bold"
    if report.verified is False:
        return "✗ Verification found a difference", "$text-error bold"
    if report.errors:
        return (f"! Done: {plural(report.migrated, 'session')} migrated, "
                f"{plural(report.errors, 'session')} not migrated"), "$text-warning bold"
    return f"✓ Migration complete and verified: {plural(report.migrated, 'session')}", "$text-success bold"


def finished(outcome: MigrateOutcome) -> bool:
    """The run wrote sessions.json and checked it (it was not cancelled, refused or stopped)."""
    return outcome.report is not None and outcome.report.finished


def left_over(outcome: MigrateOutcome) -> int:
    """Sessions the run did not migrate (problems, skipped, failed), or all when it did not finish."""
    if outcome.report is None or not finished(outcome):
        return -1
    return sum(1 for _ in outcome.report.left_out())


def offered_actions(outcome: MigrateOutcome, rolled_back: bool) -> dict[str, str | None]:
    """Each action of the result screen → None when offered, else the sentence saying why
    not.  (The one place that decides; it reads only the outcome of this run for now.)"""
    if rolled_back:
        gone = "the migration was rolled back"
        return {"continue": None, "rollback": gone, "cleanup": gone}
    out: dict[str, str | None] = {"continue": None, "rollback": None, "cleanup": None}
    if not finished(outcome):
        out["cleanup"] = ("the run did not finish: clean-up waits for a migration that wrote "
                          "sessions.json and checked it")
    if outcome.result is not None and not outcome.result.written:
        out["rollback"] = "nothing was written, so there is nothing to roll back"
    return out


def outcome_text(outcome: MigrateOutcome, show_path: Callable[[str], str],  # noqa: C901
                 rolled_back: str | None = None) -> Parts:
    text = Parts()
    if rolled_back:
        text.append("↺ Rolled back: " + rolled_back + "\n\n", "$text-warning bold")
    line, style = headline(outcome)
    text.append(line + "\n\n", style if not rolled_back else "$text-muted")
    report = outcome.report
    if outcome.elapsed is not None:
        text.append(f"{'Took:':<18}", "bold").append(duration(outcome.elapsed) + "\n")
    if report is None:
        text.append("Nothing in sessions.json was changed. Close whatever holds the lock (the "
                    "agent?) and migrate again (p goes back to the plan); `migrate-tui "
                    "rollback` undoes what was written so far.\n")
        return text
    rows = [
        ("Sessions found", report.sessions_found),
        ("Migrated", report.migrated),
        ("Already migrated", report.already_migrated),
        ("Skipped", report.skipped),
        ("Errors", report.errors),
        ("Warnings", report.warnings),
    ]
    for label, value in rows:
        text.append(f"{label + ':':<18}", "bold").append(f"{value:,}\n")
    text.append(f"{'Verification:':<18}", "bold")
    if report.verified is True:
        text.append("passed: every entry and transcript reads back as planned\n", "$text-success")
    elif report.verified is False:
        text.append("FAILED\n", "$text-error bold")
        for problem in report.verify_problems:
            text.append(f"  - {problem}\n", "$text-error")
    else:
        text.append("not run\n", "$text-muted")
    text.append(f"{'Backup:':<18}", "bold").append(show_path(report.backup_dir) + "\n")
    text.append(f"{'Report (JSON):':<18}", "bold").append(
        (show_path(report.report_path) if report.report_path else "not saved (no backup folder)") + "\n")
    if report.next_steps and report.finished:
        text.append("\nNext, let OpenClaw import them (the first command changes nothing):\n", "bold")
        for step in report.next_steps:
            text.append(f"  {step}\n")
    if report.cancelled or report.error:
        text.append("\nTo finish, press p: back to the plan with what is left, then migrate again; "
                    "to undo, press r (roll back).\n", "italic")
    not_migrated = list(report.left_out())
    if not_migrated:
        text.append(f"\nNot migrated ({len(not_migrated):,}):\n", "bold")
        details = {d.session_id: d for d in report.error_details}
        for s in not_migrated[:MAX_LISTED]:
            detail = details.get(s.session_id)
            if detail is not None:
                why = f"{detail.problem}: {detail.error}"
                if detail.fixes:
                    why += f" (fixes: {', '.join(detail.fixes)})"
            else:
                why = "skipped by you"
            text.append(f"  {s.file}: ", "bold").append(why + "\n")
        if len(not_migrated) > MAX_LISTED:
            text.append(f"  … and {len(not_migrated) - MAX_LISTED:,} more: p shows them all in the plan\n",
                        "italic")
    return text


class ResultScreen(WizardScreen[str]):
    STEP = 8
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("p", "continue", "Back to the plan"),
        Binding("r", "rollback", "Roll back"),
        Binding("c", "cleanup", "Clean up originals"),
        Binding("d", "doctor", "OpenClaw's dry run"),
        Binding("q", "app.quit", "Quit"),
    ]

    def __init__(self, outcome: MigrateOutcome) -> None:
        super().__init__()
        self.outcome = outcome
        self.rolled_back: str | None = None  # the rollback's message, once rolled back

    def compose(self) -> ComposeResult:
        yield StepHeader(8, "Result", self.state.workspace)
        with VerticalScroll(id="result-body"):
            yield Static(id="outcome")
        yield Static(id="after")
        yield Footer(compact=True)

    @property
    def workspace(self) -> str:
        return self.state.workspace_abs

    @property
    def offered(self) -> dict[str, str | None]:
        return offered_actions(self.outcome, self.rolled_back is not None)

    def on_mount(self) -> None:
        self._draw()
        self.say(self._choices(), "italic $text-muted")
        self.query_one("#result-body").focus()

    def _draw(self) -> None:
        self.query_one("#outcome", Static).update(
            outcome_text(self.outcome, self.wizard.show_path, self.rolled_back).content())

    def _choices(self) -> str:
        offered = self.offered
        words = []
        left = left_over(self.outcome)
        if left != 0:
            words.append("p: back to the plan with what is left (scanned again)")
        else:
            words.append("p: back to the plan")
        if offered["rollback"] is None:
            words.append("r rolls the migration back")
        if offered["cleanup"] is None:
            words.append("c removes the originals (after checking the backup)")
        if self._doctor_offered():
            words.append("d runs OpenClaw's dry run")
        words.append("q quits")
        text = " · ".join(words)
        for action, name in (("rollback", "roll back"), ("cleanup", "clean-up")):
            if offered[action]:
                text += f"\n{name} is not offered: {offered[action]}"
        return text

    def say(self, text: str, style: str = "") -> None:
        self.query_one("#after", Static).update(Parts(text, style).content())

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "doctor":
            return self._doctor_offered()
        reason = {"rollback": self.offered["rollback"], "cleanup": self.offered["cleanup"]}.get(action)
        return None if reason else True

    # ------------------------------------------------------------ OpenClaw's dry run

    def _doctor_offered(self) -> bool:
        report = self.outcome.report
        return bool(report is not None and report.next_steps and report.finished
                    and self.rolled_back is None and openclaw_executable() is not None)

    def action_doctor(self) -> None:
        if not self._doctor_offered():
            return
        self.say("Running `openclaw doctor --session-sqlite dry-run` (it changes nothing)…", "italic")
        self._run_doctor(self.state.target)

    @background("OpenClaw's dry run", group="after", exclusive=True)
    def _run_doctor(self, target: Any) -> None:
        found = doctor_dry_run(target)
        self.app.call_from_thread(self.say, found.summary(),
                                  "$text-success" if found.ok else "$text-warning bold")

    def action_continue(self) -> None:
        self.finish("continue")

    def ways_forward(self, worker: Worker[Any], error: BaseException) -> list[Way]:
        what = {"rollback": "Roll back", "clean-up": "Clean up"}.get(worker.name.split(" ")[0], "")
        self.say(f"{worker.name} stopped: {error}", "$text-error bold")
        ways = [Way("p", "Back to the plan (scanned again)", self.action_continue)]
        if what == "Roll back":
            ways.insert(0, Way("r", "Plan the rollback again", self.action_rollback))
        elif what == "Clean up":
            ways.insert(0, Way("c", "Plan the clean-up again", self.action_cleanup))
        return ways

    # ------------------------------------------------------------ roll back

    def action_rollback(self) -> None:
        why = self.offered["rollback"]
        if why:
            self.say(f"Not offered: {why}.", "$text-warning")
            return
        self.say("Looking at what a rollback would do…", "italic")
        self._plan_rollback()

    @background("rollback planning", group="after", exclusive=True)
    def _plan_rollback(self) -> None:
        try:
            plan = plan_rollback(self.workspace)
        except (LockBusy, WorkspaceError, BackupError, OSError, ValueError) as exc:
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

        def answered(yes: bool) -> None:
            if yes:
                self.say("Rolling back…", "italic")
                self._rollback(force or bool(plan.changed))
            else:
                self.say("Not rolled back. " + self._choices())

        self.post_message(Ask("Roll back the migration?", body.content(), "Roll back", answered,
                              danger=True))

    @background("rollback", group="after", exclusive=True)
    def _rollback(self, force: bool) -> None:
        try:
            result = rollback_workspace(self.workspace, force=force,
                                        lock_timeout=self.wizard.settings.lock_timeout)
        except (LockBusy, WorkspaceError, OSError) as exc:
            self.app.call_from_thread(self.say, f"Rollback stopped: {exc}", "$text-error bold")
            return
        self.app.call_from_thread(self._rolled_back, result.ok, result.message)

    def _rolled_back(self, ok: bool, message: str) -> None:
        if ok:
            self.rolled_back = message
            self._draw()
            self.refresh_bindings()
            self.say(message + " · p: back to the plan (scanned again) · q quits", "$text-success bold")
        else:
            self.say(message, "$text-error bold")

    # ------------------------------------------------------------ clean up

    def action_cleanup(self) -> None:
        why = self.offered["cleanup"]
        if why:
            self.say(f"Not offered: {why}.", "$text-warning")
            return
        self.say("Checking the backup copies of the originals…", "italic")
        self._plan_cleanup()

    @background("clean-up planning", group="after", exclusive=True)
    def _plan_cleanup(self) -> None:
        try:
            plan = plan_cleanup(self.workspace)
        except (LockBusy, WorkspaceError, BackupError, OSError, ValueError) as exc:
            self.app.call_from_thread(self.say, f"Cannot clean up: {exc}", "$text-error")
            return
        self.app.call_from_thread(self._confirm_cleanup, plan)

    def _confirm_cleanup(self, plan: CleanupPlan) -> None:
        if plan.refused:
            self.say(f"Clean-up refused: {plan.refused}.", "$text-error")
            return
        if not plan.remove:
            kept = "; ".join(f"{name}: {why}" for name, why in plan.keep[:5])
            self.say("Nothing to clean up" + (f" ({kept})" if kept else "") + ".")
            return
        body = Parts(f"Remove {plural(len(plan.remove), 'original')} ({human_bytes(plan.bytes)}) "
                     "from .sessions/: each was checked byte for byte against its backup copy, "
                     "which stays in backup_old_format/.\n")
        names = ", ".join(plan.remove[:8]) + (" …" if len(plan.remove) > 8 else "")
        body.append(names + "\n", "$text-muted")
        for name, why in plan.keep[:8]:
            body.append(f"stays: {name} ({why})\n", "italic")
        if len(plan.keep) > 8:
            body.append(f"… and {len(plan.keep) - 8:,} more stay\n", "italic")
        body.append("\nA rollback puts them back.", "bold")

        def answered(yes: bool) -> None:
            if yes:
                self.say("Cleaning up…", "italic")
                self._cleanup()
            else:
                self.say("Nothing removed. " + self._choices())

        self.post_message(Ask("Remove the migrated originals?", body.content(), "Remove them",
                              answered, danger=True))

    @background("clean-up", group="after", exclusive=True)
    def _cleanup(self) -> None:
        try:
            result = cleanup_workspace(self.workspace)
        except (LockBusy, WorkspaceError, BackupError, OSError, ValueError) as exc:
            self.app.call_from_thread(self.say, f"Clean-up stopped: {exc}", "$text-error bold")
            return
        self.app.call_from_thread(self.say, result.message,
                                  "$text-success bold" if result.ok else "$text-error bold")
