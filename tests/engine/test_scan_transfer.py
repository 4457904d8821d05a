"""A session scanned in a worker process comes back as plain values (scan._compact, or
scan._plain's short way) and is made again here (scan._restored).  Each record that comes
back is compared with the record built in this process by ``scan_file`` (the careful way,
never packed), slot by slot and through every public property, for every kind of file the
scan knows: plain, unreadable, damaged (read with fixes: variants), a symlink, a FIFO, a
folder, too large, a huge file read as a stream, odd and rare fields, entry fields that
marshal cannot pack, transcripts there in each state, session_map keys, several modes."""

from __future__ import annotations

import json
import os
import pickle
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from migrate_tui.core import fsio
from migrate_tui.core.layout import Layout, open_layout
from migrate_tui.demo import generate_workspace
from migrate_tui.engine import scan as scan_module
from migrate_tui.engine.legacy import STREAM_BYTES
from migrate_tui.engine.model import _PICKLED, ContentSummary, ScanResult, SessionScan, sent_fields
from migrate_tui.engine.scan import scan_file, scan_workspace
from tests.engine.engine_support import Workspace

LIMIT = 2 * STREAM_BYTES  # the huge file is read (streamed), the sparse one is too large
UNREADABLE = "unreadable.json"


# ---------------------------------------------------------------- the workspace


def _message(n: int) -> dict[str, Any]:
    return {"role": "user" if n % 2 else "assistant", "content": f"message {n} " + "x" * 80}


def _legacy(sid: Any, messages: list[Any], metadata: Any = None, **top: Any) -> bytes:
    doc: dict[str, Any] = {"session_id": sid, "messages": messages}
    if metadata is not None:
        doc["metadata"] = metadata
    doc.setdefault("created_at", "2025-07-26T03:37:54.390268+00:00")
    doc["updated_at"] = "2025-07-26T04:51:39.887575+00:00"
    doc.update(top)
    return json.dumps(doc).encode()


