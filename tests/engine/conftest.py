"""Fixtures for the engine suite: a fresh legacy workspace per test, in ``tmp_path``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.engine.engine_support import Workspace


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    """An empty legacy workspace: ``tmp_path/ws/.sessions/``."""
    return Workspace(tmp_path / "ws")


@pytest.fixture
def two_workers(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Work spread over two worker processes however little there is; the list returned
    holds the number of processes each spreading chose (``processes.jobs_for``)."""
    from migrate_tui.engine import processes

    monkeypatch.setattr(processes, "MIN_ITEMS", 1)
    monkeypatch.setattr(processes, "MIN_TOTAL_BYTES", 0)
    monkeypatch.setattr(processes, "MIN_BATCH_ITEMS", 1)
    monkeypatch.setenv(processes.JOBS_VARIABLE, "2")
    used: list[int] = []
    real_jobs_for = processes.jobs_for

    def jobs_for(*args: Any) -> int:
        used.append(real_jobs_for(*args))
        return used[-1]

    monkeypatch.setattr(processes, "jobs_for", jobs_for)
    return used
