"""verify reads the journal and the manifest after the legacy files, not before: the scan's
worker processes are then forked from a process that does not yet hold them (their pages
would otherwise be counted in the tree's memory through the scan, and each worker would copy
those it touches).  The journal is read lean (its big records a member at a time) by the scan
at its end, once every file is read, and the state then finds it read.  What verify reports
is the same either way: the damage and interrupted runs the state holds come first."""

from __future__ import annotations

from migrate_tui.core import fsio
from migrate_tui.core.layout import JOURNAL, MANIFEST
from migrate_tui.engine.verify import verify_workspace
from tests.lifecycle.lifecycle_support import Workspace, three


def test_the_journal_and_the_manifest_are_read_after_every_legacy_file(ws: Workspace) -> None:
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
    assert max(legacy) < min(journal), [seen[n] for n in (max(legacy), min(journal))]
