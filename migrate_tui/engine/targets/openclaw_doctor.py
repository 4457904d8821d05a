"""Run OpenClaw's own read-only check of the migrated files: ``openclaw doctor
--session-sqlite dry-run --json``, with ``OPENCLAW_STATE_DIR`` set to the target's state
folder.  It reads the file-based store and says how many entries and transcript events it
would import and which issues it finds; it changes nothing (the import is the user's step).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from migrate_tui.engine.model import CancelFlag
from migrate_tui.engine.targets.openclaw_layout import OpenClawLayout

POLL_SECONDS = 0.1  # how often a running dry run looks at its cancel flag and its deadline
COUNTS = ("legacyEntries", "validatedEntries", "validatedTranscriptEvents", "issues")


@dataclass
class DoctorDryRun:
    command: list[str]
    counts: dict[str, int] = field(default_factory=dict)
    issues: list[str] = field(default_factory=list)
    error: str | None = None  # it did not run, or said nothing we can read
    cancelled: bool = False  # stopped on request (``cancel``) before it answered

    @property
    def ok(self) -> bool:
        return self.error is None and not self.issues and not self.counts.get("issues")

    def summary(self) -> str:
        if self.cancelled:
            return "OpenClaw's dry run was cancelled (it was stopped; it changes nothing)"
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


def doctor_command(target: OpenClawLayout, executable: str = "openclaw") -> list[str]:
    """The dry run's command line (without the state folder, given in the environment)."""
    command = [executable, "doctor", "--session-sqlite", "dry-run", "--json"]
    if target.agent_id != "main":
        command += ["--session-sqlite-agent", target.agent_id]
    return command


def doctor_dry_run(target: OpenClawLayout, executable: str | None = None,
                   timeout: float = 300.0, env: Mapping[str, str] | None = None,
                   prefix: Sequence[str] = (), cancel: CancelFlag | None = None) -> DoctorDryRun:
    """Run the doctor's dry run on ``target``'s state folder; never raises for its failures.
    ``env``: the environment to run it in (default: this process's); ``prefix``: a command
    it runs under (``unshare --net --``, say).  Past ``timeout`` seconds, or once ``cancel``
    is set, it is stopped (its whole process group) and the answer says so."""
    exe = executable or openclaw_executable()
    command = doctor_command(target, exe or "openclaw")
    out = DoctorDryRun(command)
    if exe is None:
        out.error = "openclaw is not on PATH"
        return out
    env = {**(os.environ if env is None else env), "OPENCLAW_STATE_DIR": target.state_dir,
           "OPENCLAW_NO_AUTO_UPDATE": "1", "NO_COLOR": "1"}
    try:
        proc = subprocess.Popen([*prefix, *command], env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL,
                                start_new_session=True)
    except OSError as exc:
        out.error = f"{exe} could not be started: {exc.strerror or exc}"
        return out
    deadline = time.monotonic() + timeout
    while True:
        try:
            stdout, stderr = proc.communicate(timeout=POLL_SECONDS)
            break
        except subprocess.TimeoutExpired:
            if cancel is not None and cancel.is_set():
                _stop(proc)
                out.cancelled = True
                out.error = "cancelled"
                return out
            if time.monotonic() >= deadline:
                _stop(proc)
                out.error = f"no answer within {timeout:g} s; it was stopped"
                return out
    data = _json_in(stdout)
    if not isinstance(data, dict):
        tail = (stderr or stdout).strip().splitlines()[-1:] or [""]
        out.error = f"exit {proc.returncode}, no JSON report ({tail[0][:300]})"
        return out
    found = data.get("totals")
    totals: dict[str, Any] = found if isinstance(found, dict) else {}
    out.counts = {k: v for k, v in totals.items() if k in COUNTS and isinstance(v, int)}
    for target_report in data.get("targets") or []:
        for issue in (target_report.get("issues") or []) if isinstance(target_report, dict) else []:
            out.issues.append(_issue_text(issue))
    return out


def _stop(proc: subprocess.Popen[str]) -> None:
    """Stop the dry run and what it started (its own process group), and reap it."""
    with contextlib.suppress(OSError):
        os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(OSError):
        proc.kill()
    with contextlib.suppress(OSError, subprocess.TimeoutExpired):
        proc.communicate(timeout=5)


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
