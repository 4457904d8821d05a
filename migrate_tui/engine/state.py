"""The workspace's state, derived from the journal, the manifest and the operation lock.

Every command asks ``workspace_state`` instead of reading the journal its own way:

* a run is *committed* once its commit record is written (for a migration: after
  sessions.json was merged and verified); an uncommitted run that no later committed run
  completed is *interrupted* — ``migrate`` completes it, ``rollback`` undoes it, ``cleanup``
  refuses, ``verify`` reports it;
* damage found in the backup folder (journal, manifest) is one sentence each, naming the
  file and the line; the commands whose safety depends on those files refuse;
* ``holder``: another command holding the operation lock right now.

Nothing here writes.  What can be computed is computed, never stored.
"""

from __future__ import annotations

import stat
from dataclasses import dataclass, field

from migrate_tui.core import fsio
from migrate_tui.core.errors import DamagedRecord, WorkspaceError
from migrate_tui.core.layout import Layout, open_layout
from migrate_tui.engine import backup, journal
from migrate_tui.engine.journal import Damage, JournalState, Outcome, Outcomes, Run
from migrate_tui.engine.oplock import OperationHolder, operation_holder


@dataclass
class WorkspaceState:
    layout: Layout
    sessions_dir_exists: bool = False
    backup_present: bool = False
    journal: JournalState = field(default_factory=JournalState)
    damage: list[Damage] = field(default_factory=list)
    holder: OperationHolder | None = None
    backup_unusable: str | None = None  # something else than a folder is at its path
    # the manifest is checked when the state is read, then read again when first asked for
    # (verify of a workspace in order never needs it): see ``manifest``
    _manifest: backup.Manifest | None = field(default=None, repr=False)

    @property
    def manifest(self) -> backup.Manifest:
        """The manifest (what could be read of it), read on first use."""
        if self._manifest is None:
            if not self.backup_present:
                self._manifest = backup.Manifest()
            else:
                self._manifest, _damage = backup.read_manifest(self.layout)
        return self._manifest

    @property
    def workspace(self) -> str:
        return self.layout.workspace

    @property
    def runs(self) -> list[Run]:
        """Every run the journal holds, undone ones too, oldest first."""
        return self.journal.history

    @property
    def interrupted(self) -> list[Run]:
        return self.journal.interrupted_runs

    @property
    def migrated_before(self) -> bool:
        """Changes of some run are in effect (a rollback has something to undo)."""
        return self.journal.has_changes

    @property
    def damaged(self) -> str | None:
        """The first damage found, as the sentence a refusal gives."""
        return str(self.damage[0]) if self.damage else None

    def _refusal(self, what: str) -> str | None:
        if self.damage:
            return (f"{self.damage[0]}. What earlier runs did cannot be known for sure, so {what}; "
                    "repair or move away that file (the backup copies stay where they are) and "
                    "run again")
        return None

    @property
    def rollback_blocked(self) -> str | None:
        """Why rollback cannot run now (None: it can)."""
        return self._refusal("nothing is rolled back")

    @property
    def migrate_blocked(self) -> str | None:
        return self._refusal("nothing is migrated")

    @property
    def cleanup_blocked(self) -> str | None:
        refusal = self._refusal("nothing is cleaned up")
        if refusal:
            return refusal
        pending = [r for r in self.interrupted if r.command != "cleanup"]
        if pending:
            run = pending[-1]
            return (f"the {run.describe()} did not finish (interrupted), so no original is removed: "
                    "run migrate to finish it (or rollback to undo it), then clean up")
        return None

    def outcomes(self) -> Outcomes:
        """Legacy file name → what the latest committed migration that saw it made of it
        (gathered as the journal was read)."""
        return self.journal.outcomes


def workspace_state(workspace: str | Layout) -> WorkspaceState:
    """Read the state of ``workspace``; never raises for damage in the backup folder (it is
    in ``damage``).  ``WorkspaceError`` when the workspace itself cannot be used."""
    layout = workspace if isinstance(workspace, Layout) else open_layout(workspace)
    state = WorkspaceState(layout)
    state.sessions_dir_exists = fsio.is_real_dir(layout.sessions_dir)
    if not state.sessions_dir_exists:
        return state
    state.holder = operation_holder(layout)
    st = fsio.lstat_or_none(layout.backup_dir)
    if st is None:
        return state
    if not stat.S_ISDIR(st.st_mode):  # nothing of ours is there: migrate refuses, the others
        state.backup_unusable = (f"{layout.backup_dir} is a {fsio.describe_mode(st.st_mode)}, not "
                                 "the backup folder; it is not followed")
        return state
    state.backup_present = True
    state.journal = journal.read_lean(layout)  # read's state, without its big records whole
    state.damage += state.journal.damage
    damage = backup.check_manifest(layout)
    if damage is not None:
        state.damage.append(damage)
    return state


def require(state: WorkspaceState, blocked: str | None) -> None:
    """Refuse (``DamagedRecord``, exit code 2) when ``blocked`` says why."""
    if blocked is None:
        return
    if state.damage:
        raise DamagedRecord(blocked)
    raise WorkspaceError(blocked)


__all__ = ["Outcome", "Outcomes", "WorkspaceState", "require", "workspace_state"]
