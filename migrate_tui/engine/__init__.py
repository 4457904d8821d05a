"""The headless migration engine: scan → plan (with decisions) → apply → verify / rollback /
cleanup.  Plain functions and data; never imports Textual."""

from typing import TYPE_CHECKING, Any

from migrate_tui.core.errors import LockBusy, WorkspaceError
from migrate_tui.engine.inventory import Inventory, inventory
from migrate_tui.engine.model import (
    ALL_FIXES,
    MIGRATE,
    SKIP,
    ApplyResult,
    Decision,
    LogLine,
    PhaseStarted,
    Plan,
    PlannedSession,
    Problem,
    Progress,
    ScanResult,
    SessionScan,
    Severity,
)
from migrate_tui.engine.plan import build_plan, with_decision
from migrate_tui.engine.preview import SessionPreview, preview_fix, session_preview
from migrate_tui.engine.report import build_report, exit_code, results_block, save_report
from migrate_tui.engine.scan import scan_workspace

if TYPE_CHECKING:
    from migrate_tui.engine.apply import apply_plan


def __getattr__(name: str) -> Any:
    """``apply_plan`` is imported on first use: a dry run or a verify never needs apply's
    modules, and ``import migrate_tui.engine`` stays cheap for them (PEP 562)."""
    if name == "apply_plan":
        from migrate_tui.engine.apply import apply_plan
        return apply_plan
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

__all__ = [
    "ALL_FIXES", "MIGRATE", "SKIP", "ApplyResult", "Decision", "Inventory", "LockBusy", "LogLine",
    "PhaseStarted", "Plan", "PlannedSession", "Problem", "Progress", "ScanResult", "SessionPreview",
    "SessionScan", "Severity", "WorkspaceError", "apply_plan", "build_plan", "build_report",
    "exit_code", "inventory", "preview_fix", "results_block", "save_report", "scan_workspace",
    "session_preview", "with_decision",
]
