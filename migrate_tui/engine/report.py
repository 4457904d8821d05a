"""The report of a migration (SPEC §4 "--json"), its exit code, and the results block."""

from __future__ import annotations

from typing import Any

from migrate_tui.core import fsio, ids, jsonio
from migrate_tui.core.layout import Layout
from migrate_tui.engine.model import ApplyResult, Plan, Problem, Severity

# 0 done, nothing failed; 1 done, some sessions not migrated (problems); 2 bad usage or an
# unusable workspace (damaged records included); 3 a lock is held (sessions.json.lock past the
# timeout, or another migrate-tui command); 4 verification found a difference; 5 stopped by
# the user at a safe point (interrupted: migrate again, or roll back); 6 the wizard's session
# ended with the migration rolled back.
EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE, EXIT_LOCKED, EXIT_VERIFY = 0, 1, 2, 3, 4
EXIT_CANCELLED, EXIT_ROLLED_BACK = 5, 6


def _detail(problem: Problem, session_id: str) -> dict[str, Any]:
    return {
        "file": problem.file, "session_id": session_id, "problem": problem.code,
        "error": problem.message, "line": problem.line, "column": problem.column,
        "fixes": list(problem.fixes),
    }


def build_report(plan: Plan, result: ApplyResult | None, *, dry_run: bool) -> dict[str, Any]:
    scan = plan.scan
    layout = Layout(scan.workspace)
    failed = {f.file_id: f for f in (result.failed if result else [])}
    migrated = set(result.migrated) if result else set()
    error_details: list[dict[str, Any]] = []
    warning_details: list[dict[str, Any]] = [_detail(w, "") for w in plan.warnings]
    sessions = []
    for ps in plan.sessions:
        sid = ps.final_id or ps.file_id
        summary = ps.scan.summary_for(ps.decision.fixes)
        for w in summary.problems:
            if w.severity is Severity.WARNING:
                warning_details.append(_detail(w, ids.display(sid)))
        if ps.action == "blocked":
            error_details += [_detail(p, ids.display(sid)) for p in ps.open_problems]
        if ps.file_id in failed:
            error_details.append(_detail(failed[ps.file_id].problem, ids.display(sid)))
        action = ps.label
        if ps.file_id in failed:
            action = "skip"
        status = ps.action
        if result is not None and ps.action == "migrate":
            status = "migrated" if ps.file_id in migrated else ("failed" if ps.file_id in failed else "pending")
        sessions.append({
            "session_id": ids.display(sid), "file": ids.display(ps.scan.file_name),
            "keys": ps.keys + ps.kept_keys, "action": action, "status": status,
            "messages": ps.message_count,
            "problems": [p.code for p in ps.open_problems] + [p.code for p in summary.problems
                                                              if p.severity is Severity.WARNING],
            "not_carried": ps.not_carried, "notes": ps.notes,
        })
    t = plan.totals
    errors = t.blocked + len(failed)
    n_migrated = t.to_migrate - len(failed) if (dry_run or result is None) else len(migrated)
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
    report: dict[str, Any] = {
        "status": status, "dry_run": dry_run, "workspace": scan.workspace, "agent_id": plan.agent_id,
        "store_path": layout.store, "backup_dir": layout.backup_dir,
        "sessions_found": t.found, "migrated": n_migrated,
        "skipped": t.skipped + t.blocked + len(failed), "errors": errors,
        "warnings": len(warning_details), "already_migrated": t.done,
        "error_details": error_details, "warning_details": warning_details,
        "sessions": sessions,
    }
    if scan.fatal is not None:
        report["error"] = str(scan.fatal)
    if result is not None:
        report["verified"] = result.verified
        report["verify_problems"] = result.verify_problems
        report["cancelled"] = result.cancelled
        report["committed"] = result.committed
        if result.error:
            report["error"] = result.error
        if result.report_path:
            report["report_path"] = result.report_path
        if result.report_error:
            report["report_error"] = result.report_error
            report["warning_details"].append(
                {"file": layout.report, "session_id": "", "problem": "report_not_saved",
                 "error": result.report_error, "line": None, "column": None, "fixes": []})
            report["warnings"] = len(report["warning_details"])
    return report


