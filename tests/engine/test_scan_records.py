"""The scan's and the plan's records are held compactly: sessions with nothing to say share
one empty (immutable) sequence, values repeated between files are held once, and some
attributes are made when asked for.  None of it may let one session's problems, keys or
notes show in another's, nor change what a reader of the records sees."""

from __future__ import annotations

import os
import pickle

import pytest

from migrate_tui.engine.model import Decision
from migrate_tui.engine.plan import build_plan, with_decision
from migrate_tui.engine.scan import scan_workspace
from tests.engine.engine_support import UPDATED_MS, Workspace, sha


def _by_id(items):  # type: ignore[no-untyped-def]
    return {item.file_id: item for item in items}


def test_one_sessions_problems_keys_and_notes_never_reach_another(ws: Workspace) -> None:
    """Every way a record gets something added (a file problem, a content problem or
    warning, a session_map key, a note, a problem across sessions) is met by one session,
    next to clean sessions scanned before and after it: the clean ones stay clean."""
    ws.add("clean-a", keys=("agent:main:a",))
    ws.add("no-date", updated_at="not a date", created_at="not a date either")  # a problem
    ws.write_raw("no-inner-id.json",  # a warning: no session_id inside
                 '{"messages": [], "metadata": {}, "updated_at": "2026-02-11T12:00:00+00:00"}')
    ws.add("keyless")  # no key: it gets one, and a note saying so
    os.symlink("clean-a.json", ws.sessions / "link.json")  # a file problem
    ws.add("twin", keys=("agent:main:twin",))
    ws.add("other-twin", file_name="twin-copy.json")  # inside it says "other-twin"...
    ws.add("clean-z", keys=("agent:main:z", "agent:main:z2"))
    scan = scan_workspace(str(ws.root))
    sessions = _by_id(scan.sessions)

    for fid in ("clean-a", "clean-z", "twin"):
        s = sessions[fid]
        assert not s.file_problems and not s.content.problems and not s.problems, fid
        assert not s.variants and not s.content.bad_messages and not s.content.transcripts, fid
    assert sessions["clean-a"].keys == ("agent:main:a",)
    assert sessions["clean-z"].keys == ("agent:main:z", "agent:main:z2")
    assert sessions["keyless"].keys == () and sessions["no-date"].keys == ()
    assert [p.code for p in sessions["no-date"].problems] == ["bad_updated_at"]
    assert [p.code for p in sessions["no-inner-id"].problems] == ["no_content_id"]
    assert [p.code for p in sessions["link"].problems] == ["symlink"]

    plan = build_plan(scan, "main")
    planned = _by_id(plan.sessions)
    for fid in ("clean-a", "clean-z", "twin"):
        ps = planned[fid]
        assert ps.action == "migrate" and not ps.open_problems and not ps.notes, fid
        assert not ps.kept_keys, fid
    assert planned["clean-z"].keys == ("agent:main:z", "agent:main:z2")
    assert [n for n in planned["keyless"].notes] == [
        "no key points at this session: it gets 'agent:main:keyless'"]
    assert planned["keyless"].keys == ("agent:main:keyless",)
    # a second file claiming the id "other-twin" inside: the id mismatch is its own problem
    assert [p.code for p in planned["twin-copy"].open_problems] == ["id_mismatch"]

    # a decision on one session changes that one alone
    fixed = with_decision(plan, "twin-copy", Decision(fixes=frozenset({"use-content"})))
    again = _by_id(fixed.sessions)
    assert again["twin-copy"].action == "migrate" and again["twin-copy"].final_id == "other-twin"
    for fid in ("clean-a", "clean-z", "twin", "keyless"):
        assert again[fid] == planned[fid], fid
    assert not again["twin"].open_problems and not again["twin"].notes


