"""migrate_tui.engine imports its public names on first use (PEP 562): importing the
package, or one of its modules, loads none of the others; each name is the object of its
module; ``inventory`` is the function, whichever is imported first."""

from __future__ import annotations

import json
import subprocess
import sys

import migrate_tui.engine as engine


def _run(code: str) -> object:
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(done.stdout.splitlines()[-1])


def test_importing_the_package_loads_nothing_else() -> None:
    loaded = _run("import json, sys, migrate_tui.engine\n"
                  "print(json.dumps(sorted(m for m in sys.modules if m.startswith('migrate_tui.'))))")
    assert loaded == ["migrate_tui.engine"]


def test_a_dry_runs_modules_leave_out_the_others() -> None:
    loaded = _run("import json, sys, migrate_tui.cli, migrate_tui.engine.commands\n"
                  "print(json.dumps(sorted(sys.modules)))")
    assert isinstance(loaded, list)
    for name in ("migrate_tui.engine.inventory", "migrate_tui.engine.preview", "migrate_tui.engine.apply"):
        assert name not in loaded


def test_every_name_is_its_modules() -> None:
    import importlib

    assert set(engine.__all__) <= set(dir(engine))
    for name in engine.__all__:
        value = getattr(engine, name)
        where = engine._FROM[name]
        assert value is getattr(importlib.import_module(where), name), name
    assert "collector" not in engine._FROM  # a submodule: the import system's
    from migrate_tui.engine import collector

    assert collector.__name__ == "migrate_tui.engine.collector"


def test_inventory_is_the_function_whichever_comes_first() -> None:
    for first in ("import migrate_tui.engine.inventory", "from migrate_tui.engine import Inventory",
                  "from migrate_tui.engine import inventory"):
        kind = _run(f"{first}\nimport json\nfrom migrate_tui.engine import inventory\n"
                    "import migrate_tui.engine.inventory as again\n"
                    "print(json.dumps([type(inventory).__name__, type(again).__name__]))")
        assert kind == ["function", "function"], first


def test_an_unknown_name() -> None:
    import pytest

    with pytest.raises(AttributeError, match="no attribute 'nothing'"):
        _ = engine.nothing  # type: ignore[attr-defined]
