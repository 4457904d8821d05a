"""The report of a run is built once: apply builds it, saves it beside the backup written a
piece at a time (the very bytes of ``jsonio.dumps_report(report.to_json())``), and hands
that object to the command, which prints it."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from migrate_tui.core import fsio, jsonio
from migrate_tui.engine import apply, build_plan, build_report, commands, report, scan_workspace
from tests.engine.engine_support import Workspace, conversation


def _varied(ws: Workspace) -> None:
    """Sessions whose report holds every kind of text: non-ASCII, control characters, a
    lone surrogate (a key that JSON escapes allow), a problem, a warning, no key at all."""
    for n in range(5):
        ws.add(f"s{n}", keys=(f"agent:main:s{n}",))
    ws.add("caf\u00e9-\u6f22\u5b57", conversation("x", 2), keys=("agent:main:caf\u00e9 \U0001f600",))
    ws.add("tabbed", keys=("agent:main:tab\there \"quoted\" back\\slash \x01\x7f\u2028",))
    ws.add("lonely", keys=("agent:main:\ud800lone",))  # a lone surrogate: only json writes it
    ws.add("nokey")
    ws.write_raw("broken.json", '{"session_id": "broken", "messages": [')
    ws.write_raw("wrongname.json", json.dumps({"session_id": "other-id", "messages": []}))


def _old_way(rep: report.Report) -> bytes:
    return jsonio.dumps_report(rep.to_json())


def test_saved_chunks_are_the_bytes_of_the_whole_object(ws: Workspace) -> None:
    _varied(ws)
    plan = build_plan(scan_workspace(str(ws.root)), "main")
    dry = build_report(plan, None, dry_run=True)  # no keys after "sessions"
    result = apply.apply_plan(plan, lock_timeout=5)
    ran = build_report(plan, result, dry_run=False)  # keys after "sessions"
    assert not ran.dry_run and ran.errors >= 1 and ran.warnings >= 0
    for rep in (dry, ran):
        whole = _old_way(rep)
        assert b"\\ud800" in whole and "caf\u00e9".encode() in whole  # both writers were needed
        for chunk_bytes in (1, 100, 1 << 16):
            pieces = list(rep.saved_chunks(chunk_bytes))
            assert b"".join(pieces) == whole
            if chunk_bytes == 1:
                assert len(pieces) == len(plan.sessions) + 1  # one a session, then the end


def test_saved_chunks_without_sessions_or_surrogates(ws: Workspace) -> None:
    empty = build_report(build_plan(scan_workspace(str(ws.root)), "main"), None, dry_run=True)
    assert b"".join(empty.saved_chunks()) == _old_way(empty)
    ws.add("plain", keys=("agent:main:plain",))
    plain = build_report(build_plan(scan_workspace(str(ws.root)), "main"), None, dry_run=True)
    assert b"".join(plain.saved_chunks(1)) == _old_way(plain)  # orjson's bytes throughout


def test_the_saved_report_is_the_printed_report(ws: Workspace) -> None:
    _varied(ws)
    plan = build_plan(scan_workspace(str(ws.root)), "main")
    built: list[Any] = []
    real = report.build_report

    def counted(*args: Any, **kwargs: Any) -> Any:
        built.append(args)
        return real(*args, **kwargs)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(apply, "build_report", counted)
        mp.setattr(commands, "build_report", counted)
        outcome = commands.migrate(plan, lock_timeout=5)
    assert len(built) == 1  # built once, by apply
    assert outcome.report is not None and outcome.result is not None
    assert outcome.report is outcome.result.report  # the very object apply built and saved
    saved = Path(ws.backup / "last_report.json").read_bytes()
    assert saved == _old_way(outcome.report)
    assert outcome.report.report_path == str(ws.backup / "last_report.json")
    assert json.loads(saved)["report_path"] == outcome.report.report_path
    assert oct(os.stat(ws.backup / "last_report.json").st_mode & 0o777) == oct(0o600)
    assert not list(ws.root.rglob(f"*{fsio.TEMP_SUFFIX}"))


def test_a_report_that_cannot_be_saved_says_so_in_the_printed_report(ws: Workspace) -> None:
    ws.add("one", keys=("agent:main:one",))
    plan = build_plan(scan_workspace(str(ws.root)), "main")
    target = str(ws.backup / "last_report.json")

    def hook(op: str, path: str) -> None:
        if op == "write" and os.path.basename(path).startswith(".last_report.json."):
            raise OSError(28, "No space left on device", path)

    with fsio.fault_hook(hook):
        outcome = commands.migrate(plan, lock_timeout=5)
    rep = outcome.report
    assert rep is not None and outcome.result is not None and rep is outcome.result.report
    assert rep.status == "success" and rep.committed and outcome.exit_code == 0
    assert rep.report_path is None and "No space left" in (rep.report_error or "")
    assert [d.problem for d in rep.warning_details] == ["report_not_saved"]
    out = rep.to_json()
    assert "report_path" not in out and out["warnings"] == 1
    assert not os.path.exists(target) and not list(ws.root.rglob(f"*{fsio.TEMP_SUFFIX}"))


def test_the_report_of_a_run_with_nothing_to_write_is_still_built(ws: Workspace) -> None:
    ws.add("one", keys=("agent:main:one",))
    assert commands.migrate(build_plan(scan_workspace(str(ws.root)), "main"), lock_timeout=5).exit_code == 0
    again = commands.migrate(build_plan(scan_workspace(str(ws.root)), "main"), lock_timeout=5)
    assert again.report is not None and again.report.already_migrated == 1 and again.exit_code == 0
