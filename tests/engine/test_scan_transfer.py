"""A session scanned in a worker process comes back as plain values (scan._compact) and is
made again here (scan._restored): every slot of the records must come back as it was, for
every kind of file (damaged, fixed in variants, with keys, a symlink, odd names)."""

from __future__ import annotations

import os
import pickle
from pathlib import Path

from migrate_tui.demo import generate_workspace
from migrate_tui.engine import scan as scan_module
from migrate_tui.engine.model import ContentSummary, SessionScan
from migrate_tui.engine.scan import scan_workspace


def _slots(record: object, names: tuple[str, ...]) -> dict[str, object]:
    return {name: getattr(record, name) for name in names}


def test_every_slot_of_a_session_and_its_content_comes_back(tmp_path: Path) -> None:
    generate_workspace(tmp_path, sessions=60, damaged=True, seed=11)
    sessions_dir = tmp_path / ".sessions"
    os.symlink(sorted(sessions_dir.glob("*.json"))[0].name, sessions_dir / "zz-link.json")
    (sessions_dir / "odd name.json").write_bytes(b'{"session_id": "x", "messages": [], "updated_at": 1}')
    scan = scan_workspace(str(tmp_path))
    folder = scan.sessions_dir
    kinds = {"variants": 0, "odd": 0, "keys": 0, "problems": 0, "fields": 0}
    # one batch pickled at once, as a worker sends it back (what is shared stays shared)
    back = pickle.loads(pickle.dumps([scan_module._compact(s) for s in scan.sessions]))
    for original, sent in zip(scan.sessions, back, strict=True):
        made = scan_module._restored(sent, folder)
        assert type(made) is SessionScan and type(made.content) is ContentSummary
        assert made == original, original.file_name
        # each slot, not only what equality reads: a slot added later and not carried fails here
        assert _slots(made, SessionScan.__slots__).keys() == _slots(original, SessionScan.__slots__).keys()
        for name in SessionScan.__slots__:
            if name != "content":
                assert getattr(made, name) == getattr(original, name), (original.file_name, name)
        for name in ContentSummary.__slots__:
            assert getattr(made.content, name) == getattr(original.content, name), (original.file_name, name)
        if made.content._digest is not None and not isinstance(made.content._digest, str):
            assert made.content._digest is made._stat  # referred to, not a second copy
        kinds["variants"] += bool(made.variants)
        kinds["odd"] += made._odd is not None
        kinds["keys"] += bool(made.keys)
        kinds["problems"] += bool(made.problems)
        kinds["fields"] += made.content._fields is not None
    assert all(kinds.values()), kinds  # every kind of record went through


def test_a_session_scanned_here_is_passed_through(tmp_path: Path) -> None:
    generate_workspace(tmp_path, sessions=3, seed=2)
    scan = scan_workspace(str(tmp_path))
    for s in scan.sessions:
        assert scan_module._restored(s, scan.sessions_dir) is s


def test_many_files_not_looked_at_one_by_one_say_what_looking_says(ws, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """From LOOK_AT_ALL_BELOW legacy files on, the scan does not lstat each before reading
    it: its sizes and times come from the read.  What the scan says is the same either way:
    the sessions, the bytes, the files changed in the last minute (legacy or not, in name
    order), the transcripts there."""
    for n in range(scan_module.LOOK_AT_ALL_BELOW + 20):
        ws.add(f"s-{n:04d}", keys=(f"agent:main:k{n}",))
    now = os.stat(ws.sessions / "s-0000.json").st_mtime + 3600
    for n in (3, 150, 271):  # changed "just now"; the others long ago (engine_support)
        os.utime(ws.sessions / f"s-{n:04d}.json", (now, now))
    ws.write_raw("s-0007.jsonl", b"{}\n")
    os.utime(ws.sessions / "s-0007.jsonl", (now, now))
    os.symlink("s-0001.json", ws.sessions / "s-0150-link.json")
    lstats: list[str] = []
    real = scan_module.fsio.lstat_or_none

    def counted(path: str):  # type: ignore[no-untyped-def]
        lstats.append(path)
        return real(path)

    monkeypatch.setattr(scan_module.fsio, "lstat_or_none", counted)
    fast = scan_workspace(str(ws.root), now=now + 1)
    fast_lstats, at_least = len(lstats), scan_module.LOOK_AT_ALL_BELOW
    monkeypatch.setattr(scan_module, "LOOK_AT_ALL_BELOW", 10 ** 9)
    lstats.clear()
    slow = scan_workspace(str(ws.root), now=now + 1)
    assert len(lstats) > fast_lstats + at_least - scan_module._SAMPLE
    assert fast.recently_changed == slow.recently_changed
    assert [n for n in fast.recently_changed if n.startswith("s-")] == [
        "s-0003.json", "s-0007.jsonl", "s-0150-link.json", "s-0150.json", "s-0271.json"]
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
