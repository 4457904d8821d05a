"""What verify holds while it checks: the transcripts the scan listed are held as a set of
the scan's own id strings (not the scan's dict of their sizes, with strings of its own), and
what it finds is what it found before (tests/lifecycle/test_verify_promise.py)."""

from __future__ import annotations

from migrate_tui.engine import verify
from migrate_tui.engine.scan import scan_workspace
from tests.engine.engine_support import Workspace


def test_the_listed_transcripts_are_the_scan_s_ids(ws: Workspace) -> None:
    for sid in ("aaaa-1", "bbbb-2", "cccc-3"):
        ws.add(sid)
    assert ws.migrate().rc == 0
    (ws.sessions / "other-4.jsonl").write_text("{}\n")  # a transcript no legacy file has
    (ws.sessions / "cccc-3.json").unlink()
    scan = scan_workspace(str(ws.root))
    found = dict(scan.transcripts)
    listed = verify._transcript_ids(scan)
    assert listed == set(found) == {"aaaa-1", "bbbb-2", "cccc-3", "other-4"}
    assert scan.transcripts == {}  # the scan's dict goes
    by_id = {s.file_id: s for s in scan.sessions}
    assert set(by_id) == {"aaaa-1", "bbbb-2"}
    assert all(sid is by_id[sid].file_id for sid in listed if sid in by_id)  # one string each

