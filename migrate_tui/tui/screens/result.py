"""Step 8: the result.  Totals, the time it took, verification, the sessions not migrated and
why, where the backup and the JSON report are.  From here: back to the plan with what is
left (scanned again, decisions kept) to fix it and migrate again; roll back or clean up
(each confirmed first); or quit.

Which of those is offered, and why not otherwise, is decided in one place (offers.py), from
the engine's state of the workspace, read again after each of them.  Rolling back and
cleaning up (and planning each) run on their own progress screen (operation.py, opened by
the navigation on request).  Dismisses with "continue" (back to the plan)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.widgets import Static
from textual.worker import Worker

from migrate_tui.engine import commands
from migrate_tui.engine.commands import CleanupOutcome, MigrateOutcome, RollbackOutcome
from migrate_tui.engine.model import CancelFlag, EventSink, LogLine
from migrate_tui.engine.rollback import describe
from migrate_tui.engine.state import WorkspaceState, workspace_state
from migrate_tui.engine.targets.openclaw_doctor import (
    DoctorDryRun,
    doctor_command,
    doctor_dry_run,
    openclaw_executable,
)
from migrate_tui.tui.formatting import human_bytes, plural
from migrate_tui.tui.messages import Ask, Job, RunOperation, Way
from migrate_tui.tui.offers import LOOKING, offered_actions
from migrate_tui.tui.parts import Parts
from migrate_tui.tui.screen_base import WizardScreen
from migrate_tui.tui.throughput import duration
from migrate_tui.tui.widgets.key_bar import KeyBar
from migrate_tui.tui.widgets.step_header import StepHeader
from migrate_tui.tui.workers import background

MAX_LISTED = 300  # sessions listed as not migrated; the rest are counted


def run_doctor(target: Any, timeout: float, on_event: EventSink, cancel: CancelFlag) -> DoctorDryRun:
    """OpenClaw's dry run, saying on the operation screen what runs and where."""
    command = " ".join(doctor_command(target))
    on_event(LogLine("info", f"running: OPENCLAW_STATE_DIR={target.state_dir} {command}"))
    on_event(LogLine("info", f"it reads {target.sessions_dir} and changes nothing; escape stops it "
                     f"(it is stopped anyway after {timeout:g} s)"))
    found = doctor_dry_run(target, timeout=timeout, cancel=cancel)
    on_event(LogLine("info" if found.ok else "warning", found.summary()))
    return found


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


