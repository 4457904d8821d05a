"""The wizard's structure: one typed state on the app; screens return results (dismiss) and
ask through the host, never importing the app module, the navigation or another screen, and
never writing the app's attributes; the navigation is the only code that moves between
screens."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import migrate_tui.tui as tui_package
from migrate_tui.tui.app import MigrateApp
from migrate_tui.tui.state import WizardState

TUI = Path(tui_package.__file__).parent
SCREENS = sorted(p for p in (TUI / "screens").glob("*.py") if p.name != "__init__.py")
STACK_CALLS = {"push_screen", "pop_screen", "switch_screen", "install_screen", "push_screen_wait"}


def imports_of(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return names


@pytest.mark.parametrize("path", SCREENS, ids=lambda p: p.name)
def test_a_screen_imports_no_other_screen_nor_the_app(path: Path) -> None:
    wrong = {name for name in imports_of(path)
             if name in ("migrate_tui.tui.app", "migrate_tui.tui.navigation")
             or name.startswith("migrate_tui.tui.screens.")}
    assert not wrong, f"{path.name} imports {sorted(wrong)}"


def _chain(node: ast.AST) -> list[str]:
    names = []
    while isinstance(node, ast.Attribute):
        names.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        names.append(node.id)
    return names[::-1]


@pytest.mark.parametrize("path", SCREENS, ids=lambda p: p.name)
def test_a_screen_writes_no_app_attribute_and_moves_no_screen(path: Path) -> None:
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        targets = node.targets if isinstance(node, ast.Assign) else (
            [node.target] if isinstance(node, (ast.AugAssign, ast.AnnAssign)) else [])
        for target in targets:
            chain = _chain(target)
            assert chain[:2] not in (["self", "app"], ["self", "state"], ["self", "wizard"]), \
                f"{path.name}:{node.lineno} writes {'.'.join(chain)}"
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            assert node.func.attr not in STACK_CALLS, f"{path.name}:{node.lineno} calls {node.func.attr}"


def test_only_the_navigation_moves_between_screens() -> None:
    movers = []
    for path in sorted(TUI.rglob("*.py")):
        tree = ast.parse(path.read_text())
        if any(isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) and n.func.attr in STACK_CALLS
               for n in ast.walk(tree)):
            movers.append(path.name)
    assert movers == ["navigation.py"]


def test_the_app_holds_one_typed_state() -> None:
    app = MigrateApp("demo")
    assert isinstance(app.state, WizardState)
    for old in ("plan", "scan", "decisions", "inventory", "outcome", "workspace_label", "agent_id"):
        assert not hasattr(app, old), old
