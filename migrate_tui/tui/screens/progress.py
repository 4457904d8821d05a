"""Step 7: apply, live.  Overall progress with ETA, the phase, the session at hand, a log.
Cancel (escape or c) stops apply at its next safe point."""

from __future__ import annotations

from typing import ClassVar

from rich.style import Style
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.widgets import Footer, ProgressBar, RichLog, Static

from migrate_tui.core.layout import Layout
from migrate_tui.engine import (
    LockBusy,
    LogLine,
    PhaseStarted,
    Plan,
    Progress,
    WorkspaceError,
    apply_plan,
    build_report,
    exit_code,
    save_report,
)
from migrate_tui.engine.model import Event
from migrate_tui.engine.report import EXIT_LOCKED, EXIT_USAGE
from migrate_tui.tui.app import APPLY_GROUP
from migrate_tui.tui.messages import ApplyFinished, ApplyOutcome
from migrate_tui.tui.overall_progress import PHASES, OverallProgress, estimated_totals
from migrate_tui.tui.parts import Parts
from migrate_tui.tui.screens.relayed import RelayedScreen
from migrate_tui.tui.widgets.step_header import StepHeader

LOG_COLOURS = {"warning": "text-warning", "error": "text-error"}  # theme variables
PHASE_MARKS = {"done": ("✓", "$text-success"), "running": ("▶", "bold"), "waiting": ("·", "$text-muted")}


def run_apply(plan: Plan, on_event, cancel, lock_timeout: float) -> ApplyOutcome:  # noqa: ANN001
    """Apply, then build and save the report; every way it can end becomes an outcome."""
    try:
        result = apply_plan(plan, on_event=on_event, cancel=cancel, lock_timeout=lock_timeout,
                            workers=True)
    except LockBusy as exc:
        return ApplyOutcome(EXIT_LOCKED, error=f"sessions.json.lock is held by another process: {exc}")
    except WorkspaceError as exc:
        return ApplyOutcome(EXIT_USAGE, error=str(exc))
    report = build_report(plan, result, dry_run=False)
    path = save_report(Layout(plan.scan.workspace), report)
    result.report_path = path
    return ApplyOutcome(exit_code(report), result, report, path)


class ProgressScreen(RelayedScreen):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel"),
        Binding("c", "cancel", "Cancel", show=False),
    ]

    def __init__(self, *, autostart: bool = True) -> None:
        super().__init__()
        self.autostart = autostart
        self.progress: OverallProgress | None = None

    @property
    def plan(self) -> Plan:
        assert self.app.plan is not None
        return self.app.plan

    def compose(self) -> ComposeResult:
        yield StepHeader(7, "Migrating", self.app.workspace_label)
        with Vertical(id="progress-body"):
            yield Static(id="phases")
            yield ProgressBar(id="overall", clock=self.app.settings.clock, show_eta=True)
            yield Static(id="current")
            yield RichLog(id="log", max_lines=2000, wrap=True, markup=False)
            yield Static(id="cancel-note")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.progress = OverallProgress(estimated_totals(self.plan))
        self._draw_progress()
        self.log_line("info", f"migrating {self.plan.totals.to_migrate:,} session(s)"
                      + ("" if self.plan.backup else " WITHOUT a backup of the legacy files"))
        if self.autostart:
            self._apply()

    @work(thread=True, exit_on_error=False, group=APPLY_GROUP)
    def _apply(self) -> ApplyOutcome:
        outcome = run_apply(self.plan, self.relay, self.app.cancel, self.app.settings.lock_timeout)
        self.post_message(ApplyFinished(outcome))
        return outcome

    # ------------------------------------------------------------ drawing

    def show_events(self, events: list[Event]) -> None:
        assert self.progress is not None
        current = None
        for event in events:
            if isinstance(event, PhaseStarted):
                self.progress.start(event.phase, event.total)
                self.log_line("info", f"{event.phase}: {event.total:,} item(s)")
            elif isinstance(event, Progress):
                self.progress.advance(event.phase, event.done, event.total)
                current = event
            elif isinstance(event, LogLine):
                self.log_line(event.level, event.text)
        if current is not None:
            self.query_one("#current", Static).update(
                Parts(f"{current.phase}: ", "bold").append(
                    f"{current.done:,} of {current.total:,}  ·  {current.item}").content())
        self._draw_progress()

    def _draw_progress(self) -> None:
        assert self.progress is not None
        text = Parts("Phase: ")
        for n, phase in enumerate(PHASES):
            mark, style = PHASE_MARKS[self.progress.state_of(phase)]
            if n:
                text.append("  ")
            text.append(f"{mark} {phase}", style)
        self.query_one("#phases", Static).update(text.content())
        self.query_one("#overall", ProgressBar).update(
            total=self.progress.total, progress=self.progress.completed)

    def log_line(self, level: str, text: str) -> None:
        colour = self.app.theme_variables.get(LOG_COLOURS.get(level, ""))
        style = Style(color=colour, bold=level == "error") if colour else Style()
        self.query_one(RichLog).write(Text(text, style=style))

    # ------------------------------------------------------------ the end

    def on_apply_finished(self, message: ApplyFinished) -> None:
        self.drain_events()
        if self.progress is not None and message.outcome.result is not None \
                and not message.outcome.result.cancelled:
            self.progress.finish()
            self._draw_progress()
        self.app.apply_done(message.outcome)

    def action_cancel(self) -> None:
        if self.app.cancel.is_set():
            return
        self.app.cancel.set()
        self.log_line("warning", "cancelling: apply stops at the next safe point…")
        self.query_one("#cancel-note", Static).update(Parts(
            "Cancelling. sessions.json is not changed once apply stops early; afterwards, run "
            "migrate again to finish, or roll back to undo.", "$text-warning").content())
