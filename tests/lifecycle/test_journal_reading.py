"""The journal and the manifest (a line per session migrated): what is read back equals what
was written, the journal's records are not held but read again when gone through, and what
repeats from record to record (the field names, the operation, the run id) is one object in
a pass, not one per record."""

from __future__ import annotations

import json
from pathlib import Path

from migrate_tui.core.layout import open_layout
from migrate_tui.engine import backup, journal
from tests.lifecycle.lifecycle_support import Workspace, three


def test_records_read_back_as_written_sharing_what_repeats(ws: Workspace) -> None:
    three(ws)
    assert ws.migrate().rc == 0
    layout = open_layout(str(ws.root))
    written = [json.loads(line) for line in Path(layout.journal).read_bytes().splitlines()]
    state = journal.read(layout)
    assert not isinstance(state.records, list)  # a view read again each time, nothing held
    assert state.records == written
    assert [list(r) for r in state.records] == [list(r) for r in written]  # same key order
    creates = [r for r in state.records if r["op"] == "create" and r.get("source")]
    assert len(creates) == 3
    first, *others = creates
    for record in others:
        assert record["op"] is first["op"] and record["run"] is first["run"]
        for key in ("file", "sha256", "source", "source_sha256", "fixes"):
            assert next(k for k in record if k == key) is next(k for k in first if k == key)


def test_manifest_entries_share_the_run_id_and_their_name(ws: Workspace) -> None:
    three(ws)
    assert ws.migrate().rc == 0
    layout = open_layout(str(ws.root))
    written = json.loads(Path(layout.backup_dir, "manifest.json").read_bytes())["files"]
    manifest, damage = backup.read_manifest(layout)
    assert damage is None and manifest.files == written
    entries = [(name, info) for name, info in manifest.files.items() if info["original"] == name]
    assert len(entries) == 4  # the three sessions and session_map.json
    for name, info in entries:
        assert info["original"] is name and info["run"] is entries[0][1]["run"]