def test_the_empties_sessions_share_cannot_be_added_to(ws: Workspace) -> None:
    """What makes sharing safe: an append to a shared empty fails loudly instead of giving
    the item to every session."""
    ws.add("a")
    ws.add("b")
    scan = scan_workspace(str(ws.root))
    plan = build_plan(scan, "main")
    a, b = scan.sessions
    assert a.content.problems is b.content.problems  # one shared empty
    for empty in (a.file_problems, a.content.problems, a.keys, plan.sessions[0].notes,
                  plan.sessions[0].open_problems, plan.sessions[0].kept_keys):
        with pytest.raises(AttributeError):
            empty.append("x")  # type: ignore[union-attr]
    with pytest.raises(TypeError):
        a.variants[frozenset({"salvage"})] = a.content  # type: ignore[index]
    assert not b.variants and not b.content.problems


def test_what_is_made_when_asked_for_reads_as_it_was_stored(ws: Workspace) -> None:
    """The file name, the path, the SHA-256 in hex, the metadata carried and the entry are
    made from compact storage: they read as the file gave them, and survive pickling (the
    scan's worker processes send records back pickled)."""
    path = ws.add("s-1", metadata={"label": "Groceries", "channel": "telegram",
                                   "input_tokens": 12, "ui_color": "plum"}, keys=("agent:main:s",))
    ws.add("s-2", metadata={"label": "Groceries", "channel": "telegram"})
    scan = scan_workspace(str(ws.root))
    s1, s2 = scan.sessions
    assert s1.file_name == "s-1.json" and s1.file_id == "s-1"
    assert s1.path == str(path)
    assert s1.sha256 == sha(path.read_bytes())
    assert s1.content.entry_fields == {"label": "Groceries", "channel": "telegram",
                                       "input_tokens": 12}
    assert s1.content.not_carried == ("created_at", "metadata.ui_color")
    assert s2.content.entry_fields == {"label": "Groceries", "channel": "telegram"}
    # the values carried held packed, as one bytes object, and the id inside shared with
    # the file's id
    assert type(s1.content._fields) is bytes and type(s2.content._fields) is bytes
    assert s1.content.content_id is s1.file_id
    assert scan.session_map["agent:main:s"] is s1.file_id
    # the digest apply checks (orjson read it exactly) names this very file
    assert s1.content.messages_digest == "exact:" + s1.sha256

    ps = build_plan(scan, "main").sessions[0]
    assert ps.entry == {"session_id": "s-1", "updated_at": UPDATED_MS,
                        "session_file": "s-1.jsonl", "label": "Groceries", "channel": "telegram",
                        "input_tokens": 12}
    ps.entry["label"] = "changed"  # a copy: the plan is not changed through it
    assert ps.entry["label"] == "Groceries"
    assert ps.keys == s1.keys == ("agent:main:s",)  # the scan's keys
    assert s1._keys is next(iter(scan.session_map))  # one key: its string, held once

    back = pickle.loads(pickle.dumps(scan.sessions))
    assert back == scan.sessions
    assert back[0].path == s1.path and back[0].sha256 == s1.sha256


def test_session_map_read_after_the_files_changes_nothing_it_says(ws: Workspace) -> None:
    """session_map.json is read once the files are (its ids then held once): what it says
    is as before, and when sessions.json is unusable too, sessions.json is the one told."""
    ws.add("a", keys=("agent:main:a",))
    ws.map("agent:main:gone", "no-such-session")
    scan = scan_workspace(str(ws.root))
    assert scan.fatal is None and scan.sessions[0].keys == ("agent:main:a",)
    assert [w.code for w in scan.warnings] == ["dangling_key"]

    (ws.sessions / "session_map.json").write_text("{not json")
    scan = scan_workspace(str(ws.root))
    assert scan.fatal is not None and scan.fatal.file.endswith("session_map.json")
    assert scan.fatal.code == "invalid_json" and len(scan.sessions) == 1

    ws.write_store("[1, 2]")  # not an object of entries
    scan = scan_workspace(str(ws.root))
    assert scan.fatal is not None and scan.fatal.file.endswith("sessions.json")
    assert scan.fatal.code == "wrong_shape"
