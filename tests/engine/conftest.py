"""Fixtures for the engine suite: a fresh legacy workspace per test, in ``tmp_path``."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from engine_support import Workspace  # noqa: E402


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    """An empty legacy workspace: ``tmp_path/ws/.sessions/``."""
    return Workspace(tmp_path / "ws")


@pytest.fixture
def unlimited_int_digits():
    """Let this process's ``json.loads`` read integers over Python's 4,300-digit limit, so a
    test can compare such values (the engine itself must cope without this)."""
    previous = sys.get_int_max_str_digits()
    sys.set_int_max_str_digits(0)
    try:
        yield
    finally:
        sys.set_int_max_str_digits(previous)
