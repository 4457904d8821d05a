"""Packaging: ``migrate-tui --version`` says the one version, and the wheel built from the
repository holds the package with its stylesheet and nothing of the tests, and runs.

The wheel is built offline (``pip wheel --no-build-isolation``, setuptools from the test
extra) from a copy of the repository, so the checkout is left as it was."""

from __future__ import annotations

import importlib.metadata
import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

import migrate_tui

ROOT = Path(__file__).resolve().parent.parent
TIMEOUT = 300  # seconds: a hang fails the test instead of the suite
# what a checkout may hold besides the repository's own files
NOT_COPIED = shutil.ignore_patterns(".git", ".venv", "build", "dist", "*.egg-info", ".demo",
                                    ".interop", "__pycache__", "results", ".pytest_cache")


def _run(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None
         ) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, capture_output=True, text=True, timeout=TIMEOUT, env=env, cwd=cwd)


def test_version_is_the_one_version() -> None:
    proc = _run(sys.executable, "-m", "migrate_tui", "--version")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == f"migrate-tui, version {migrate_tui.__version__}"
    assert importlib.metadata.version("migrate-tui") == migrate_tui.__version__


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    try:
        setuptools_version = importlib.metadata.version("setuptools")
    except importlib.metadata.PackageNotFoundError:
        pytest.skip("setuptools is not installed: the wheel cannot be built offline")
    if int(setuptools_version.split(".")[0]) < 77:
        pytest.skip(f"setuptools {setuptools_version} < 77 cannot build this project offline")
    tmp = tmp_path_factory.mktemp("wheel")
    source = tmp / "source"
    shutil.copytree(ROOT, source, ignore=NOT_COPIED, symlinks=True)
    out = tmp / "out"
    proc = _run(sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                "--no-index", "-q", "-w", str(out), str(source))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    (built,) = out.glob("migrate_tui-*.whl")
    return built


def test_the_wheel_holds_the_package_and_its_stylesheet_but_no_tests(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    assert wheel.name == f"migrate_tui-{migrate_tui.__version__}-py3-none-any.whl"
    assert "migrate_tui/tui/app.tcss" in names
    tops = {name.split("/")[0] for name in names}
    assert tops == {"migrate_tui", f"migrate_tui-{migrate_tui.__version__}.dist-info"}
    assert not [n for n in names if "tests/" in n or "conftest" in n or "__snapshots__" in n]
    # every module of the package is in it
    package = ROOT / "migrate_tui"
    modules = {str(p.relative_to(ROOT)) for p in package.rglob("*.py") if "__pycache__" not in p.parts}
    assert modules <= set(names), sorted(modules - set(names))
    metadata = zipfile.ZipFile(wheel).read(
        f"migrate_tui-{migrate_tui.__version__}.dist-info/entry_points.txt").decode()
    assert "migrate-tui = migrate_tui.cli:main" in metadata


def test_the_wheel_runs_the_command_and_the_wizard(wheel: Path, tmp_path: Path) -> None:
    """The wheel unpacked (a pure wheel's install) beside the installed dependencies, the
    checkout's own package out of sight (``-S``: no .pth file, so no editable install)."""
    target = tmp_path / "installed"
    zipfile.ZipFile(wheel).extractall(target)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(target), sysconfig.get_paths()["purelib"]])}
    env.pop("PYTHONSAFEPATH", None)
    python = [sys.executable, "-S"]

    where = _run(*python, "-c", "import migrate_tui; print(migrate_tui.__file__)", env=env, cwd=tmp_path)
    assert where.stdout.strip() == str(target / "migrate_tui" / "__init__.py"), where.stderr

    version = _run(*python, "-m", "migrate_tui", "--version", env=env, cwd=tmp_path)
    assert version.stdout.strip() == f"migrate-tui, version {migrate_tui.__version__}", version.stderr

    demo = _run(*python, "-m", "migrate_tui.demo", "ws", env=env, cwd=tmp_path)
    assert demo.returncode == 0, demo.stderr
    dry = _run(*python, "-m", "migrate_tui", "migrate", "ws", "--dry-run", "--json", env=env, cwd=tmp_path)
    assert dry.returncode == 0, dry.stderr
    assert '"status": "success"' in dry.stdout

    wizard = (
        "import asyncio\n"
        "from migrate_tui.tui.app import MigrateApp\n"
        "async def main():\n"
        "    app = MigrateApp('ws')\n"
        "    async with app.run_test(size=(80, 24)) as pilot:\n"
        "        await pilot.pause()\n"
        "        print(type(app.screen).__name__, len(app.stylesheet.rules) > 0)\n"
        "asyncio.run(main())\n")
    shown = _run(*python, "-c", wizard, env=env, cwd=tmp_path)
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.split() == ["WorkspaceScreen", "True"]
