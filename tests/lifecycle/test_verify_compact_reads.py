"""verify reads sessions.json as its text (each entry parsed when compared) and the journal's
keys records a pair at a time: what it finds must be what reading them whole finds — another
writer's formatting is no difference, a changed entry is reported with its key, damage is
named with its file and place."""

from __future__ import annotations

import json
from pathlib import Path

from migrate_tui.core.layout import open_layout
from migrate_tui.engine.journal import read as read_journal
from tests.lifecycle.lifecycle_support import A, B, Workspace, journal_records, no_traceback, three


def _verify(ws: Workspace) -> tuple[int, dict]:
    run = ws.cli("verify", "--json")
    no_traceback(run)
    return run.rc, json.loads(run.stdout)


def _store(ws: Workspace) -> Path:
    return ws.sessions / "sessions.json"


def _migrated(ws: Workspace) -> dict:
    three(ws)
    assert ws.migrate().rc == 0
    return ws.store()


def test_sessions_json_in_another_writer_s_formatting_still_verifies(ws: Workspace) -> None:
    store = _migrated(ws)
    _store(ws).write_text(json.dumps(store, separators=(",", ":")))  # one line, no spaces
    assert _verify(ws)[:1] == (0,)
    _store(ws).write_text(" \n" + json.dumps(dict(reversed(store.items())), indent=7) + "\n\n")
    rc, out = _verify(ws)
    assert (rc, out["problems"]) == (0, []), out


def test_an_entry_changed_by_hand_is_reported_with_its_key(ws: Workspace) -> None:
    store = _migrated(ws)
    store["agent:main:main"]["session_id"] = B
    _store(ws).write_text(json.dumps(store, indent=2))
    rc, out = _verify(ws)
    assert rc == 4
    assert f"sessions.json: 'agent:main:main' now points at {B!r}, not the migrated {A!r}" \
        in out["problems"], out


def test_an_entry_removed_by_hand_is_reported_with_its_key(ws: Workspace) -> None:
    store = _migrated(ws)
    del store["agent:main:telegram:dm:1"]
    _store(ws).write_text(json.dumps(store, indent=2))
    rc, out = _verify(ws)
    assert rc == 4
    assert "sessions.json has no entry for the migrated key 'agent:main:telegram:dm:1'" \
        in out["problems"], out


def test_a_damaged_sessions_json_is_named_with_its_place(ws: Workspace) -> None:
    _migrated(ws)
    text = _store(ws).read_text()
    _store(ws).write_text(text.replace('"session_id"', '"session_id" "x"', 1))
    rc, out = _verify(ws)
    assert rc == 4
    said = [p for p in out["problems"] if "sessions.json" in p]
    assert said and "invalid JSON at line 3, column" in said[0], out


def test_a_key_repeated_in_sessions_json_is_named(ws: Workspace) -> None:
    _migrated(ws)
    text = _store(ws).read_text()
    first_entry_end = text.index("},") + 2
    again = '\n  "agent:main:main": {"session_id": "x"},'
    _store(ws).write_text(text[:first_entry_end] + again + text[first_entry_end:])
    rc, out = _verify(ws)
    assert rc == 4
    assert any("repeats the key 'agent:main:main'" in p for p in out["problems"]), out


def test_a_keys_record_laid_out_otherwise_is_read_whole(ws: Workspace) -> None:
    store = _migrated(ws)
    path = ws.backup / "journal.jsonl"
    lines = path.read_text().splitlines()
    at = next(n for n, line in enumerate(lines) if line.startswith('{"op": "keys"'))
    record = json.loads(lines[at])
    lines[at] = json.dumps(record, separators=(",", ":"))  # another layout, the same record
    path.write_text("\n".join(lines) + "\n")
    assert _verify(ws)[0] == 0
    # and what it says is still checked: a key it wrote, now pointing elsewhere
    record["keys"]["agent:main:discord:group:g"] = A
    lines[at] = json.dumps(record, indent=1).replace("\n", "")
    path.write_text("\n".join(lines) + "\n")
    rc, out = _verify(ws)
    assert rc == 4
    assert (f"sessions.json: 'agent:main:discord:group:g' now points at "
            f"{store['agent:main:discord:group:g']['session_id']!r}, not the migrated {A!r}") \
        in out["problems"], out


def test_keys_pairs_are_those_of_the_records(ws: Workspace) -> None:
    _migrated(ws)
    ws.migrate()  # a second run, perhaps with no keys record
    state = read_journal(open_layout(str(ws.root)))
    want = [(k, v) for r in journal_records(ws) if r["op"] == "keys" for k, v in r["keys"].items()]
    assert want and list(state.iter_keys()) == want


def test_a_torn_last_line_and_a_damaged_line_of_the_journal(ws: Workspace) -> None:
    _migrated(ws)
    path = ws.backup / "journal.jsonl"
    good = path.read_bytes()
    path.write_bytes(good + b'{"op": "keys", "run": "x", "keys": {"agent:main:main": "')  # cut short
    rc, out = _verify(ws)
    assert (rc, out["problems"]) == (0, []), out  # what it announced never began
    lines = good.decode().splitlines(keepends=True)
    at = next(n for n, line in enumerate(lines) if line.startswith('{"op": "keys"'))
    lines[at] = lines[at].replace('"keys": {', '"keys": [', 1)  # damaged in the middle
    path.write_text("".join(lines))
    rc, out = _verify(ws)
    assert rc == 4
    assert any(f"journal.jsonl, line {at + 1}: is not a journal record" in p
               for p in out["problems"]), out
