"""verify reads the manifest after the scan, not before: the scan's worker processes are then
forked from a process that does not yet hold it (each worker would otherwise inherit those
pages and copy them as it touches them).  The journal is read before the scan, lean (its big
records a member at a time): the scan, which reads it at its end, then finds it read, instead
of parsing its biggest records whole on top of everything it holds.  What verify reports is
the same either way: the damage and interrupted runs the state holds come first."""

from __future__ import annotations

from migrate_tui.core import fsio
from migrate_tui.core.layout import JOURNAL, MANIFEST
from migrate_tui.engine.verify import verify_workspace
from tests.lifecycle.lifecycle_support import Workspace, three


def test_the_manifest_is_read_after_every_legacy_file_the_journal_before(ws: Workspace) -> None:
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
    manifest = [n for n, (op, path) in enumerate(seen) if path.endswith(MANIFEST) and op != "stat"]
    journal = [n for n, (op, path) in enumerate(seen) if path.endswith(JOURNAL)
               and op != "stat"]  # its size and time are taken first, to see another writer
    assert legacy and manifest and journal, seen
    assert max(legacy) < min(manifest), [seen[n] for n in (max(legacy), min(manifest))]
    assert min(journal) < min(legacy), [seen[n] for n in (min(journal), min(legacy))]
