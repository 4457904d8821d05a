"""Step 7: apply, live.  One bar over the phases (backup, transcripts, index, verify) with the
measured speed and the time left, the session at hand, a log.  Cancel (escape or c) stops
apply at its next safe point; quitting does the same and says what it waits for.

Dismisses with the ``MigrateOutcome`` (also when apply failed: the outcome says how)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from rich.style import Style
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import RichLog
from textual.worker import Worker

from migrate_tui.engine import (
    LogLine,
    PhaseStarted,
    Plan,
    Progress,
    commands,
)
from migrate_tui.engine.commands import MigrateOutcome, Refusal
from migrate_tui.engine.model import CancelFlag, Event, EventSink
from migrate_tui.tui.cancelling import CancellableScreen
from migrate_tui.tui.formatting import plural
from migrate_tui.tui.messages import Way
from migrate_tui.tui.throughput import Meter, Phase
from migrate_tui.tui.widgets.key_bar import KeyBar
from migrate_tui.tui.widgets.progress_panel import ProgressPanel
from migrate_tui.tui.widgets.step_header import StepHeader
from migrate_tui.tui.workers import background

APPLY_GROUP = "apply"
LOG_COLOURS = {"warning": "text-warning", "error": "text-error"}  # theme variables
# How long a file of each phase takes against one of the backup (a first guess: each phase's
# own measured speed replaces it once it runs).
COSTS = {"backup": 1.0, "transcripts": 1.5, "index": 1.0, "verify": 0.05}


def run_apply(plan: Plan, on_event: EventSink, cancel: CancelFlag, lock_timeout: float,
              clock: Callable[[], float] = time.monotonic, target: Any = None) -> MigrateOutcome:
    """The engine's migrate command (apply, the report saved beside the backup, the exit
    code); every way it can end is an outcome.  ``target``: an OpenClaw target, or None."""
    return commands.migrate(plan, on_event=on_event, cancel=cancel, lock_timeout=lock_timeout,
                            workers=True, clock=clock, target=target)


def phases_of(plan: Plan) -> list[Phase]:
    """Apply's phases, sized from the plan until each announces itself."""
    scan = plan.scan
    todo = [ps for ps in plan.sessions if ps.action == "migrate"]
    backed = [s for s in scan.sessions if s.sha256 is not None] if plan.backup else []
    extra = int(scan.session_map_present and plan.backup) + int(scan.store_present)
    return [
        Phase("backup", len(backed) + extra, sum(s.size for s in backed), COSTS["backup"]),
        Phase("transcripts", len(todo), sum(ps.scan.size for ps in todo), COSTS["transcripts"]),
        Phase("index", 1, 0, COSTS["index"]),
        Phase("verify", len(todo), 0, COSTS["verify"]),
    ]


class ProgressScreen(CancellableScreen[MigrateOutcome]):
    STEP = 7

    def __init__(self, plan: Plan, cancel: threading.Event, *, autostart: bool = True) -> None:
        super().__init__(cancel)
        self.plan = plan
        self.autostart = autostart
        self.meter: Meter | None = None
        self._sizes = {s.file_name: s.size for s in plan.scan.sessions}
        self._backup_bytes = 0

    def compose(self) -> ComposeResult:
        yield StepHeader(7, "Migrating", self.state.workspace)
        with Vertical(id="progress-body"):
            yield ProgressPanel(id="apply-progress")
            yield RichLog(id="log", max_lines=2000, wrap=True, markup=False)
            yield self.cancel_note()
        yield KeyBar()

    def on_mount(self) -> None:
        clock = self.wizard.settings.clock
        self.meter = Meter(phases_of(self.plan), lambda: clock.time)
        self.query_one(ProgressPanel).follow(self.meter)
        self.log_line("info", f"migrating {plural(self.plan.totals.to_migrate, 'session')}"
                      + ("" if self.plan.backup else " WITHOUT a backup of the legacy files"))
        if self.autostart:
            self._apply(self.start_drawing())

    @background("migrating", group=APPLY_GROUP)
    def _apply(self, relay: Any) -> MigrateOutcome:
        clock = self.wizard.settings.clock
        return run_apply(self.plan, relay, self.cancel, self.wizard.settings.lock_timeout,
                         lambda: clock.time, target=self.wizard.state.target)

    # ------------------------------------------------------------ drawing

    def show_events(self, events: list[Event]) -> None:
        assert self.meter is not None
        panel = self.query_one(ProgressPanel)
        for event in events:
            if isinstance(event, PhaseStarted):
                if event.phase == "backup":
                    self._backup_bytes = 0
                size = event.total_bytes or self.meter.phases.get(event.phase, Phase(event.phase)).bytes
                self.meter.start(event.phase, event.total, size if event.phase != "verify" else 0)
                self.log_line("info", f"{event.phase}: {plural(event.total, 'item')}")
            elif isinstance(event, Progress):
                done_bytes = event.bytes_done or None
                if event.phase == "backup":
                    self._backup_bytes += self._sizes.get(event.item, 0)
                    done_bytes = self._backup_bytes
                self.meter.advance(event.phase, event.done, done_bytes, files=event.total)
                panel.item = f"{event.phase}: {event.item}"
            elif isinstance(event, LogLine):
                self.log_line(event.level, event.text)
        panel.draw()

    def tick(self) -> None:
        self.query_one(ProgressPanel).draw()
        if self.quitting:
            self.draw_cancel_note()

    def log_line(self, level: str, text: str) -> None:
        colour = self.app.theme_variables.get(LOG_COLOURS.get(level, ""))
        style = Style(color=colour, bold=level == "error") if colour else Style()
        self.query_one(RichLog).write(Text(text, style=style))

    # ------------------------------------------------------------ the end

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        worker = event.worker
        if worker.group != APPLY_GROUP or not worker.is_finished:
            return
        self.stop_drawing()
        outcome = worker.result
        if not isinstance(outcome, MigrateOutcome):
            return  # failed: the app's failure dialog offers the way on (ways_forward)
        if self.meter is not None and outcome.result is not None and not outcome.result.cancelled \
                and outcome.result.error is None:
            self.meter.finish()
            self.query_one(ProgressPanel).draw()
        self.finish(outcome)

    def ways_forward(self, worker: Worker[Any], error: BaseException) -> list[Way]:
        """Apply itself turns every failure into a result; what is left (the report could not
        be saved, an unexpected error) still ends on the result screen, which offers the rest."""
        outcome = MigrateOutcome(refusal=Refusal(
            "unusable", f"the migration stopped: {error}. The workspace is at a safe point: run "
            "the migration again to finish, or roll back"))
        return [Way("enter", "See the result", lambda: self.finish(outcome))]

    # ------------------------------------------------------------ cancel, quit

    def cancelled_work(self) -> str:
        return "apply"

    def waiting_for(self) -> str:
        meter = self.meter
        phase = meter.phases.get(meter.current or "") if meter is not None else None
        if phase is None:
            return "the migration to start, then to stop at once"
        if phase.name == "transcripts":
            return (f"the transcripts phase to finish the files in hand "
                    f"({phase.files_done:,} of {phase.files:,} written): sessions.json is left as it was")
        if phase.name == "backup":
            return f"the backup copies in hand to be checked ({phase.files_done:,} of {phase.files:,})"
        return f"the {phase.name} phase to end (it is short)"

    def cancel_note_text(self) -> str:
        return ("Cancelling. sessions.json is not changed once apply stops early; afterwards, run "
                "the migration again to finish, or roll back to undo.")
