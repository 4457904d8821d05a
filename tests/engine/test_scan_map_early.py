"""With worker processes, session_map.json (when small) is read while the workers parse
the first files, not after the scan: what the scan says of it must not change (its warnings,
in their order, a map or store that cannot be used, the keys attached)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from migrate_tui.demo import generate_workspace
from migrate_tui.engine import processes
from migrate_tui.engine import scan as scan_module
from migrate_tui.engine.model import ScanResult
from migrate_tui.engine.scan import scan_workspace

MAPS = {
    "repeated, bad and dangling keys": None,  # made from the workspace's own map
    "not an object": "[1, 2]\n",
    "bad JSON": '{"a": \n',
}


def _what_it_says(scan: ScanResult) -> Any:
    return (
        [repr(w) for w in scan.warnings],
        repr(scan.fatal),
        scan.session_map,
        [(s.file_id, s.keys) for s in scan.sessions],
    )


def _with_workers(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Workers for however few files; the names of the session_map reads, in order, with
    "files" where the scan loop took its first file."""
    monkeypatch.setattr(processes, "MIN_ITEMS", 1)
    monkeypatch.setattr(processes, "MIN_TOTAL_BYTES", 0)
    monkeypatch.setenv(processes.JOBS_VARIABLE, "2")
    order: list[str] = []
    real_read_map = scan_module._read_session_map
    real_restored = scan_module._restored

    def read_map(*args: Any) -> None:
        order.append("map")
        real_read_map(*args)

    def restored(*args: Any) -> Any:
        if "files" not in order:
            order.append("files")
        return real_restored(*args)

    monkeypatch.setattr(scan_module, "_read_session_map", read_map)
    monkeypatch.setattr(scan_module, "_restored", restored)
    return order


@pytest.mark.parametrize("case", sorted(MAPS))
@pytest.mark.parametrize("store_broken", [False, True])
def test_the_map_read_early_says_what_it_said_late(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, case: str, store_broken: bool) -> None:
    generate_workspace(tmp_path, sessions=40, seed=5)
    folder = tmp_path / ".sessions"
    text = MAPS[case]
    if text is None:
        own = (folder / "session_map.json").read_text().rstrip().rstrip("}")
        text = own + (',\n  "agent:main:main": "no-such-session",\n  "bad key": "x",\n'
                      '  "agent:main:n": 5\n}\n')
    (folder / "session_map.json").write_text(text)
    if store_broken:
        (folder / "sessions.json").write_text('{"x": [\n')
    alone = scan_workspace(str(tmp_path))  # one process: the map read after the files
    order = _with_workers(monkeypatch)
    early = scan_workspace(str(tmp_path), workers=True)
    assert order == ["map", "files"]  # read while the workers had the first files
    assert _what_it_says(early) == _what_it_says(alone)
    if case == "repeated, bad and dangling keys":
        codes = [w.code for w in early.warnings]
        assert {"duplicate_key", "bad_key", "dangling_key"} <= set(codes)
    else:
        assert early.fatal is not None


def test_a_big_map_is_still_read_after_the_files(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """From ``MAP_IN_PIECES_FROM`` on, the map is read in pieces once the files are (its ids
    held as theirs)."""
    generate_workspace(tmp_path, sessions=40, seed=6)
    monkeypatch.setattr(scan_module, "MAP_IN_PIECES_FROM", 16)
    alone = scan_workspace(str(tmp_path))
    order = _with_workers(monkeypatch)
    late = scan_workspace(str(tmp_path), workers=True)
    assert order == ["files", "map"]
    assert _what_it_says(late) == _what_it_says(alone)
