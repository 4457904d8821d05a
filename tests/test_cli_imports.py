"""``import migrate_tui.cli`` loads only what a dry run needs: apply, verify, rollback,
clean-up and the OpenClaw target are imported by the commands that run them.  A dry run pays
for every module the command line imports at its top, in its one serial process; this test
fails if one of them is imported there again."""

from __future__ import annotations

import json
import subprocess
import sys

NOT_FOR_A_DRY_RUN = [
    "migrate_tui.engine.apply",
    "migrate_tui.engine.verify",
    "migrate_tui.engine.rollback",
    "migrate_tui.engine.cleanup",
    "migrate_tui.engine.targets.openclaw_apply",
    "migrate_tui.engine.targets.openclaw_plan",
    "migrate_tui.engine.targets.openclaw_layout",
    "migrate_tui.tui",
    "textual",
]


def _loaded_after(code: str) -> set[str]:
    out = subprocess.run([sys.executable, "-c", code + "\nimport sys, json\n"
                          "print(json.dumps(sorted(sys.modules)))"],
                         capture_output=True, text=True, check=True)
    return set(json.loads(out.stdout.splitlines()[-1]))


def test_importing_the_command_line_leaves_out_what_a_dry_run_does_not_need() -> None:
    loaded = _loaded_after("import migrate_tui.cli")
    assert "migrate_tui.engine.commands" in loaded  # the check sees the modules it imports
    assert sorted(loaded & set(NOT_FOR_A_DRY_RUN)) == []


def test_a_dry_run_itself_does_not_import_them(tmp_path) -> None:
    sessions = tmp_path / ".sessions"
    sessions.mkdir()
    stamp = "2026-02-11T10:00:00.708193"
    (sessions / "a1.json").write_text(json.dumps(
        {"id": "a1", "created_at": stamp, "updated_at": stamp,
         "messages": [{"role": "user", "content": "hi"}]}), encoding="utf-8")
    loaded = _loaded_after(
        "import contextlib, io, json\nfrom migrate_tui.cli import cli\nout = io.StringIO()\n"
        "with contextlib.redirect_stdout(out):\n"
        f"    try: cli.main(['migrate', {str(tmp_path)!r}, '--dry-run', '--json'])\n"
        "    except SystemExit: pass\n"
        "report = json.loads(out.getvalue())\n"
        "assert report['dry_run'] and report['migrated'] == 1, report\n")
    assert sorted(loaded & set(NOT_FOR_A_DRY_RUN)) == []
    assert "filelock" not in loaded  # no lock file: nothing to read a pid from


def test_the_engine_still_exports_apply_plan() -> None:
    import migrate_tui.engine as engine
    from migrate_tui.engine import apply_plan
    from migrate_tui.engine.apply import apply_plan as the_one

    assert apply_plan is the_one and engine.apply_plan is the_one
    assert set(engine.__all__) <= set(dir(engine)) | {"apply_plan"}
