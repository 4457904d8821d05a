"""Fixtures for the engine suite: a fresh legacy workspace per test, in ``tmp_path``."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.engine.engine_support import Workspace


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    """An empty legacy workspace: ``tmp_path/ws/.sessions/``."""
    return Workspace(tmp_path / "ws")
