"""After all of that (docs/guarantees.md): rollback returns every file outside backup_old_format/ to its
exact prior bytes; it refuses, naming the file, when a migrated file changed after the
migration (``--force`` rolls back, saving the changed content); clean-up removes only
originals whose backup checks out, and a rollback after it puts them back."""

from __future__ import annotations

import json
import os

import pytest

from tests.hostile.hostile_support import (
    FIXED_MTIME,
    GOOD_KEY,
    Hostile,
    dump,
    legacy,
    message,
    sha,
    snapshot,
    tree_diff,
)

OUTSIDE_BACKUP = ("backup_old_format",)


def _everything(hw: Hostile) -> list[str]:
    """One workspace with every hostile case at once; returns the CLI decisions that let
    each fixable one migrate (and skip the others)."""
    hw.add_good("good-2", "agent:main:telegram:dm:2", mode=0o600)
    # truncated → salvage
    text = dump(legacy("trunc", 4))
    hw.write("trunc.json", text[: text.index('"content": "trunc message 2"')])
    hw.map_key("agent:main:cron:daily", "trunc")
    # bad bytes → replace-bytes
    doc = legacy("latin", 2)
    doc["messages"][0]["content"] = "caf@@"
    hw.write("latin.json", dump(doc).encode().replace(b"@@", b"\xe9"))
    # mismatch → use-content; traversal → use-content + rename; leading dash → rename
    hw.write("fname.json", legacy("cname", 2))
    hw.write("trav.json", legacy("../../evil", 2, label="evil"))
    hw.write("-dash.json", legacy("-dash", 1))
    # bad date → use-file-mtime
    bad = legacy("baddate", 2)
    bad["updated_at"] = "yesterday-ish"
    hw.write("baddate.json", bad)
    # a diverged transcript → replace-existing
    hw.write("victim.json", legacy("victim", 3))
    hw.write("victim.jsonl", b'{"role":"user","content":"the agent wrote this"}\n', mode=0o600)
    # a key conflict with an existing sessions.json → replace-existing
    hw.write("kc.json", legacy("kc", 2))
    hw.map_key("agent:main:discord:group:g-77", "kc")
    hw.write("sessions.json", json.dumps({
        "agent:main:discord:group:g-77": {"session_id": "other", "updated_at": 1,
                                          "session_file": "other.jsonl", "x": 1.10},
        "agent:main:untouched": {"session_id": "u", "updated_at": 2, "session_file": "u.jsonl"},
    }, indent=4) + "\n", mode=0o640)
    hw.write("other.jsonl", b'{"role":"user","content":"other"}\n')
    # warnings: BOM, duplicate keys
    hw.write("bom8.json", b"\xef\xbb\xbf" + dump(legacy("bom8", 2)).encode())
    hw.write("dup.json", dump(legacy("dup", 2)).replace(
        '"role": "user",', '"role": "user", "role": "user",', 1))
    # bad messages → drop-bad-messages
    badmsg = legacy("badmsg", 2)
    badmsg["messages"].insert(1, "a bare string")
    badmsg["messages"].append({"content": "no role"})
    hw.write("badmsg.json", badmsg)
    # unfixable: symlinks, a FIFO, a folder, too deep, wrong shape
    hw.symlink("x.json", hw.outside / "secret.json")
    hw.symlink("alias.json", "good-1.json")
    os.mkfifo(hw.sessions / "p.json")
    (hw.sessions / "d.json").mkdir()
    hw.write("deep.json", "[" * 100_000)
    hw.write("shape.json", [message("user", "hi")])
    fixes = ["trunc=salvage", "latin=replace-bytes", "fname=use-content", "trav=use-content",
             "trav=rename", "-dash=rename", "baddate=use-file-mtime", "victim=replace-existing",
             "kc=replace-existing", "badmsg=drop-bad-messages"]
    skips = ["x", "alias", "p", "d", "deep", "shape"]
    return [f"--fix={f}" for f in fixes] + [f"--skip={s}" for s in skips]


def test_rollback_after_everything_restores_every_byte(hw: Hostile) -> None:
    decisions = _everything(hw)
    hw.freeze()
    before = snapshot(hw.sessions)
    before_sessions_json = (hw.sessions / "sessions.json").read_bytes()
    before_victim = (hw.sessions / "victim.jsonl").read_bytes()

    r = hw.migrate(*decisions)
    assert r.rc == 0, r
    assert r.report["errors"] == 0 and r.report["skipped"] == 6
    assert r.report["migrated"] == r.report["sessions_found"] - 6 == 13
    hw.check(r)
    assert (hw.sessions / "victim.jsonl").read_bytes() != before_victim
    assert (hw.sessions / "sessions.json").read_bytes() != before_sessions_json

    rb = hw.cli("rollback", "--yes", "--json")
    assert rb.rc == 0, rb
    out = json.loads(rb.stdout)
    assert out["status"] == "success" and out["refused"] == []
    assert sorted(out["restored"]) == ["sessions.json", "victim.jsonl"]

    after = snapshot(hw.sessions, skip=OUTSIDE_BACKUP)
    assert tree_diff(before, after) == []
    assert (hw.sessions / "sessions.json").read_bytes() == before_sessions_json
    assert (hw.sessions / "victim.jsonl").read_bytes() == before_victim
    assert os.stat(hw.sessions / "victim.jsonl").st_mtime == FIXED_MTIME
    hw.assert_outside_untouched()

    # and the same migration can be run again after the rollback
    again = hw.migrate(*decisions)
    assert again.rc == 0, again
    assert again.report["migrated"] == 13


