"""The scan's loop with worker processes over many files (scan._Listed, names not made
again unless events are shown) says what the scan in one process says: the sessions, the
bytes; and its events name each file."""

from __future__ import annotations

import os

from migrate_tui.engine import scan as scan_module
from migrate_tui.engine.model import Progress
from migrate_tui.engine.scan import scan_workspace


def test_many_files_with_workers_say_what_one_process_says(ws, two_workers: list[int]) -> None:  # type: ignore[no-untyped-def]
    used = two_workers
    for n in range(scan_module.LOOK_AT_ALL_BELOW + 40):
        ws.add(f"s-{n:04d}", keys=(f"agent:main:k{n}",))
    os.symlink("s-0001.json", ws.sessions / "s-0150-link.json")
    alone = scan_workspace(str(ws.root))

    events: list[Progress] = []
    for shown in (False, True):
        on_event = events.append if shown else scan_module.no_events
        with_workers = scan_workspace(str(ws.root), workers=True, on_event=on_event)  # type: ignore[arg-type]
        assert used[-1] == 2
        assert with_workers.sessions == alone.sessions
        assert with_workers.total_bytes == alone.total_bytes > 0
    progress = [e for e in events if isinstance(e, Progress)]
    assert [e.item for e in progress] == [s.file_name for s in alone.sessions]
    assert progress[-1].bytes_done == alone.total_bytes
