"""with_decision replans one session when it can; it must always equal a full rebuild."""

from __future__ import annotations

import json
import random

from migrate_tui.demo import generate_workspace
from migrate_tui.engine import SKIP, Decision, build_plan, scan_workspace, with_decision
from migrate_tui.engine.model import ALL_FIXES


def _shape(plan):
    return [(ps.file_id, ps.action, ps.final_id, ps.keys, ps.kept_keys, ps.transcript,
             [p.code for p in ps.open_problems], ps.notes) for ps in plan.sessions], plan.totals


def test_with_decision_equals_a_full_rebuild(tmp_path):
    info = generate_workspace(tmp_path, sessions=12, damaged=True, seed=3)
    sessions = info.sessions_dir
    # two files claiming one id, a metadata.session_key, and an existing conflicting entry
    (sessions / "copy-of-main.json").write_bytes(
        (sessions / f"{info.session_ids[0]}.json").read_bytes())
    (sessions / "sessions.json").write_text(json.dumps(
        {info.session_map and next(iter(info.session_map)): {"session_id": "someone-else"}}))
    scan = scan_workspace(str(tmp_path))
    rng = random.Random(7)
    plan = build_plan(scan)
    decisions: dict[str, Decision] = {}
    ids = [s.file_id for s in scan.sessions]
    for _ in range(60):
        fid = rng.choice(ids)
        roll = rng.random()
        if roll < 0.3:
            decision = SKIP
        elif roll < 0.5:
            decision = Decision()
        else:
            decision = Decision(fixes=frozenset(rng.sample(ALL_FIXES, rng.randint(1, 3))))
        decisions[fid] = decision
        plan = with_decision(plan, fid, decision)
        assert _shape(plan) == _shape(build_plan(scan, decisions=decisions))
