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
from typing import Any

from migrate_tui.core import fsio
from migrate_tui.core.errors import DamagedRecord, WorkspaceError
from migrate_tui.core.layout import Layout, open_layout
from migrate_tui.engine import backup, journal
from migrate_tui.engine.journal import Damage, JournalState, Run
from migrate_tui.engine.oplock import OperationHolder, operation_holder


@dataclass(frozen=True, slots=True)
class Outcome:
    """What the latest committed migration that saw a legacy file made of it."""

    run: str
    sha256: str | None  # the file's bytes as that run read them
    session_id: str | None  # the id it was migrated as; None when it was not migrated
    why: str | None = None  # not migrated: "skip" or the problem's code


@dataclass
class WorkspaceState:
    layout: Layout
    sessions_dir_exists: bool = False
    backup_present: bool = False
    journal: JournalState = field(default_factory=JournalState)
    manifest: backup.Manifest = field(default_factory=backup.Manifest)
    damage: list[Damage] = field(default_factory=list)
    holder: OperationHolder | None = None
    backup_unusable: str | None = None  # something else than a folder is at its path

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
        return bool(self.journal.changes)

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

    def outcomes(self) -> dict[str, Outcome]:
        """Legacy file name → what the latest committed migration that saw it made of it."""
        out: dict[str, Outcome] = {}
        by_run: dict[str, list[dict[str, Any]]] = {}
        for record in self.journal.records:
            if record.get("op") in ("create", "replace") and record.get("source"):
                by_run.setdefault(record["run"], []).append(record)
        for run in self.journal.in_effect:
            if run.command != "migrate" or run.commit is None:
                continue
            for record in by_run.get(run.run, []):  # journals written before commits said it all
                name = record["file"]
                if name.endswith(".jsonl"):
                    out[record["source"]] = Outcome(run.run, record.get("source_sha256"), name[:-6])
            for name, (sha, sid) in run.commit.get("sessions", {}).items():
                out[name] = Outcome(run.run, sha if isinstance(sha, str) else None,
                                    sid if isinstance(sid, str) else None)
            for name, (sha, why) in run.commit.get("not_migrated", {}).items():
                out[name] = Outcome(run.run, sha if isinstance(sha, str) else None, None,
                                    why if isinstance(why, str) else "skip")
        return out


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
    state.journal = journal.read(layout)
    state.damage += state.journal.damage
    state.manifest, damage = backup.read_manifest(layout)
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


__all__ = ["Outcome", "WorkspaceState", "require", "workspace_state"]
