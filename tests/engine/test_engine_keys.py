"""Keys (docs/formats.md, keys): every session_map key survives with its session id, key-less
sessions get metadata.session_key or agent:<agent-id>:<full id>, dangling keys are reported,
and what sessions.json already holds is never overwritten silently."""

from __future__ import annotations

import json
from pathlib import Path
from string import Template

from migrate_tui.core import fsio
from migrate_tui.engine import apply_plan, build_plan, build_report, exit_code, scan_workspace
from tests.engine.engine_support import UPDATED_MS, Workspace, canonical, diff, run_cli, sha, tree

UUID_A = "c25b364a-8e88-468e-ba3c-526b48c4fcf0"
UUID_B = "7d1f0a55-3b2c-4e8f-9a61-0c2d4e6f8a9b"
UUID_C = "0e4b9c1d-5f6a-4b7c-8d9e-a0b1c2d3e4f5"


def test_every_session_map_key_survives_with_its_session_id(ws: Workspace) -> None:
    ws.add(UUID_A, keys=("agent:main:main", "agent:main:telegram:dm:12345"))
    ws.add(UUID_B, keys=("agent:main:discord:group:g-77",))
    ws.add(UUID_C, keys=("agent:main:cron:daily", "agent:main:subagent:abc",
                         "agent:main:webchat:dm:visitor-9"))
    ws.add("legacy-notes", keys=("agent:main:notes",))

    run = ws.migrate()
    assert run.rc == 0, str(run)
    store = ws.store()
    assert set(store) == set(ws.session_map)  # every key, nothing invented
    for key, sid in ws.session_map.items():
        entry = store[key]
        assert entry["session_id"] == sid, key
        assert entry["session_file"] == f"{sid}.jsonl"
        assert entry["updated_at"] == UPDATED_MS
        assert (ws.sessions / entry["session_file"]).is_file()
    # several keys to one session: each key is its own, complete entry
    assert store["agent:main:main"] == store["agent:main:telegram:dm:12345"]
    assert store["agent:main:cron:daily"] == store["agent:main:subagent:abc"] \
        == store["agent:main:webchat:dm:visitor-9"]
    assert sorted(run.session(UUID_A)["keys"]) == ["agent:main:main", "agent:main:telegram:dm:12345"]
    assert run.report["migrated"] == 4


def test_keyless_session_uses_a_valid_metadata_session_key(ws: Workspace) -> None:
    ws.add(UUID_A, metadata={"label": "Visitor", "session_key": "agent:main:webchat:dm:visitor-9"})
    ws.add(UUID_B, keys=("agent:main:main",))

    run = ws.migrate()
    assert run.rc == 0, str(run)
    store = ws.store()
    assert set(store) == {"agent:main:webchat:dm:visitor-9", "agent:main:main"}
    assert store["agent:main:webchat:dm:visitor-9"]["session_id"] == UUID_A
    assert run.session(UUID_A)["keys"] == ["agent:main:webchat:dm:visitor-9"]
    # the key came from metadata: it is not a SessionEntry field, so it is named, not carried
    assert "session_key" not in store["agent:main:webchat:dm:visitor-9"]
    assert "metadata.session_key" in run.session(UUID_A)["not_carried"]


def test_keyless_session_without_a_usable_key_gets_the_full_id(ws: Workspace) -> None:
    ws.add(UUID_A)  # no key, no metadata.session_key
    ws.add(UUID_B, metadata={"label": "B", "session_key": "not a key at all"})
    ws.add("legacy-notes")

    run = ws.migrate()
    assert run.rc == 0, str(run)
    store = ws.store()
    assert set(store) == {f"agent:main:{UUID_A}", f"agent:main:{UUID_B}", "agent:main:legacy-notes"}
    for sid in (UUID_A, UUID_B, "legacy-notes"):
        assert store[f"agent:main:{sid}"]["session_id"] == sid  # the full id, never a prefix
    # the invalid metadata.session_key is said, not used
    bad = [w for w in run.report["warning_details"] if w["problem"] == "bad_session_key"]
    assert len(bad) == 1 and "not a key at all" in bad[0]["error"], run.report["warning_details"]
    assert bad[0]["file"].endswith(f"{UUID_B}.json")


