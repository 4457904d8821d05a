"""New files are no more readable than the files they come from (docs/guarantees.md), and the engine,
the store and the command never import Textual."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import textwrap

import pytest

from tests.engine.engine_support import Workspace


def _mode(path: os.PathLike[str] | str) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


def _no_wider(new: int, source: int) -> bool:
    """No group/other permission on ``new`` that ``source`` lacks."""
    return new & 0o077 & ~source == 0


@pytest.mark.parametrize("source_mode, expected", [
    (0o600, 0o600),
    (0o640, 0o640),
    (0o644, 0o644),
    (0o400, 0o600),  # owner-only source: the owner may write its new file, nobody else reads it
    (0o604, 0o604),
])
def test_transcript_mode_follows_its_source(ws: Workspace, source_mode: int, expected: int) -> None:
    ws.add("one", keys=("agent:main:main",), mode=source_mode)
    run = ws.migrate()
    assert run.rc == 0, str(run)
    transcript = _mode(ws.sessions / "one.jsonl")
    assert transcript == expected
    assert _no_wider(transcript, source_mode)
    # a new sessions.json is no more readable than the one session it was made from
    assert _no_wider(_mode(ws.sessions / "sessions.json"), source_mode)
    # the backup copy keeps the source's mode; the folder and its bookkeeping are private
    assert _mode(ws.backup / "one.json") == source_mode
    assert _mode(ws.backup) & 0o077 == 0
    assert _mode(ws.backup / "manifest.json") & 0o077 == 0
    assert _mode(ws.backup / "journal.jsonl") & 0o077 == 0


def test_new_sessions_json_is_no_more_readable_than_any_source(ws: Workspace) -> None:
    ws.add("public", keys=("agent:main:a",), mode=0o644)
    ws.add("private", keys=("agent:main:b",), mode=0o600)
    ws.add("group", keys=("agent:main:c",), mode=0o640)
    run = ws.migrate()
    assert run.rc == 0, str(run)
    assert _mode(ws.sessions / "public.jsonl") == 0o644
    assert _mode(ws.sessions / "private.jsonl") == 0o600
    assert _mode(ws.sessions / "group.jsonl") == 0o640
    # it holds the private session's entry: private it is
    assert _mode(ws.sessions / "sessions.json") == 0o600


def test_an_existing_sessions_json_keeps_its_mode(ws: Workspace) -> None:
    store = ws.write_store({"agent:main:x": {"session_id": "x", "updated_at": 1, "session_file": "x.jsonl"}})
    store.chmod(0o640)
    ws.add("one", keys=("agent:main:main",), mode=0o644)
    run = ws.migrate()
    assert run.rc == 0, str(run)
    assert _mode(ws.sessions / "sessions.json") == 0o640
    assert _mode(ws.backup / "sessions.json") == 0o640


def test_modes_do_not_depend_on_the_umask(ws: Workspace) -> None:
    ws.add("one", keys=("agent:main:main",), mode=0o600)
    script = textwrap.dedent(f"""
        import os, sys
        os.umask(0)
        from migrate_tui.cli import main
        sys.argv = ["migrate-tui", "migrate", {str(ws.root)!r}, "--json"]
        main()
    """)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    for path in (ws.sessions / "one.jsonl", ws.sessions / "sessions.json"):
        assert _mode(path) == 0o600, path
    assert _mode(ws.backup) & 0o077 == 0


IMPORT_CHECK = textwrap.dedent("""
    import sys
    import migrate_tui.engine, migrate_tui.store, migrate_tui.cli
    assert not any(m.startswith("textual") for m in sys.modules), sorted(
        m for m in sys.modules if m.startswith("textual"))
    # a whole headless run does not pull it in either
    from migrate_tui.cli import main
    try:
        main(["migrate", sys.argv[1], "--json"])
    except SystemExit as exc:
        assert exc.code == 0, exc.code
    assert not any(m.startswith("textual") for m in sys.modules), sorted(
        m for m in sys.modules if m.startswith("textual"))
    print("no textual")
""")


def test_engine_store_and_cli_never_import_textual(ws: Workspace) -> None:
    ws.add("one", keys=("agent:main:main",))
    proc = subprocess.run([sys.executable, "-c", IMPORT_CHECK, str(ws.root)],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.rstrip().endswith("no textual")
    assert (ws.sessions / "one.jsonl").is_file()


def test_the_brief_import_check_verbatim() -> None:
    proc = subprocess.run(
        [sys.executable, "-c", "import sys, migrate_tui.engine, migrate_tui.store, migrate_tui.cli; "
         "assert not any(m.startswith('textual') for m in sys.modules)"],
        capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
