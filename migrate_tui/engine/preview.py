"""What the wizard shows for one session: the legacy JSON beside what will be written."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from migrate_tui.core import fsio, jsonio
from migrate_tui.core.layout import Layout
from migrate_tui.engine.legacy import read_legacy, transcript_lines
from migrate_tui.engine.model import CONTENT_FIXES, MIGRATE, Plan, PlannedSession, Problem
from migrate_tui.engine.plan import with_decision

PREVIEW_LIMIT = 16 * 1024 * 1024


@dataclass
class SessionPreview:
    file_id: str
    legacy_text: str = ""  # the head of the legacy file, as text
    legacy_truncated: bool = False
    entries: dict[str, Any] = field(default_factory=dict)  # key → entry that will be written
    kept: dict[str, Any] = field(default_factory=dict)  # key → existing entry left as it is
    transcript: list[str] = field(default_factory=list)  # the first transcript lines
    transcript_total: int = 0
    not_carried: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    error: str | None = None  # why the file could not be shown
    target: Any = None  # the OpenClaw target: its TargetSession (entry, first events, conflicts)
    target_dir: str | None = None  # where the OpenClaw target writes


def session_preview(plan: Plan, file_id: str, *, max_lines: int = 12, max_chars: int = 4000,
                    target: Any = None) -> SessionPreview:
    """``target``: an OpenClawLayout, to show what that target writes for the session too."""
    ps = plan.session(file_id)
    out = SessionPreview(file_id, not_carried=list(ps.not_carried), notes=list(ps.notes),
                         problems=list(ps.open_problems))
    for key in ps.keys:
        out.entries[key] = ps.entry
    for key in ps.kept_keys:
        out.kept[key] = plan.scan.store_entries.get(key)
    if ps.scan.file_problems:
        out.error = "; ".join(p.message for p in ps.scan.file_problems)
        return out
    path = Layout(plan.scan.workspace).in_sessions(ps.scan.file_name)
    try:
        data = fsio.read_bytes(path, PREVIEW_LIMIT)
    except OSError as exc:
        out.error = f"cannot be read: {exc.strerror or exc}"
        return out
    text = data.decode("utf-8", "replace")
    out.legacy_truncated = len(text) > max_chars
    out.legacy_text = text[:max_chars]
    content = read_legacy(data, path, ps.decision.fixes & CONTENT_FIXES)
    if content.readable:
        lines = transcript_lines(content.messages)
        out.transcript_total = len(lines)
        encoder = jsonio.LineEncoder()
        out.transcript = [encoder.line(obj).decode("utf-8").rstrip("\n") for obj in lines[:max_lines]]
    if target is not None:
        from migrate_tui.engine.targets.openclaw_plan import preview_session

        out.target = preview_session(plan, target, file_id)
        out.target_dir = target.sessions_dir
    return out


def preview_fix(plan: Plan, file_id: str, fix: str) -> PlannedSession:
    """What the session would become with ``fix`` added to its decision (no I/O)."""
    decision = plan.decisions.get(file_id, MIGRATE).with_fix(fix)
    return with_decision(plan, file_id, decision).session(file_id)
