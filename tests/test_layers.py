"""The package's floors: core beneath engine and store; the store loads no engine module."""

from __future__ import annotations

import subprocess
import sys

import pytest


def _loaded_after(statement: str) -> set[str]:
    script = f"import sys\n{statement}\nprint('\\n'.join(sorted(sys.modules)))"
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return set(proc.stdout.split())


def test_the_store_loads_no_engine_module() -> None:
    loaded = _loaded_after("import migrate_tui.store")
    assert not {m for m in loaded if m.startswith("migrate_tui.engine")}
    assert not {m for m in loaded if m.startswith(("textual", "rich", "multiprocessing"))}


@pytest.mark.parametrize("module", ["fsio", "jsonio", "ids", "layout", "errors", "entry_fields"])
def test_core_imports_nothing_above_it(module: str) -> None:
    loaded = _loaded_after(f"import migrate_tui.core.{module}")
    upward = {m for m in loaded if m.startswith("migrate_tui.") and not m.startswith("migrate_tui.core")}
    assert not upward
