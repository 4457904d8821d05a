"""Parsing in worker processes (engine/processes.py) changes nothing but the time taken.

The same demo workspace (damaged files included, fixes chosen) is migrated twice on real
files: once with the work forced into two worker processes, once in this process; every
file written, the scan and the report are the same.  Then the iterator's own promises:
results in order, a skipped item not computed, a worker that dies replaced by this
process, Ctrl-C (SIGINT, sent to the whole process group) not killing a worker.
"""

from __future__ import annotations

import os
import shutil
import signal
import time
from pathlib import Path

import pytest

from migrate_tui.core import fsio
from migrate_tui.demo import generate_workspace
from migrate_tui.engine import (
    Decision,
    apply_plan,
    build_plan,
    processes,
    scan_workspace,
)
from migrate_tui.engine.report import build_report


@pytest.fixture()
def force_workers(monkeypatch: pytest.MonkeyPatch) -> None:
    """Two workers for any number of files of any size."""
    monkeypatch.setattr(processes, "MIN_ITEMS", 1)
    monkeypatch.setattr(processes, "MIN_AVERAGE_BYTES", 0)
    monkeypatch.setenv(processes.JOBS_VARIABLE, "2")


@pytest.fixture()
def pools(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """For each InOrder made: whether it got worker processes."""
    made: list[bool] = []
    real_init = processes.InOrder.__init__

    def watched_init(self: processes.InOrder, *args: object, **kwargs: object) -> None:
        real_init(self, *args, **kwargs)
        made.append(self._pool is not None)

    monkeypatch.setattr(processes.InOrder, "__init__", watched_init)
    return made


def tree(root: Path) -> dict[str, bytes]:
    """Every file under .sessions (the journal, manifest and report hold run ids and
    times, so only their presence is compared)."""
    out = {}
    for path in sorted((root / ".sessions").rglob("*")):
        if path.is_file():
            rel = str(path.relative_to(root))
            volatile = path.name in ("journal.jsonl", "manifest.json", "last_report.json")
            out[rel] = b"" if volatile else path.read_bytes()
    return out


def migrate(root: Path, workers: bool = True) -> tuple[object, dict]:
    """Scan, choose the first fix offered for each blocked session, migrate (as the command
    line and the wizard do, allowing worker processes)."""
    scan = scan_workspace(str(root), workers=workers)
    first = build_plan(scan, "main", {}, backup=True)
    decisions = {ps.file_id: Decision(fixes=frozenset([ps.open_problems[0].fixes[0]]))
                 for ps in first.sessions
                 if ps.action == "blocked" and ps.open_problems and ps.open_problems[0].fixes}
    assert decisions, "the demo workspace should have damaged files to fix"
    plan = build_plan(scan, "main", decisions, backup=True)
    result = apply_plan(plan, workers=workers)
    report = build_report(plan, result, dry_run=False)
    return scan, report


def test_workers_write_exactly_what_one_process_writes(tmp_path: Path, monkeypatch, force_workers,
                                                        pools: list[bool]) -> None:
    # both runs at the same path, so that paths in problems and reports are the same too
    pristine, ws = tmp_path / "pristine", tmp_path / "ws"
    generate_workspace(pristine, sessions=60, damaged=True, seed=7)
    shutil.copytree(pristine, ws, symlinks=True)
    assert processes.jobs_for([1] * 60) == 2
    scan_a, report_a = migrate(ws)
    assert pools == [True, True]  # the scan and the transcripts both went to workers
    files_a = tree(ws)
    shutil.rmtree(ws)
    shutil.copytree(pristine, ws, symlinks=True)
    monkeypatch.setenv(processes.JOBS_VARIABLE, "1")
    assert processes.jobs_for([1] * 60) == 0
    scan_b, report_b = migrate(ws)
    assert report_a["migrated"] > 50 and report_a["status"] == "success"
    assert report_a == report_b
    assert files_a == tree(ws)
    assert scan_a.sessions == scan_b.sessions


def test_library_callers_get_no_workers_unless_they_ask(tmp_path: Path, force_workers,
                                                        pools: list[bool]) -> None:
    """A script without ``if __name__ == "__main__"`` would be run again by each worker."""
    generate_workspace(tmp_path, sessions=40, damaged=True, seed=3)
    migrate(tmp_path, workers=False)
    assert pools == [False, False]


def test_a_fault_hook_keeps_the_work_here(force_workers) -> None:
    assert processes.jobs_for([10 ** 6] * 100) == 2
    with fsio.fault_hook(lambda op, path: None):
        assert processes.jobs_for([10 ** 6] * 100) == 0


def test_small_or_few_files_stay_here(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(processes.JOBS_VARIABLE, "2")
    assert processes.jobs_for([200_000] * processes.MIN_ITEMS) == 2
    assert processes.jobs_for([200_000] * (processes.MIN_ITEMS - 1)) == 0
    assert processes.jobs_for([5_000] * 20_000) == 0  # 20,000 small files: IPC would cost more


# ---------------------------------------------------------------- the iterator itself
# Tasks run in worker processes, so they are module-level; each item carries the test
# process's pid so that a task can tell where it runs and never harm the test process.


def double(item: tuple[int, int]) -> int:
    return item[1] * 2


def where(item: tuple[int, int]) -> int:
    return os.getpid()


def die_in_worker(item: tuple[int, int]) -> int:
    parent, value = item
    if value == 5 and os.getpid() != parent:
        os._exit(3)  # the worker dies mid-item
    return value * 2


def interrupt_worker(item: tuple[int, int]) -> int:
    parent, value = item
    if os.getpid() != parent:
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(0.05)
    return value * 2


def test_results_come_in_order_and_skipped_items_are_passed_by() -> None:
    items = [(os.getpid(), n) for n in range(40)]
    work = processes.InOrder(double, items, [1] * 40, jobs=2)
    got = []
    for n in range(40):
        if n % 3 == 0:
            work.skip()
        else:
            got.append(next(work))
    work.close()
    assert got == [n * 2 for n in range(40) if n % 3]


def all_results(task, n: int) -> list[int]:  # noqa: ANN001
    """Every result of ``task`` over n items, from two workers, the workers closed after."""
    work = processes.InOrder(task, [(os.getpid(), i) for i in range(n)], [1] * n, jobs=2)
    try:
        return list(work)
    finally:
        work.close()


def test_the_work_is_done_in_other_processes() -> None:
    pids = set(all_results(where, 20))
    assert os.getpid() not in pids and 1 <= len(pids) <= 2


def test_a_dead_worker_is_replaced_by_this_process() -> None:
    assert all_results(die_in_worker, 12) == [n * 2 for n in range(12)]


def test_sigint_does_not_kill_a_worker() -> None:
    assert all_results(interrupt_worker, 6) == [n * 2 for n in range(6)]


def test_closing_early_stops_the_workers() -> None:
    items = [(os.getpid(), n) for n in range(200)]
    work = processes.InOrder(double, items, [1] * 200, jobs=2)
    assert next(work) == 0
    work.close()
    assert work._pool is None
