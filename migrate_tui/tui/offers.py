"""Which actions the result offers after a migration — roll back, clean up — and, when one
is not offered, the sentence saying why.  Derived from the engine's state of the workspace
(engine/state.py: the runs in effect, committed or interrupted, damaged records, another
command running), not from this run's outcome alone: a run refused before it wrote anything
leaves an earlier committed migration to clean up; a cancelled one leaves an interrupted run
that blocks the clean-up until it is finished or rolled back."""

from __future__ import annotations

from migrate_tui.engine.state import WorkspaceState

LOOKING = "the workspace's records are being read"


def committed_migration(ws: WorkspaceState) -> bool:
    """A migration was committed (written, verified) and is still in effect."""
    return any(run.command == "migrate" and run.committed for run in ws.journal.in_effect)


def offered_actions(ws: WorkspaceState | None, rolled_back: bool = False) -> dict[str, str | None]:
    """``{"rollback": None | why not, "cleanup": None | why not}``."""
    if ws is None:
        return {"rollback": LOOKING, "cleanup": LOOKING}
    if ws.holder is not None:
        busy = f"another migrate-tui command is running here: {ws.holder.describe()}"
        return {"rollback": busy, "cleanup": busy}
    gone = "the migration was rolled back: nothing of it is in effect any more"
    rollback = ws.rollback_blocked
    if rollback is None and not ws.migrated_before:
        rollback = gone if rolled_back else ("nothing was written by a migration, so there is "
                                             "nothing to roll back")
    cleanup = ws.cleanup_blocked
    if cleanup is None and not committed_migration(ws):
        cleanup = gone if rolled_back else ("no migration of this workspace was committed (written "
                                            "and verified) yet: clean-up waits for one")
    return {"rollback": rollback, "cleanup": cleanup}
