"""Choosing sessions (engine/selection.py) and deciding for many at once: ``with_decisions``
equals a full rebuild, the query language picks what it says, and the command line's
``--skip-where`` / ``--fix-where`` decide like the wizard's bulk keys."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path

import pytest

from migrate_tui.demo import generate_workspace
from migrate_tui.engine import MIGRATE, SKIP, Decision, build_plan, scan_workspace
from migrate_tui.engine.model import ALL_FIXES
from migrate_tui.engine.plan import with_decisions
from migrate_tui.engine.selection import (
    QueryError,
    channel_of,
    fixes_offered,
    fixes_where,
    parse_query,
    problem_counts,
    select,
    skips_where,
)

DAY = 86400


def _shape(plan):
    return [(ps.file_id, ps.action, ps.final_id, ps.keys, ps.kept_keys, ps.transcript,
             [p.code for p in ps.open_problems], ps.notes) for ps in plan.sessions], plan.totals


@pytest.fixture
def workspace(tmp_path: Path):
    info = generate_workspace(tmp_path, sessions=24, damaged=True, seed=5)
    folder = info.sessions_dir
    # two files claiming one id, a metadata.session_key, an existing conflicting entry, an
    # empty file
    (folder / "copy-of-main.json").write_bytes((folder / f"{info.session_ids[0]}.json").read_bytes())
    (folder / "sessions.json").write_text(json.dumps(
        {next(iter(info.session_map)): {"session_id": "someone-else", "updated_at": 1}}))
    (folder / "empty.json").write_bytes(b"")
    return info


def test_with_decisions_in_bulk_equals_a_full_rebuild(workspace) -> None:
    scan = scan_workspace(str(workspace.root))
    plan = build_plan(scan)
    rng = random.Random(11)
    ids = [s.file_id for s in scan.sessions]
    decisions: dict[str, Decision] = {}
    for _ in range(40):
        changes = {}
        for fid in rng.sample(ids, rng.randint(1, len(ids))):
            roll = rng.random()
            if roll < 0.3:
                changes[fid] = SKIP
            elif roll < 0.5:
                changes[fid] = MIGRATE
            else:
                changes[fid] = Decision(fixes=frozenset(rng.sample(ALL_FIXES, rng.randint(1, 3))))
        for fid, decision in changes.items():
            if decision == MIGRATE:
                decisions.pop(fid, None)
            else:
                decisions[fid] = decision
        plan = with_decisions(plan, changes)
        fresh = build_plan(scan, decisions=decisions)
        assert _shape(plan) == _shape(fresh)
        assert plan.decisions == decisions
        assert plan.id_counts == fresh.id_counts


def test_two_changes_that_would_take_one_id_are_planned_together(workspace) -> None:
    """Two files whose content says the same new id: each change alone is local (the id is
    free in the plan before the change), together they collide, as a rebuild says."""
    folder = workspace.sessions_dir
    doc = json.loads((folder / f"{workspace.session_ids[4]}.json").read_text())
    doc["session_id"] = "zzz-new"
    for name in ("dup-a", "dup-b"):
        (folder / f"{name}.json").write_text(json.dumps(doc))
    scan = scan_workspace(str(workspace.root))
    plan = build_plan(scan)
    assert [p.code for p in plan.session("dup-b").open_problems] == ["id_mismatch"]
    use_content = Decision(fixes=frozenset({"use-content"}))
    changes = {"dup-a": use_content, "dup-b": use_content}
    new = with_decisions(plan, changes)
    assert _shape(new) == _shape(build_plan(scan, decisions=changes))
    assert "duplicate_id" in [p.code for p in new.session("dup-b").open_problems]


def test_unchanged_sessions_are_shared(workspace) -> None:
    scan = scan_workspace(str(workspace.root))
    plan = build_plan(scan)
    fid = workspace.session_ids[3]
    new = with_decisions(plan, {fid: SKIP})
    shared = sum(a is b for a, b in zip(plan.sessions, new.sessions, strict=True))
    assert shared == len(plan.sessions) - 1 and new.session(fid).action == "skip"


def test_queries_choose_what_they_say(workspace) -> None:
    scan = scan_workspace(str(workspace.root))
    plan = build_plan(scan)
    now = time.time()

    def ids(text: str) -> set[str]:
        return {ps.file_id for ps in select(plan, text, now)}

    everyone = {ps.file_id for ps in plan.sessions}
    assert ids("") == everyone
    cron = {ps.file_id for ps in plan.sessions if any(":cron:" in k for k in ps.scan.keys)}
    assert cron and ids("key:*:cron:*") == cron
    assert ids("-key:*:cron:*") == everyone - cron
    assert ids("problem:invalid_json") == {workspace.damaged["invalid_json"][:-5], "empty"}
    assert ids("status:blocked") == {ps.file_id for ps in plan.sessions if ps.action == "blocked"}
    assert ids("status:problems") == ids("status:blocked")
    assert ids("channel:discord") == {ps.file_id for ps in plan.sessions if channel_of(ps) == "discord"}
    assert ids("channel:discord")
    assert ids("empty") == {"empty"}
    big = {ps.file_id for ps in plan.sessions if ps.scan.size > 5000}
    assert ids("size>5kB") == big and ids("size<=5000") == everyone - big
    assert ids("msgs>=5") == {ps.file_id for ps in plan.sessions
                              if ps.message_count >= 5 and ps.action != "blocked"} | (
        {ps.file_id for ps in plan.sessions if ps.action == "blocked" and ps.message_count >= 5})
    assert ids("telegram:dm") == {ps.file_id for ps in plan.sessions
                                  if any("telegram:dm" in k for k in ps.keys + ps.kept_keys + ps.scan.keys)}
    # the demo's sessions were updated 1 to 40 days before its fixed "now" (2026-02-28)
    assert ids("older:2026-02-28") >= everyone - {"copy-of-main", "empty"} - {
        ps.file_id for ps in plan.sessions if ps.entry is None}
    assert ids("newer:2000-01-01 older:2000-01-02") == set()
    assert ids("older:30d") <= everyone  # relative to now
    assert ids("key:*:cron:* older:1d") == cron  # the demo lives in the past


def test_a_query_that_cannot_be_read_names_the_term() -> None:
    with pytest.raises(QueryError, match="'status:nope'"):
        parse_query("key:x status:nope")
    with pytest.raises(QueryError, match="'size>lots'"):
        parse_query("size>lots")
    with pytest.raises(QueryError, match="'older:soon'"):
        parse_query("older:soon")
    with pytest.raises(QueryError, match="'msgs<many'"):
        parse_query("msgs<many")


def test_bulk_skips_and_fixes(workspace) -> None:
    scan = scan_workspace(str(workspace.root))
    plan = build_plan(scan)
    skips = skips_where(plan, "key:*:cron:*")
    assert skips and all(d.skip for d in skips.values())
    fixes = fixes_where(plan, "problem:invalid_json", "salvage")
    truncated = workspace.damaged["invalid_json"][:-5]
    assert fixes == {truncated: Decision(fixes=frozenset({"salvage"}))}  # not the empty file
    new = with_decisions(plan, {**skips, **fixes})
    assert new.session(truncated).action == "migrate"
    assert all(new.session(fid).action == "skip" for fid in skips)


def test_salvage_is_not_offered_for_an_empty_file(workspace) -> None:
    plan = build_plan(scan_workspace(str(workspace.root)))
    empty = plan.session("empty")
    assert empty.action == "blocked" and "salvage" not in fixes_offered(empty)
    truncated = plan.session(workspace.damaged["invalid_json"][:-5])
    assert fixes_offered(truncated) == ["salvage"]


def test_problem_counts(workspace) -> None:
    plan = build_plan(scan_workspace(str(workspace.root)))
    counts = problem_counts(plan)
    assert counts["invalid_json"] == 2 and counts["id_mismatch"] == 2 and counts["bom"] == 1


def _run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, MIGRATE_TUI_JOBS="1")
    return subprocess.run([sys.executable, "-m", "migrate_tui", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120)


def test_the_command_line_decides_in_bulk(workspace, tmp_path: Path) -> None:
    root = str(workspace.root)
    truncated = workspace.damaged["invalid_json"][:-5]
    proc = _run("migrate", root, "--dry-run", "--json", "--skip-where", "key:*:cron:*",
                "--fix-where", "problem:invalid_json=salvage", "--fix", f"{truncated}=salvage",
                cwd=tmp_path)
    report = json.loads(proc.stdout)
    actions = {s["session_id"]: s["action"] for s in report["sessions"]}
    cron = [ps for ps in build_plan(scan_workspace(root)).sessions
            if any(":cron:" in k for k in ps.scan.keys)]
    assert cron and all(actions[ps.final_id or ps.file_id] == "skip" for ps in cron)
    assert actions[truncated] == "fix:salvage"
    # the migration itself, then the files: no transcript for a skipped cron session
    proc = _run("migrate", root, "--json", "--skip-where", "key:*:cron:*", cwd=tmp_path)
    assert proc.returncode in (0, 1), proc.stderr
    for ps in cron:
        assert not (workspace.sessions_dir / f"{ps.file_id}.jsonl").exists()
    assert (workspace.sessions_dir / f"{workspace.session_ids[5]}.jsonl").exists()


def test_a_bad_query_on_the_command_line_is_a_usage_error(workspace, tmp_path: Path) -> None:
    proc = _run("migrate", str(workspace.root), "--dry-run", "--skip-where", "status:nope", cwd=tmp_path)
    assert proc.returncode == 2 and "status:nope" in proc.stderr and "Traceback" not in proc.stderr
    proc = _run("migrate", str(workspace.root), "--json", "--fix-where", "problem:x=nofix", cwd=tmp_path)
    assert proc.returncode == 2 and "nofix" in json.loads(proc.stdout)["error"]
