"""The report of a migration: a typed object, its JSON form (``--json``, ``last_report.json``),
its exit code, and the plain-text results block.

A ``Report`` holds the totals and the problems; the per-session lines (``sessions``) are
made from the plan when asked for, never held, so a report of 100,000 sessions costs no more
than their plan.  Its JSON form is described in docs/report.md and docs/report.schema.json.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

from migrate_tui.core import fsio, ids, jsonio
from migrate_tui.core.layout import Layout
from migrate_tui.engine.model import ApplyResult, Plan, PlannedSession, Problem, Severity

# 0 done, nothing failed; 1 done, some sessions not migrated (problems); 2 bad usage or an
# unusable workspace (damaged records included); 3 a lock is held (sessions.json.lock past the
# timeout, or another migrate-tui command); 4 verification found a difference; 5 stopped by
# the user at a safe point (interrupted: migrate again, or roll back); 6 the wizard's session
# ended with the migration rolled back.
EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE, EXIT_LOCKED, EXIT_VERIFY = 0, 1, 2, 3, 4
EXIT_CANCELLED, EXIT_ROLLED_BACK = 5, 6

Status = Literal["success", "partial", "not_found", "failed"]
# What became of one session: the plan's action before a run ("migrate", "skip", "blocked",
# "done"), and after it "migrated", "failed" or "pending" (the run stopped before it).
SessionStatus = Literal["migrate", "skip", "blocked", "done", "migrated", "failed", "pending"]
NOT_MIGRATED: frozenset[str] = frozenset({"skip", "blocked", "failed"})


@dataclass(frozen=True, slots=True)
class Detail:
    """One problem or warning, where it is and what it is (an item of ``error_details`` or
    ``warning_details``)."""

    file: str
    session_id: str
    problem: str  # the problem's code, e.g. "invalid_json"
    error: str  # the sentence
    line: int | None = None
    column: int | None = None
    fixes: tuple[str, ...] = ()

    @classmethod
    def of(cls, problem: Problem, session_id: str) -> Detail:
        return cls(problem.file, session_id, problem.code, problem.message, problem.line,
                   problem.column, tuple(problem.fixes))

    @property
    def where(self) -> str:
        return self.file + (f":{self.line}" if self.line else "") + (f":{self.column}" if self.column else "")

    def to_json(self) -> dict[str, Any]:
        return {"file": self.file, "session_id": self.session_id, "problem": self.problem,
                "error": self.error, "line": self.line, "column": self.column,
                "fixes": list(self.fixes)}


@dataclass(frozen=True, slots=True)
class SessionLine:
    """One session in the report."""

    session_id: str
    file: str
    keys: tuple[str, ...]
    action: str  # "migrate" | "skip" | "fix:NAME[,NAME]"
    status: SessionStatus
    messages: int
    problems: tuple[str, ...]
    not_carried: tuple[str, ...]
    notes: tuple[str, ...]

    @property
    def migrated(self) -> bool:
        return self.status == "migrated"

    @property
    def left_out(self) -> bool:
        """Not migrated by this run or plan: skipped, blocked by a problem, or failed."""
        return self.status in NOT_MIGRATED

    def to_json(self) -> dict[str, Any]:
        return {"session_id": self.session_id, "file": self.file, "keys": list(self.keys),
                "action": self.action, "status": self.status, "messages": self.messages,
                "problems": list(self.problems), "not_carried": list(self.not_carried),
                "notes": list(self.notes)}


@dataclass
class Report:
    """What a migration (or its dry run) found and did."""

    status: Status
    dry_run: bool
    workspace: str
    agent_id: str
    store_path: str
    backup_dir: str
    sessions_found: int
    migrated: int  # migrated by the run; in a dry run, to be migrated
    skipped: int  # skipped by a decision, blocked by a problem, or failed
    errors: int  # sessions not migrated because of a problem
    already_migrated: int
    error_details: list[Detail] = field(default_factory=list)
    warning_details: list[Detail] = field(default_factory=list)
    error: str | None = None  # what stopped the run (or made the workspace unusable)
    # after a run (None / empty in a dry run)
    verified: bool | None = None
    verify_problems: list[str] = field(default_factory=list)
    cancelled: bool = False
    committed: bool | None = None
    report_path: str | None = None
    report_error: str | None = None
    # the OpenClaw target: {"name", "state_dir", "agent_id", "sessions_dir", "store_path",
    # "next_steps"}; None for the default target
    target: dict[str, Any] | None = None
    plan: Plan | None = field(default=None, repr=False, compare=False)
    result: ApplyResult | None = field(default=None, repr=False, compare=False)

    @property
    def ran(self) -> bool:
        """A real run (not a dry run) went as far as apply."""
        return self.result is not None

    @property
    def next_steps(self) -> list[str]:
        """The commands to run next (the OpenClaw target: its doctor's dry run and import)."""
        return list(self.target.get("next_steps", [])) if self.target else []

    @property
    def warnings(self) -> int:
        return len(self.warning_details)

    @property
    def finished(self) -> bool:
        """The run merged sessions.json, checked it and committed (not cancelled or stopped)."""
        return bool(self.ran and not self.cancelled and not self.error and self.verified is True)

    @property
    def exit_code(self) -> int:
        if self.verified is False and not self.error:
            return EXIT_VERIFY
        if self.status == "failed":
            return EXIT_USAGE
        if self.cancelled:
            return EXIT_CANCELLED
        if self.errors:
            return EXIT_PROBLEMS
        return EXIT_OK

    def sessions(self) -> Iterator[SessionLine]:
        """Every session, in the plan's order (made from the plan as it is read)."""
        for values in self._session_values():
            yield SessionLine(*values)

    def _session_values(self) -> Iterator[tuple[Any, ...]]:
        """Each session's ``SessionLine`` fields, in order, as a tuple (no object made)."""
        if self.plan is None:
            return
        failed = {f.file_id for f in (self.result.failed if self.result else [])}
        migrated = set(self.result.migrated) if self.result else set()
        ran = self.result is not None
        for ps in self.plan.sessions:
            yield _session_values(ps, ran, failed, migrated)

    def _session_objects(self) -> Iterator[dict[str, Any]]:
        """Each session's JSON object (``SessionLine.to_json``), its arrays as tuples: they
        are written alike, and nothing is copied."""
        keys = _SESSION_KEYS
        for values in self._session_values():
            yield dict(zip(keys, values, strict=True))

    def left_out(self) -> Iterator[SessionLine]:
        return (s for s in self.sessions() if s.left_out)

    def to_json(self) -> dict[str, Any]:
        """The JSON object ``--json`` prints (key order as documented)."""
        return {**self._json_head(), "sessions": [s.to_json() for s in self.sessions()],
                **self._json_tail()}

    def json_chunks(self, chunk_chars: int = 1 << 16) -> Iterator[str]:
        """``json.dumps(self.to_json(), ensure_ascii=True)``, the very same text, in pieces
        of about ``chunk_chars``: each session's object is made, written and dropped in
        turn, so neither the sessions' objects nor the whole text are ever held (at 100,000
        sessions they were about 0.7 KB a session).  The objects are written a group at a
        time, as a list whose brackets are dropped (the same text: items of a list are
        separated by ", " as they are here), since each call of the encoder costs more than
        a session's text.  A plain session of a dry run (most of them) is written straight
        from its scan (``_plain_session_text``)."""
        head = json.dumps(self._json_head(), ensure_ascii=True)
        tail = json.dumps(self._json_tail(), ensure_ascii=True)
        parts = [head[:-1], ", " if head != "{}" else "", '"sessions": [']
        size = 0
        first = True
        ran = self.result is not None
        failed = {f.file_id for f in (self.result.failed if self.result else [])}
        migrated = set(self.result.migrated) if self.result else set()
        for ps in self.plan.sessions if self.plan is not None else ():
            text = None if ran else _plain_session_text(ps)
            if text is None:
                values = _session_values(ps, ran, failed, migrated)  # (as _session_values)
                try:
                    text = _session_text(values)
                except TypeError:  # a value of another kind: the encoder's own way
                    text = _ASCII.encode(dict(zip(_SESSION_KEYS, values, strict=True)))
            parts.append(text if first else ", " + text)
            first = False
            size += len(text)
            if size >= chunk_chars:
                yield "".join(parts)
                parts.clear()
                size = 0
        parts.append("]" + (", " + tail[1:] if tail != "{}" else "}"))
        yield "".join(parts)

    def saved_chunks(self, chunk_bytes: int = 1 << 16) -> Iterator[bytes]:
        """``jsonio.dumps_report(self.to_json())``, the very same bytes (indent 2, UTF-8, a
        lone surrogate as a backslash escape, trailing newline), in pieces of about
        ``chunk_bytes``: the head, each session's object and the tail are written by
        ``dumps_report`` in turn, each session's indented to its place in the list, so the
        whole text is never held (``save_report``)."""
        dumps = jsonio.dumps_report
        parts = [dumps(self._json_head())[:-3], b',\n  "sessions": [']  # the head without "\n}\n"
        size = 0
        first = True
        for obj in self._session_objects():
            text = dumps(obj)[:-1].replace(b"\n", b"\n    ")  # a JSON text has no raw newline in a string
            parts.append(b"\n    " + text if first else b",\n    " + text)
            first = False
            size += len(text)
            if size >= chunk_bytes:
                yield b"".join(parts)
                parts.clear()
                size = 0
        parts.append(b"]" if first else b"\n  ]")
        tail = self._json_tail()
        parts.append(b"," + dumps(tail)[1:] if tail else b"\n}\n")  # the tail without "{"
        yield b"".join(parts)

    def note_unsaved(self, layout: Layout, error: str) -> None:
        """The report could not be saved beside the backup: say why (``report_error``, and a
        ``report_not_saved`` warning); the run keeps its status."""
        self.report_path = None
        self.report_error = error
        self.warning_details.append(Detail(layout.report, "", "report_not_saved", error))

    def _json_head(self) -> dict[str, Any]:
        return {
            "status": self.status, "dry_run": self.dry_run, "workspace": self.workspace,
            "agent_id": self.agent_id, "store_path": self.store_path, "backup_dir": self.backup_dir,
            "sessions_found": self.sessions_found, "migrated": self.migrated,
            "skipped": self.skipped, "errors": self.errors, "warnings": self.warnings,
            "already_migrated": self.already_migrated,
            "error_details": [d.to_json() for d in self.error_details],
            "warning_details": [d.to_json() for d in self.warning_details],
        }

    def _json_tail(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.error is not None:
            out["error"] = self.error
        if self.target is not None:
            out["target"] = {k: v for k, v in self.target.items() if k != "next_steps"}
            out["next_steps"] = self.next_steps
        if self.ran:
            out["verified"] = self.verified
            out["verify_problems"] = list(self.verify_problems)
            out["cancelled"] = self.cancelled
            out["committed"] = self.committed
            if self.report_path:
                out["report_path"] = self.report_path
            if self.report_error:
                out["report_error"] = self.report_error
        return out


# the keys of a session's JSON object: SessionLine's fields, in order
_SESSION_KEYS = ("session_id", "file", "keys", "action", "status", "messages", "problems",
                 "not_carried", "notes")
_ASCII = json.JSONEncoder(ensure_ascii=True)  # what json.dumps(obj, ensure_ascii=True) uses
# a string as that encoder writes it (quoted, escaped to ASCII); the same function it calls
_QUOTED = json.encoder.encode_basestring_ascii
_SESSION_TEXT = ('{"session_id": %s, "file": %s, "keys": %s, "action": %s, "status": %s, '
                 '"messages": %d, "problems": %s, "not_carried": %s, "notes": %s}')


def _session_text(values: tuple[Any, ...]) -> str:
    """``_ASCII.encode`` of a session's JSON object (``_SESSION_KEYS`` and ``values``), the
    same text written with a template, its strings quoted by the encoder's own function.
    TypeError when a value is not of the usual kind (strings, an int, tuples of strings)."""
    sid, file, keys, action, status, messages, problems, not_carried, notes = values
    if not (type(messages) is int and type(keys) is tuple and type(problems) is tuple
            and type(not_carried) is tuple and type(notes) is tuple):
        raise TypeError("a value of another kind")
    quoted = _QUOTED
    return _SESSION_TEXT % (
        quoted(sid), quoted(file), "[" + ", ".join(map(quoted, keys)) + "]" if keys else "[]",
        quoted(action), quoted(status), messages,
        "[" + ", ".join(map(quoted, problems)) + "]" if problems else "[]",
        "[" + ", ".join(map(quoted, not_carried)) + "]" if not_carried else "[]",
        "[" + ", ".join(map(quoted, notes)) + "]" if notes else "[]")


_PLAIN_TEXT = {  # a plain session's JSON object, by its action (as _SESSION_TEXT writes it)
    action: ('{"session_id": %s, "file": %s, "keys": %s, "action": "' + action + '", "status": "'
             + action + '", "messages": %d, "problems": [], "not_carried": %s, "notes": []}')
    for action in ("migrate", "skip")}


# the JSON text of a list of names not carried (what _session_text writes), by the tuple:
# most sessions share a few such tuples (the scan holds each once)
_NAMES_TEXT: dict[tuple[str, ...], str] = {}
_NAMES_TEXT_MAX = 4096


def _names_text(names: tuple[str, ...]) -> str:
    text = _NAMES_TEXT.get(names)
    if text is None:
        text = "[" + ", ".join(map(_QUOTED, names)) + "]"  # (TypeError: not strings)
        if len(_NAMES_TEXT) < _NAMES_TEXT_MAX:
            _NAMES_TEXT[names] = text
    return text


def _plain_session_text(ps: PlannedSession) -> str | None:
    """``_session_text(_session_values(ps, False, ...))`` of a plain session of a dry run
    with nothing to show beyond its id, file, keys, messages and the names not carried
    (most of them), made straight from the scan; None for any other (the long way).  The
    file's quoted name is its id's with ".json" (when it is named after its id, as most
    are: the quoting of a name is that of each of its characters), and the text of the
    names not carried is made once for each tuple of them (``_names_text``)."""
    template = _PLAIN_TEXT.get(ps.action)
    if ps._more is not None or template is None or ps.decision.fixes:
        return None
    scan = ps.scan
    content = scan.content
    file_id = scan.file_id
    if not (file_id.isascii() and file_id.isprintable()) or (
            content._rare is not None and content.problems):
        return None
    quoted = _QUOTED
    held = scan._keys  # (SessionScan.keys: one key held as its string)
    not_carried = content.not_carried
    count = content._count >> 1  # (ContentSummary.message_count)
    try:
        shown = quoted(file_id)
        if scan._odd is None:  # (SessionScan.file_name: its id and ".json")
            name = shown[:-1] + '.json"'
        else:
            name = scan.file_name
            if not (name.isascii() and name.isprintable()):
                return None
            name = quoted(name)
        return template % (
            shown, name,
            "[" + quoted(held) + "]" if type(held) is str
            else "[" + ", ".join(map(quoted, held)) + "]" if held else "[]",
            count, "[]" if not not_carried else _names_text(not_carried) if type(not_carried) is tuple
            else "[" + ", ".join(map(quoted, not_carried)) + "]")
    except TypeError:  # a value of another kind
        return None


def _session_values(ps: PlannedSession, ran: bool, failed: set[str], migrated: set[str]) -> tuple[Any, ...]:
    """A session's ``SessionLine`` fields, in order (what ``ps.label`` and ``ids.display``
    say, looked up directly: this runs for every session of a report)."""
    scan = ps.scan
    file_id = scan.file_id
    action = ps.action
    if ps._more is None and not ran and not ps.decision.fixes:
        # a plain session of a dry run (most of them): every value is the scan's (what the
        # general way below reads through the session's properties)
        content = scan.content
        summary_problems = content.problems
        shown = file_id if file_id.isascii() and file_id.isprintable() else ids.display(file_id)
        name = scan.file_name
        if not (name.isascii() and name.isprintable()):
            name = ids.display(name)
        held = scan._keys
        return (shown, name, (held,) if type(held) is str else held,
                "skip" if action in ("skip", "blocked") else "migrate", action,
                content.message_count,
                tuple([p.code for p in summary_problems if p.severity is Severity.WARNING])
                if summary_problems else (),
                tuple(content.not_carried), ())
    status: SessionStatus = action
    if ran and action == "migrate":
        status = "migrated" if file_id in migrated else ("failed" if file_id in failed else "pending")
    open_problems = ps.open_problems
    problems = tuple([p.code for p in open_problems]) if open_problems else ()
    decision = ps.decision
    summary_problems = scan.summary_for(decision.fixes).problems
    if summary_problems:
        problems += tuple([p.code for p in summary_problems if p.severity is Severity.WARNING])
    kept = ps.kept_keys
    shown_id = ps.final_id or file_id
    if not (shown_id.isascii() and shown_id.isprintable()):
        shown_id = ids.display(shown_id)
    name = scan.file_name
    if not (name.isascii() and name.isprintable()):
        name = ids.display(name)
    if file_id in failed or action in ("skip", "blocked"):
        label = "skip"
    else:
        label = decision.label if decision.fixes else "migrate"
    return (shown_id, name, (*ps.keys, *kept) if kept else tuple(ps.keys), label, status,
            ps.message_count, problems, tuple(ps.not_carried), tuple(ps.notes))


def build_report(plan: Plan, result: ApplyResult | None, *, dry_run: bool,
                 target: dict[str, Any] | None = None) -> Report:
    scan = plan.scan
    layout = Layout(scan.workspace)
    failed = {f.file_id: f for f in (result.failed if result else [])}
    error_details: list[Detail] = []
    warning_details: list[Detail] = [Detail.of(w, "") for w in plan.warnings]
    for ps in plan.sessions:
        if (ps._more is None and ps.scan.content._rare is None and not failed
                and not ps.decision.fixes and ps.action != "blocked"):
            continue  # a plain session read with nothing rare: no problem to detail
        sid = ids.display(ps.final_id or ps.file_id)
        for w in ps.scan.summary_for(ps.decision.fixes).problems:
            if w.severity is Severity.WARNING:
                warning_details.append(Detail.of(w, sid))
        if ps.action == "blocked":
            error_details += [Detail.of(p, sid) for p in ps.open_problems]
        if ps.file_id in failed:
            error_details.append(Detail.of(failed[ps.file_id].problem, sid))
    t = plan.totals
    errors = t.blocked + len(failed)
    n_migrated = t.to_migrate - len(failed) if (dry_run or result is None) else len(result.migrated)
    status: Status
    if scan.fatal is not None:
        status = "failed"
    elif not scan.sessions_dir_exists or t.found == 0:
        status = "not_found"
    elif result is not None and (result.error or result.verified is False):
        status = "failed"
    elif errors or (result is not None and result.cancelled):
        status = "partial"
    else:
        status = "success"
    report = Report(
        status=status, dry_run=dry_run, workspace=scan.workspace, agent_id=plan.agent_id,
        store_path=layout.store, backup_dir=layout.backup_dir, sessions_found=t.found,
        migrated=n_migrated, skipped=t.skipped + t.blocked + len(failed), errors=errors,
        already_migrated=t.done, error_details=error_details, warning_details=warning_details,
        error=str(scan.fatal) if scan.fatal is not None else None, plan=plan, result=result,
        target=target)
    if target is not None:
        report.store_path = target["store_path"]
    if result is not None:
        report.verified = result.verified
        report.verify_problems = list(result.verify_problems)
        report.cancelled = result.cancelled
        report.committed = result.committed
        report.report_path = result.report_path
        if result.error:
            report.error = result.error
        if result.report_error:
            report.note_unsaved(layout, result.report_error)
    return report


def exit_code(report: Report) -> int:
    return report.exit_code


def save_report(layout: Layout, report: Report) -> str | None:
    """Keep the report beside the backup (only where a backup folder exists), written
    atomically a piece at a time (``Report.saved_chunks``: the bytes of
    ``jsonio.dumps_report(report.to_json())``, never held whole), read back, made durable,
    renamed into place, the folder fsynced.  Raises OSError when it cannot be written
    (``apply_plan`` turns that into a warning)."""
    if not fsio.is_real_dir(layout.backup_dir):
        report.report_path = None
        return None
    report.report_path = layout.report
    writer = fsio.StreamedWrite(layout.report, 0o600)
    try:
        for chunk in report.saved_chunks():
            writer.write(chunk)
        if not writer.reads_back():
            raise fsio.ReadBackMismatch(layout.report)
    except BaseException:
        writer.abandon()
        raise
    writer.finish()
    fsio.fsync_dir(layout.backup_dir)
    return layout.report


def results_block(report: Report, *, verbose: bool = False) -> str:
    """The plain-text results, as the original migration guide printed them."""
    lines = []
    title = "Migration results (dry run: nothing was written)" if report.dry_run else "Migration results"
    lines.append(title)
    lines.append("=" * len(title))
    label = "Sessions to migrate" if report.dry_run else "Sessions migrated"
    rows: list[tuple[str, object]] = [
        ("Status", report.status),
        ("Sessions found", report.sessions_found),
        (label, report.migrated),
        ("Already migrated", report.already_migrated),
        ("Skipped", report.skipped),
        ("Errors", report.errors),
        ("Warnings", report.warnings),
        ("Backup location", report.backup_dir),
    ]
    if report.target is not None:
        rows.insert(1, ("Target", f"OpenClaw, {report.target['sessions_dir']}"))
    width = max(len(k) for k, _ in rows) + 1
    lines += [f"{k + ':':<{width}} {v}" for k, v in rows]
    if report.error:
        lines += ["", f"Stopped: {report.error}"]
    if report.cancelled:
        lines += ["", "Cancelled at a safe point: sessions.json was not changed. Run migrate "
                  "again to finish, or rollback to undo."]
    if report.report_error:
        lines += ["", f"Warning: {report.report_error}; the results above stand."]
    if report.verified is False:
        lines += ["", "Verification found differences:"] + [f"  - {p}" for p in report.verify_problems]
    if report.error_details:
        lines += ["", "Not migrated (each needs a decision):"]
        for d in report.error_details:
            lines.append(f"  ✗ {d.where}: {d.error}")
            if d.fixes:
                options = " or ".join(f"--fix {d.session_id}={f}" for f in d.fixes)
                lines.append(f"      to migrate it: {options}; to leave it: --skip {d.session_id}")
            else:
                lines.append(f"      it can only be skipped: --skip {d.session_id}")
    if verbose:
        if report.warning_details:
            lines += ["", "Warnings:"]
            lines += [f"  ! {d.file}: {d.error}" for d in report.warning_details]
        lines += ["", "Sessions:"]
        for s in report.sessions():
            keys = ", ".join(s.keys) or "-"
            lines.append(f"  {s.status:<9} {s.session_id}  [{keys}]  {s.messages} message(s)")
            for note in s.notes:
                lines.append(f"            {note}")
            if s.not_carried:
                lines.append(f"            not carried (kept in the backup): {', '.join(s.not_carried)}")
    elif report.warnings:
        lines += ["", f"{report.warnings} warning(s): run with --verbose to see them."]
    if report.status == "success" and not report.dry_run and report.migrated == 0:
        lines += ["", "Nothing to do: every session is already migrated; nothing was changed."]
    if report.target is not None:
        left = sum(1 for s in report.sessions() if s.not_carried)
        if left and not verbose:
            lines += ["", f"{left} session(s) have fields OpenClaw has no place for (not carried; "
                      "they stay in the backup): run with --verbose to see them."]
        if report.next_steps and (report.dry_run or report.finished):
            lines += ["", "Next, let OpenClaw import them (the first command changes nothing):"]
            lines += [f"  {step}" for step in report.next_steps]
    return "\n".join(lines)
