"""Symlinks in and out of .sessions/ (docs/problems.md "a symlink, or a path that resolves outside
.sessions/": skip only, never read or write through it; symlinks are not followed)."""

from __future__ import annotations

import json
import os
import shutil

from tests.hostile.hostile_support import (
    GOOD_ID,
    GOOD_KEY,
    OUTSIDE_MARKER,
    Hostile,
    dump,
    legacy,
    sha,
    snapshot,
    tree_diff,
)


def test_session_file_symlinked_outside_is_reported_and_never_read(hw: Hostile) -> None:
    target = hw.outside / "secret.json"
    hw.symlink("x.json", target)
    hw.map_key("agent:main:telegram:dm:1", "x")

    r = hw.migrate()

    assert r.rc == 1, r
    d = r.error("symlink", "x.json")
    assert d["file"] == str(hw.sessions / "x.json")
    assert d["fixes"] == []
    assert d["line"] is None and d["column"] is None
    assert d["error"] == (f"is a symlink to {target} (outside .sessions/); "
                          "it is never read or written through")
    assert r.session("x.json")["status"] == "blocked"
    assert r.report["sessions_found"] == 2 and r.report["migrated"] == 1 and r.report["errors"] == 1
    # no transcript, no entry and no backup copy made from the outside file
    assert not (hw.sessions / "x.jsonl").exists()
    assert "agent:main:telegram:dm:1" not in hw.store()
    assert "x.json" not in hw.backup_bytes()
    assert os.readlink(hw.sessions / "x.json") == str(target)
    hw.check(r)


def test_skipping_the_symlink_finishes_cleanly(hw: Hostile) -> None:
    hw.symlink("x.json", hw.outside / "secret.json")

    r = hw.migrate("--skip", "x")

    assert r.rc == 0, r
    assert r.report["status"] == "success"
    assert r.session("x.json")["action"] == "skip"
    assert r.report["skipped"] == 1 and r.report["errors"] == 0
    assert not (hw.sessions / "x.jsonl").exists()
    hw.check(r)


def test_symlink_to_a_file_inside_sessions_is_reported_and_the_target_migrates_once(hw: Hostile) -> None:
    hw.symlink("alias.json", f"{GOOD_ID}.json")

    r = hw.migrate()

    assert r.rc == 1, r
    d = r.error("symlink", "alias.json")
    assert d["fixes"] == []
    assert d["error"] == (f"is a symlink to {GOOD_ID}.json (inside .sessions/); "
                          "it is never read or written through")
    assert not (hw.sessions / "alias.jsonl").exists()
    # the good session is written once, under its own key only
    assert list(hw.store()) == [GOOD_KEY]
    assert sorted(p.name for p in hw.sessions.glob("*.jsonl")) == [f"{GOOD_ID}.jsonl"]
    hw.check(r)


def test_symlink_where_a_transcript_would_go_is_never_written_through(hw: Hostile) -> None:
    doc = legacy("victim", 2)
    hw.write("victim.json", doc)
    hw.map_key("agent:main:victim", "victim")
    target = hw.outside / "target.jsonl"
    before = target.read_bytes()
    hw.symlink("victim.jsonl", target)

    r = hw.migrate()

    assert r.rc == 1, r
    d = r.error("transcript_conflict", "victim.json")
    assert d["fixes"] == []
    assert d["error"] == "victim.jsonl exists and is not a regular file; it is never written through"
    assert os.readlink(hw.sessions / "victim.jsonl") == str(target)
    assert target.read_bytes() == before
    assert "agent:main:victim" not in hw.store()
    hw.check(r)


def test_a_fix_does_not_open_a_way_through_a_transcript_symlink(hw: Hostile) -> None:
    hw.write("victim.json", legacy("victim", 2))
    target = hw.outside / "target.jsonl"
    hw.symlink("victim.jsonl", target)

    for fix in ("replace-existing", "keep-existing"):
        r = hw.migrate("--fix", f"victim={fix}")
        assert r.rc == 1, r
        assert r.error("transcript_conflict", "victim.json")["fixes"] == []
        assert r.session("victim.json")["status"] == "blocked"
        assert os.readlink(hw.sessions / "victim.jsonl") == str(target)
        hw.check(r)


