"""The flow between the steps of the wizard: the only code that opens, closes or replaces
screens, and that puts what a screen returned into the state.

    workspace ─▶ scan ─▶ plan ─┬─▶ errors ─▶ backup ─┬───────────────▶ progress ─▶ result
        ▲          │          ├─▶ backup             │  a lock held:      ▲            │
        └──────────┴──────────┘                      └─▶ waiting ─────────┘            │
        back: scan and decisions                         (escape: back to the plan)   │
        kept for the same folder                                                       │
                   ▲   (fix dialog, questions, help, failures: over any screen)        │
                   └──── continue: scanned again, decisions kept ◀─────────────────────┘

The stack holds the default screen, then the step's screen; the plan stays under the errors
review and the backup step, so going back to it costs nothing.
"""

from __future__ import annotations

import gc
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from textual.screen import Screen
from textual.worker import Worker

from migrate_tui.core.errors import MigrateError
from migrate_tui.engine.commands import MigrateOutcome, RollbackOutcome
from migrate_tui.engine.preflight import BusyLock
from migrate_tui.engine.report import EXIT_OK
from migrate_tui.tui.formatting import plural
from migrate_tui.tui.messages import Ask, FixChoice, RunOperation, Scanned, Way, WorkspaceChoice
from migrate_tui.tui.screen_base import WizardDialog, WizardScreen
from migrate_tui.tui.screens.backup import BackupScreen
from migrate_tui.tui.screens.confirm import ConfirmDialog
from migrate_tui.tui.screens.errors import ErrorsScreen
from migrate_tui.tui.screens.failure import FailureDialog
from migrate_tui.tui.screens.fix import FixDialog
from migrate_tui.tui.screens.help import HelpScreen
from migrate_tui.tui.screens.lock_wait import LockWaitScreen, locks_held_now
from migrate_tui.tui.screens.operation import OperationScreen
from migrate_tui.tui.screens.plan import PlanScreen
from migrate_tui.tui.screens.progress import ProgressScreen
from migrate_tui.tui.screens.result import ResultScreen
from migrate_tui.tui.screens.scan import ScanScreen
from migrate_tui.tui.screens.workspace import WorkspaceScreen
from migrate_tui.tui.state import PlanView, WizardState
from migrate_tui.tui.widgets.step_header import STEPS

if TYPE_CHECKING:
    from migrate_tui.tui.app import MigrateApp


def error_text(error: BaseException) -> str:
    """A failure in one sentence: the system's words and the file for an OSError, ours for
    our errors, the exception's name and message otherwise."""
    if isinstance(error, OSError):
        where = f" ({error.filename})" if error.filename else ""
        return f"{error.strerror or error}{where}"
    if isinstance(error, MigrateError):
        return str(error)
    return f"{type(error).__name__}: {error}"


