"""The headless migration engine: scan → plan (with decisions) → apply → verify / rollback /
cleanup.  Plain functions and data; never imports Textual.

Every name below is imported on first use (PEP 562 ``__getattr__``): ``import
migrate_tui.engine``, which any of its modules imports first, costs nothing, and a dry run
or a verify loads only the modules it uses (never apply's, for one)."""

import sys
from types import ModuleType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from migrate_tui.core.errors import LockBusy, WorkspaceError
    from migrate_tui.engine.apply import apply_plan
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

# each public name: the module it is imported from
_FROM = {
    **dict.fromkeys(("LockBusy", "WorkspaceError"), "migrate_tui.core.errors"),
    "apply_plan": "migrate_tui.engine.apply",
    **dict.fromkeys(("Inventory", "inventory"), "migrate_tui.engine.inventory"),
    **dict.fromkeys((
        "ALL_FIXES", "MIGRATE", "SKIP", "ApplyResult", "Decision", "LogLine", "PhaseStarted", "Plan",
        "PlannedSession", "Problem", "Progress", "ScanResult", "SessionScan", "Severity"),
        "migrate_tui.engine.model"),
    **dict.fromkeys(("build_plan", "with_decision"), "migrate_tui.engine.plan"),
    **dict.fromkeys(("SessionPreview", "preview_fix", "session_preview"), "migrate_tui.engine.preview"),
    **dict.fromkeys(("build_report", "exit_code", "results_block", "save_report"),
                    "migrate_tui.engine.report"),
    "scan_workspace": "migrate_tui.engine.scan",
}


def __getattr__(name: str) -> Any:
    where = _FROM.get(name)
    if where is None:  # (a submodule not imported yet: the import system imports it)
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from importlib import import_module

    value = getattr(import_module(where), name)
    globals()[name] = value  # (asked once)
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_FROM})


class _Engine(ModuleType):
    """This package, its attribute ``inventory`` always the function: the import system sets
    a submodule as an attribute of its package once it is imported, and the submodule
    ``inventory`` (imported by whoever asks first) has the function's name.  As when the
    package imported it at once, the function is kept."""

    def __setattr__(self, name: str, value: Any) -> None:
        if name == "inventory" and type(value) is ModuleType:
            value = value.inventory
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Engine


__all__ = [
    "ALL_FIXES", "MIGRATE", "SKIP", "ApplyResult", "Decision", "Inventory", "LockBusy", "LogLine",
    "PhaseStarted", "Plan", "PlannedSession", "Problem", "Progress", "ScanResult", "SessionPreview",
    "SessionScan", "Severity", "WorkspaceError", "apply_plan", "build_plan", "build_report",
    "exit_code", "inventory", "preview_fix", "results_block", "save_report", "scan_workspace",
    "session_preview", "with_decision",
]