def test_dangling_transcript_symlink_creates_nothing_outside(hw: Hostile) -> None:
    hw.write("victim.json", legacy("victim", 2))
    hw.symlink("victim.jsonl", hw.outside / "would-be-created.jsonl")

    r = hw.migrate()

    assert r.rc == 1, r
    assert r.error("transcript_conflict", "victim.json")["fixes"] == []
    assert not os.path.lexists(hw.outside / "would-be-created.jsonl")
    hw.check(r)


def test_transcript_symlink_appearing_after_the_scan_is_not_written_through(hw: Hostile) -> None:
    """The race: the plan was made before the symlink appeared; apply checks again."""
    from migrate_tui.engine import apply_plan, build_plan, scan_workspace

    hw.write("victim.json", legacy("victim", 2))
    hw.freeze()
    plan = build_plan(scan_workspace(str(hw.ws)), "main", {})
    assert plan.session("victim").action == "migrate"
    target = hw.outside / "target.jsonl"
    hw.symlink("victim.jsonl", target)
    hw.before = snapshot(hw.sessions)

    result = apply_plan(plan, lock_timeout=2)

    assert [(f.file_id, f.problem.code) for f in result.failed] == [("victim", "transcript_conflict")]
    assert "victim.jsonl is not a regular file" in result.failed[0].problem.message
    assert result.migrated == [GOOD_ID]
    assert os.readlink(hw.sessions / "victim.jsonl") == str(target)
    hw.assert_outside_untouched()
    hw.assert_nothing_lost()
    hw.assert_good_migrated()


def test_sessions_json_symlink_is_refused_and_nothing_is_written(hw: Hostile) -> None:
    hw.symlink("sessions.json", hw.outside / "store.json")

    r = hw.migrate()

    assert r.rc == 2, r
    assert r.report["status"] == "failed"
    assert r.report["error"].startswith(f"{hw.sessions / 'sessions.json'}: is a symlink; "
                                        "it is not followed or read")
    assert tree_diff(hw.before, snapshot(hw.sessions)) == []  # not even a backup folder
    hw.check(r, good_migrated=False)


def test_session_map_symlink_is_refused_and_nothing_is_written(hw: Hostile) -> None:
    os.remove(hw.sessions / "session_map.json")
    hw.symlink("session_map.json", hw.outside / "store.json")

    r = hw.migrate()

    assert r.rc == 2, r
    assert r.report["error"].startswith(f"{hw.sessions / 'session_map.json'}: is a symlink; "
                                        "it is not followed or read")
    assert tree_diff(hw.before, snapshot(hw.sessions)) == []
    hw.check(r, good_migrated=False)


def test_lock_file_symlink_is_never_followed_taken_over_or_removed(hw: Hostile) -> None:
    target = hw.outside / "lock-target"
    hw.symlink("sessions.json.lock", target)

    r = hw.migrate("--lock-timeout", "5")

    assert r.rc == 2, r
    assert r.report["status"] == "failed"
    assert r.report["error"] == (
        f"{hw.sessions / 'sessions.json.lock'} is a symlink, not a lock file; it is not followed "
        "or touched. Move it away and run again.")
    assert os.readlink(hw.sessions / "sessions.json.lock") == str(target)
    assert tree_diff(hw.before, snapshot(hw.sessions)) == []  # nothing written before refusing
    hw.check(r, good_migrated=False)


def test_dangling_lock_file_symlink_creates_nothing_outside(hw: Hostile) -> None:
    hw.symlink("sessions.json.lock", hw.outside / "no-such-lock")

    r = hw.migrate("--lock-timeout", "5")

    assert r.rc == 2, r
    assert "sessions.json.lock is a symlink" in r.report["error"]
    assert not os.path.lexists(hw.outside / "no-such-lock")
    assert tree_diff(hw.before, snapshot(hw.sessions)) == []
    hw.check(r, good_migrated=False)