def test_agent_id_names_the_fallback_keys_only(ws: Workspace) -> None:
    ws.add(UUID_A)
    ws.add(UUID_B, keys=("agent:main:main",))

    run = ws.migrate("--agent-id", "helper")
    assert run.rc == 0, str(run)
    assert run.report["agent_id"] == "helper"
    store = ws.store()
    # the fallback follows --agent-id; a session_map key is kept exactly as it was
    assert set(store) == {f"agent:helper:{UUID_A}", "agent:main:main"}
    assert store[f"agent:helper:{UUID_A}"]["session_id"] == UUID_A


def test_dangling_key_is_a_warning_and_not_migrated(ws: Workspace) -> None:
    ws.add(UUID_A, keys=("agent:main:main",))
    ws.map("agent:main:signal:dm:+15550100", UUID_B)  # no file for UUID_B

    run = ws.migrate()
    assert run.rc == 0, str(run)
    report = run.report
    assert report["status"] == "success"
    dangling = [w for w in report["warning_details"] if w["problem"] == "dangling_key"]
    assert len(dangling) == 1, report["warning_details"]
    assert "agent:main:signal:dm:+15550100" in dangling[0]["error"]
    assert UUID_B in dangling[0]["error"]
    assert dangling[0]["file"] == str(ws.sessions / "session_map.json")
    assert report["warnings"] >= 1
    assert set(ws.store()) == {"agent:main:main"}
    assert not (ws.sessions / f"{UUID_B}.jsonl").exists()


# ---------------------------------------------------------------- an existing sessions.json

EXISTING_TEXT = Template("""{
  "agent:main:newer": {
    "session_id": "newer-session",
    "updated_at": 1770000000001,
    "session_file": "newer-session.jsonl",
    "future_field": {"nested": [1, 1.10, 1E5, 18446744073709551617, null, "caf\\u00e9"]},
    "label": "written by a newer agent \\u2603",
    "z_unknown": NaN
  },
  "agent:main:main": {
    "session_id": "$uuid",
    "updated_at": 42,
    "session_file": "$uuid.jsonl",
    "label": "the agent's newer label",
    "x-extra": true
  }
}
""").substitute(uuid=UUID_A)


def test_existing_entries_and_unrelated_transcripts_are_kept(ws: Workspace) -> None:
    ws.write_store(EXISTING_TEXT)
    unrelated = ws.write_raw("newer-session.jsonl",
                             b'{"role":"user","content":"kept as is","n":1.10}\n{"role":"x"}\n')
    unrelated_stat = unrelated.stat()
    ws.add(UUID_A, keys=("agent:main:main",))  # same key, same session id: not overwritten
    ws.add(UUID_B, keys=("agent:main:other",))
    before = json.loads(EXISTING_TEXT)

    run = ws.migrate()
    assert run.rc == 0, str(run)
    store = ws.store()
    # every entry that was there is there with the same value, key order and all
    for key, entry in before.items():
        assert canonical(store[key]) == canonical(entry), key
    assert store["agent:main:main"]["updated_at"] == 42  # not replaced by the legacy file's
    assert store["agent:main:other"]["session_id"] == UUID_B
    assert set(store) == {"agent:main:newer", "agent:main:main", "agent:main:other"}
    # the literal numbers survive as written (no 1.1, no 100000.0)
    text = ws.store_bytes().decode("utf-8")
    for literal in ("1.10", "1E5", "18446744073709551617", "NaN"):
        assert literal in text, literal
    # the transcript nobody migrated is untouched, bytes and mtime
    assert unrelated.read_bytes() == b'{"role":"user","content":"kept as is","n":1.10}\n{"role":"x"}\n'
    assert unrelated.stat().st_mtime_ns == unrelated_stat.st_mtime_ns
    # the session whose key already pointed at it is migrated (its transcript written)
    assert ws.transcript(UUID_A)
    assert run.session(UUID_A)["keys"] == ["agent:main:main"]


