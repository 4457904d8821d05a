"""For the highlighted session: the legacy JSON beside what will be written (its
sessions.json entries, the first transcript lines, the fields not carried, notes,
problems and conflicts)."""

from __future__ import annotations

import json
import os
from typing import Any

from textual.app import ComposeResult
from textual.containers import Horizontal, VerticalScroll
from textual.content import Content
from textual.widgets import Static

from migrate_tui.core.ids import display
from migrate_tui.engine import PlannedSession, SessionPreview
from migrate_tui.tui.parts import Parts
from migrate_tui.tui.widgets.session_table import status_of

ACTION_WORDS = {
    "migrate": "will be migrated",
    "skip": "skipped: it stays in .sessions/ (and in the backup); nothing is written for it",
    "blocked": "not migrated until its problem is fixed or it is skipped",
    "done": "already migrated by an earlier run: nothing to write",
}


def _json(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False, default=str)


def written_text(ps: PlannedSession, preview: SessionPreview | None) -> Content:
    if preview is not None and preview.target is not None:
        return openclaw_text(ps, preview)
    text = Parts()
    status, _ = status_of(ps)
    text.append(f"{status}  ", style="bold")
    text.append(ACTION_WORDS.get(ps.action, ps.action) + "\n")
    if ps.final_id and ps.final_id != ps.file_id:
        text.append(f"session id: {display(ps.final_id)}\n")
    for p in ps.open_problems:
        text.append(f"✗ {p.code}: {p.message}\n", style="$text-error bold")
        if p.fixes:
            text.append(f"  fixes: {', '.join(p.fixes)} (f) or skip (space)\n", style="italic")
    if ps.entry is not None and ps.action in ("migrate", "done"):
        for key in ps.keys:
            text.append(f"\nsessions.json[{key!r}] =\n", style="bold")
            text.append(_json(ps.entry) + "\n")
        for key in ps.kept_keys:
            existing = preview.kept.get(key) if preview else None
            text.append(f"\nsessions.json[{key!r}] stays as it is", style="bold")
            if existing is not None:
                text.append(f" (session {existing.get('session_id')!r})")
            text.append("\n")
        transcript = f"{ps.final_id}.jsonl"
        if ps.transcript == "write":
            text.append(f"\n{transcript}: {ps.message_count} line(s)\n", style="bold")
        else:
            text.append(f"\n{transcript}: {ps.transcript.replace('-', ' ')}\n", style="bold")
        if preview is not None:
            for line in preview.transcript:
                text.append(line + "\n", style="$text-muted")
            if preview.transcript_total > len(preview.transcript):
                text.append(f"… {preview.transcript_total - len(preview.transcript)} more line(s)\n",
                            style="$text-muted")
    if ps.not_carried:
        text.append("\nnot carried (kept in the backup): ", style="bold")
        text.append(", ".join(ps.not_carried) + "\n")
    for note in ps.notes:
        text.append(f"• {note}\n", style="italic")
    return text.content()


OPENCLAW_STATES = {"write": "will be written", "same": "already there, the same bytes",
                   "replace": "replaces the file there (it goes to the backup first)",
                   "keep": "the file there is kept"}


def home_short(path: str) -> str:
    """``~/.openclaw/…`` for a path in the home folder (as OpenClaw's own messages say it)."""
    home = os.path.expanduser("~").rstrip(os.sep)
    if home and path.startswith(home + os.sep):
        return "~" + path[len(home):]
    return path


def openclaw_text(ps: PlannedSession, preview: SessionPreview) -> Content:
    """What the OpenClaw target writes for the session: its entry and first events."""
    ts = preview.target
    text = Parts()
    status, _ = status_of(ps)
    text.append(f"{status}  ", style="bold")
    text.append(ACTION_WORDS.get(ts.action, ts.action) + "\n")
    text.append(f"into OpenClaw: {home_short(preview.target_dir or '')}\n", style="$text-muted")
    # the row is the target's view already (target_plan.py): its problems are OpenClaw's;
    # what the preview found besides (read again just now) is added, once
    shown = {(p.code, p.message) for p in ps.open_problems}
    for p in [*ps.open_problems, *(q for q in ts.problems if (q.code, q.message) not in shown)]:
        text.append(f"✗ {p.code}: {p.message}\n", style="$text-error bold")
        if p.fixes:
            text.append(f"  fixes: {', '.join(p.fixes)} (f) or skip (space)\n", style="italic")
    for conflict in ts.database:
        if ("openclaw_database", conflict.message) in shown:
            continue
        text.append(f"✗ OpenClaw's database: {conflict.message}\n", style="$text-error bold")
        text.append("  fix: replace-existing (f) or skip (space)\n", style="italic")
    if ts.entry is not None:
        for key in ts.keys:
            text.append(f"\nsessions.json[{key!r}] =\n", style="bold")
            text.append(_json(ts.entry) + "\n")
        for key in ts.kept_keys:
            text.append(f"\nsessions.json[{key!r}] stays as it is\n", style="bold")
        text.append(f"\n{ps.final_id}.jsonl: {ts.transcript_lines} line(s), "
                    f"{OPENCLAW_STATES.get(ts.transcript_state, ts.transcript_state)}\n", style="bold")
        for event in ts.preview:
            text.append(json.dumps(event, ensure_ascii=False)[:400] + "\n", style="$text-muted")
    if ts.not_carried:
        text.append("\nnot carried (kept in the backup): ", style="bold")
        text.append(", ".join(ts.not_carried) + "\n")
    for note in [*ps.notes, *ts.notes]:
        text.append(f"• {note}\n", style="italic")
    return text.content()


def legacy_text(ps: PlannedSession, preview: SessionPreview | None) -> Content:
    text = Parts()
    text.append(f"{display(ps.scan.file_name)}", style="bold")
    kind = "" if ps.scan.kind == "regular file" else f"{ps.scan.kind}, "
    text.append(f"  {kind}{ps.scan.size:,} bytes\n", style="$text-muted")
    if preview is None:
        text.append("reading…", style="italic $text-muted")
    elif preview.error:
        text.append(preview.error, style="italic")
    else:
        text.append(preview.legacy_text)
        if preview.legacy_truncated:
            text.append("\n… (the rest of the file is not shown)", style="$text-muted")
    return text.content()


class SessionDetail(Horizontal):
    DEFAULT_CSS = """
    SessionDetail { height: 1fr; }
    SessionDetail > VerticalScroll { width: 1fr; padding: 0 1; }
    SessionDetail > #legacy { border-right: vkey $foreground 30%; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.session: PlannedSession | None = None
        self.preview: SessionPreview | None = None

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="legacy", can_focus=False):
            yield Static(id="legacy-text")
        with VerticalScroll(id="written", can_focus=False):
            yield Static(id="written-text")

    def show(self, ps: PlannedSession | None, preview: SessionPreview | None = None) -> None:
        """Show ``ps`` now; the preview (read from the file in a worker) may come later."""
        same = self.session is not None and ps is not None and self.session.file_id == ps.file_id
        self.session = ps
        self.preview = preview if (preview is None or ps is None or preview.file_id == ps.file_id) else None
        if ps is None:
            self.query_one("#legacy-text", Static).update("")
            self.query_one("#written-text", Static).update(Parts("Nothing to show.", "italic").content())
            return
        self.query_one("#legacy-text", Static).update(legacy_text(ps, self.preview))
        self.query_one("#written-text", Static).update(written_text(ps, self.preview))
        if not same:
            for scroll in self.query(VerticalScroll):
                scroll.scroll_home(animate=False)
