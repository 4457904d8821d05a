"""Migrate a legacy workspace into an OpenClaw state folder, for the interop check.

``migrate_cli`` runs the real command, ``migrate-tui migrate WS --target openclaw
--openclaw-state STATE --json`` (with the first fix of each problem when asked), and
checks that it wrote exactly what ``migrate`` — a plain reference conversion: the engine's
scan and plan, the OpenClaw target's modules, no backup or journal — writes into a second
folder.  What ``migrate`` returns (the entries, transcripts and legacy messages) is what
check.py compares OpenClaw's result with.

    python scripts/interop/convert.py WORKSPACE STATE_DIR [--agent-id ID] [--fix-all]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from dataclasses import dataclass, field
from typing import Any

from migrate_tui.core import fsio, jsonio
from migrate_tui.engine import Decision, build_plan, scan_workspace
from migrate_tui.engine.legacy import read_legacy
from migrate_tui.engine.model import CONTENT_FIXES
from migrate_tui.engine.targets.openclaw_entry import convert_entry
from migrate_tui.engine.targets.openclaw_layout import openclaw_layout
from migrate_tui.engine.targets.openclaw_lock import store_lock
from migrate_tui.engine.targets.openclaw_transcript import (
    convert_transcript,
    not_json,
    transcript_bytes,
)


@dataclass
class Migrated:
    """What was written: enough for the checks to compare OpenClaw's result with."""

    store: str
    entries: dict[str, dict[str, Any]] = field(default_factory=dict)  # key → entry
    transcripts: dict[str, bytes] = field(default_factory=dict)  # session id → .jsonl bytes
    legacy: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # session id → messages
    skipped: list[str] = field(default_factory=list)  # legacy files not migrated, and why
    not_carried: dict[str, list[str]] = field(default_factory=dict)  # session id → names


def first_fixes(scan: Any, agent_id: str) -> dict[str, Decision]:
    """For each session the plan blocks, the first fix of each open problem (salvage,
    replace-bytes, use-content...), so that as many sessions as possible are migrated."""
    decisions: dict[str, Decision] = {}
    for _ in range(4):  # a fix may reveal the next problem
        plan = build_plan(scan, agent_id, decisions)
        changed = False
        for ps in plan.sessions:
            if ps.action != "blocked":
                continue
            fixes = {p.fixes[0] for p in ps.open_problems if p.fixes}
            if fixes - ps.decision.fixes:
                decisions[ps.file_id] = Decision(fixes=ps.decision.fixes | frozenset(fixes))
                changed = True
        if not changed:
            break
    return decisions


def migrate(workspace: str, state_dir: str, agent_id: str = "main", fix_all: bool = False) -> Migrated:
    target = openclaw_layout(state_dir, agent_id)
    scan = scan_workspace(workspace)
    if scan.fatal is not None:
        raise SystemExit(f"cannot migrate {workspace}: {scan.fatal}")
    plan = build_plan(scan, agent_id, first_fixes(scan, agent_id) if fix_all else None)
    os.makedirs(target.sessions_dir, mode=0o700, exist_ok=True)
    done = Migrated(target.store)
    for ps in plan.sessions:
        if ps.action != "migrate":
            why = "; ".join(str(p) for p in ps.open_problems) or ps.action
            done.skipped.append(f"{ps.scan.file_name}: {why}")
            continue
        assert ps.entry is not None and ps.final_id is not None
        data = fsio.read_bytes(os.path.join(scan.sessions_dir, ps.scan.file_name))
        content = read_legacy(data, ps.scan.path, ps.decision.fixes & CONTENT_FIXES)
        converted = convert_transcript(
            ps.final_id, content.messages, created_at=content.created_at,
            updated_at=content.updated_at, provider=content.metadata.get("model_provider"),
            model=content.metadata.get("model"))
        assert not not_json(converted.events), ps.file_id
        out = transcript_bytes(converted)
        fsio.write_atomic(target.transcript(ps.final_id), out, 0o600)
        done.transcripts[ps.final_id] = out
        done.legacy[ps.final_id] = content.messages
        summary = ps.scan.summary_for(ps.decision.fixes)
        entry = convert_entry(ps.entry, summary.created_at_ms)
        names = [n for n in ps.not_carried if n != "created_at" or summary.created_at_ms is None]
        done.not_carried[ps.final_id] = names + entry.not_carried + converted.not_carried
        for key in ps.keys:
            done.entries[key] = entry.entry
    with store_lock(target.store):
        current: dict[str, Any] = {}
        if fsio.lstat_or_none(target.store) is not None:
            current = jsonio.loads_document(fsio.read_bytes(target.store))
        current.update(done.entries)
        fsio.write_atomic(target.store, jsonio.dumps_document(current), 0o600)
    return done


class CliFailed(Exception):
    pass


def migrate_cli(workspace: str, state_dir: str, reference_dir: str, agent_id: str = "main",
                fix_all: bool = False) -> tuple[Migrated, dict[str, Any]]:
    """Run ``migrate-tui migrate --target openclaw`` and check it wrote what the reference
    conversion writes; returns the reference's record and the command's JSON report."""
    done = migrate(workspace, reference_dir, agent_id, fix_all)
    args = [sys.executable, "-m", "migrate_tui", "migrate", workspace, "--target", "openclaw",
            "--openclaw-state", state_dir, "--agent-id", agent_id, "--json"]
    if fix_all:
        scan = scan_workspace(workspace)
        for file_id, decision in sorted(first_fixes(scan, agent_id).items()):
            args += [item for fix in sorted(decision.fixes) for item in ("--fix", f"{file_id}={fix}")]
    proc = subprocess.run(args, capture_output=True, text=True, check=False)
    if proc.returncode not in (0, 1):
        raise CliFailed(f"migrate-tui exited {proc.returncode}: {proc.stdout[-2000:]} {proc.stderr[-2000:]}")
    report = json.loads(proc.stdout)
    if report.get("committed") is not True or report.get("status") not in ("success", "partial"):
        raise CliFailed(f"migrate-tui did not commit: {report.get('status')} {report.get('error')}")
    ours = target_files(state_dir, agent_id)
    reference = target_files(reference_dir, agent_id)
    if ours != reference:
        different = sorted(n for n in set(ours) | set(reference) if ours.get(n) != reference.get(n))
        raise CliFailed(f"migrate-tui wrote other files than the reference conversion: {different[:10]}")
    again = subprocess.run(args, capture_output=True, text=True, check=False)
    if again.returncode not in (0, 1) or target_files(state_dir, agent_id) != ours:
        raise CliFailed("a second run of migrate-tui changed OpenClaw's folder")
    return done, report


def target_files(state_dir: str, agent_id: str = "main") -> dict[str, bytes]:
    folder = openclaw_layout(state_dir, agent_id).sessions_dir
    if not os.path.isdir(folder):
        return {}
    return {name: fsio.read_bytes(os.path.join(folder, name)) for name in sorted(os.listdir(folder))}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("workspace")
    parser.add_argument("state_dir")
    parser.add_argument("--agent-id", default="main")
    parser.add_argument("--fix-all", action="store_true", help="apply the first fix of each problem")
    args = parser.parse_args(argv)
    done = migrate(args.workspace, args.state_dir, args.agent_id, args.fix_all)
    print(f"{len(done.entries)} entries, {len(done.transcripts)} transcripts -> {done.store}")
    for line in done.skipped:
        print(f"  not migrated: {line}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