def test_conflicting_key_blocks_the_session_and_leaves_sessions_json_alone(ws: Workspace) -> None:
    path = ws.write_store(EXISTING_TEXT)
    before = (path.read_bytes(), path.stat().st_mtime_ns)
    ws.add(UUID_B, keys=("agent:main:main",))  # agent:main:main is UUID_A's in sessions.json

    run = ws.migrate()
    assert run.rc == 1, str(run)
    report = run.report
    assert report["status"] == "partial" and report["errors"] == 1 and report["migrated"] == 0
    (detail,) = report["error_details"]
    assert detail["problem"] == "key_conflict"
    assert detail["session_id"] == UUID_B
    assert "agent:main:main" in detail["error"] and UUID_A in detail["error"]
    assert detail["fixes"] == ["keep-existing", "replace-existing"]
    assert run.session(UUID_B)["action"] == "skip"
    assert (path.read_bytes(), path.stat().st_mtime_ns) == before
    assert not (ws.sessions / f"{UUID_B}.jsonl").exists()


def test_conflicting_key_keeps_its_entry_while_others_migrate(ws: Workspace) -> None:
    ws.write_store(EXISTING_TEXT)
    ws.add(UUID_B, keys=("agent:main:main",))
    ws.add(UUID_C, keys=("agent:main:cron:daily",))
    old = json.loads(EXISTING_TEXT)

    run = ws.migrate()
    assert run.rc == 1, str(run)
    store = ws.store()
    assert canonical(store["agent:main:main"]) == canonical(old["agent:main:main"])
    assert canonical(store["agent:main:newer"]) == canonical(old["agent:main:newer"])
    assert store["agent:main:cron:daily"]["session_id"] == UUID_C
    assert not any(e["session_id"] == UUID_B for e in store.values())
    # the sessions.json it merged into is in the backup, byte for byte
    assert (ws.backup / "sessions.json").read_bytes() == EXISTING_TEXT.encode()


def test_key_conflict_fixes(ws: Workspace) -> None:
    ws.write_store(EXISTING_TEXT)
    ws.add(UUID_B, keys=("agent:main:main",))
    ws.add(UUID_C, keys=("agent:main:newer",))

    run = ws.migrate("--fix", f"{UUID_B}=keep-existing", "--fix", f"{UUID_C}=replace-existing")
    assert run.rc == 0, str(run)
    store = ws.store()
    old = json.loads(EXISTING_TEXT)
    # keep-existing: the key keeps its entry; the session is still reachable by its full id
    assert canonical(store["agent:main:main"]) == canonical(old["agent:main:main"])
    assert store[f"agent:main:{UUID_B}"]["session_id"] == UUID_B
    # replace-existing: the key now points at the migrated session
    assert store["agent:main:newer"]["session_id"] == UUID_C
    assert run.session(UUID_C)["action"] == "fix:replace-existing"
    backup_copies = {name: info for name, info in ws.manifest().items()
                     if info["original"] == "sessions.json"}
    assert [info["sha256"] for info in backup_copies.values()] == [sha(EXISTING_TEXT.encode())]


def test_metadata_session_key_claimed_by_the_map_is_not_reused(ws: Workspace) -> None:
    ws.add(UUID_A, keys=("agent:main:main",))
    ws.add(UUID_B, metadata={"label": "B", "session_key": "agent:main:main"})  # taken by UUID_A
    run = ws.migrate()
    assert run.rc == 0, str(run)
    store = ws.store()
    assert store["agent:main:main"]["session_id"] == UUID_A
    assert store[f"agent:main:{UUID_B}"]["session_id"] == UUID_B


def test_an_agent_id_that_cannot_make_a_key_is_refused(ws: Workspace, tmp_path: Path) -> None:
    ws.add(UUID_A)
    before = tree(tmp_path)
    for bad in ("a b", "a:b", ""):
        run = ws.migrate("--agent-id", bad)
        assert run.rc == 2, str(run)
        assert "--agent-id" in run.report["error"]
        plain = ws.cli("migrate", "--agent-id", bad)
        assert plain.rc == 2 and len(plain.stderr.strip().splitlines()) == 1, str(plain)
    assert diff(before, tree(tmp_path)) == []