@pytest.mark.parametrize("changed", ["good-1.jsonl", "sessions.json"])
def test_rollback_refuses_naming_a_file_changed_after_the_migration(hw: Hostile, changed: str) -> None:
    hw.add_good("good-2", "agent:main:telegram:dm:2")
    hw.freeze()
    before = snapshot(hw.sessions)
    r = hw.migrate()
    assert r.rc == 0, r

    path = hw.sessions / changed
    if changed == "sessions.json":  # the agent added a session
        store = json.loads(path.read_bytes())
        store["agent:main:new"] = {"session_id": "new", "updated_at": 5, "session_file": "new.jsonl"}
        path.write_text(json.dumps(store, indent=2) + "\n")
    else:  # the agent continued the conversation
        with open(path, "ab") as f:
            f.write(b'{"role":"user","content":"a message after the migration"}\n')
    changed_bytes = path.read_bytes()
    migrated = snapshot(hw.sessions)

    rb = hw.cli("rollback", "--yes", "--json")
    assert rb.rc == 1, rb
    out = json.loads(rb.stdout)
    assert out["status"] == "refused"
    assert out["refused"] == [changed]
    assert out["message"] == (
        f"refused: changed after the migration (the agent may have written to them): {changed}. "
        "Run with --force to roll back anyway; their current content is saved in the backup first.")
    assert tree_diff(migrated, snapshot(hw.sessions)) == []  # a refusal changes nothing

    forced = hw.cli("rollback", "--yes", "--force", "--json")
    assert forced.rc == 0, forced
    assert json.loads(forced.stdout)["status"] == "success"
    assert tree_diff(before, snapshot(hw.sessions, skip=OUTSIDE_BACKUP)) == []
    saved = [n for n, i in hw.manifest().items()
             if i["original"] == changed and i["sha256"] == sha(changed_bytes)]
    assert len(saved) == 1
    assert hw.backup_bytes()[saved[0]] == changed_bytes
    hw.assert_outside_untouched()


def test_cleanup_removes_only_checked_originals_and_rollback_puts_them_back(hw: Hostile) -> None:
    hw.add_good("good-2", "agent:main:telegram:dm:2")
    hw.add_good("good-3", "agent:main:telegram:dm:3", mode=0o600)
    hw.symlink("x.json", hw.outside / "secret.json")
    hw.freeze()
    before = snapshot(hw.sessions)
    originals = {n: (hw.sessions / n).read_bytes() for n in ("good-1.json", "session_map.json")}

    r = hw.migrate("--skip", "x")
    assert r.rc == 0, r

    # the user edits one original after the migration; one backup copy is damaged
    (hw.sessions / "good-2.json").write_bytes((hw.sessions / "good-2.json").read_bytes() + b"\n")
    edited = (hw.sessions / "good-2.json").read_bytes()
    copy3 = hw.sessions / "backup_old_format" / "good-3.json"
    os.chmod(copy3, 0o600)
    copy3.write_bytes(copy3.read_bytes().replace(b"good-3 message 0", b"good-3 message X"))

    cl = hw.cli("cleanup", "--yes")
    assert cl.rc == 0, cl
    assert ("  keep good-2.json: no backup copy with the same content (changed since the "
            "migration, or migrated with --no-backup)") in cl.stdout
    assert "  keep good-3.json: the backup copy good-3.json differs from its manifest entry" in cl.stdout
    assert "removed 2 original(s) after checking their backup copies; 2 stay" in cl.stdout
    assert not (hw.sessions / "good-1.json").exists()
    assert not (hw.sessions / "session_map.json").exists()
    assert (hw.sessions / "good-2.json").read_bytes() == edited
    assert (hw.sessions / "good-3.json").exists()
    assert os.readlink(hw.sessions / "x.json") == str(hw.outside / "secret.json")  # never touched
    hw.assert_outside_untouched()

    rb = hw.cli("rollback", "--yes", "--json")
    assert rb.rc == 0, rb
    out = json.loads(rb.stdout)
    assert sorted(out["restored"]) == ["good-1.json", "session_map.json"]
    for name, data in originals.items():
        assert (hw.sessions / name).read_bytes() == data
        assert os.stat(hw.sessions / name).st_mtime == FIXED_MTIME
    # everything as before, but for the user's own edit, which is kept
    diff = tree_diff(before, snapshot(hw.sessions, skip=OUTSIDE_BACKUP))
    assert diff == [f"good-2.json: {before['good-2.json']} -> {('file', sha(edited), 0o644)}"]
    hw.assert_outside_untouched()


def test_cleanup_after_no_backup_removes_nothing(hw: Hostile) -> None:
    hw.freeze()
    r = hw.migrate("--no-backup")
    assert r.rc == 0, r
    hw.assert_good_migrated()

    cl = hw.cli("cleanup", "--yes")

    assert cl.rc == 0, cl
    assert "  keep good-1.json: no backup copy with the same content" in cl.stdout
    assert "Nothing to clean up." in cl.stdout
    assert (hw.sessions / "good-1.json").read_bytes() == hw.before_bytes["good-1.json"]
    assert hw.store()[GOOD_KEY]["session_id"] == "good-1"
