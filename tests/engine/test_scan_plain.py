"""The scan's short way for a file with nothing to report (scan._plain, used by the workers
and in this process) must give the very record the careful way gives (scan_file, then
scan._compact): for every kind of file, plain or not, with transcripts there or not.  And
fsio.FolderReader reads as fsio.read_regular does, refusing what it refuses."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from migrate_tui.core import fsio
from migrate_tui.core.layout import DEFAULT_MAX_FILE_BYTES, open_layout
from migrate_tui.demo import generate_workspace
from migrate_tui.engine import scan as scan_module

GOOD_META = {"label": "Trip", "channel": "webchat", "model": "claude", "input_tokens": 12}


def _doc(**changes: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "session_id": "s", "messages": [{"role": "user", "content": "hi"}, {"role": "assistant"}],
        "metadata": dict(GOOD_META), "created_at": "2025-07-26T03:37:54.390268+00:00",
        "updated_at": "2025-07-26T04:51:39.887575+00:00"}
    for key, value in changes.items():
        if value is _GONE:
            doc.pop(key, None)
        else:
            doc[key] = value
    return doc


_GONE = object()

# name -> (content, whether the short way takes it)
CASES: dict[str, tuple[bytes, bool]] = {
    "plain": (json.dumps(_doc()).encode(), True),
    "plain-indented": (json.dumps(_doc(), indent=2).encode(), True),
    "naive-dates": (json.dumps(_doc(updated_at="2025-01-02T03:04:05",
                                    created_at="1969-12-31T23:59:59.9995")).encode(), True),
    "z-date": (json.dumps(_doc(updated_at="2025-01-02T03:04:05Z")).encode(), True),
    "no-created": (json.dumps(_doc(created_at=_GONE)).encode(), True),
    "bad-created": (json.dumps(_doc(created_at="soon")).encode(), True),
    "no-metadata": (json.dumps(_doc(metadata=_GONE)).encode(), True),
    "null-metadata": (json.dumps(_doc(metadata=None)).encode(), True),
    "empty-metadata": (json.dumps(_doc(metadata={})).encode(), True),
    "odd-metadata": (json.dumps(_doc(metadata={"label": "x", "colour": "red",
                                               "total_tokens": 3})).encode(), True),
    "extra-top": (json.dumps(_doc(extra=[1, 2], more={"a": None})).encode(), True),
    "other-id": (json.dumps(_doc(session_id="another")).encode(), True),
    "unsafe-id": (json.dumps(_doc(session_id="../x y")).encode(), True),
    "no-messages-list": (json.dumps(_doc(messages=[])).encode(), True),
    "integers": (json.dumps(_doc(messages=[{"role": "user", "n": 5, "m": -3}])).encode(), True),
    "session-key": (json.dumps(_doc(metadata={**GOOD_META, "session_key": "agent:main:x"})).encode(),
                    True),
    "bad-session-key": (json.dumps(_doc(metadata={**GOOD_META, "session_key": "not a key"})).encode(),
                        False),
    "null-session-key": (json.dumps(_doc(metadata={**GOOD_META, "session_key": None})).encode(), True),
    "number-session-key": (json.dumps(_doc(metadata={**GOOD_META, "session_key": 5})).encode(), False),
    "no-updated": (json.dumps(_doc(updated_at=_GONE)).encode(), False),
    "bad-updated": (json.dumps(_doc(updated_at="yesterday")).encode(), False),
    "number-updated": (json.dumps(_doc(updated_at=5)).encode(), False),
    "no-id": (json.dumps(_doc(session_id=_GONE)).encode(), False),
    "number-id": (json.dumps(_doc(session_id=7)).encode(), False),
    "list-metadata": (json.dumps(_doc(metadata=[1])).encode(), False),
    "bad-message": (json.dumps(_doc(messages=[{"role": "user"}, "text", {"content": 1}])).encode(), False),
    "messages-object": (json.dumps(_doc(messages={"role": "user"})).encode(), False),
    "top-list": (b"[1, 2]", False),
    "float": (json.dumps(_doc(messages=[{"role": "user", "t": 1.5}])).encode(), False),
    "minus-zero": (b'{"session_id": "s", "messages": [{"role": "u", "n": -0}], '
                   b'"updated_at": "2025-01-01"}', False),
    "duplicate-key": (b'{"session_id": "s", "session_id": "t", "messages": [], '
                      b'"updated_at": "2025-01-01"}', False),
    "big-int": (json.dumps(_doc(messages=[{"role": "user", "n": 2 ** 70}])).encode(), False),
    "bom": (b"\xef\xbb\xbf" + json.dumps(_doc()).encode(), False),
    "not-utf8": (json.dumps(_doc()).encode().replace(b"Trip", b"Tr\xffp"), False),
    "cut-short": (json.dumps(_doc(), indent=2).encode()[:-40], False),
    "empty": (b"", False),
    "nan": (b'{"session_id": "s", "messages": [], "updated_at": "2025-01-01", "x": NaN}', False),
}


def _write_cases(sessions: Path) -> None:
    sessions.mkdir(parents=True, exist_ok=True)
    for name, (data, _) in CASES.items():
        (sessions / f"{name}.json").write_bytes(data)


def _both_ways(root: Path, transcripts: dict[str, int]) -> dict[str, tuple[Any, Any]]:
    layout = open_layout(str(root))
    limit = DEFAULT_MAX_FILE_BYTES
    scan_module._forget_shared()
    scan_module._scan_setup(layout, transcripts, limit)
    out = {}
    try:
        for name in sorted(os.listdir(layout.sessions_dir)):
            if not scan_module.is_legacy_name(name):
                continue
            careful = scan_module._compact(scan_module.scan_file(layout, name, transcripts, limit, True))
            short = scan_module._scan_named((name, True))
            out[name] = (careful, short)
    finally:
        scan_module._scan_setup(None, {}, 0)
    return out


def _same_record(short: Any, careful: Any) -> bool:
    """Every value sent the same, and the dates and entry fields the same once read: packed
    (ContentSummary's values marshalled), equal values may differ in their bytes by
    marshal's mark on an object referred to more than once."""
    def others(record: Any) -> Any:
        return (*record[:7], (*record[7][:_FIELDS], *record[7][_FIELDS + 1:]))

    # (the short way's own record, scan._PLAIN_RECORD, as _compact sends the same session)
    short = scan_module._compact(scan_module._restored(short, "/f"))
    return others(short) == others(careful) and (
        scan_module._restored(short, "/f") == scan_module._restored(careful, "/f"))


_FIELDS = 5  # the packed dates and entry fields' place in what _compact sends of the content


def test_the_short_way_gives_the_careful_ways_record(tmp_path: Path) -> None:
    _write_cases(tmp_path / ".sessions")
    for name, (careful, short) in _both_ways(tmp_path, {}).items():
        assert _same_record(short, careful), name


def test_the_short_way_is_taken_only_for_files_with_nothing_to_report(tmp_path: Path) -> None:
    _write_cases(tmp_path / ".sessions")
    layout = open_layout(str(tmp_path))
    st = os.stat(tmp_path / ".sessions" / "plain.json")
    taken = {}
    for name, (data, _) in CASES.items():
        taken[name] = scan_module._plain(f"{name}.json", data, st, bytes(32), {}) is not None
    assert taken == {name: expected for name, (_, expected) in CASES.items()}
    assert layout.sessions_dir  # the cases are where the other tests read them


def test_a_transcript_there_sends_the_file_the_careful_way(tmp_path: Path) -> None:
    sessions = tmp_path / ".sessions"
    _write_cases(sessions)
    (sessions / "plain.jsonl").write_bytes(b'{"role":"user","content":"hi"}\n{"role":"assistant"}\n')
    (sessions / "another.jsonl").write_bytes(b"{}\n")
    transcripts = {"plain": os.path.getsize(sessions / "plain.jsonl"),
                   "another": os.path.getsize(sessions / "another.jsonl"), "elsewhere": 3}
    both = _both_ways(tmp_path, transcripts)
    for name, (careful, short) in both.items():
        assert _same_record(short, careful), name
    assert scan_module._plain("plain.json", CASES["plain"][0], os.stat(sessions / "plain.json"),
                              bytes(32), transcripts) is None
    assert scan_module._plain("no-created.json", CASES["no-created"][0],
                              os.stat(sessions / "plain.json"), bytes(32), transcripts) is not None
    assert both["plain.json"][0][7][-1]["transcripts"]["plain"].state == "same"


def test_a_generated_workspace_scans_the_same_both_ways(tmp_path: Path) -> None:
    generate_workspace(tmp_path, sessions=80, damaged=True, seed=7)
    both = _both_ways(tmp_path, {})
    assert len(both) > 80
    for name, (careful, short) in both.items():
        assert _same_record(short, careful), name


# ---------------------------------------------------------------- fsio.FolderReader


def test_the_folder_reader_reads_as_read_regular(tmp_path: Path) -> None:
    (tmp_path / "a.json").write_bytes(b"x" * 5000)
    (tmp_path / "empty.json").write_bytes(b"")
    reader = fsio.FolderReader(str(tmp_path))
    for name in ("a.json", "empty.json"):
        data, st = reader.read(name, 1 << 20)
        found = os.stat(tmp_path / name)
        assert (data, st.st_size, st.st_mtime_ns) == (
            (tmp_path / name).read_bytes(), found.st_size, found.st_mtime_ns)
    with fsio.anchored(str(tmp_path)):
        anchored = fsio.FolderReader(str(tmp_path))
        assert anchored._fd is not None
        assert anchored.read("a.json", 1 << 20)[0] == b"x" * 5000


def test_the_folder_reader_refuses_what_read_regular_refuses(tmp_path: Path) -> None:
    (tmp_path / "big.json").write_bytes(b"x" * 100)
    os.symlink("big.json", tmp_path / "link.json")
    os.mkfifo(tmp_path / "fifo.json")
    (tmp_path / "dir.json").mkdir()
    reader = fsio.FolderReader(str(tmp_path))
    with pytest.raises(fsio.FileTooLarge) as too_large:
        reader.read("big.json", 99)
    assert (too_large.value.size, too_large.value.limit) == (100, 99)
    assert reader.read("big.json", 100)[0] == b"x" * 100
    with pytest.raises(fsio.NotRegularFile) as link:
        reader.read("link.json", 1000)
    assert link.value.kind == "symlink" and link.value.filename == str(tmp_path / "link.json")
    with pytest.raises(fsio.NotRegularFile) as fifo:
        reader.read("fifo.json", 1000)
    assert fifo.value.kind == "FIFO"
    with pytest.raises(FileNotFoundError):
        reader.read("gone.json", 1000)


def test_the_fault_hook_sees_the_folder_readers_operations(tmp_path: Path) -> None:
    (tmp_path / "a.json").write_bytes(b"{}")
    seen: list[tuple[str, str]] = []

    def hook(op: str, path: str) -> None:
        seen.append((op, path))
        if op == "read":
            raise OSError(5, "injected", path)

    reader = fsio.FolderReader(str(tmp_path))
    with fsio.fault_hook(hook), pytest.raises(OSError, match="injected"):
        reader.read("a.json", 1000)
    path = str(tmp_path / "a.json")
    assert ("open", path) in seen and ("read", path) in seen and ("close", path) in seen