def exit_code(report: dict[str, Any]) -> int:
    if report.get("verified") is False and not report.get("error"):
        return EXIT_VERIFY
    if report["status"] == "failed":
        return EXIT_USAGE
    if report.get("cancelled"):
        return EXIT_CANCELLED
    if report["errors"]:
        return EXIT_PROBLEMS
    return EXIT_OK


def save_report(layout: Layout, report: dict[str, Any]) -> str | None:
    """Keep the report beside the backup (only where a backup folder exists).  Raises
    OSError when it cannot be written (``apply_plan`` turns that into a warning)."""
    if not fsio.is_real_dir(layout.backup_dir):
        report.pop("report_path", None)
        return None
    data = jsonio.dumps_report(report)
    fsio.write_atomic(layout.report, data, 0o600)
    return layout.report


def results_block(report: dict[str, Any], *, verbose: bool = False) -> str:
    """The plain-text results, as the original migration guide printed them."""
    lines = []
    title = "Migration results (dry run: nothing was written)" if report["dry_run"] else "Migration results"
    lines.append(title)
    lines.append("=" * len(title))
    label = "Sessions to migrate" if report["dry_run"] else "Sessions migrated"
    rows = [
        ("Status", report["status"]),
        ("Sessions found", report["sessions_found"]),
        (label, report["migrated"]),
        ("Already migrated", report["already_migrated"]),
        ("Skipped", report["skipped"]),
        ("Errors", report["errors"]),
        ("Warnings", report["warnings"]),
        ("Backup location", report["backup_dir"]),
    ]
    width = max(len(k) for k, _ in rows) + 1
    lines += [f"{k + ':':<{width}} {v}" for k, v in rows]
    if report.get("error"):
        lines += ["", f"Stopped: {report['error']}"]
    if report.get("cancelled"):
        lines += ["", "Cancelled at a safe point: sessions.json was not changed. Run migrate "
                  "again to finish, or rollback to undo."]
    if report.get("report_error"):
        lines += ["", f"Warning: {report['report_error']}; the results above stand."]
    if report.get("verified") is False:
        lines += ["", "Verification found differences:"] + [f"  - {p}" for p in report["verify_problems"]]
    if report["error_details"]:
        lines += ["", "Not migrated (each needs a decision):"]
        for d in report["error_details"]:
            where = d["file"] + (f":{d['line']}" if d["line"] else "") + (f":{d['column']}" if d["column"] else "")
            lines.append(f"  ✗ {where}: {d['error']}")
            sid = d["session_id"]
            if d["fixes"]:
                options = " or ".join(f"--fix {sid}={f}" for f in d["fixes"])
                lines.append(f"      to migrate it: {options}; to leave it: --skip {sid}")
            else:
                lines.append(f"      it can only be skipped: --skip {sid}")
    if verbose:
        if report["warning_details"]:
            lines += ["", "Warnings:"]
            lines += [f"  ! {d['file']}: {d['error']}" for d in report["warning_details"]]
        lines += ["", "Sessions:"]
        for s in report["sessions"]:
            keys = ", ".join(s["keys"]) or "-"
            lines.append(f"  {s['status']:<9} {s['session_id']}  [{keys}]  {s['messages']} message(s)")
            for note in s["notes"]:
                lines.append(f"            {note}")
            if s["not_carried"]:
                lines.append(f"            not carried (kept in the backup): {', '.join(s['not_carried'])}")
    elif report["warnings"]:
        lines += ["", f"{report['warnings']} warning(s): run with --verbose to see them."]
    if report["status"] == "success" and not report["dry_run"] and report["migrated"] == 0:
        lines += ["", "Nothing to do: every session is already migrated; nothing was changed."]
    return "\n".join(lines)
