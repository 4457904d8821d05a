"""Fixtures for the lifecycle suite: a fresh legacy workspace per test, in ``tmp_path``."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parents[1] / "engine"))

from lifecycle_support import Workspace  # noqa: E402


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    """An empty legacy workspace: ``tmp_path/ws/.sessions/``."""
    return Workspace(tmp_path / "ws")
