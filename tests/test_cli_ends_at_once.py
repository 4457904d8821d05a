"""The command line's dry run ends without freeing its objects one by one (cli.main as the
program's entry point): its output whole, its exit status, the exit handlers run."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from migrate_tui.demo import generate_workspace

ROOT = Path(__file__).resolve().parents[1]

DRIVER = textwrap.dedent("""
    import atexit, sys
    atexit.register(lambda: print("handler ran", file=sys.stderr))
    from migrate_tui import cli
    real = cli._end_at_once
    def end_at_once(code):
        print("ending at once", file=sys.stderr)
        real(code)
    cli._end_at_once = end_at_once
    sys.argv = ["migrate-tui", *sys.argv[1:]]
    cli.main()
""")


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", DRIVER, *args], capture_output=True, text=True,
                          timeout=120, cwd=str(ROOT))


@pytest.mark.parametrize("damaged", [False, True])
def test_a_dry_run_ends_at_once_with_its_output_and_status(tmp_path: Path, damaged: bool) -> None:
    generate_workspace(tmp_path, sessions=30, damaged=damaged, seed=3)
    in_process = subprocess.run(
        [sys.executable, "-c", "import sys; from migrate_tui.cli import main; "
         "main(sys.argv[1:])", "migrate", str(tmp_path), "--dry-run", "--json"],
        capture_output=True, text=True, timeout=120, cwd=str(ROOT))
    run = _run("migrate", str(tmp_path), "--dry-run", "--json")
    assert "ending at once" in run.stderr and "handler ran" in run.stderr
    assert run.returncode == in_process.returncode == (1 if damaged else 0)
    assert run.stdout == in_process.stdout
    assert json.loads(run.stdout)["sessions"]
    text = _run("migrate", str(tmp_path), "--dry-run", "-v")
    assert text.returncode == run.returncode and "Migration results (dry run" in text.stdout


def test_only_a_dry_run_ends_at_once(tmp_path: Path) -> None:
    """A migration and a refused dry run end the usual way."""
    generate_workspace(tmp_path, sessions=5, seed=4)
    (tmp_path / ".sessions" / "session_map.json").write_text("[1]\n")
    refused = _run("migrate", str(tmp_path), "--dry-run", "--json")
    assert refused.returncode == 2 and "ending at once" not in refused.stderr
    assert "handler ran" in refused.stderr
    (tmp_path / ".sessions" / "session_map.json").write_text("{}\n")
    run = _run("migrate", str(tmp_path), "--json")
    assert run.returncode == 0, run.stderr
    assert "ending at once" not in run.stderr and "handler ran" in run.stderr
