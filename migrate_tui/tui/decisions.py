"""The user's decisions, with undo and redo across the whole plan.

Every change, one session or ten thousand, is one step: ``decide`` records what each changed
session had before and has after, ``undo`` puts the "before" back, ``redo`` the "after".
A step that changes nothing is not recorded.  The book knows nothing of plans: the app
plans the decisions again (``with_decisions``) after each step.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from migrate_tui.engine import MIGRATE, Decision

MAX_STEPS = 200


def toggled_skip(decision: Decision) -> Decision:
    """Skip, or un-skip keeping the fixes chosen before."""
    return Decision(skip=not decision.skip, fixes=decision.fixes)


@dataclass(frozen=True)
class Step:
    label: str  # what the user did, e.g. "skip 2,700 sessions"
    before: Mapping[str, Decision]  # file id → decision before (MIGRATE: none)
    after: Mapping[str, Decision]

    @property
    def count(self) -> int:
        return len(self.after)


class DecisionBook:
    def __init__(self, decisions: Mapping[str, Decision] | None = None) -> None:
        self.current: dict[str, Decision] = {k: v for k, v in (decisions or {}).items() if v != MIGRATE}
        self._undo: list[Step] = []
        self._redo: list[Step] = []

    def get(self, file_id: str) -> Decision:
        return self.current.get(file_id, MIGRATE)

    def decide(self, changes: Mapping[str, Decision], label: str) -> Step | None:
        """Record ``changes`` (file id → new decision) as one step; None if nothing changes."""
        after = {fid: d for fid, d in changes.items() if d != self.get(fid)}
        if not after:
            return None
        step = Step(label, {fid: self.get(fid) for fid in after}, after)
        self._set(after)
        self._undo.append(step)
        del self._undo[:-MAX_STEPS]
        self._redo.clear()
        return step

    def undo(self) -> Step | None:
        """Take back the last step; returns it (its ``before`` is now in force)."""
        if not self._undo:
            return None
        step = self._undo.pop()
        self._set(step.before)
        self._redo.append(step)
        return step

    def redo(self) -> Step | None:
        if not self._redo:
            return None
        step = self._redo.pop()
        self._set(step.after)
        self._undo.append(step)
        return step

    @property
    def can_undo(self) -> bool:
        return bool(self._undo)

    @property
    def can_redo(self) -> bool:
        return bool(self._redo)

    @property
    def undo_label(self) -> str | None:
        return self._undo[-1].label if self._undo else None

    @property
    def redo_label(self) -> str | None:
        return self._redo[-1].label if self._redo else None

    def keep_only(self, file_ids: set[str]) -> None:
        """Forget the decisions (and steps) about sessions no longer there (after a new scan)."""
        self.current = {fid: d for fid, d in self.current.items() if fid in file_ids}
        self._undo = [s for s in self._undo if set(s.after) <= file_ids]
        self._redo = [s for s in self._redo if set(s.after) <= file_ids]

    def _set(self, decisions: Mapping[str, Decision]) -> None:
        for fid, decision in decisions.items():
            if decision == MIGRATE:
                self.current.pop(fid, None)
            else:
                self.current[fid] = decision
