"""Step 2: scan the workspace (a big one takes a while), with progress, speed and the time
left; escape stops it and goes back.  Then the plan's first rows, with the decisions kept
(none on a first scan; those of the sessions still there after a migration): the rest is
planned while the plan screen shows them (planning.py).

Dismisses with ``Scanned`` (scan and plan), or None when stopped or when the workspace
cannot be migrated (after saying why)."""

from __future__ import annotations

import gc
import threading
from collections.abc import Mapping
from typing import Any, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.widgets import Label, Static
from textual.worker import Worker, get_current_worker

from migrate_tui.engine import (
    Decision,
    PhaseStarted,
    Progress,
    WorkspaceError,
    scan_workspace,
)
from migrate_tui.engine.model import Event
from migrate_tui.engine.report import EXIT_USAGE
from migrate_tui.tui.messages import Scanned, Way
from migrate_tui.tui.parts import Parts
from migrate_tui.tui.planning import first_rows
from migrate_tui.tui.screen_base import RelayedScreen
from migrate_tui.tui.throughput import Meter, Phase
from migrate_tui.tui.widgets.key_bar import KeyBar
from migrate_tui.tui.widgets.progress_panel import ProgressPanel
from migrate_tui.tui.widgets.step_header import StepHeader
from migrate_tui.tui.workers import background


class ScanScreen(RelayedScreen[Scanned | None]):
    STEP = 2
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Stop and go back"),
    ]

    def __init__(self, workspace: str, agent_id: str, decisions: Mapping[str, Decision] | None = None,
                 *, expected_files: int = 0, expected_bytes: int = 0, autostart: bool = True,
                 why: str = "") -> None:
        super().__init__()
        self.workspace = workspace
        self.agent_id = agent_id
        self.decisions = dict(decisions or {})
        self.expected_files = expected_files
        self.expected_bytes = expected_bytes
        self.autostart = autostart
        self.why = why  # shown under the title (e.g. "again, with what is left")
        self.stop = threading.Event()
        self.failed: str | None = None
        self.meter: Meter | None = None
        self.exit_code: int | None = None  # what quitting now should exit with (a failure)

    def compose(self) -> ComposeResult:
        yield StepHeader(2, "Scan", self.workspace)
        with Vertical(id="scan-body"):
            yield Label(f"Reading every legacy session in {self.workspace}/.sessions "
                        "(nothing is written)…" + (f"\n{self.why}" if self.why else ""), id="scan-title")
            yield ProgressPanel(id="scan-progress")
            yield Static("", id="scan-error")
        yield KeyBar()

    def on_mount(self) -> None:
        clock = self.wizard.settings.clock
        self.meter = Meter([Phase("scan", self.expected_files, self.expected_bytes)], lambda: clock.time)
        self.query_one(ProgressPanel).follow(self.meter)
        if self.autostart:
            self._scan(self.start_drawing())

    def on_unmount(self) -> None:
        self.stop.set()

    @background("scanning the workspace", group="scan")
    def _scan(self, relay: Any) -> Scanned | str | None:
        try:
            scan = scan_workspace(self.workspace, on_event=relay, cancel=self.stop, workers=True)
        except WorkspaceError as exc:
            return str(exc)  # a refusal, said here; not a failure of the wizard
        if self.stop.is_set() or get_current_worker().is_cancelled:
            return None
        if scan.fatal is not None:
            return Scanned(scan, None)  # said on the screen
        plan, complete = first_rows(scan, self.agent_id, self._known(scan))
        if complete:
            gc.freeze()  # out of the cyclic GC's reach until the next scan (navigation.py)
        return Scanned(scan, plan, complete)

    def _known(self, scan: Any) -> dict[str, Decision]:
        """The decisions kept that are about sessions this scan found."""
        ids = {s.file_id for s in scan.sessions}
        return {fid: d for fid, d in self.decisions.items() if fid in ids}

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.worker.group != "scan" or not event.worker.is_finished:
            return
        self.stop_drawing()
        result = event.worker.result
        if isinstance(result, str):
            self._fail(result)
            return
        if result is None:
            return  # stopped (action_back has gone back already), or failed (the app says so)
        if result.plan is None:
            fatal = result.scan.fatal
            self._fail(f"This workspace cannot be migrated: {self.wizard.show_path(fatal.where)}: "
                       f"{fatal.message}")
            return
        assert self.meter is not None
        self.meter.finish()
        self.query_one(ProgressPanel).draw()
        self.finish(result)

    def show_events(self, events: list[Event]) -> None:
        assert self.meter is not None
        panel = self.query_one(ProgressPanel)
        for event in events:
            if isinstance(event, PhaseStarted):
                files = event.total
                size = event.total_bytes or (self.expected_bytes if event.phase == "scan" else 0)
                self.meter.start(event.phase, files, size)
            elif isinstance(event, Progress):
                self.meter.advance(event.phase, event.done, event.bytes_done or None, files=event.total)
                panel.item = ("planning " if event.phase == "plan" else "reading ") + event.item
        panel.draw()

    def tick(self) -> None:
        self.query_one(ProgressPanel).draw()

    def _fail(self, error: str) -> None:
        self.failed = error
        self.exit_code = EXIT_USAGE
        self.query_one(ProgressPanel).display = False
        self.query_one("#scan-error", Static).update(
            Parts("✗ ", "$text-error bold").append(error).append(
                "\n\nescape goes back to the workspace; ctrl+q quits.", "italic").content())

    def ways_forward(self, worker: Worker[Any], error: BaseException) -> list[Way]:
        self._fail(f"the scan stopped: {error}")
        return [Way("r", "Scan again", self._again), Way("b", "Back to the workspace", self.action_back)]

    def _again(self) -> None:
        self.failed = None
        self.exit_code = None
        self.stop = threading.Event()
        self.query_one("#scan-error", Static).update("")
        self.query_one(ProgressPanel).display = True
        self.on_mount()

    def action_back(self) -> None:
        self.stop.set()
        self.stop_drawing()
        self.finish(None)
