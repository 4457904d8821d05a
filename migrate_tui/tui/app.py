"""The wizard: a Textual app that walks through workspace → scan → plan (errors, fixes) →
backup → progress → result, observing the headless engine.

The app holds one typed state (state.py) and the services screens ask for (host.py):
recording decisions (undoable) and planning them again in a worker, showing paths.  The flow
between the screens lives in navigation.py; screens dismiss with their results and post
requests, which come here.  Every worker that fails, whichever screen started it, is handled
here in one place: a dialog says what failed and offers the ways forward.  Every choice the
user makes is an engine ``Decision``, exactly what ``migrate --skip/--fix`` gives the CLI.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterable, Mapping
from functools import partial
from typing import Any, ClassVar

from textual.app import App, SystemCommand
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.signal import Signal
from textual.worker import Worker, WorkerState, get_current_worker

from migrate_tui.engine import MIGRATE, Decision, Plan, ScanResult
from migrate_tui.engine.plan import with_decisions
from migrate_tui.engine.report import EXIT_OK, EXIT_ROLLED_BACK, EXIT_USAGE
from migrate_tui.engine.workspace_info import default_workspace
from migrate_tui.tui.formatting import shown_path
from migrate_tui.tui.messages import (
    Ask,
    InventoryReady,
    OpenFix,
    RunOperation,
    ShowErrors,
    ToBackup,
    Way,
    WorkerFailure,
)
from migrate_tui.tui.navigation import Navigator, actions_of
from migrate_tui.tui.planning import Planning, plan_all
from migrate_tui.tui.screens.operation import OperationScreen
from migrate_tui.tui.screens.progress import APPLY_GROUP, ProgressScreen
from migrate_tui.tui.settings import WizardSettings
from migrate_tui.tui.state import WizardState
from migrate_tui.tui.target_plan import TargetView, target_view, view_after
from migrate_tui.tui.workers import background, still_running

REPLAN_GROUP = "replan"
PLAN_ALL_GROUP = "plan-all"


def changes_between(plan: Plan, decisions: Mapping[str, Decision]) -> dict[str, Decision]:
    """What differs between the decisions ``plan`` was built with and ``decisions``."""
    built = plan.decisions
    return {fid: decisions.get(fid, MIGRATE) for fid in built.keys() | decisions.keys()
            if decisions.get(fid, MIGRATE) != built.get(fid, MIGRATE)}


def _with_backup(plan: Plan) -> Plan:
    if plan.backup:
        return plan
    out = Plan(plan.scan, plan.agent_id, True, plan.sessions, plan.decisions, plan.totals,
               plan.warnings)
    out.__dict__["index"] = plan.index  # the same sessions
    return out


def replanned(plan: Plan, decisions: Mapping[str, Decision]) -> Plan:
    """``build_plan(plan.scan, plan.agent_id, decisions, backup=True)``, made from ``plan``
    by planning only the sessions whose decision differs (``with_decisions``)."""
    return with_decisions(_with_backup(plan), changes_between(plan, decisions))


class MigrateApp(App[int]):
    CSS_PATH = "app.tcss"
    TITLE = "migrate-tui"
    ENABLE_COMMAND_PALETTE = True
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+q", "quit", "Quit", priority=True, show=False),  # in the help and the palette
        Binding("f1", "help", "Help"),
        Binding("question_mark", "help", "Help", show=False),
    ]

    def __init__(self, workspace: str | None = None, agent_id: str = "main",
                 settings: WizardSettings | None = None) -> None:
        super().__init__()
        self.settings = settings or WizardSettings()
        self.state = WizardState(default_workspace(workspace), agent_id)
        self.plan_changed: Signal[Plan] = Signal(self, "plan_changed")
        self.decision_pending: Signal[set[str]] = Signal(self, "decision_pending")
        self.navigator = Navigator(self)
        self.quitting = False
        self._replanning = False

    @property
    def steady(self) -> bool:
        return self.settings.steady

    def on_mount(self) -> None:
        self.navigator.start()

    # ------------------------------------------------------------ requests from the screens

    def on_show_errors(self, message: ShowErrors) -> None:
        self.navigator.errors()

    def on_to_backup(self, message: ToBackup) -> None:
        self.navigator.backup()

    def on_open_fix(self, message: OpenFix) -> None:
        self.navigator.fix(message.file_ids)

    def on_ask(self, message: Ask) -> None:
        self.navigator.ask(message)

    def on_run_operation(self, message: RunOperation) -> None:
        self.navigator.run_operation(message)

    def on_inventory_ready(self, message: InventoryReady) -> None:
        self.state.inventory = message.inventory
        self.state.inventory_path = message.path
        self.state.workspace = message.path

    # ------------------------------------------------------------ decisions (host.py)

    def decide(self, changes: Mapping[str, Decision], label: str) -> None:
        """Record decisions as one undoable step and plan them again in a worker (only the
        sessions whose decision changed); ``plan_changed`` is published when the plan is in."""
        if self.state.decisions.decide(changes, label) is not None:
            self._replan(set(changes))

    def undo(self) -> None:
        step = self.state.decisions.undo()
        if step is not None:
            self.notify(f"Undone: {step.label}", timeout=3)
            self._replan(set(step.before))

    def redo(self) -> None:
        step = self.state.decisions.redo()
        if step is not None:
            self.notify(f"Redone: {step.label}", timeout=3)
            self._replan(set(step.after))

    def _replan(self, changed: set[str]) -> None:
        self.decision_pending.publish(changed)
        if not self._replanning:  # one at a time; what comes meanwhile is planned after it
            self._replanning = True
            assert self.state.plan is not None
            self._replan_worker(self.state.plan, dict(self.state.decisions.current),
                                self.state.target_view)

    @background("planning your decisions", group=REPLAN_GROUP, exclusive=True)
    def _replan_worker(self, base: Plan, decisions: dict[str, Decision],
                       view: TargetView | None) -> None:
        changed = changes_between(base, decisions)
        plan = with_decisions(_with_backup(base), changed)
        if view is not None:  # the OpenClaw target: its view of the sessions decided
            view = view_after(view, plan, changed.keys())
        if not get_current_worker().is_cancelled:
            self.call_from_thread(self._replanned, plan, view)

    def _replanned(self, plan: Plan, view: TargetView | None = None) -> None:
        self._replanning = False
        self.state.plan = plan
        self.state.target_view = view
        current = self.state.decisions.current
        if plan.decisions != current:  # decided again meanwhile: plan that too
            self._replan(set())
            return
        shown = self.state.shown
        assert shown is not None
        self.plan_changed.publish(shown)

    # ------------------------------------------------------------ the whole plan, after the scan

    def plan_all(self, scan: ScanResult, agent_id: str, decisions: dict[str, Decision],
                 plan: Plan | None = None) -> None:
        """Plan every session in a worker (the plan screen shows the first rows meanwhile),
        then, with the OpenClaw target, compare each with OpenClaw's folder and database;
        ``plan``: the whole plan, made already (only the target's view is left to make).
        ``plan_changed`` is published when the whole plan is in."""
        planning = Planning(len(scan.sessions))
        self.state.planning = planning
        self.state.target_view = None
        self._plan_all_worker(scan, agent_id, decisions, planning, plan, self.state.target)

    @background("planning the sessions", group=PLAN_ALL_GROUP, exclusive=True)
    def _plan_all_worker(self, scan: ScanResult, agent_id: str, decisions: dict[str, Decision],
                         planning: Planning, plan: Plan | None, target: Any) -> None:
        if plan is None:
            plan = plan_all(scan, agent_id, decisions, planning)
            if plan is None:
                return
        view = None
        if target is not None:
            planning.done, planning.stage = 0, "comparing with OpenClaw's folder"
            view = target_view(plan, target, planning)
            if view is None:
                return
        self.call_from_thread(self._planned_all, plan, planning, view)

    def _planned_all(self, plan: Plan, planning: Planning, view: TargetView | None = None) -> None:
        if self.state.planning is not planning:
            return  # set aside meanwhile (another workspace)
        self.state.planning = None
        self.state.plan = plan
        self.state.target_view = view
        shown = self.state.shown
        assert shown is not None
        self.plan_changed.publish(shown)

    def plan_target(self) -> None:
        """The target was chosen again for the plan held: make its view (or drop it)."""
        state = self.state
        if state.plan is None or state.scan is None:
            return
        if state.target is None:
            state.target_view = None
            return
        if state.target_view is not None and state.target_view.target == state.target:
            return
        self.plan_all(state.scan, state.agent_id, dict(state.decisions.current), state.plan)

    def ways_forward(self, worker: Worker[Any], error: BaseException) -> list[Way]:
        """The app's own workers: planning the sessions, planning the decisions."""
        self._replanning = False
        if worker.group == PLAN_ALL_GROUP:
            scan, agent_id = self.state.scan, self.state.agent_id
            if scan is None:
                return []
            return [Way("r", "Plan the sessions again",
                        lambda: self.plan_all(scan, agent_id, dict(self.state.decisions.current)))]
        if worker.group == REPLAN_GROUP:
            ways = [Way("r", "Plan the decisions again", lambda: self._replan(set()))]
            label = self.state.decisions.undo_label
            if label:
                ways.append(Way("u", f"Undo the last decision ({label})", self.undo))
            return ways
        return []

    # ------------------------------------------------------------ paths

    @property
    def workspace_abs(self) -> str:
        return self.state.workspace_abs

    def show_path(self, path: str) -> str:
        """A path as the user knows it (under the workspace: as they typed the workspace)."""
        return shown_path(path, self.state.workspace_abs, self.state.workspace)

    # ------------------------------------------------------------ failures, help, palette

    def on_worker_failure(self, message: WorkerFailure) -> None:
        """Every worker of the wizard (workers.py) hands its failure here."""
        self.worker_failed(message.worker, message.error)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """A worker started otherwise that failed (screens hand theirs here too)."""
        if event.state is WorkerState.ERROR:
            self.worker_failed(event.worker)

    def worker_failed(self, worker: Worker[Any], error: BaseException | None = None) -> None:
        """Every worker that fails comes here: a dialog says what failed, with the ways
        forward its screen offers (navigation.py)."""
        self.navigator.worker_failed(worker, error)

    def action_help(self) -> None:
        self.navigator.help()

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        """The command palette (ctrl+p): every action of the screen it was opened on, with
        its keys (the same list as the help), then the theme."""
        for action in actions_of(self, screen):
            if action.action in ("command_palette", "help"):
                continue
            yield SystemCommand(action.description, f"key: {action.keys}",
                                partial(self.run_action, action.action, action.node))
        yield SystemCommand("Help", "The keys of this screen and the steps (f1, ?)", self.action_help)
        yield SystemCommand("Theme", "Change the colours", self.action_change_theme)

    # ------------------------------------------------------------ quitting

    def exit_code_now(self) -> int:
        """The exit code if the user quits now: 6 once the migration was rolled back, the
        last migration's, the screen's (waiting for a lock: 3), else whether the workspace
        shown can be used (2 if not)."""
        if self.state.rolled_back:
            return EXIT_ROLLED_BACK
        if self.state.outcome is not None:
            return self.state.outcome.exit_code
        for screen in reversed(self.screen_stack):
            code = getattr(screen, "exit_code", None)
            if isinstance(code, int):
                return code
        inv = self.state.inventory
        if inv is not None and inv.error and self.state.inventory_path == self.state.workspace:
            return EXIT_USAGE
        return EXIT_OK

    def apply_worker(self) -> Worker[Any] | None:
        for worker in self.workers:
            if worker.group == APPLY_GROUP and worker.state in (WorkerState.PENDING, WorkerState.RUNNING):
                return worker
        return None

    def busy_screen(self) -> ProgressScreen | OperationScreen | None:
        """The screen whose long operation runs now (apply, rollback, clean-up), if any."""
        if self.apply_worker() is not None:
            return next((s for s in self.screen_stack if isinstance(s, ProgressScreen)), None)
        return next((s for s in self.screen_stack if isinstance(s, OperationScreen) and s.running), None)

    async def action_quit(self) -> None:
        """Quit; during apply, a rollback or a clean-up, stop it at a safe point first and
        wait for it, saying so."""
        busy = self.busy_screen()
        if busy is None and self.apply_worker() is None:
            for screen in self.screen_stack:
                stop = getattr(screen, "stop", None)
                if isinstance(stop, threading.Event):
                    stop.set()  # the scan stops at its next file
            if self.state.planning is not None:
                self.state.planning.stop.set()  # and planning at its next 2,000 sessions
            self.exit(return_code=self.exit_code_now())
            return
        waiting = busy.quit_requested() if busy is not None else "the migration"
        what = busy.what if isinstance(busy, OperationScreen) else "the migration"
        if self.quitting:
            self.notify(f"Still waiting for {waiting}.", timeout=5)
            return
        self.quitting = True
        if not isinstance(busy, OperationScreen):
            self.state.cancel.set()
        self.notify(f"Quitting once {what} has stopped at a safe point: waiting for {waiting}.",
                    timeout=30)


def run_wizard(workspace: str | None = None, agent_id: str = "main") -> int:
    """Run the wizard in the terminal; return the process exit code.  Once the terminal is
    given back, the process still waits for its workers' threads: it says for what."""
    app = MigrateApp(workspace, agent_id)
    app.run()
    waiting = still_running()
    if waiting:
        print(f"migrate-tui: finishing {', '.join(waiting)} before exiting…", file=sys.stderr, flush=True)
    return app.return_code or 0
