"""Before the migration: a lock it needs is held, so it waits instead of starting (and
giving up after the backup).  Who holds each lock (pid and command when known), a countdown
to the next automatic try, ``r`` to try now, ``escape`` back to the plan.  Nothing has been
written while this screen shows.

Dismisses with True (the locks are free: migrate now) or False (back to the plan)."""

from __future__ import annotations

import math
from typing import Any, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.widgets import Static
from textual.worker import Worker

from migrate_tui.core.layout import LOCK, open_layout
from migrate_tui.engine.preflight import BusyLock, held_locks
from migrate_tui.engine.report import EXIT_LOCKED
from migrate_tui.tui.messages import Way
from migrate_tui.tui.parts import Parts
from migrate_tui.tui.screen_base import WizardScreen
from migrate_tui.tui.widgets.key_bar import KeyBar
from migrate_tui.tui.widgets.step_header import StepHeader
from migrate_tui.tui.workers import background

CHECK_GROUP = "lock-check"


def locks_held_now(workspace: str, target: Any = None) -> list[BusyLock]:
    """The locks a migration of ``workspace`` would find held (engine/preflight.py); with
    ``target`` (an OpenClaw target), OpenClaw's ``sessions.json.lock`` there, not the
    workspace's own."""
    return held_locks(open_layout(workspace), openclaw_store=target.store if target is not None else None)


def waiting_text(holders: list[BusyLock], tries: int, show_path: Any) -> Parts:
    text = Parts("The migration has not started: nothing was written.\n\n", "bold")
    for held in holders:
        text.append("● ", "$text-warning bold").append(held.describe() + "\n")
        text.append(f"  {show_path(held.path)}\n", "$text-muted")
        if held.name == LOCK and held.openclaw:
            text.append("  OpenClaw (or another writer of its sessions.json) is using it; the "
                        "migration waits rather than write beside it.\n", "italic")
        elif held.name == LOCK:
            text.append("  The agent (or another writer of sessions.json) is using it; the "
                        "migration waits rather than write beside it.\n", "italic")
        else:
            text.append("  Another migrate-tui command is changing this workspace; one runs at a "
                        "time.\n", "italic")
    if tries:
        text.append(f"\nStill held after {tries:,} {'try' if tries == 1 else 'tries'}.", "$text-muted")
    return text


class LockWaitScreen(WizardScreen[bool]):
    STEP = 7
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("r", "retry", "Try now"),
        Binding("escape", "cancel", "Back to the plan"),
    ]
    exit_code = EXIT_LOCKED  # quitting here: a lock is held, nothing was written

    def __init__(self, holders: list[BusyLock]) -> None:
        super().__init__()
        self.holders = holders
        self.tries = 0
        self.next_try: float = 0.0  # on the settings' clock
        self.checking = False

    def compose(self) -> ComposeResult:
        yield StepHeader(7, "Waiting for a lock", self.state.workspace)
        with Vertical(id="wait-body"):
            yield Static(id="wait-holders")
            yield Static(id="wait-countdown")
        yield KeyBar()

    @property
    def _now(self) -> float:
        return self.wizard.settings.clock.time

    def on_mount(self) -> None:
        self._schedule()
        self._draw()
        self.set_interval(0.25, self._tick)

    def _schedule(self) -> None:
        self.next_try = self._now + self.wizard.settings.lock_retry

    def seconds_to_next_try(self) -> int:
        return max(0, math.ceil(self.next_try - self._now))

    def _draw(self) -> None:
        self.query_one("#wait-holders", Static).update(
            waiting_text(self.holders, self.tries, self.wizard.show_path).content())
        line = Parts()
        if self.checking:
            line.append("Looking at the locks…", "italic")
        else:
            line.append("Next try in ", "bold").append(f"{self.seconds_to_next_try()} s", "bold $text-accent")
            line.append(" · r: try now · escape: back to the plan (your decisions are kept)")
        self.query_one("#wait-countdown", Static).update(line.content())

    def _tick(self) -> None:
        if not self.checking and self._now >= self.next_try:
            self.action_retry()
        else:
            self._draw()

    def action_retry(self) -> None:
        if self.checking:
            return
        self.checking = True
        self._draw()
        self._check(self.state.workspace_abs, self.state.target)

    @background("looking at the locks", group=CHECK_GROUP, exclusive=True)
    def _check(self, workspace: str, target: Any) -> None:
        holders = locks_held_now(workspace, target)
        self.app.call_from_thread(self._checked, holders)

    def _checked(self, holders: list[BusyLock]) -> None:
        self.checking = False
        self.tries += 1
        if not holders:
            self.finish(True)
            return
        self.holders = holders
        self._schedule()
        self._draw()

    def action_cancel(self) -> None:
        self.finish(False)

    def ways_forward(self, worker: Worker[Any], error: BaseException) -> list[Way]:
        self.checking = False
        self._schedule()
        self._draw()
        return [Way("r", "Look at the locks again", self.action_retry),
                Way("p", "Back to the plan", self.action_cancel)]
