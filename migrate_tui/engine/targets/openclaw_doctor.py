"""Run OpenClaw's own read-only check of the migrated files: ``openclaw doctor
--session-sqlite dry-run --json``, with ``OPENCLAW_STATE_DIR`` set to the target's state
folder.  It reads the file-based store and says how many entries and transcript events it
would import and which issues it finds; it changes nothing (the import is the user's step).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from migrate_tui.engine.targets.openclaw_layout import OpenClawLayout

COUNTS = ("legacyEntries", "validatedEntries", "validatedTranscriptEvents", "issues")


@dataclass
class DoctorDryRun:
    command: list[str]
    counts: dict[str, int] = field(default_factory=dict)
    issues: list[str] = field(default_factory=list)
    error: str | None = None  # it did not run, or said nothing we can read

    @property
    def ok(self) -> bool:
        return self.error is None and not self.issues and not self.counts.get("issues")

    def summary(self) -> str:
        if self.error is not None:
            return f"OpenClaw's dry run did not give an answer: {self.error}"
        c = self.counts
        text = (f"OpenClaw's dry run: {c.get('legacyEntries', 0)} entries found, "
                f"{c.get('validatedEntries', 0)} valid, {c.get('validatedTranscriptEvents', 0)} "
                f"transcript events valid, {c.get('issues', len(self.issues))} issue(s)")
        return text + ("" if not self.issues else ": " + "; ".join(self.issues[:5]))


def openclaw_executable() -> str | None:
    """``openclaw`` on PATH, or None."""
    return shutil.which("openclaw")


def doctor_dry_run(target: OpenClawLayout, executable: str | None = None,
                   timeout: float = 300.0, env: Mapping[str, str] | None = None,
                   prefix: Sequence[str] = ()) -> DoctorDryRun:
    """Run the doctor's dry run on ``target``'s state folder; never raises for its failures.
    ``env``: the environment to run it in (default: this process's); ``prefix``: a command
    it runs under (``unshare --net --``, say)."""
    exe = executable or openclaw_executable()
    command = [exe or "openclaw", "doctor", "--session-sqlite", "dry-run", "--json"]
    if target.agent_id != "main":
        command += ["--session-sqlite-agent", target.agent_id]
    out = DoctorDryRun(command)
    if exe is None:
        out.error = "openclaw is not on PATH"
        return out
    env = {**(os.environ if env is None else env), "OPENCLAW_STATE_DIR": target.state_dir,
           "OPENCLAW_NO_AUTO_UPDATE": "1", "NO_COLOR": "1"}
    try:
        proc = subprocess.run([*prefix, *command], env=env, capture_output=True, text=True, timeout=timeout,
                              stdin=subprocess.DEVNULL, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        out.error = str(exc)
        return out
    data = _json_in(proc.stdout)
    if not isinstance(data, dict):
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or [""]
        out.error = f"exit {proc.returncode}, no JSON report ({tail[0][:300]})"
        return out
    found = data.get("totals")
    totals: dict[str, Any] = found if isinstance(found, dict) else {}
    out.counts = {k: v for k, v in totals.items() if k in COUNTS and isinstance(v, int)}
    for target_report in data.get("targets") or []:
        for issue in (target_report.get("issues") or []) if isinstance(target_report, dict) else []:
            out.issues.append(_issue_text(issue))
    return out


def _json_in(text: str) -> Any:
    start = text.find("{")
    if start < 0:
        return None
    try:
        return json.loads(text[start:])
    except ValueError:
        return None


def _issue_text(issue: Any) -> str:
    if isinstance(issue, dict):
        parts = [str(issue.get(k)) for k in ("code", "kind", "sessionKey", "message") if issue.get(k)]
        return ": ".join(parts) or json.dumps(issue)[:200]
    return str(issue)[:200]
