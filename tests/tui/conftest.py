"""Fixtures for the wizard's tests: a demo workspace at a fixed relative path ("demo", the
current folder being a temporary one, so screens never show temp folder names).  The helpers
are in tui_support.py."""

from __future__ import annotations

import gc
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from migrate_tui.demo import DemoInfo, generate_workspace, write_legacy_session


@pytest.fixture(autouse=True)
def unfreeze_gc() -> Iterator[None]:
    """The app freezes the cyclic GC's view of its scan and plan (MigrateApp.scan_done), which
    lives as long as the wizard's process; here that is the whole test run."""
    yield
    gc.unfreeze()


@pytest.fixture
def demo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> DemoInfo:
    """The demo workspace (12 good sessions + one per damaged kind) at ./demo."""
    monkeypatch.chdir(tmp_path)
    return generate_workspace(tmp_path / "demo", sessions=12, damaged=True, seed=0)


@pytest.fixture
def crowd(demo: DemoInfo) -> DemoInfo:
    """The demo, plus 20 cron sessions (8 updated 60 days ago, 12 two days ago) and 6 more
    files cut short like the demo's truncated one (7 with invalid_json in all)."""
    folder = Path(demo.sessions_dir)
    now = datetime.now(UTC)
    keys = json.loads((folder / "session_map.json").read_text())
    for n in range(20):
        sid = f"cron-{n:02d}"
        when = now - timedelta(days=60 if n < 8 else 2)
        write_legacy_session(folder, sid, [{"role": "user", "content": f"run {n}"},
                                           {"role": "assistant", "content": "done"}],
                             {"label": f"cron job {n}"}, when - timedelta(minutes=5), when)
        keys[f"agent:main:cron:job-{n:02d}"] = sid
    (folder / "session_map.json").write_text(json.dumps(keys, indent=2))
    cut = (folder / demo.damaged["invalid_json"]).read_bytes()
    for n in range(6):
        (folder / f"cut-{n}.json").write_bytes(cut.replace(
            demo.damaged["invalid_json"][:-5].encode(), f"cut-{n}".encode()))
    return demo


