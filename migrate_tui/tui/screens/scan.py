"""Step 2: scan the workspace (a big one takes seconds), then plan with no decisions yet."""

from __future__ import annotations

import threading
from typing import ClassVar

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.widgets import Footer, Label, ProgressBar, Static

from migrate_tui.engine import (
    PhaseStarted,
    Progress,
    WorkspaceError,
    build_plan,
    scan_workspace,
)
from migrate_tui.engine.model import Event
from migrate_tui.engine.report import EXIT_USAGE
from migrate_tui.tui.formatting import human_bytes
from migrate_tui.tui.messages import ScanFailed, ScanFinished
from migrate_tui.tui.parts import Parts
from migrate_tui.tui.screens.relayed import RelayedScreen
from migrate_tui.tui.widgets.step_header import StepHeader


class ScanScreen(RelayedScreen):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Stop and go back"),
    ]

    def __init__(self, *, autostart: bool = True) -> None:
        super().__init__()
        self.autostart = autostart
        self.stop = threading.Event()
        self.failed = False

    def compose(self) -> ComposeResult:
        yield StepHeader(2, "Scan", self.app.workspace_label)
        with Vertical(id="scan-body"):
            yield Label(f"Reading every legacy session in {self.app.workspace_label}/.sessions "
                        "(nothing is written)…", id="scan-title")
            yield ProgressBar(id="scan-bar", clock=self.app.settings.clock)
            yield Static("", id="scan-item")
            yield Static("", id="scan-error")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        if self.autostart:
            self._scan(self.app.workspace_label, self.app.agent_id)

    def on_unmount(self) -> None:
        self.stop.set()

    @work(thread=True, exit_on_error=False, group="scan")
    def _scan(self, workspace: str, agent_id: str) -> None:
        try:
            scan = scan_workspace(workspace, on_event=self.relay, cancel=self.stop, workers=True)
            if self.stop.is_set():
                return
            plan = build_plan(scan, agent_id, {}, backup=True)
        except WorkspaceError as exc:
            self.post_message(ScanFailed(str(exc)))
            return
        except Exception as exc:  # noqa: BLE001 - shown to the user, not a crash
            self.post_message(ScanFailed(f"the scan stopped: {exc!r}"))
            return
        self.post_message(ScanFinished(scan, plan))

    def show_events(self, events: list[Event]) -> None:
        bar = self.query_one("#scan-bar", ProgressBar)
        for event in events:
            if isinstance(event, PhaseStarted):
                bar.update(total=max(1, event.total), progress=0)
            elif isinstance(event, Progress):
                bar.update(total=max(1, event.total), progress=event.done)
                self.query_one("#scan-item", Static).update(
                    f"{event.done:,} of {event.total:,} files · {human_bytes(event.bytes_done)} read"
                    f" · {event.item}")

    def on_scan_finished(self, message: ScanFinished) -> None:
        self.drain_events()
        scan = message.scan
        if scan.fatal is not None:
            self._fail(f"This workspace cannot be migrated: {self.app.show_path(scan.fatal.where)}: "
                       f"{scan.fatal.message}")
            return
        self.app.scan_done(scan, message.plan)

    def on_scan_failed(self, message: ScanFailed) -> None:
        self.drain_events()
        self._fail(message.error)

    def _fail(self, error: str) -> None:
        self.failed = True
        self.app.quit_code = EXIT_USAGE
        self.query_one("#scan-error", Static).update(
            Parts("✗ ", "$text-error bold").append(error).append(
                "\n\nescape goes back to the workspace; ctrl+q quits.", "italic").content())

    def action_back(self) -> None:
        self.stop.set()
        self.app.pop_screen()
