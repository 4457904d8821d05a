"""Fixtures for the hostile-workspace suite; the builders are in hostile_support.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.hostile.hostile_support import Hostile


@pytest.fixture
def hw(tmp_path: Path) -> Hostile:
    return Hostile(tmp_path)
