"""The scan holds the listing's legacy names compactly (scan._Listed): every name comes back
as it was listed, in order, with whether it is a regular file, pass after pass."""

from __future__ import annotations

import json
import os

from migrate_tui.engine import scan
from migrate_tui.engine.scan import _Listed


def test_names_and_kinds_come_back_in_order() -> None:
    legacy = [
        ("a.json", True),
        ("line\nbreak.json", False),
        ("caf\u00e9 \u65e5\u672c.json", True),
        ("bad\udcffbyte.json", True),  # a name that is not UTF-8 (surrogate escape)
        ("x" * 200 + ".json", False),
        ("z.json", True),
    ]
    listed = _Listed(legacy)
    assert len(listed) == len(legacy)
    assert list(listed) == legacy
    assert list(listed) == legacy  # a second pass gives the same
    assert all(type(regular) is bool for _, regular in listed)


def test_no_names() -> None:
    listed = _Listed([])
    assert len(listed) == 0
    assert list(listed) == []


def test_scan_reads_odd_names_in_listing_order(tmp_path) -> None:
    sessions = tmp_path / ".sessions"
    sessions.mkdir()
    names = ["b.json", "a b.json", "caf\u00e9.json", "n\nl.json"]
    for name in names:
        sid = name[:-5]
        doc = {"session_id": sid, "updated_at": "2024-01-01T00:00:00Z", "messages": []}
        (sessions / name).write_text(json.dumps(doc), encoding="utf-8")
    os.symlink("b.json", sessions / "link.json")
    result = scan.scan_workspace(str(tmp_path))
    assert [s.file_name for s in result.sessions] == sorted([*names, "link.json"])
    kinds = {s.file_name: s.kind for s in result.sessions}
    assert kinds["link.json"] == "symlink"
    assert all(kinds[name] == "regular file" for name in names)
