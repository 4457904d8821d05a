"""The wizard's state: one typed object on the app, read by every screen.

Screens never write it: they dismiss with a result, post a request, or ask the app through
``WizardHost`` (host.py); the navigation (navigation.py) and the app put the results here.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field
from typing import Any

from migrate_tui.engine import Inventory, Plan, ScanResult
from migrate_tui.engine.commands import MigrateOutcome
from migrate_tui.engine.report import EXIT_OK
from migrate_tui.tui.decisions import DecisionBook
from migrate_tui.tui.planning import Planning
from migrate_tui.tui.target_plan import TargetView, refusal


@dataclass
class PlanView:
    """How the plan screen shows the plan: kept when the user goes back and returns."""

    filter: str = "all"  # all | problems | warnings | skipped
    query: str = ""  # the search / query (engine/selection.py)
    sort: str = "plan"  # the column sorted on ("plan": the plan's order)
    descending: bool = False
    cursor: str | None = None  # the file id under the cursor
    marked: set[str] = field(default_factory=set)  # file ids marked for a bulk decision


@dataclass
class WizardState:
    workspace: str  # the folder as the user typed it
    agent_id: str = "main"
    target: Any = None  # where to migrate: an OpenClawLayout, or None for .sessions/ itself
    inventory: Inventory | None = None
    inventory_path: str | None = None  # the path the inventory describes, as typed
    scan: ScanResult | None = None
    plan: Plan | None = None
    planned_for: tuple[str, str] | None = None  # (workspace, agent id) of scan and plan
    decisions: DecisionBook = field(default_factory=DecisionBook)
    backup: bool = True
    outcome: MigrateOutcome | None = None
    runs: int = 0  # migrations run in this session of the wizard
    rolled_back: bool = False  # the last migration was rolled back (quitting exits 6)
    quit_code: int = EXIT_OK  # the exit code if the user quits now
    cancel: threading.Event = field(default_factory=threading.Event)  # apply stops at a safe point
    view: PlanView = field(default_factory=PlanView)
    planning: Planning | None = None  # the whole plan is being made (``plan`` holds its first rows)
    target_view: TargetView | None = None  # the plan as the OpenClaw target sees it

    @property
    def shown(self) -> Plan | None:
        """The plan the screens show: as the chosen target sees it (the engine's plan for
        the workspace's own .sessions/, or while the target's view is being made)."""
        if self.target is not None and self.target_view is not None \
                and self.target_view.target == self.target:
            return self.target_view.shown
        return self.plan

    @property
    def target_refusal(self) -> str | None:
        """Why a migration into the chosen target cannot start now (target_plan.refusal)."""
        return self.target_refused()

    def target_refused(self, *, short: bool = False) -> str | None:
        if self.target is None or self.target_view is None or self.target_view.target != self.target:
            return None
        return refusal(self.target_view, short=short)

    @property
    def workspace_abs(self) -> str:
        if self.scan is not None:
            return self.scan.workspace
        if self.inventory is not None and self.inventory_path == self.workspace:
            return self.inventory.workspace
        return os.path.abspath(os.path.expanduser(self.workspace or "."))

    @property
    def pending_ids(self) -> set[str]:
        """Sessions whose decision changed since the plan was last built."""
        if self.plan is None:
            return set()
        built = self.plan.decisions
        current = self.decisions.current
        return {fid for fid in built.keys() | current.keys() if built.get(fid) != current.get(fid)}

    def same_target(self, workspace: str, agent_id: str) -> bool:
        """Whether the scan and plan held are of this workspace and agent id."""
        return self.planned_for is not None and self.planned_for == (_absolute(workspace), agent_id)

    def keep_plan(self, scan: ScanResult, plan: Plan, workspace: str, agent_id: str) -> None:
        self.scan = scan
        self.plan = plan
        self.target_view = None
        self.planned_for = (_absolute(workspace), agent_id)
        self.workspace = workspace
        self.agent_id = agent_id

    def forget_plan(self) -> None:
        if self.planning is not None:
            self.planning.stop.set()
            self.planning = None
        self.scan = None
        self.plan = None
        self.target_view = None
        self.planned_for = None
        self.decisions = DecisionBook()
        self.view = PlanView()
        self.outcome = None


def _absolute(path: str) -> str:
    return os.path.realpath(os.path.expanduser(path or "."))
