"""Messages that carry engine results from worker threads to the screens."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from textual.message import Message

from migrate_tui.engine import (
    ApplyResult,
    Inventory,
    Plan,
    PlannedSession,
    ScanResult,
    SessionPreview,
)

if TYPE_CHECKING:
    from migrate_tui.tui.relay import EventRelay


class EngineEvents(Message):
    """Engine events are waiting in ``relay`` (posted once per batch, never per event)."""

    def __init__(self, relay: EventRelay) -> None:
        super().__init__()
        self.relay = relay


class InventoryReady(Message):
    def __init__(self, path: str, inventory: Inventory) -> None:
        super().__init__()
        self.path = path
        self.inventory = inventory


class ScanFinished(Message):
    def __init__(self, scan: ScanResult, plan: Plan) -> None:
        super().__init__()
        self.scan = scan
        self.plan = plan


class ScanFailed(Message):
    def __init__(self, error: str) -> None:
        super().__init__()
        self.error = error


@dataclass
class ApplyOutcome:
    """How apply ended: a result and its report, or an error that stopped it first."""

    exit_code: int
    result: ApplyResult | None = None
    report: dict[str, Any] | None = None
    report_path: str | None = None
    error: str | None = None


class ApplyFinished(Message):
    def __init__(self, outcome: ApplyOutcome) -> None:
        super().__init__()
        self.outcome = outcome


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