class Navigator:
    def __init__(self, app: MigrateApp) -> None:
        self.app = app

    @property
    def state(self) -> WizardState:
        return self.app.state

    # ------------------------------------------------------------ 1 workspace

    def start(self) -> None:
        self.workspace()

    def workspace(self) -> None:
        state = self.state
        known = state.inventory if state.inventory_path == state.workspace else None
        self.app.push_screen(WorkspaceScreen(state.workspace, state.agent_id, known,
                                             plan_kept=state.plan is not None), self._workspace_chosen)

    def _workspace_chosen(self, choice: WorkspaceChoice | None) -> None:
        if choice is None:
            return
        state = self.state
        state.target = choice.target
        if state.plan is not None and state.same_target(choice.workspace, choice.agent_id):
            state.workspace = choice.workspace
            self.app.plan_target()  # another target: its view of the plan is made again
            self.plan()  # back to the plan: nothing was lost
            return
        if state.plan is None:
            self.scan(choice.workspace, choice.agent_id)
            return
        decided = len(state.decisions.current)
        what = ("another workspace" if not state.same_target(choice.workspace, state.agent_id)
                else f"the agent id {choice.agent_id!r}")
        body = (f"The scan of {state.workspace} (agent id {state.agent_id!r})"
                + (f" and your {plural(decided, 'decision')}" if decided else "")
                + f" will be set aside to scan {choice.workspace} with {what}. "
                "It cannot be brought back without scanning again.")

        def answered(yes: bool) -> None:
            if yes:
                state.forget_plan()
                self.scan(choice.workspace, choice.agent_id)
            else:
                self.workspace()

        self.ask(Ask("Scan " + ("another workspace?" if "workspace" in what else "with another agent id?"),
                     body, "Scan it", answered, no="Keep my plan"))

    # ------------------------------------------------------------ 2 scan

    def scan(self, workspace: str, agent_id: str, *, keep_decisions: bool = False, why: str = "") -> None:
        state = self.state
        gc.unfreeze()  # the previous scan's objects (frozen once planned) may be collected again
        inv = state.inventory if state.inventory_path == workspace else None
        decisions = dict(state.decisions.current) if keep_decisions else {}
        screen = ScanScreen(workspace, agent_id, decisions,
                            expected_files=inv.legacy_files if inv else 0,
                            expected_bytes=inv.legacy_bytes if inv else 0, why=why)
        self.app.push_screen(
            screen, lambda result: self._scanned(result, workspace, agent_id, keep_decisions))

    def _scanned(self, result: Scanned | None, workspace: str, agent_id: str, kept: bool) -> None:
        state = self.state
        if result is None or result.plan is None:
            self.workspace()
            return
        if not kept:
            state.forget_plan()
        elif state.planning is not None:
            state.planning.stop.set()
            state.planning = None
        state.keep_plan(result.scan, result.plan, workspace, agent_id)
        if state.decisions.current:
            state.decisions.keep_only({s.file_id for s in result.scan.sessions})
        state.outcome = None
        if not result.complete:  # the first rows are shown while the rest is planned
            self.app.plan_all(result.scan, agent_id, dict(state.decisions.current))
        elif state.target is not None:  # planned: compared with OpenClaw's folder meanwhile
            self.app.plan_all(result.scan, agent_id, dict(state.decisions.current), result.plan)
        self.plan()

    # ------------------------------------------------------------ 3-6 plan, errors, fix, backup

    def plan(self) -> None:
        self.app.push_screen(PlanScreen(self.state.view), self._plan_left)

    def _plan_left(self, view: PlanView | None) -> None:
        if view is not None:
            self.state.view = view
        self.workspace()

    def errors(self) -> None:
        self.app.push_screen(ErrorsScreen(), self._errors_left)

    def _errors_left(self, where: str | None) -> None:
        if where == "next":
            self.backup()

    def fix(self, file_ids: list[str]) -> None:
        self.app.push_screen(FixDialog(file_ids), self._fixed)

    def _fixed(self, choice: FixChoice | None) -> None:
        if choice is not None and choice.decisions:
            self.app.decide(choice.decisions, choice.label)

    def backup(self) -> None:
        refused = self.state.target_refusal
        if refused is not None:  # decided on the plan, not refused on the result screen
            self.app.notify(refused, title="Not yet", severity="error", timeout=10)
            return
        self.app.push_screen(BackupScreen(self.state.backup), self._backup_left)

    def _backup_left(self, backup: bool | None) -> None:
        if backup is not None:
            self.migrate(backup)

    # ------------------------------------------------------------ 7-8 progress, result

    def migrate(self, backup: bool) -> None:
        """Migrate, once the locks the run needs are free: while one is held, the waiting
        screen says who holds it and looks again (the run itself would give up on it)."""
        state = self.state
        assert state.plan is not None
        state.backup = backup
        state.plan = replace(state.plan, backup=backup)
        holders = self._locks_held()
        if holders:
            self.wait_for_locks(holders)
            return
        self._apply()

    def _locks_held(self) -> list[BusyLock]:
        try:
            return locks_held_now(self.state.workspace_abs, self.state.target)
        except (MigrateError, OSError):
            return []  # the run meets it too, and says what is wrong before writing anything

    def wait_for_locks(self, holders: list[BusyLock]) -> None:
        self.app.push_screen(LockWaitScreen(holders), self._waited)

    def _waited(self, free: bool | None) -> None:
        if free:
            self._apply()
            return
        self.back_to_plan()

    def back_to_plan(self) -> None:
        """Close what is over the plan (the errors review); open the plan if it was left."""
        stack = self.app.screen_stack
        if not any(isinstance(s, PlanScreen) for s in stack):
            while len(self.app.screen_stack) > 1:
                self.app.pop_screen()
            self.plan()
            return
        while not isinstance(self.app.screen, PlanScreen):
            self.app.pop_screen()

    def _apply(self) -> None:
        state = self.state
        assert state.plan is not None
        state.cancel.clear()
        while len(self.app.screen_stack) > 1:  # the plan is left: it is scanned again after
            self.app.pop_screen()
        self.app.push_screen(ProgressScreen(state.plan, state.cancel), self._applied)

    def _applied(self, outcome: MigrateOutcome | None) -> None:
        if outcome is None:
            return
        state = self.state
        if (outcome.refusal is not None and outcome.refusal.kind in ("busy", "locked")
                and not self.app.quitting):
            holders = self._locks_held()
            if holders:  # taken again between the look and the run: nothing was written
                self.wait_for_locks(holders)
                return
        state.outcome = outcome
        state.rolled_back = False
        state.runs += 1
        state.quit_code = outcome.exit_code
        if self.app.quitting:
            self.app.exit(return_code=outcome.exit_code)
            return
        self.app.push_screen(ResultScreen(outcome), self._result_left)

    def _result_left(self, what: str | None) -> None:
        if what == "continue":
            self.carry_on()

    def carry_on(self) -> None:
        """From the result back to the plan with what is left: the workspace is scanned again
        (what the run wrote is now "already migrated"), the decisions are kept."""
        state = self.state
        self.scan(state.workspace, state.agent_id, keep_decisions=True,
                  why="Again, after the migration: what it wrote shows as already migrated, your "
                      "decisions are kept.")

    # ------------------------------------------------------------ after the result

    def run_operation(self, request: RunOperation) -> None:
        """Rollback, clean-up, or the planning of one, on its own progress screen; what it
        returned goes back to the screen that asked (``request.done``)."""

        def ended(result: Any) -> None:
            if isinstance(result, RollbackOutcome) and result.status == "success":
                self.state.rolled_back = True
            if self.app.quitting:
                code = getattr(result, "exit_code", EXIT_OK)
                self.app.exit(return_code=code or self.app.exit_code_now())
                return
            request.done(result)

        self.app.push_screen(OperationScreen(request.title, request.what, request.job), ended)

    # ------------------------------------------------------------ over any screen

    def ask(self, question: Ask) -> None:
        self.app.push_screen(ConfirmDialog(question.title, question.body, question.yes, question.no,
                                           danger=question.danger),
                             lambda yes: question.answer(bool(yes)))

    def help(self) -> None:
        screen = self.app.screen
        if isinstance(screen, HelpScreen):
            return
        step = getattr(screen, "STEP", None)
        title = STEPS[step - 1] if step else "this screen"
        self.app.push_screen(HelpScreen(step, title, keys_of(self.app, screen)))

    def worker_failed(self, worker: Worker[Any], error: BaseException | None = None) -> None:
        """Every worker that fails comes here (app.on_worker_failure)."""
        error = error or worker.error or RuntimeError("unknown error")
        node = worker.node
        ways: list[Way] = []
        if isinstance(node, (WizardScreen, WizardDialog)):
            ways = node.ways_forward(worker, error)
        elif node is self.app:
            ways = self.app.ways_forward(worker, error)
        if self.app.quitting:
            self.app.exit(return_code=self.app.exit_code_now())
            return
        what = worker.name or "working"
        if any(isinstance(s, FailureDialog) and s.what == what for s in self.app.screen_stack):
            return  # the same failure is on screen already

        def chosen(way: Way | None) -> None:
            if way is not None:
                way.action()

        self.app.push_screen(FailureDialog(what, error_text(error), ways), chosen)


