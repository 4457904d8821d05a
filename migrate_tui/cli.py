"""The command line: the wizard, and migrate / verify / rollback / cleanup headless.

A thin layer over the engine: every decision the wizard can make is ``--skip`` or ``--fix``.
With ``--json`` every outcome, a usage error included, is one JSON object on stdout.
"""

from __future__ import annotations

import contextlib
import gc
import json
import signal
import sys
import threading
from collections.abc import Iterator
from typing import Any, NoReturn

import click

from migrate_tui import __version__
from migrate_tui.core import fsio
from migrate_tui.core.errors import WorkspaceError
from migrate_tui.core.ids import is_valid_key
from migrate_tui.core.layout import Layout, open_layout
from migrate_tui.engine import collector, commands
from migrate_tui.engine.model import (
    ALL_FIXES,
    MIGRATE,
    Decision,
    EventSink,
    LogLine,
    Progress,
    no_events,
)
from migrate_tui.engine.report import EXIT_CANCELLED, EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE, results_block

DEFAULT_WORKSPACE = "~/.openclaw"
SHOWN_PROBLEMS = 50  # lines of problems printed as text (--json has them all)


def _die(message: str, code: int, as_json: bool, **extra: Any) -> NoReturn:
    if as_json:
        click.echo(json.dumps({"status": "failed", "error": message, **extra}))
    else:
        click.echo(f"migrate-tui: {message}", err=True)
    sys.exit(code)


def _parse_decisions(skips: tuple[str, ...], fixes: tuple[str, ...]) -> dict[str, Decision]:
    decisions: dict[str, Decision] = {}
    for sid in skips:
        decisions[sid] = Decision(skip=True)
    for item in fixes:
        sid, sep, fix = item.rpartition("=")
        if not sep or not sid:
            raise click.BadParameter(f"{item!r} is not SESSION_ID=FIX", param_hint="--fix")
        if fix not in ALL_FIXES:
            raise click.BadParameter(f"unknown fix {fix!r}; the fixes are: {', '.join(ALL_FIXES)}",
                                     param_hint="--fix")
        if decisions.get(sid, MIGRATE).skip:
            raise click.BadParameter(f"{sid} is both skipped and fixed", param_hint="--fix")
        decisions[sid] = decisions.get(sid, MIGRATE).with_fix(fix)
    return decisions


