"""Parsing in worker processes (engine/processes.py) changes nothing but the time taken.

The same demo workspace (damaged files included, fixes chosen) is migrated twice on real
files: once with the work forced into two worker processes, once in this process; every
file written, the scan and the report are the same.  Then the iterator's own promises:
results in order, a skipped item not computed, a worker that dies replaced by this
process, Ctrl-C (SIGINT, sent to the whole process group) not killing a worker.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from migrate_tui.core import fsio
from migrate_tui.demo import generate_workspace
from migrate_tui.engine import (
    Decision,
    apply_plan,
    build_plan,
    processes,
    scan,
    scan_workspace,
)
from migrate_tui.engine.report import build_report


@pytest.fixture()
def force_workers(monkeypatch: pytest.MonkeyPatch) -> None:
    """Two workers for any number of files of any size."""
    monkeypatch.setattr(processes, "MIN_ITEMS", 1)
    monkeypatch.setattr(processes, "MIN_TOTAL_BYTES", 0)
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
    report = build_report(plan, result, dry_run=False).to_json()
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


def test_little_work_stays_here(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(processes.JOBS_VARIABLE, "2")
    assert processes.jobs_for([1_000_000] * processes.MIN_ITEMS) == 2
    assert processes.jobs_for([1_000_000] * (processes.MIN_ITEMS - 1)) == 0  # few files
    assert processes.jobs_for([1_000] * 1_000) == 0  # 1 MB in all: starting workers would cost more
    assert processes.jobs_for([5_000] * 20_000) == 0  # small files: sending results back costs as much
    # ... unless the results are cheap to send back, as the scan's are (scan._compact)
    assert processes.jobs_for([5_000] * 20_000, scan.SCAN_MIN_AVERAGE_BYTES) == 2
    assert processes.jobs_for([5_000] * 20_000, 10 ** 9) == 0  # never above MIN_AVERAGE_BYTES


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


def all_results(task: Callable[[tuple[int, int]], int], n: int) -> list[int]:
    """Every result of ``task`` over n items, from two workers, the workers closed after."""
    work = processes.InOrder(task, [(os.getpid(), i) for i in range(n)], [1] * n, jobs=2)
    try:
        return list(work)
    finally:
        work.close()


def test_batches_give_every_result_in_order_as_iterating_does() -> None:
    import itertools

    for jobs, task, n in ((2, double, 3000), (2, die_in_worker, 12), (0, double, 40)):
        work = processes.InOrder(task, [(os.getpid(), i) for i in range(n)], [1] * n, jobs=jobs)
        try:
            assert next(work) == 0  # (one taken first: the rest of its batch comes whole)
            assert list(itertools.chain.from_iterable(work.batches())) == [i * 2 for i in range(1, n)]
            assert list(work) == []
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


# ---------------------------------------------------------------- workers never outlive the command


def children(pid: int) -> list[int]:
    """The processes whose parent is ``pid`` (from /proc)."""
    out = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                with open(f"/proc/{name}/stat", "rb") as f:
                    fields = f.read().rsplit(b")", 1)[1].split()
            except (OSError, IndexError):
                continue
            if int(fields[1]) == pid:
                out.append(int(name))
    return out


def cpu_ticks(pids: list[int]) -> int:
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat", "rb") as f:
                fields = f.read().rsplit(b")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
        except (OSError, IndexError, ValueError):
            pass
    return total


def alive(pid: int) -> bool:
    """Running, not a zombie waiting for its parent."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            return f.read().rsplit(b")", 1)[1].split()[0] != b"Z"
    except OSError:
        return False


def big_workspace(root: Path, files: int = 160, messages: int = 400) -> None:
    sessions = root / ".sessions"
    sessions.mkdir(parents=True)
    text = "word " * 200
    for n in range(files):
        doc = {"session_id": f"s{n:04d}", "messages": [{"role": "user", "content": f"{n} {i} {text}"}
                                                        for i in range(messages)],
               "metadata": {}, "updated_at": "2026-01-01T00:00:00"}
        (sessions / f"s{n:04d}.json").write_text(json.dumps(doc, indent=2))


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="/proc and PR_SET_PDEATHSIG are Linux's")
def test_workers_die_with_a_killed_command_and_free_its_pipe(tmp_path: Path) -> None:
    """``migrate … | cat`` must return when the command is killed, whatever kills it.  The
    workers are stopped (SIGSTOP) before the command is killed with SIGKILL: a stopped
    worker would hold the pipe for ever unless the kernel kills it with its parent."""
    big_workspace(tmp_path)
    env = {**os.environ, processes.JOBS_VARIABLE: "2"}
    command = [sys.executable, "-m", "migrate_tui", "migrate", str(tmp_path), "--dry-run", "--json"]
    proc = subprocess.Popen(command,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env)
    workers: list[int] = []
    try:
        deadline = time.monotonic() + 60
        while proc.poll() is None and time.monotonic() < deadline and (
                not workers or cpu_ticks(workers) < 10):  # at work: past their start
            workers = children(proc.pid)
            time.sleep(0.002)
        assert workers and proc.poll() is None, "the command ended before its workers were seen at work"
        for pid in workers:
            os.kill(pid, signal.SIGSTOP)
        proc.kill()
        proc.wait()
        os.set_blocking(proc.stdout.fileno(), False)
        deadline = time.monotonic() + 30  # generous: the kernel does it at once
        eof = False
        while time.monotonic() < deadline and not eof:
            try:
                eof = os.read(proc.stdout.fileno(), 65536) == b""
            except BlockingIOError:
                time.sleep(0.01)
        assert eof, "a worker still holds the command's stdout"
        while time.monotonic() < deadline and any(map(alive, workers)):
            time.sleep(0.01)
        assert not any(map(alive, workers))
    finally:
        for pid in workers:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        proc.stdout.close()