def outcome_text(outcome: MigrateOutcome, show_path: Callable[[str], str],
                 rolled_back: str | None = None) -> Parts:
    text = Parts()
    if rolled_back:
        text.append("↺ " + rolled_back[:1].upper() + rolled_back[1:] + "; what follows is what the "
                    "migration had done.\n\n", "$text-warning bold")
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
        self.records: WorkspaceState | None = None  # the engine's state of the workspace
        self.note: tuple[str, str] | None = None  # how the last rollback / clean-up ended

    def compose(self) -> ComposeResult:
        yield StepHeader(8, "Result", self.state.workspace)
        with VerticalScroll(id="result-body"):
            yield Static(id="outcome")
        yield Static(id="after")
        yield KeyBar()

    @property
    def workspace(self) -> str:
        return self.state.workspace_abs

    @property
    def offered(self) -> dict[str, str | None]:
        return offered_actions(self.records, self.rolled_back is not None)

    def on_mount(self) -> None:
        self._draw()
        self.say(self._choices(), "italic $text-muted")
        self.query_one("#result-body").focus()
        self._read_records(self.workspace)

    @background("reading the workspace's records", group="records", exclusive=True)
    def _read_records(self, workspace: str) -> None:
        records = workspace_state(workspace)
        self.app.call_from_thread(self._records_read, records)

    def _records_read(self, records: WorkspaceState) -> None:
        self.records = records
        self.refresh_bindings()
        if self.note:
            self.query_one("#after", Static).update(
                Parts(self.note[0] + "\n", self.note[1]).append(self._choices(), "italic $text-muted")
                .content())
        else:
            self.say(self._choices(), "italic $text-muted")

    def _draw(self) -> None:
        self.query_one("#outcome", Static).update(
            outcome_text(self.outcome, self.wizard.show_path, self.rolled_back).content())

    def _choices(self) -> str:
        offered = self.offered
        words = []
        left = left_over(self.outcome)
        if left != 0 and self.rolled_back is None:
            words.append("p: back to the plan with what is left (scanned again)")
        else:
            words.append("p: back to the plan (scanned again)")
        if offered["rollback"] is None:
            words.append("r rolls the migration back")
        if offered["cleanup"] is None:
            words.append("c removes the originals (after checking the backup)")
        if self._doctor_offered():
            words.append("d runs OpenClaw's dry run")
        words.append("q quits")
        text = " · ".join(words)
        if offered["rollback"] == LOOKING:
            return text + "\nroll back and clean-up: " + LOOKING + "…"
        if offered["rollback"] and offered["rollback"] == offered["cleanup"]:
            return text + f"\nroll back and clean-up are not offered: {offered['rollback']}"
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
        """OpenClaw's dry run, on the progress screen of long operations: it says what runs,
        escape stops it (the program is killed), a timeout or a program that cannot start
        comes back as a sentence."""
        if not self._doctor_offered():
            return
        target, timeout = self.state.target, self.wizard.settings.doctor_timeout
        self.say("Running OpenClaw's dry run (it changes nothing)…", "italic")
        self._after("Running OpenClaw's dry run", "OpenClaw's dry run",
                    lambda on_event, cancel: run_doctor(target, timeout, on_event, cancel),
                    self._doctor_done)

    def _doctor_done(self, found: DoctorDryRun | None) -> None:
        if found is None:
            self.say("OpenClaw's dry run did not end. " + self._choices())
            return
        style = "$text-success" if found.ok else "" if found.cancelled else "$text-warning bold"
        self.say(found.summary() + "\n" + self._choices(), style)

    def action_continue(self) -> None:
        self.finish("continue")

    def ways_forward(self, worker: Worker[Any], error: BaseException) -> list[Way]:
        self.say(f"{worker.name} stopped: {error}", "$text-error bold")
        ways = [Way("p", "Back to the plan (scanned again)", self.action_continue)]
        if worker.group == "records":
            ways.insert(0, Way("r", "Read the records again", lambda: self._read_records(self.workspace)))
        return ways

    def _after(self, title: str, what: str, job: Job, done: Callable[[Any], None]) -> None:
        self.post_message(RunOperation(title, what, job, done))

    # ------------------------------------------------------------ roll back

    def action_rollback(self) -> None:
        why = self.offered["rollback"]
        if why:
            self.say(f"Not offered: {why}.", "$text-warning")
            return
        workspace = self.workspace
        self._after("Planning the rollback", "the rollback planning",
                    lambda on_event, cancel: commands.plan_rollback(workspace, on_event=on_event,
                                                                    cancel=cancel),
                    self._confirm_rollback)

    def _confirm_rollback(self, outcome: RollbackOutcome | None) -> None:
        if outcome is None:
            return
        plan = outcome.plan
        if outcome.refusal is not None or plan is None:
            self.say(f"Cannot roll back: {outcome.message}", "$text-error")
            return
        if plan.cancelled:
            self.say("Rollback planning cancelled; nothing was changed. " + self._choices())
            return
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
                self._rollback(bool(plan.changed))
            else:
                self.say("Not rolled back. " + self._choices())

        self.post_message(Ask("Roll back the migration?", body.content(), "Roll back", answered,
                              danger=True))

    def _rollback(self, force: bool) -> None:
        workspace, timeout = self.workspace, self.wizard.settings.lock_timeout
        self._after("Rolling back", "the rollback",
                    lambda on_event, cancel: commands.rollback(workspace, force=force, on_event=on_event,
                                                               cancel=cancel, lock_timeout=timeout),
                    self._rolled_back)

    def _rolled_back(self, outcome: RollbackOutcome | None) -> None:
        if outcome is None:
            return
        if outcome.status == "success":
            self.rolled_back = outcome.message
            self._draw()
            self.note = ("Rolled back: everything outside backup_old_format/ is as it was before "
                         "the migration.", "$text-success bold")
        else:
            self.note = (f"Rollback {outcome.status}: {outcome.message}", "$text-error bold")
        self.say(*self.note)
        self._read_records(self.workspace)  # what is offered now follows what the engine says

    # ------------------------------------------------------------ clean up

    def action_cleanup(self) -> None:
        why = self.offered["cleanup"]
        if why:
            self.say(f"Not offered: {why}.", "$text-warning")
            return
        workspace = self.workspace
        self._after("Checking the originals against the backup", "the clean-up planning",
                    lambda on_event, cancel: commands.plan_cleanup(workspace, on_event=on_event,
                                                                   cancel=cancel, workers=True),
                    self._confirm_cleanup)

    def _confirm_cleanup(self, outcome: CleanupOutcome | None) -> None:
        if outcome is None:
            return
        plan = outcome.plan
        if outcome.refusal is not None or plan is None or plan.refused or plan.cancelled:
            self.say(outcome.message, "$text-error" if not (plan and plan.cancelled) else "")
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
                self._cleanup()
            else:
                self.say("Nothing removed. " + self._choices())

        self.post_message(Ask("Remove the migrated originals?", body.content(), "Remove them",
                              answered, danger=True))

    def _cleanup(self) -> None:
        workspace = self.workspace
        self._after("Cleaning up", "the clean-up",
                    lambda on_event, cancel: commands.cleanup(workspace, on_event=on_event,
                                                              cancel=cancel, workers=True),
                    self._cleaned_up)

    def _cleaned_up(self, outcome: CleanupOutcome | None) -> None:
        if outcome is None:
            return
        self.note = (outcome.message,
                     "$text-success bold" if outcome.status == "success" else "$text-error bold")
        self.say(*self.note)
        self._read_records(self.workspace)