def _agent_writes_before_the_merge(ws: Workspace, entries: dict) -> object:
    """A fault hook that, just before the migration takes sessions.json.lock, plays the
    agent: it writes ``entries`` into sessions.json (after the scan, before the merge)."""
    done = []

    def hook(op: str, path: str) -> None:
        if op == "lock" and not done:
            done.append(True)
            store = ws.store() if (ws.sessions / "sessions.json").exists() else {}
            store.update(entries)
            ws.write_store(store)

    return hook


def test_entries_the_agent_adds_after_the_scan_are_merged_not_lost(ws: Workspace) -> None:
    ws.add(UUID_A, keys=("agent:main:main",))
    plan = build_plan(scan_workspace(str(ws.root)), "main")
    agent_entry = {"session_id": "fresh", "updated_at": 7, "session_file": "fresh.jsonl", "new": [1]}
    with fsio.fault_hook(_agent_writes_before_the_merge(ws, {"agent:main:fresh": agent_entry})):
        result = apply_plan(plan, lock_timeout=5)
    assert result.error is None and result.verified is True
    store = ws.store()
    assert store["agent:main:fresh"] == agent_entry
    assert store["agent:main:main"]["session_id"] == UUID_A


def test_a_key_the_agent_takes_after_the_scan_keeps_the_agents_entry(ws: Workspace) -> None:
    ws.add(UUID_A, keys=("agent:main:main",))
    ws.add(UUID_B, keys=("agent:main:other",))
    plan = build_plan(scan_workspace(str(ws.root)), "main")
    agent_entry = {"session_id": "agents-own", "updated_at": 7, "session_file": "agents-own.jsonl"}
    with fsio.fault_hook(_agent_writes_before_the_merge(ws, {"agent:main:main": agent_entry})):
        result = apply_plan(plan, lock_timeout=5)
    assert result.error is None
    store = ws.store()
    assert store["agent:main:main"] == agent_entry  # never overwritten silently
    assert store["agent:main:other"]["session_id"] == UUID_B
    # and the run does not call that a success: UUID_A is not migrated, and it says why
    report = build_report(plan, result, dry_run=False)
    assert exit_code(report) == 1
    assert UUID_A not in result.migrated and UUID_B in result.migrated
    [failure] = result.failed
    assert failure.file_id == UUID_A and failure.problem.code == "key_conflict"
    assert "agent:main:main" in failure.problem.message
    # a rerun sees the conflict and asks for a decision, still without touching the entry
    rerun = ws.migrate()
    assert rerun.rc == 1, str(rerun)
    assert [d["problem"] for d in rerun.report["error_details"]] == ["key_conflict"]
    assert ws.store()["agent:main:main"] == agent_entry


def test_no_sessions_folder_is_nothing_to_do_and_creates_nothing(tmp_path: Path) -> None:
    root = tmp_path / "empty-workspace"
    root.mkdir()
    run = run_cli("migrate", root, "--json")
    assert run.rc == 0, str(run)
    assert run.report["status"] == "not_found"
    assert list(root.iterdir()) == []


def test_existing_sessions_json_with_a_utf8_bom_is_merged(ws: Workspace) -> None:
    """The store library reads a sessions.json that starts with a UTF-8 byte-order mark;
    the migration must merge into it too (not stop half-way, saying it changed)."""
    bom_text = b"\xef\xbb\xbf" + EXISTING_TEXT.encode()
    ws.write_store(bom_text.decode("utf-8"))
    ws.add(UUID_B, keys=("agent:main:other",))
    run = ws.migrate()
    assert run.rc == 0, str(run)
    store = ws.store()
    old = json.loads(EXISTING_TEXT)
    for key, entry in old.items():
        assert canonical(store[key]) == canonical(entry), key
    assert store["agent:main:other"]["session_id"] == UUID_B
    assert (ws.backup / "sessions.json").read_bytes() == bom_text  # the file as it was
    # verify reads it too (the entries that were there point at transcripts that exist)
    ws.write_raw("newer-session.jsonl", b"")
    ws.write_raw(f"{UUID_A}.jsonl", b"")
    verify = ws.cli("verify")
    assert verify.rc == 0, str(verify)
