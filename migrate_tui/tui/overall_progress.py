"""One progress figure for the whole of apply, across its phases (backup, transcripts,
index, verify).  Each phase's size is estimated from the plan until the phase announces it."""

from __future__ import annotations

from migrate_tui.engine import Plan

PHASES = ("backup", "transcripts", "index", "verify")


def estimated_totals(plan: Plan) -> dict[str, int]:
    n = plan.totals.to_migrate
    backup = sum(1 for s in plan.scan.sessions if s.sha256 is not None) if plan.backup else 0
    backup += int(plan.scan.session_map_present and plan.backup) + int(plan.scan.store_present)
    return {"backup": backup, "transcripts": n, "index": 1, "verify": n}


class OverallProgress:
    def __init__(self, totals: dict[str, int]) -> None:
        self.totals = {phase: totals.get(phase, 0) for phase in PHASES}
        self.done = dict.fromkeys(PHASES, 0)
        self.phase: str | None = None

    def start(self, phase: str, total: int) -> None:
        if phase not in self.totals:
            return
        for earlier in PHASES[: PHASES.index(phase)]:
            self.done[earlier] = self.totals[earlier]  # a phase that started the next is over
        self.phase = phase
        self.totals[phase] = total
        self.done[phase] = 0

    def advance(self, phase: str, done: int, total: int) -> None:
        if phase not in self.totals:
            return
        if phase != self.phase:
            self.start(phase, total)
        self.totals[phase] = total
        self.done[phase] = min(done, total)

    def finish(self) -> None:
        self.done = dict(self.totals)

    @property
    def total(self) -> int:
        return max(1, sum(self.totals.values()))

    @property
    def completed(self) -> int:
        return sum(self.done.values())

    def state_of(self, phase: str) -> str:
        """``done``, ``running`` or ``waiting``."""
        if self.phase is None:
            return "waiting"
        at = PHASES.index(self.phase)
        here = PHASES.index(phase)
        if here < at or (here == at and self.totals[phase] and self.done[phase] >= self.totals[phase]):
            return "done"
        return "running" if here == at else "waiting"