def _our_actions(node: Any) -> set[str]:
    """The actions bound by the wizard's own classes on ``node`` (not Textual's scrolling,
    focus and copy keys, which every screen has)."""
    actions = set()
    for cls in type(node).__mro__:
        if cls.__module__.startswith("migrate_tui."):
            for binding in cls.__dict__.get("BINDINGS", []):
                actions.add(binding.action if hasattr(binding, "action") else binding[1])
    return actions


@dataclass(frozen=True)
class Action:
    keys: str  # as shown: "↓ / j"
    description: str
    action: str
    node: Any  # where the action runs


def actions_of(app: Any, screen: Screen[Any]) -> list[Action]:
    """The actions live on ``screen`` that the wizard defines (the screen's, its focused
    widget's, the app's; not Textual's scrolling, focus and copy keys), one per action with
    all its keys, the screen's own first: what the help lists and the command palette runs."""
    nodes = [screen, *([screen.focused] if screen.focused is not None else []), app]
    rank = {id(node): n for n, node in enumerate(nodes)}
    ours = {id(node): _our_actions(node) for node in nodes}
    merged: dict[tuple[int, str, str], tuple[Any, list[str]]] = {}
    for _key, active in screen.active_bindings.items():
        binding = active.binding
        node_id = id(active.node)
        if not binding.description or binding.system or binding.action not in ours.get(node_id, ()):
            continue
        shown = app.get_key_display(binding)
        _node, keys = merged.setdefault((rank[node_id], binding.action, binding.description),
                                        (active.node, []))
        if shown not in keys:
            keys.append(shown)
    ordered = sorted(merged.items(), key=lambda item: item[0][0])
    return [Action(" / ".join(keys), description, action, node)
            for (_rank, action, description), (node, keys) in ordered]


def keys_of(app: Any, screen: Screen[Any]) -> list[tuple[str, str]]:
    """``[("space", "Skip"), ("↓ / j", "Down")…]`` (see ``actions_of``)."""
    return [(a.keys, a.description) for a in actions_of(app, screen)]
