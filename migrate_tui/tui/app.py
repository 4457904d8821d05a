"""The wizard: a Textual app that walks through workspace → scan → plan (errors, fixes) →
backup → progress → result, observing the headless engine.

The app holds the engine's state (inventory, scan, decisions, plan, outcome); screens read
it, run engine calls in thread workers and report back with messages.  Every choice the user
makes is an engine ``Decision``, exactly what ``migrate --skip/--fix`` gives the CLI.
"""

from __future__ import annotations

import gc
import os
import threading
from dataclasses import replace
from typing import ClassVar

from textual import work
from textual.app import App
from textual.binding import Binding, BindingType
from textual.signal import Signal
from textual.worker import Worker, WorkerState, get_current_worker

from migrate_tui.engine import (
    MIGRATE,
    Decision,
    Inventory,
    Plan,
    ScanResult,
    build_plan,
    with_decision,
)
from migrate_tui.engine.report import EXIT_OK, EXIT_USAGE
from migrate_tui.engine.wizard_support import default_workspace
from migrate_tui.tui.formatting import shown_path
from migrate_tui.tui.messages import ApplyOutcome
from migrate_tui.tui.settings import WizardSettings

APPLY_GROUP = "apply"
ONE_BY_ONE = 20  # above this many changed decisions, the plan is built again from scratch


def replanned(plan: Plan, decisions: dict[str, Decision]) -> Plan:
    """``build_plan(plan.scan, plan.agent_id, decisions, backup=True)``, made from ``plan`` by
    changing only the decisions that differ (``with_decision``: ~20 ms at 50,000 sessions
    where building the plan again takes ~0.5 s)."""
    built = plan.decisions
    changed = [fid for fid in {**built, **decisions}
               if decisions.get(fid, MIGRATE) != built.get(fid, MIGRATE)]
    if not plan.backup or len(changed) > ONE_BY_ONE:
        return build_plan(plan.scan, plan.agent_id, decisions, backup=True)
    for fid in changed:
        plan = with_decision(plan, fid, decisions.get(fid, MIGRATE))
    return plan


