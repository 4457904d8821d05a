"""rollback and cleanup report progress (their planning included) and stop at a safe point
when cancelled, saying so; a second run finishes the job.  The inventory (the wizard's first
screen) tells what the state says: another command running, interrupted runs, damage."""

from __future__ import annotations

import threading

from migrate_tui.engine import PhaseStarted, Progress
from migrate_tui.engine.cleanup import cleanup_workspace, plan_cleanup
from migrate_tui.engine.inventory import inventory
from migrate_tui.engine.rollback import plan_rollback, rollback_workspace
from migrate_tui.engine.state import workspace_state
from tests.lifecycle.lifecycle_support import (
    A,
    B,
    C,
    CancelAt,
    Workspace,
    diff,
    migrate_inproc,
    oplock_held,
    outside_backup,
    three,
    while_preparing,
)


class Events(list):
    def __call__(self, event: object) -> None:
        self.append(event)

    def phases(self) -> list[str]:
        return [e.phase for e in self if isinstance(e, PhaseStarted)]

    def progress(self, phase: str) -> list[int]:
        return [e.done for e in self if isinstance(e, Progress) and e.phase == phase]


def test_planning_a_rollback_or_a_cleanup_reports_progress(ws: Workspace) -> None:
    three(ws)
    assert ws.migrate().rc == 0
    events = Events()
    plan_rollback(str(ws.root), on_event=events)
    assert events.phases() == ["plan-rollback"]
    assert events.progress("plan-rollback") == list(range(1, len(events.progress("plan-rollback")) + 1))
    assert len(events.progress("plan-rollback")) >= 4  # three transcripts and sessions.json
    events = Events()
    plan_cleanup(str(ws.root), on_event=events)
    assert events.phases() == ["scan", "plan-cleanup"]
    assert events.progress("plan-cleanup")[-1] == 4


def test_a_cancelled_rollback_stops_between_two_files_and_a_second_one_finishes(ws: Workspace) -> None:
    three(ws)
    before = outside_backup(ws)
    assert ws.migrate().rc == 0
    flag = threading.Event()
    events = Events()

    def on_event(event: object) -> None:
        events(event)
        if isinstance(event, Progress) and event.phase == "rollback" and event.done == 2:
            flag.set()

    result = rollback_workspace(str(ws.root), on_event=on_event, cancel=flag)
    assert result.cancelled and not result.ok
    assert len(result.removed) + len(result.restored) == 2
    assert "stopped at a safe point" in result.message and "rollback again" in result.message
    assert [r.command for r in workspace_state(str(ws.root)).interrupted] == ["rollback"]
    assert ws.cli("verify").rc == 4
    again = ws.cli("rollback", "--yes", "--json")
    assert again.rc == 0, str(again)
    assert diff({k: v for k, v in before.items() if k != ".sessions"},
                {k: v for k, v in outside_backup(ws).items() if k != ".sessions"}) == []
    assert workspace_state(str(ws.root)).interrupted == []


def test_a_migration_completes_an_interrupted_rollback(ws: Workspace) -> None:
    three(ws)
    assert ws.migrate().rc == 0
    flag = threading.Event()
    flag.set()  # cancelled before the first file
    result = rollback_workspace(str(ws.root), cancel=flag)
    assert result.cancelled and result.removed == result.restored == []
    assert ws.migrate().rc == 0
    assert ws.cli("verify").rc == 0


def test_a_cancelled_cleanup_stops_between_two_files_and_a_second_one_goes_on(ws: Workspace) -> None:
    three(ws)
    assert ws.migrate().rc == 0
    flag = threading.Event()

    def on_event(event: object) -> None:
        if isinstance(event, Progress) and event.phase == "cleanup" and event.done == 1:
            flag.set()

    result = cleanup_workspace(str(ws.root), on_event=on_event, cancel=flag)
    assert result.cancelled and len(result.removed) == 1
    assert "stopped at a safe point" in result.message
    assert ws.cli("verify").rc == 4  # an interrupted clean-up
    again = cleanup_workspace(str(ws.root))
    assert again.ok and len(again.removed) == 3  # the two sessions left and session_map.json
    assert ws.cli("verify").rc == 0
    assert not any((ws.sessions / f"{s}.json").exists() for s in (A, B, C))


def test_the_inventory_tells_the_state(ws: Workspace) -> None:
    three(ws)
    cancel = CancelAt(while_preparing(f"{A}.json"))
    migrate_inproc(ws.root, hook=cancel, cancel=cancel)
    inv = inventory(str(ws.root))
    assert inv.interrupted_runs == 1 and "migrate run" in inv.interrupted[0]
    assert inv.cleanup_blocked and "interrupted" in inv.cleanup_blocked
    assert inv.operation is None and inv.damage == []
    with oplock_held(ws.root, "rollback") as holder:
        assert f"rollback (process {holder.pid}" in (inventory(str(ws.root)).operation or "")
        assert "migrate-tui.lock" not in inventory(str(ws.root)).recently_changed
    (ws.backup / "journal.jsonl").write_bytes(b"123\n" + (ws.backup / "journal.jsonl").read_bytes())
    assert inventory(str(ws.root)).damage[0].endswith("journal.jsonl, line 1: is the number 123, "
                                                      "not a journal record")