class _Group(click.Group):
    """``migrate-tui [WORKSPACE]`` opens the wizard; a known command name runs headless."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if not args or (args[0] not in self.commands and args[0] not in ("--help", "-h", "--version")):
            args = ["wizard", *args]
        return super().parse_args(ctx, args)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(version=__version__, prog_name="migrate-tui")
def cli() -> None:
    """Move an OpenClaw workspace from one JSON file per session to sessions.json plus one
    JSONL transcript per session, without losing a message, key or field.

    Run without a command (migrate-tui [WORKSPACE]) to open the wizard."""


@cli.command(hidden=True)
@click.argument("workspace", required=False, default=DEFAULT_WORKSPACE)
@click.option("--agent-id", default="main", show_default=True)
def wizard(workspace: str, agent_id: str) -> None:
    """The interactive wizard."""
    from migrate_tui.tui.app import run_wizard

    sys.exit(run_wizard(workspace, agent_id))


@cli.command()
@click.argument("workspace_dir", type=click.Path(file_okay=False))
@click.option("--agent-id", default="main", show_default=True,
              help="Agent id for keys of sessions no key points to.")
@click.option("--no-backup", is_flag=True,
              help="Do not copy the legacy files to backup_old_format/ "
              "(files the migration replaces are always saved).")
@click.option("--dry-run", is_flag=True, help="Show the plan; write nothing.")
@click.option("--verbose", "-v", is_flag=True, help="Show every session, its notes and warnings.")
@click.option("--json", "as_json", is_flag=True,
              help="Print one JSON report on stdout and nothing else.")
@click.option("--skip", "skips", multiple=True, metavar="SESSION_ID",
              help="Leave this session as it is (repeatable).")
@click.option("--fix", "fixes", multiple=True, metavar="SESSION_ID=FIX",
              help=f"Apply a named fix: {', '.join(ALL_FIXES)} (repeatable).")
@click.option("--skip-where", "skip_queries", multiple=True, metavar="QUERY",
              help="Skip every session the query chooses, e.g. 'key:*:cron:* older:30d' "
              "(repeatable; see above).")
@click.option("--fix-where", "fix_queries", multiple=True, metavar="QUERY=FIX",
              help="Apply a fix to every session the query chooses whose problems offer it, "
              "e.g. 'problem:invalid_json=salvage' (repeatable).")
@click.option("--lock-timeout", default=10.0, show_default=True, type=click.FloatRange(min=0),
              metavar="SECONDS", help="How long to wait for sessions.json.lock.")
@click.option("--max-file-size", default=256, show_default=True, type=click.IntRange(min=1),
              metavar="MIB", help="Legacy files larger than this are reported, not parsed.")
@click.option("--target", type=click.Choice(["default", "openclaw"]), default="default",
              show_default=True, help="default: sessions.json and transcripts in "
              "WORKSPACE_DIR/.sessions/; openclaw: today's OpenClaw, files its doctor imports.")
@click.option("--openclaw-state", "openclaw_state", type=click.Path(file_okay=False), default=None,
              metavar="DIR", help="With --target openclaw: OpenClaw's state folder (default: "
              "$OPENCLAW_STATE_DIR or ~/.openclaw); files go to DIR/agents/AGENT_ID/sessions/.")
def migrate(workspace_dir: str, agent_id: str, no_backup: bool, dry_run: bool, verbose: bool,
            as_json: bool, skips: tuple[str, ...], fixes: tuple[str, ...], lock_timeout: float,
            max_file_size: int, skip_queries: tuple[str, ...] = (),
            fix_queries: tuple[str, ...] = (), target: str = "default",
            openclaw_state: str | None = None) -> None:
    """Migrate WORKSPACE_DIR (the folder that holds .sessions/).

    \b
    A QUERY chooses sessions by what they are; every term must match:
      key:*:cron:*   problem:invalid_json   status:blocked   channel:telegram
      older:30d   newer:2026-01-31   size>1MB   msgs<3   empty   -key:*:main
    A --skip or --fix naming a session wins over a --skip-where or --fix-where."""
    try:
        if ":" in agent_id or not is_valid_key(f"agent:{agent_id}:main"):
            raise click.BadParameter(f"{agent_id!r} cannot be part of a session key "
                                     "(no colon, no white space, not empty)", param_hint="--agent-id")
        decisions = _parse_decisions(skips, fixes)
        fix_where = tuple(_query_and_fix(text) for text in fix_queries)
        if openclaw_state is not None and target != "openclaw":
            raise click.BadParameter("only with --target openclaw", param_hint="--openclaw-state")
    except click.BadParameter as exc:
        _die(exc.format_message(), EXIT_USAGE, as_json)
    openclaw = None
    if target == "openclaw":
        found = commands.openclaw_target(openclaw_state, agent_id)
        if isinstance(found, commands.Refusal):
            _refused(found, as_json)
        openclaw = found

    def shown(event: object) -> None:
        if isinstance(event, LogLine) and (verbose or event.level != "info"):
            click.echo(f"[{event.level}] {event.text}", err=True)
        elif verbose and isinstance(event, Progress) and event.done == event.total:
            click.echo(f"  {event.phase}: {event.total} done", err=True)

    # with --json, no event is shown: none is made (the scan's Progress, one a session)
    on_event: EventSink = no_events if as_json else shown

    try:
        layout = open_layout(workspace_dir)
    except WorkspaceError as exc:
        _die(str(exc), EXIT_USAGE, as_json)
    # .sessions/ is resolved once, for the scan as for apply and the report
    with _interrupt_stops_safely(as_json) as cancel, _anchored(layout, as_json):
        with collector.paused():
            prepared = commands.prepare(
                workspace_dir, agent_id=agent_id, decisions=decisions, skip_where=skip_queries,
                fix_where=fix_where, backup=not no_backup, max_file_bytes=max_file_size << 20,
                on_event=on_event, cancel=cancel, workers=True, target=openclaw)
            # what the scan and the plan made stays to the end: out of the collector's way,
            # before it runs again (its first pass would go through all of it: 0.1 s of the
            # dry run's 1 s on 20,000 small sessions)
            gc.freeze()
        if prepared.refusal is not None:
            _refused(prepared.refusal, as_json, workspace=layout.workspace)
        assert prepared.plan is not None
        if not as_json and verbose:
            for option, text, count in prepared.chosen:
                click.echo(f"{option} {text}: {count:,} session(s)", err=True)
        outcome = commands.migrate(prepared.plan, dry_run=dry_run, on_event=on_event,
                                   cancel=cancel, lock_timeout=lock_timeout, workers=True,
                                   target=openclaw)
    if outcome.refusal is not None:
        _refused(outcome.refusal, as_json)
    assert outcome.report is not None
    with collector.paused():
        if as_json:  # outcome.to_json(), written a piece at a time
            # (color=True: JSON holds no escape character, a raw ESC being written \u001b,
            # so click need not search the 5.6 MB of corpus B's report for codes to strip)
            for chunk in outcome.report.json_chunks():
                click.echo(chunk, nl=False, color=True)
            click.echo()
        else:
            click.echo(results_block(outcome.report, verbose=verbose))
    global _leave_at_once
    _leave_at_once = dry_run
    sys.exit(outcome.exit_code)


def _query_and_fix(text: str) -> tuple[str, str]:
    query, sep, fix = text.rpartition("=")
    if not sep or not query.strip():
        raise click.BadParameter(f"{text!r} is not QUERY=FIX", param_hint="--fix-where")
    if fix not in ALL_FIXES:
        raise click.BadParameter(f"unknown fix {fix!r}; the fixes are: {', '.join(ALL_FIXES)}",
                                 param_hint="--fix-where")
    return query, fix


def _refused(refusal: commands.Refusal, as_json: bool, **extra: Any) -> NoReturn:
    if as_json:
        click.echo(json.dumps(refusal.to_json(**extra)))
    else:
        click.echo(f"migrate-tui: {refusal.message}", err=True)
    sys.exit(refusal.exit_code)


@contextlib.contextmanager
def _anchored(layout: Layout, as_json: bool) -> Iterator[None]:
    try:
        anchor = fsio.anchored(layout.sessions_dir)
        anchor.__enter__()
    except OSError as exc:
        _die(f"{layout.sessions_dir} cannot be opened: {commands.refusal_of(exc).message}",
             EXIT_USAGE, as_json)
    try:
        yield
    finally:
        anchor.__exit__(None, None, None)


@contextlib.contextmanager
def _interrupt_stops_safely(quiet: bool) -> Iterator[threading.Event]:
    """The first Ctrl-C asks the command to stop at its next safe point; a second one
    stops at once (which is safe too: a rerun finishes the job, a rollback undoes it)."""
    cancel = threading.Event()

    def on_sigint(signum: int, frame: Any) -> None:
        if cancel.is_set():
            signal.default_int_handler(signum, frame)
        cancel.set()
        if not quiet:
            click.echo("Stopping at the next safe point (Ctrl-C again to stop now)…", err=True)

    previous = signal.signal(signal.SIGINT, on_sigint)
    try:
        yield cancel
    finally:
        signal.signal(signal.SIGINT, previous)


@cli.command()
@click.argument("workspace_dir", type=click.Path(file_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object on stdout.")
def verify(workspace_dir: str, as_json: bool) -> None:
    """Check that the migration is complete and right: every legacy session migrated and
    matching (or reported as skipped), no interrupted run (exit 4 otherwise)."""
    with _interrupt_stops_safely(as_json) as cancel:
        outcome = commands.verify(workspace_dir, cancel=cancel, workers=True)
    if outcome.refusal is not None:
        _refused(outcome.refusal, as_json)
    result = outcome.result
    assert result is not None
    if as_json:
        click.echo(json.dumps(outcome.to_json()))
    elif outcome.status == "cancelled":
        click.echo("migrate-tui: verify cancelled", err=True)
    else:
        click.echo(f"Verified {result.checked} session(s): "
                   + ("the migration is complete and matches its sources." if result.ok
                      else "DIFFERENCES FOUND"))
        for p in result.problems[:SHOWN_PROBLEMS]:
            click.echo(f"  ✗ {p}")
        if len(result.problems) > SHOWN_PROBLEMS:
            click.echo(f"  … and {len(result.problems) - SHOWN_PROBLEMS} more (--json lists them all)")
        for n in result.notes[:SHOWN_PROBLEMS]:
            click.echo(f"  · {n}")
        if len(result.notes) > SHOWN_PROBLEMS:
            click.echo(f"  · … and {len(result.notes) - SHOWN_PROBLEMS} more notes")
    sys.exit(outcome.exit_code)


@cli.command()
@click.argument("workspace_dir", type=click.Path(file_okay=False))
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@click.option("--force", is_flag=True,
              help="Roll back even files changed after the migration "
              "(their current content is saved in the backup first).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object on stdout.")
@click.option("--lock-timeout", default=10.0, show_default=True, type=click.FloatRange(min=0),
              metavar="SECONDS")
def rollback(workspace_dir: str, yes: bool, force: bool, as_json: bool, lock_timeout: float) -> None:
    """Undo the migration: remove what it created, restore what it replaced (an interrupted
    run too)."""
    planned = commands.plan_rollback(workspace_dir)
    if planned.refusal is not None:
        _refused(planned.refusal, as_json)
    assert planned.plan is not None
    if not as_json:
        from migrate_tui.engine.rollback import describe
        click.echo(describe(planned.plan))
    if planned.plan.nothing_to_do:
        _done(planned, as_json, message=False)
    if not yes and not as_json and not click.confirm("Roll back?", default=False):
        sys.exit(EXIT_OK)
    with _interrupt_stops_safely(as_json) as cancel:
        outcome = commands.rollback(workspace_dir, force=force, cancel=cancel,
                                    lock_timeout=lock_timeout)
    if outcome.refusal is not None:
        _refused(outcome.refusal, as_json)
    _done(outcome, as_json)


def _done(outcome: commands.RollbackOutcome | commands.CleanupOutcome, as_json: bool,
          message: bool = True) -> NoReturn:
    if as_json:
        click.echo(json.dumps(outcome.to_json()))
    elif message:
        click.echo(outcome.message)
    sys.exit(outcome.exit_code)


@cli.command()
@click.argument("workspace_dir", type=click.Path(file_okay=False))
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object on stdout (implies --yes).")
def cleanup(workspace_dir: str, yes: bool, as_json: bool) -> None:
    """Remove the migrated originals whose conversation the agent reaches without them,
    after checking each backup copy byte for byte.  Refuses while a run is interrupted."""
    with _interrupt_stops_safely(as_json) as cancel:
        planned = commands.plan_cleanup(workspace_dir, cancel=cancel, workers=True)
    if planned.refusal is not None:
        _refused(planned.refusal, as_json)
    plan = planned.plan
    assert plan is not None
    if plan.cancelled or plan.refused:
        _done(planned, as_json)
    if not as_json:
        for name, why in plan.keep:
            click.echo(f"  keep {name}: {why}")
    if not plan.remove:
        _done(planned, as_json)
    if not as_json:
        click.echo(planned.message)
    if not yes and not as_json and not click.confirm("Remove them?", default=False):
        sys.exit(EXIT_OK)
    with _interrupt_stops_safely(as_json) as cancel:
        outcome = commands.cleanup(workspace_dir, cancel=cancel, workers=True)
    if outcome.refusal is not None:
        _refused(outcome.refusal, as_json)
    _done(outcome, as_json)


def _json_wanted(args: list[str]) -> bool:
    return "--json" in args


# A dry run's output is written: what is left is to free every record of the scan, plan and
# report one by one, then the interpreter's modules (corpus B: about 30 ms of a 1 s dry run,
# its objects are 20,000 sessions' worth), memory the system takes back whole when the
# process ends.  The program (``main()`` as the entry point, one thread) then ends at once,
# once its output is flushed and the exit handlers have run, as at a normal exit.
_leave_at_once = False


def _end_at_once(code: Any) -> None:
    """``os._exit`` with ``sys.exit``'s status, after the exit handlers and the flushes
    (returns, for the normal exit, if a flush fails: Python says why, as it would)."""
    import atexit
    import os

    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (OSError, ValueError):
        return
    atexit._run_exitfuncs()
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (OSError, ValueError):
        return
    if code is None:
        status = 0
    elif isinstance(code, int):
        status = code
    else:
        return  # a message to print: the normal exit prints it
    os._exit(status & 0xFF)


def main(argv: list[str] | None = None) -> None:
    """Run the command line.  Click's own usage errors are one JSON object under --json
    (exit 2), and a second Ctrl-C (which stops at once, at a safe point too) exits 5."""
    args = list(sys.argv[1:] if argv is None else argv)
    as_json = _json_wanted(args)
    try:
        try:
            code = cli.main(args=args, prog_name="migrate-tui", standalone_mode=False)
        except SystemExit as exc:
            if argv is None and _leave_at_once and threading.active_count() == 1:
                _end_at_once(exc.code)
            raise
    except click.exceptions.Abort as exc:
        if isinstance(exc.__cause__, KeyboardInterrupt) or isinstance(exc.__context__, KeyboardInterrupt):
            _die("stopped at once (a second Ctrl-C). The workspace is at a safe point: run the "
                 "same command again to finish, or rollback to undo", EXIT_CANCELLED, as_json,
                 cancelled=True)
        _die("aborted", EXIT_PROBLEMS, as_json)
    except click.ClickException as exc:
        if as_json:
            click.echo(json.dumps({"status": "failed", "error": exc.format_message(),
                                   "usage_error": True}))
            sys.exit(exc.exit_code)
        exc.show()
        sys.exit(exc.exit_code)
    sys.exit(code if isinstance(code, int) else 0)


__all__ = ["EXIT_PROBLEMS", "cli", "main"]