class MigrateApp(App[int]):
    CSS_PATH = "app.tcss"
    TITLE = "migrate-tui"
    ENABLE_COMMAND_PALETTE = False
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+q", "quit", "Quit", priority=True),
        Binding("f1", "help", "Help"),
        Binding("question_mark", "help", "Help", show=False),
    ]

    def __init__(self, workspace: str | None = None, agent_id: str = "main",
                 settings: WizardSettings | None = None) -> None:
        super().__init__()
        self.settings = settings or WizardSettings()
        self.workspace_label = default_workspace(workspace)  # the path as the user typed it
        self.agent_id = agent_id
        self.inventory: Inventory | None = None
        self.scan: ScanResult | None = None
        self.decisions: dict[str, Decision] = {}
        self.plan: Plan | None = None
        self.outcome: ApplyOutcome | None = None
        self.cancel = threading.Event()  # apply stops at its next safe point once set
        self.quit_code = EXIT_OK  # the exit code if the user quits now
        self.plan_changed: Signal[Plan] = Signal(self, "plan_changed")
        self.decision_pending: Signal[str] = Signal(self, "decision_pending")
        self._quitting = False

    @property
    def steady(self) -> bool:
        return self.settings.steady

    # ------------------------------------------------------------ steps

    def on_mount(self) -> None:
        from migrate_tui.tui.screens.workspace import WorkspaceScreen

        self.push_screen(WorkspaceScreen())

    def start_scan(self, workspace: str, agent_id: str) -> None:
        from migrate_tui.tui.screens.scan import ScanScreen

        self.workspace_label = workspace
        self.agent_id = agent_id
        self.scan = None
        self.plan = None
        gc.unfreeze()  # the previous scan's objects (see scan_done) may be collected again
        self.decisions = {}
        self.push_screen(ScanScreen())

    def scan_done(self, scan: ScanResult, plan: Plan) -> None:
        from migrate_tui.tui.screens.plan import PlanScreen

        self.scan = scan
        self.plan = plan
        self.decisions = dict(plan.decisions)
        # The scan and the plan live until the next scan: at 50,000 sessions, millions of
        # objects that each full collection of the cyclic GC would walk (about 0.25 s, landing
        # on whatever key is pressed then).  Frozen, the collector leaves them alone.
        gc.freeze()
        self.switch_screen(PlanScreen())

    def start_apply(self, backup: bool) -> None:
        from migrate_tui.tui.screens.progress import ProgressScreen

        assert self.plan is not None
        self.plan = replace(self.plan, backup=backup)
        self.cancel.clear()
        self.switch_screen(ProgressScreen())

    def apply_done(self, outcome: ApplyOutcome) -> None:
        from migrate_tui.tui.screens.result import ResultScreen

        self.outcome = outcome
        self.quit_code = outcome.exit_code
        if not self._quitting:
            self.switch_screen(ResultScreen())

    # ------------------------------------------------------------ decisions

    @property
    def pending_ids(self) -> set[str]:
        """Sessions whose decision changed since the plan was last built."""
        if self.plan is None:
            return set()
        built = self.plan.decisions
        return {fid for fid in set(self.decisions) | set(built)
                if self.decisions.get(fid, MIGRATE) != built.get(fid, MIGRATE)}

    def decide(self, file_id: str, decision: Decision) -> None:
        """Record the user's decision and plan it again in a worker (``replanned``: only the
        sessions whose decision changed); ``plan_changed`` is published when the new plan is
        in."""
        if decision == MIGRATE:
            self.decisions.pop(file_id, None)
        else:
            self.decisions[file_id] = decision
        self.decision_pending.publish(file_id)
        assert self.plan is not None
        self._rebuild_plan(self.plan, dict(self.decisions))

    @work(thread=True, exclusive=True, group="plan", exit_on_error=False,
          description="replan")  # not the repr of a 50,000-session plan
    def _rebuild_plan(self, base: Plan, decisions: dict[str, Decision]) -> None:
        plan = replanned(base, decisions)
        if not get_current_worker().is_cancelled:
            self.call_from_thread(self._plan_rebuilt, plan)

    def _plan_rebuilt(self, plan: Plan) -> None:
        if plan.decisions != self.decisions:
            return  # a newer decision is being planned
        self.plan = plan
        self.plan_changed.publish(plan)

    # ------------------------------------------------------------ paths

    @property
    def workspace_abs(self) -> str:
        if self.scan is not None:
            return self.scan.workspace
        if self.inventory is not None:
            return self.inventory.workspace
        return os.path.abspath(os.path.expanduser(self.workspace_label or "."))

    def show_path(self, path: str) -> str:
        """A path as the user knows it (under the workspace: as they typed the workspace)."""
        return shown_path(path, self.workspace_abs, self.workspace_label)

    # ------------------------------------------------------------ help and quitting

    def action_help(self) -> None:
        from migrate_tui.tui.screens.help import HelpScreen

        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())

    def apply_worker(self) -> Worker | None:
        for worker in self.workers:
            if worker.group == APPLY_GROUP and worker.state in (WorkerState.PENDING, WorkerState.RUNNING):
                return worker
        return None

    async def action_quit(self) -> None:
        """Quit; during apply, stop it at a safe point first and wait for it."""
        worker = self.apply_worker()
        if worker is None:
            self.exit(return_code=self.quit_code)
            return
        self._quitting = True
        self.cancel.set()
        self.notify("Stopping the migration at a safe point, then quitting…", timeout=30)
        self._quit_after(worker)

    @work(group="quit")
    async def _quit_after(self, worker: Worker) -> None:
        try:
            outcome = await worker.wait()
        except Exception:  # noqa: BLE001 - whatever the worker ended with, quit now
            outcome = None
        if isinstance(outcome, ApplyOutcome):
            self.outcome = outcome
            self.quit_code = outcome.exit_code
        elif self.outcome is None:
            self.quit_code = EXIT_USAGE
        self.exit(return_code=self.quit_code)


def run_wizard(workspace: str | None = None, agent_id: str = "main") -> int:
    """Run the wizard in the terminal; return the process exit code (SPEC §4)."""
    app = MigrateApp(workspace, agent_id)
    app.run()
    return app.return_code or 0