def test_sessions_folder_symlink_is_an_unusable_workspace(hw: Hostile) -> None:
    real = hw.outside / "real-sessions"
    shutil.move(str(hw.sessions), str(real))
    os.symlink(real, hw.sessions)
    hw.freeze()

    r = hw.migrate()
    assert r.rc == 2, r
    assert r.report == {"status": "failed", "error": (
        f"{hw.sessions} is a symlink, not a folder; it is not followed or touched.")}
    for command, args in (("rollback", ("--yes",)), ("cleanup", ("--yes",)), ("verify", ())):
        other = hw.cli(command, *args)
        assert other.rc == 2, other
        assert "is a symlink, not a folder" in other.stderr
    # the real folder behind the link holds exactly what it held: no transcript, no backup
    hw.assert_outside_untouched()
    assert os.readlink(hw.sessions) == str(real)


def _hostile_backup_target(hw: Hostile) -> None:
    """A folder outside that looks like a backup instructing rollback and clean-up to remove
    good-1.json, plus a temporary-looking file a careless tidy-up would delete."""
    bk = hw.outside / "bk"
    bk.mkdir()
    good = (hw.sessions / f"{GOOD_ID}.json").read_bytes()
    (bk / f"{GOOD_ID}.json").write_bytes(good)
    (bk / "manifest.json").write_text(json.dumps({"version": 1, "files": {f"{GOOD_ID}.json": {
        "original": f"{GOOD_ID}.json", "size": len(good), "sha256": sha(good), "mode": 0o644,
        "mtime_ns": 0, "run": "r1"}}}))
    (bk / "journal.jsonl").write_text(
        json.dumps({"op": "begin", "run": "r1", "pid": 1}) + "\n"
        + json.dumps({"op": "create", "run": "r1", "file": f"{GOOD_ID}.json", "sha256": sha(good),
                      "size": len(good), "source": f"{GOOD_ID}.json"}) + "\n")
    (bk / ".x.json.0000.migrate_tui.tmp").write_text(OUTSIDE_MARKER)
    hw.symlink("backup_old_format", bk)


def test_backup_folder_symlink_is_refused_and_nothing_is_written_through_it(hw: Hostile) -> None:
    _hostile_backup_target(hw)

    r = hw.migrate()

    assert r.rc == 2, r
    assert r.report == {"status": "failed", "error": (
        f"{hw.sessions / 'backup_old_format'} is a symlink, not a folder; move it away and run again.")}
    assert tree_diff(hw.before, snapshot(hw.sessions)) == []  # no transcript, no sessions.json
    hw.check(r, good_migrated=False)


def test_rollback_and_cleanup_do_not_act_on_a_backup_folder_symlink(hw: Hostile) -> None:
    _hostile_backup_target(hw)
    hw.freeze()

    rb = hw.cli("rollback", "--yes", "--json")
    assert rb.rc == 0, rb
    assert json.loads(rb.stdout) == {"status": "nothing_to_do", "removed": [], "restored": []}
    cl = hw.cli("cleanup", "--yes")
    assert cl.rc == 0, cl
    assert "Nothing to clean up." in cl.stdout

    assert tree_diff(hw.before, snapshot(hw.sessions)) == []  # good-1.json is still there
    hw.assert_outside_untouched()


def test_dry_run_beside_symlinks_writes_nothing(hw: Hostile) -> None:
    hw.symlink("x.json", hw.outside / "secret.json")
    hw.write("victim.json", dump(legacy("victim", 1)))
    hw.symlink("victim.jsonl", hw.outside / "target.jsonl")

    r = hw.migrate("--dry-run")

    assert r.rc == 1, r
    assert {d["problem"] for d in r.report["error_details"]} == {"symlink", "transcript_conflict"}
    assert r.report["migrated"] == 1 and r.report["dry_run"] is True
    assert tree_diff(hw.before, snapshot(hw.sessions)) == []
    hw.check(r, good_migrated=False)
