"""A long operation after the migration — planning a rollback, rolling back, planning a
clean-up, cleaning up — run by the engine (engine/commands.py) in a thread worker, live: its
phases on one bar, files/s, the time spent and left, a log.  Cancel (escape or c) stops it at
its next safe point; quitting does the same and says what it waits for.

Dismisses with what the engine returned (an outcome: refusals and cancels are outcomes), or
None when the worker failed (the failure dialog says so)."""

from __future__ import annotations

import threading
from typing import Any

from rich.style import Style
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import RichLog
from textual.worker import Worker

from migrate_tui.engine import LogLine, PhaseStarted, Progress
from migrate_tui.engine.model import Event
from migrate_tui.tui.cancelling import CancellableScreen
from migrate_tui.tui.messages import Job, Way
from migrate_tui.tui.throughput import Meter
from migrate_tui.tui.widgets.key_bar import KeyBar
from migrate_tui.tui.widgets.progress_panel import ProgressPanel
from migrate_tui.tui.widgets.step_header import StepHeader
from migrate_tui.tui.workers import background

OPERATION_GROUP = "operation"


class OperationScreen(CancellableScreen[Any]):
    STEP = 8

    def __init__(self, title: str, what: str, job: Job, *, autostart: bool = True) -> None:
        super().__init__(threading.Event())
        self.autostart = autostart
        self.heading = title  # "Rolling back"
        self.what = what  # "the rollback"
        self.job = job
        self.meter: Meter | None = None
        self.running = False

    def compose(self) -> ComposeResult:
        yield StepHeader(8, self.heading, self.state.workspace)
        with Vertical(id="progress-body"):
            yield ProgressPanel(id="operation-progress")
            yield RichLog(id="log", max_lines=2000, wrap=True, markup=False)
            yield self.cancel_note()
        yield KeyBar()

    def on_mount(self) -> None:
        if self.autostart:
            self.start()
        else:  # shown without running (screenshots): events are fed to show_events
            clock = self.wizard.settings.clock
            self.meter = Meter([], lambda: clock.time)
            self.query_one(ProgressPanel).follow(self.meter)

    def start(self) -> None:
        clock = self.wizard.settings.clock
        self.meter = Meter([], lambda: clock.time)
        self.query_one(ProgressPanel).follow(self.meter)
        self.reset_cancel()
        self.running = True
        worker = self._run(self.start_drawing())
        worker.name = self.what  # "Something failed while the rollback"

    @background("rolling back or cleaning up", group=OPERATION_GROUP)
    def _run(self, relay: Any) -> Any:
        return self.job(relay, self.cancel)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        worker = event.worker
        if worker.group != OPERATION_GROUP or not worker.is_finished:
            return
        self.running = False
        self.stop_drawing()
        if worker.result is None:
            return  # failed: the failure dialog offers the way on (ways_forward)
        if self.meter is not None and not self.cancel.is_set():
            self.meter.finish()
            self.query_one(ProgressPanel).draw()
        self.finish(worker.result)

    def ways_forward(self, worker: Worker[Any], error: BaseException) -> list[Way]:
        return [Way("r", f"Try {self.what} again", self.start),
                Way("enter", "Back to the result", lambda: self.finish(None))]

    # ------------------------------------------------------------ drawing

    def show_events(self, events: list[Event]) -> None:
        assert self.meter is not None
        panel = self.query_one(ProgressPanel)
        for event in events:
            if isinstance(event, PhaseStarted):
                self.meter.start(event.phase, event.total, event.total_bytes or 0)
            elif isinstance(event, Progress):
                self.meter.advance(event.phase, event.done, event.bytes_done or None, files=event.total)
                panel.item = f"{event.phase}: {event.item}"
            elif isinstance(event, LogLine):
                self.log_line(event.level, event.text)
        panel.draw()

    def tick(self) -> None:
        self.query_one(ProgressPanel).draw()

    def log_line(self, level: str, text: str) -> None:
        variable = {"warning": "text-warning", "error": "text-error"}.get(level, "")
        colour = self.app.theme_variables.get(variable)
        style = Style(color=colour, bold=level == "error") if colour else Style()
        self.query_one(RichLog).write(Text(text, style=style))

    # ------------------------------------------------------------ cancel, quit

    def cancelled_work(self) -> str:
        return self.what

    def can_cancel(self) -> bool:
        return self.running  # nothing to cancel before the run or after it ended

    def waiting_for(self) -> str:
        meter = self.meter
        phase = meter.phases.get(meter.current or "") if meter is not None else None
        if phase is None:
            return f"{self.what} to start, then to stop at once"
        return (f"{self.what} to stop after the file in hand ({phase.name}: "
                f"{phase.files_done:,} of {phase.files:,})")

    def cancel_note_text(self) -> str:
        return (f"Cancelling {self.what}: what is done so far stays done and is recorded; "
                "running it again finishes it.")
