"""verify reads the journal and the manifest after the scan, not before: the scan's worker
processes are then forked from a process that does not yet hold the workspace's state (each
worker would otherwise inherit those pages and copy them as it touches them).  What verify
reports is the same either way: the damage and interrupted runs the state holds come first."""

from __future__ import annotations

from migrate_tui.core import fsio
from migrate_tui.core.layout import JOURNAL, MANIFEST
from migrate_tui.engine.verify import verify_workspace
from tests.lifecycle.lifecycle_support import Workspace, three


def test_the_journal_and_manifest_are_read_after_every_legacy_file(ws: Workspace) -> None:
    three(ws)
    assert ws.migrate().rc == 0
    seen: list[tuple[str, str]] = []

    def record(op: str, path: str) -> None:
        seen.append((op, path))

    with fsio.fault_hook(record):
        result = verify_workspace(str(ws.root))
    assert result.ok, result.problems
    legacy = [n for n, (_op, path) in enumerate(seen)
              if path.endswith(".json") and path.rsplit("/", 1)[-1][:1].isalnum()
              and "/backup" not in path and not path.endswith(("sessions.json", "session_map.json"))]
    state = [n for n, (op, path) in enumerate(seen) if path.endswith((JOURNAL, MANIFEST))
             and op != "stat"]  # its size and time are taken first, to see another writer
    assert legacy and state, seen
    assert max(legacy) < min(state), [seen[n] for n in (max(legacy), min(state))]
