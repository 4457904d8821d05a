"""What travels between the parts of the wizard: engine results from worker threads to their
screen, the results screens dismiss with, and the requests screens post to the app (which
bubble up to it: the navigation, navigation.py, decides what comes next)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from textual.content import Content
from textual.message import Message
from textual.worker import Worker

from migrate_tui.engine import (
    Decision,
    Inventory,
    Plan,
    PlannedSession,
    ScanResult,
    SessionPreview,
)
from migrate_tui.engine.model import CancelFlag, EventSink

# ---------------------------------------------------------------- from worker threads


class InventoryReady(Message):
    """The workspace screen looked at a folder; bubbles up to the app, which keeps it."""

    def __init__(self, path: str, inventory: Inventory) -> None:
        super().__init__()
        self.path = path
        self.inventory = inventory


class PreviewReady(Message):
    def __init__(self, preview: SessionPreview) -> None:
        super().__init__()
        self.preview = preview


class FixPreviews(Message):
    """What each offered fix would make of a session (``preview_fix``), by option id."""

    def __init__(self, file_id: str, effects: dict[str, PlannedSession]) -> None:
        super().__init__()
        self.file_id = file_id
        self.effects = effects


class WorkerFailure(Message):
    """A worker (workers.py) raised: posted to the app from the worker's thread, which
    shows what failed and the ways forward (navigation.py)."""

    def __init__(self, worker: Worker[Any], error: BaseException) -> None:
        super().__init__()
        self.worker = worker
        self.error = error


# ---------------------------------------------------------------- results (dismiss)


@dataclass(frozen=True)
class WorkspaceChoice:
    """Step 1's result: scan (or return to the plan of) this folder with this agent id."""

    workspace: str
    agent_id: str
    target: Any = None  # an OpenClawLayout: migrate into today's OpenClaw; None: the default target


@dataclass(frozen=True)
class Scanned:
    """Step 2's result: the scan and its plan, or the plan's first rows only (not
    ``complete``: the rest is planned after); no plan: the workspace cannot be migrated,
    ``scan.fatal`` says why."""

    scan: ScanResult
    plan: Plan | None
    complete: bool = True


@dataclass(frozen=True)
class FixChoice:
    """The fix dialog's result: the new decision of each session it applies to."""

    decisions: dict[str, Decision]
    label: str  # what was chosen, for undo ("salvage 300 sessions")


# ---------------------------------------------------------------- requests (to the app)


class ShowErrors(Message):
    """Open the errors review (step 4) over the plan."""


class ToBackup(Message):
    """On to the backup step (6)."""


class OpenFix(Message):
    """Open the fix dialog for these sessions (the first is the one described)."""

    def __init__(self, file_ids: list[str]) -> None:
        super().__init__()
        self.file_ids = file_ids


@dataclass
class Way:
    """One way forward offered by the failure dialog: a key, a label, what it does."""

    key: str
    label: str
    action: Callable[[], object] = field(default=lambda: None)


Job = Callable[[EventSink, CancelFlag], Any]  # an engine command, given on_event and cancel


class RunOperation(Message):
    """Run ``job`` (rollback, clean-up, or planning one) on the progress screen of long
    operations; ``done`` gets what it returned (None: it failed, the failure was shown)."""

    def __init__(self, title: str, what: str, job: Job, done: Callable[[Any], None]) -> None:
        super().__init__()
        self.title = title
        self.what = what
        self.job = job
        self.done = done


class Ask(Message):
    """Ask the user a yes/no question (the confirmation dialog); ``answer`` gets the reply."""

    def __init__(self, title: str, body: str | Content, yes: str, answer: Callable[[bool], None],
                 *, no: str = "Cancel", danger: bool = False) -> None:
        super().__init__()
        self.title = title
        self.body = body
        self.yes = yes
        self.no = no
        self.danger = danger
        self.answer = answer