def _build(ws: Workspace) -> None:
    """One file (or more) of every kind the scan tells apart."""
    two = [_message(1), _message(2)]
    # plain files (the workers' short way), with keys, modes, metadata carried or not
    ws.add("plain-one-key", keys=("agent:main:one",))
    ws.add("plain-two-keys", keys=("agent:main:two-a", "agent:main:two-b"), mode=0o644)
    ws.add("plain-odd-meta", metadata={"label": "x", "colour": "red", "total_tokens": 3}, mode=0o640)
    ws.add("plain-no-meta", metadata={}, mode=0o400)
    ws.write_raw("other-id.json", _legacy("the-id-inside", two, {"label": "o"}))
    ws.map("agent:main:by-content", "the-id-inside")
    ws.map("agent:main:nowhere", "no-such-session")  # dangling: attached to none
    ws.write_raw("valid-key.json", _legacy("valid-key", two, {"session_key": "agent:main:inside"}))
    # entry fields marshal cannot pack (a float read as JsonFloat, -0 and a long int kept as text)
    ws.write_raw("pickled-fields.json", b'{"session_id": "pickled-fields", "messages": [], '
                 b'"metadata": {"label": "p", "total_tokens": 1.5, "input_tokens": -0, '
                 b'"context_tokens": ' + str(2 ** 70).encode() + b'}, "updated_at": "2025-01-01"}')
    # content with something to report: rare fields, odd ids, dates, fixes (variants)
    ws.write_raw("bad-messages.json", _legacy("bad-messages", [_message(1), "text", {"content": 1}]))
    ws.write_raw("bad-key.json", _legacy("bad-key", two, {"session_key": "not a key"}), mode=0o600)
    ws.write_raw("number-id.json", _legacy(7, two))
    ws.write_raw("bool-id.json", _legacy(True, two))
    ws.write_raw("no-id.json", json.dumps({"messages": two, "updated_at": "2025-01-01"}).encode())
    ws.write_raw("no-dates.json", json.dumps({"session_id": "no-dates", "messages": two}).encode())
    ws.write_raw("bad-updated.json", _legacy("bad-updated", two, updated_at="yesterday"))
    ws.write_raw("cut-short.json", json.dumps(json.loads(_legacy("cut-short", two * 3)), indent=2)
                 .encode()[:-60], mode=0o644)
    ws.write_raw("not-utf8.json", _legacy("not-utf8", two, {"label": "Tr\udcffp"}).replace(
        b"\\udcff", b"\xff"))
    ws.write_raw("top-list.json", b"[1, 2]")
    ws.write_raw("empty.json", b"")
    ws.write_raw("bom.json", b"\xef\xbb\xbf" + _legacy("bom", two))
    # transcripts there: the same, extended, different, not a regular file
    for sid in ("t-same", "t-extended", "t-different", "t-folder"):
        ws.write_raw(f"{sid}.json", _legacy(sid, two))
    expected = scan_module.transcript_bytes(two)
    ws.write_raw("t-same.jsonl", expected)
    ws.write_raw("t-extended.jsonl", expected + b'{"role":"user"}\n')
    ws.write_raw("t-different.jsonl", b"{}\n")
    (ws.sessions / "t-folder.jsonl").mkdir()
    # a huge file (read as a stream, its transcript compared a piece at a time)
    many = [_message(n) for n in range(STREAM_BYTES // 100)]  # 1.2 times STREAM_BYTES
    ws.write_raw("huge.json", _legacy("huge", many, {"label": "big"}))
    ws.write_raw("huge.jsonl", scan_module.transcript_bytes(many))
    # what is not read: too large (sparse), a symlink, a FIFO, a folder, unreadable
    with open(ws.sessions / "too-large.json", "wb") as f:
        f.truncate(LIMIT + 1)
    os.symlink("plain-one-key.json", ws.sessions / "link.json")
    os.symlink("../elsewhere.json", ws.sessions / "link-out.json")
    if hasattr(os, "mkfifo"):
        os.mkfifo(ws.sessions / "fifo.json")
    (ws.sessions / "folder.json").mkdir()
    ws.write_raw(UNREADABLE, _legacy("unreadable", two), mode=0o000)


@contextmanager
def _unreadable(layout: Layout) -> Iterator[None]:
    """UNREADABLE cannot be opened, whoever runs the tests (root reads a file of mode 0)."""
    path = layout.in_sessions(UNREADABLE)

    def hook(op: str, where: str) -> None:
        if op == "open" and where == path:
            raise PermissionError(13, "Permission denied", where)

    with fsio.fault_hook(hook):
        yield


def _listing(layout: Layout) -> list[tuple[str, bool]]:
    return sorted((name, regular) for name, regular in fsio.list_regular(layout.sessions_dir)
                  if scan_module.is_legacy_name(name))


def _built_here(layout: Layout, transcripts: dict[str, int],
                session_map: dict[str, str] | None) -> list[SessionScan]:
    """Every legacy file's record built in this process by ``scan_file`` (never packed,
    never sent), its keys attached as the scan attaches them."""
    scan_module._forget_shared()
    with _unreadable(layout):
        records = [scan_file(layout, name, transcripts, LIMIT) for name, _ in _listing(layout)]
    if session_map is not None:
        result = ScanResult(layout.workspace, layout.sessions_dir, True)
        result.sessions, result.session_map = records, dict(session_map)
        scan_module._attach_keys(result)
    return records


# ---------------------------------------------------------------- the comparison


def _same(made: Any, built: Any, where: Any) -> None:
    """Equal, of the same type, all the way down (1 and True, 1 and 1.0 are told apart)."""
    assert type(made) is type(built), (where, made, built)
    if isinstance(built, ContentSummary):
        _same_content(made, built, where)
    elif isinstance(built, SessionScan):
        _same_session(made, built, where)
    elif isinstance(built, dict):
        assert list(made) == list(built), (where, made, built)
        for key, value in built.items():
            _same(made[key], value, (where, key))
    elif isinstance(built, (list, tuple)):
        assert len(made) == len(built), (where, made, built)
        for n, (one, other) in enumerate(zip(made, built, strict=True)):
            _same(one, other, (where, n))
    else:
        assert made == built, (where, made, built)


def _same_content(made: ContentSummary, built: ContentSummary, where: Any,
                  fields_by_value: bool = False) -> None:
    for name in ContentSummary._SHOWN:  # every public property
        _same(getattr(made, name), getattr(built, name), (where, name))
    for name in ContentSummary.__slots__:  # and every slot, a slot added later too
        if name == "_fields" and fields_by_value:
            continue
        _same(getattr(made, name), getattr(built, name), (where, name))
    # what the entry fields and dates are, packed or not (bytes may differ: marshal marks
    # a value referred to twice; scan._plain packs what it read, not what summarize kept)
    _same(sent_fields(made._fields), sent_fields(built._fields), (where, "sent_fields"))
    assert made == built, where


def _same_session(made: SessionScan, built: SessionScan, where: Any,
                  fields_by_value: bool = False) -> None:
    where = (where, built.file_name)
    for name in SessionScan._SHOWN:
        if name not in ("content", "variants"):
            _same(getattr(made, name), getattr(built, name), (where, name))
    for name in SessionScan.__slots__:
        if name not in ("content", "_odd"):
            _same(getattr(made, name), getattr(built, name), (where, name))
    _same_content(made.content, built.content, (where, "content"), fields_by_value)
    odd_made, odd_built = made._odd or {}, built._odd or {}
    assert list(odd_made) == list(odd_built), where
    for key, value in odd_built.items():
        if key != "variants":
            _same(odd_made[key], value, (where, "_odd", key))
    assert list(made.variants) == list(built.variants), where
    for fixes, summary in built.variants.items():
        _same_content(made.variants[fixes], summary, (where, sorted(fixes)), fields_by_value)
    assert made.problems == built.problems and made.content_fixes == built.content_fixes, where
    assert made == built, where
    if isinstance(built.content._digest, bytes):  # referred to, not a second copy
        assert made.content._digest is made._stat, where


def _kinds(records: list[SessionScan]) -> dict[str, int]:
    """How many records of each kind went through (each must be there)."""
    kinds: dict[str, int] = {}

    def count(kind: str, present: Any) -> None:
        kinds[kind] = kinds.get(kind, 0) + bool(present)

    for s in records:
        c = s.content
        count("readable", c.readable)
        count("not readable", not c.readable and not s.file_problems)
        count("file problems", s.file_problems)
        count("unreadable", any(p.code == "unreadable" for p in s.file_problems))
        count("too large", any(p.code == "too_large" for p in s.file_problems))
        count("symlink", s.kind == "symlink")
        count("folder", s.kind == "directory")
        count("variants", s.variants)
        count("rare fields", c._rare)
        count("bad messages", c.bad_messages)
        count("meta key", c.meta_key)
        count("salvage", any(v.salvage_count is not None for v in s.variants.values()))
        count("replaced bytes", any(v.replaced_bytes for v in s.variants.values()))
        count("no updated_at", c.updated_at_ms is None and c.readable)
        count("content id not the file's", c.readable and c.content_id != s.file_id)
        count("no content id", c.readable and c.content_id is None)
        count("entry fields", c.entry_fields)
        count("pickled entry fields", isinstance(c._fields, bytes) and c._fields[0] & _PICKLED)
        count("not carried", c.not_carried)
        count("digest", c.messages_digest)
        count("no digest", c.readable and c.messages_digest is None)
        count("huge", s.size >= STREAM_BYTES and c.readable)
        for state in ("same", "extended", "different", "not_regular"):
            count(f"transcript {state}", any(t.state == state for t in c.transcripts.values()))
        count("one key", type(s._keys) is str)
        count("two keys", len(s.keys) > 1)
        count("no keys", not s.keys)
        for mode in (0o600, 0o644, 0o640, 0o400):
            count(f"mode {mode:o}", s.mode == mode)
    if hasattr(os, "mkfifo"):
        kinds["FIFO"] = sum(s.kind == "FIFO" for s in records)
    return kinds


def _all_kinds_there(records: list[SessionScan]) -> None:
    kinds = _kinds(records)
    assert all(kinds.values()), {kind: n for kind, n in kinds.items() if not n}


# ---------------------------------------------------------------- the tests


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Layout, ScanResult]:
    """The workspace (only read by the tests) and its scan in this process."""
    ws = Workspace(tmp_path_factory.mktemp("transfer") / "ws")
    _build(ws)
    layout = open_layout(str(ws.root))
    with _unreadable(layout):
        scan = scan_workspace(str(ws.root), max_file_bytes=LIMIT)
    return layout, scan


def test_a_record_packed_and_sent_is_the_record_built_here(built: tuple[Layout, ScanResult]) -> None:
    """Every record ``scan_file`` builds, keys attached, packed by ``_compact``, pickled as
    one batch and made again by ``_restored``, is the record it was: nothing lost."""
    layout, scan = built
    records = _built_here(layout, scan.transcripts, scan.session_map)
    _all_kinds_there(records)
    back = pickle.loads(pickle.dumps([scan_module._compact(s) for s in records]))
    for made, record in zip(back, records, strict=True):
        restored = scan_module._restored(made, layout.sessions_dir)
        assert type(restored) is SessionScan and type(restored.content) is ContentSummary
        _same_session(restored, record, "sent")


def test_a_record_with_no_folder_comes_back_with_none(tmp_path: Path) -> None:
    """The folder is sent as a flag (one string for every record here): a record that has
    none, with or without a path of its own, comes back with none."""
    for record in (SessionScan("loose.json", "loose", path="/elsewhere/loose.json", mode=0o644),
                   SessionScan("bare.json", "bare", mode=0o640, size=3, sha256=bytes(range(32))),
                   SessionScan("in.json", "in", folder=str(tmp_path), mode=0o444)):
        made = scan_module._restored(pickle.loads(pickle.dumps(scan_module._compact(record))),
                                     str(tmp_path))
        _same_session(made, record, "no folder")
        assert made._dir == record._dir and made.path == record.path


def test_what_the_worker_sends_is_the_record_built_here(built: tuple[Layout, ScanResult]) -> None:
    """The worker's function called here (``_scan_named``, as a worker runs it once set up),
    its result pickled and made again, is the record ``scan_file`` builds, the short way
    (scan._plain) or the careful one.  The keys are attached after, in this process."""
    layout, scan = built
    records = _built_here(layout, scan.transcripts, None)
    scan_module._forget_shared()
    scan_module._scan_setup(layout, scan.transcripts, LIMIT)
    try:
        with _unreadable(layout):
            sent = [scan_module._scan_named(item) for item in _listing(layout)]
    finally:
        scan_module._scan_setup(None, {}, 0)
    assert all(type(one) is tuple for one in sent)
    back = pickle.loads(pickle.dumps(sent))
    for made, record in zip(back, records, strict=True):
        _same_session(scan_module._restored(made, layout.sessions_dir), record, "worker",
                      fields_by_value=True)


def test_the_scan_with_worker_processes_gives_the_records_built_here(
        built: tuple[Layout, ScanResult], two_workers: list[int],
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The whole way: the scan with its files parsed in worker processes (as many files as
    there are here, however small) gives, keys attached, the records built here; and so
    does the scan in one process."""
    layout, scan = built
    records = _built_here(layout, scan.transcripts, scan.session_map)
    used = two_workers
    here: list[str] = []  # the files read in this process (a forked worker counts its own)
    real_scan_listed = scan_module._scan_listed

    def scan_listed(layout: Layout, reader: Any, item: tuple[str, bool], *args: Any) -> Any:
        here.append(item[0])
        return real_scan_listed(layout, reader, item, *args)

    monkeypatch.setattr(scan_module, "_scan_listed", scan_listed)
    # (no fault hook here: the work would stay in this process; UNREADABLE is read)
    with_workers = scan_workspace(str(layout.workspace), max_file_bytes=LIMIT, workers=True)
    assert used == [2] and len(here) < len(records) // 2, here  # the workers read most
    unreadable = [n for n, (name, _) in enumerate(_listing(layout)) if name == UNREADABLE]
    for n, (made, record) in enumerate(zip(with_workers.sessions, records, strict=True)):
        if n not in unreadable:
            _same_session(made, record, "workers", fields_by_value=True)
    for made, record in zip(scan.sessions, records, strict=True):
        _same_session(made, record, "one process", fields_by_value=True)


def test_a_generated_workspace_comes_back_whole(tmp_path: Path) -> None:
    """The demo's workspace (damaged files among them): each record sent back is the one
    built here."""
    generate_workspace(tmp_path, sessions=60, damaged=True, seed=11)
    layout = open_layout(str(tmp_path))
    scan = scan_workspace(str(tmp_path))
    records = _built_here(layout, scan.transcripts, scan.session_map)
    back = pickle.loads(pickle.dumps([scan_module._compact(s) for s in records]))
    for made, record in zip(back, records, strict=True):
        _same_session(scan_module._restored(made, layout.sessions_dir), record, "demo")
    for made, record in zip(scan.sessions, records, strict=True):
        _same_session(made, record, "demo scan", fields_by_value=True)


def test_a_session_scanned_here_is_passed_through(tmp_path: Path) -> None:
    generate_workspace(tmp_path, sessions=3, seed=2)
    scan = scan_workspace(str(tmp_path))
    for s in scan.sessions:
        assert scan_module._restored(s, scan.sessions_dir) is s


def test_many_files_not_looked_at_one_by_one_say_what_looking_says(ws, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """From LOOK_AT_ALL_BELOW legacy files on, the scan does not lstat each before reading
    it: its sizes and times come from the read.  What the scan says is the same either way:
    the sessions, the bytes, the transcripts there."""
    for n in range(scan_module.LOOK_AT_ALL_BELOW + 20):
        ws.add(f"s-{n:04d}", keys=(f"agent:main:k{n}",))
    ws.write_raw("s-0007.jsonl", b"{}\n")
    os.symlink("s-0001.json", ws.sessions / "s-0150-link.json")
    lstats: list[str] = []
    real = scan_module.fsio.lstat_or_none

    def counted(path: str):  # type: ignore[no-untyped-def]
        lstats.append(path)
        return real(path)

    monkeypatch.setattr(scan_module.fsio, "lstat_or_none", counted)
    fast = scan_workspace(str(ws.root))
    fast_lstats, at_least = len(lstats), scan_module.LOOK_AT_ALL_BELOW
    monkeypatch.setattr(scan_module, "LOOK_AT_ALL_BELOW", 10 ** 9)
    lstats.clear()
    slow = scan_workspace(str(ws.root))
    assert len(lstats) > fast_lstats + at_least - scan_module._SAMPLE
    assert fast.sessions == slow.sessions
    assert fast.total_bytes == slow.total_bytes
    assert fast.transcripts == slow.transcripts == {"s-0007": 3}


def test_metadata_carried_by_shape_is_what_the_rule_says_for_each_file(ws) -> None:  # type: ignore[no-untyped-def]
    """The scan tells carried from not-carried metadata once per set of names (scan._shapes):
    files with the same names in another order, other top-level names, no created_at,
    structural or unknown metadata names, a metadata that is not an object, values of every
    JSON kind: each file's entry fields and not-carried names are carried_fields' own."""
    from migrate_tui.engine.legacy import carried_fields, read_legacy

    metas = [
        {"label": "a", "display_name": "A", "thinking_level": "high"},
        {"thinking_level": "low", "label": "b", "display_name": "B"},  # same names, other order
        {"label": "c", "display_name": "C", "thinking_level": "high"},  # same shape as the first
        {"label": "d", "session_id": "x", "updated_at": 5, "ui_color": "teal", "input_tokens": 12},
        {"system_sent": True, "compaction_count": 1, "label": None, "origin": {"a": [1, 2]}},
        {"system_sent": 1, "compaction_count": True, "label": "e", "origin": [], "cli_session_ids": {}},
        {},
    ]
    for n, meta in enumerate(metas):
        ws.add(f"m-{n}", metadata=meta)
    ws.write_raw("no-created.json", '{"session_id": "no-created", "messages": [], "metadata": '
                 '{"label": "x"}, "updated_at": "2026-02-11T12:00:00+00:00"}')
    ws.write_raw("extra-top.json", '{"extra": 1, "session_id": "extra-top", "messages": [], '
                 '"metadata": {"label": "x"}, "created_at": "2026-02-11T12:00:00+00:00", '
                 '"updated_at": "2026-02-11T12:00:00+00:00"}')
    ws.write_raw("meta-list.json", '{"session_id": "meta-list", "messages": [], "metadata": '
                 '["label"], "updated_at": "2026-02-11T12:00:00+00:00"}')
    scan = scan_workspace(str(ws.root))
    assert len(scan.sessions) == len(metas) + 3
    for s in scan.sessions:
        content = read_legacy((ws.sessions / s.file_name).read_bytes(), s.path)
        carried, not_carried = carried_fields(content)
        assert s.content.entry_fields == carried, s.file_name
        assert list(s.content.entry_fields) == list(carried), s.file_name  # the order too
        for name, value in carried.items():  # True stays True, 1 stays 1
            assert type(s.content.entry_fields[name]) is type(value), (s.file_name, name)
        assert list(s.content.not_carried) == not_carried, s.file_name
    first, second = (next(s for s in scan.sessions if s.file_id == f"m-{n}") for n in (0, 1))
    assert list(first.content.entry_fields) == ["label", "display_name", "thinking_level"]
    assert list(second.content.entry_fields) == ["thinking_level", "label", "display_name"]
