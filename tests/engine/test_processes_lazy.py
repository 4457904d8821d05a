"""processes.InOrder takes its items from the caller's iterator only as it hands them out
(to a worker, or worked on here), so apply never holds a job for every transcript at once;
a worker that dies still leaves every result, once, in order (the batches it had are
kept until their results came, and done here)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from migrate_tui.demo import generate_workspace
from migrate_tui.engine import apply, processes
from tests.engine.test_processes import double, migrate, tree


class Counted:
    """An iterator of (pid of this process, n) for n in range(total), which records how
    many items were taken from it."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.taken = 0

    def __iter__(self) -> Iterator[tuple[int, int]]:
        for n in range(self.total):
            self.taken += 1
            yield os.getpid(), n


DIES_AT = 70


def die_at(item: tuple[int, int]) -> int:
    """Doubles; the worker given item ``DIES_AT`` dies on it (never this process)."""
    parent, value = item
    if value == DIES_AT and os.getpid() != parent:
        os._exit(3)
    return value * 2


def test_here_an_item_is_taken_only_when_its_result_is_asked_for() -> None:
    items = Counted(10)
    work = processes.InOrder(double, items, [1] * 10, jobs=0)
    assert items.taken == 0
    assert next(work) == 0 and items.taken == 1
    work.skip()
    assert items.taken == 2  # passed by: taken, not worked on
    assert next(work) == 4 and items.taken == 3
    assert list(work) == [n * 2 for n in range(3, 10)] and items.taken == 10
    work.close()


def test_workers_take_only_what_the_window_holds() -> None:
    n = 40
    items = Counted(n)
    # each item a quarter of the window: one item a batch, a few batches in flight
    work = processes.InOrder(double, items, [processes.WINDOW_BYTES // 4] * n, jobs=2)
    try:
        assert 1 <= items.taken <= 5
        assert next(work) == 0
        assert items.taken <= 6  # the next batch handed out as the first result came
        assert list(work) == [i * 2 for i in range(1, n)] and items.taken == n
    finally:
        work.close()


@pytest.mark.parametrize("size", [1, processes.WINDOW_BYTES // 4])
def test_a_worker_dying_mid_run_leaves_every_result_once_in_order(size: int) -> None:
    """Batches of many items (size 1) and of one (the window's quarter): the batch the
    worker died on, and those handed out after it, are done here; none taken twice."""
    n = 200
    items = Counted(n)
    work = processes.InOrder(die_at, items, [size] * n, jobs=2)
    try:
        got = []
        for i in range(n):
            if i % 7 == 3:
                work.skip()
            else:
                got.append(next(work))
        with pytest.raises(StopIteration):
            next(work)
        assert work._pool is None  # the worker died: the rest was done here
        assert got == [i * 2 for i in range(n) if i % 7 != 3]
        assert items.taken == n
    finally:
        work.close()


def test_skipping_the_first_item_of_the_batch_a_worker_died_on() -> None:
    """The skip is what finds the worker dead: the rest of that batch is done here."""
    n = 200
    work = processes.InOrder(die_at, Counted(n), [1] * n, jobs=2)
    try:
        first, second = (len(batch) for _, batch, _ in list(work._pending)[:2])
        assert first <= DIES_AT < first + second  # the worker dies in the second batch
        got = [next(work) for _ in range(first)]
        work.skip()
        got += list(work)
        assert got == [i * 2 for i in range(n) if i != first]
    finally:
        work.close()


def test_workers_found_broken_when_handing_out_more() -> None:
    """The pool reported broken as the next batch is handed out (after a skip took its
    item): that batch's items, taken already, and those in flight are done here."""
    from concurrent.futures.process import BrokenProcessPool

    n = 40
    items = Counted(n)
    work = processes.InOrder(double, items, [processes.WINDOW_BYTES // 4] * n, jobs=2)
    try:
        def broken(*args: object, **kwargs: object) -> object:
            raise BrokenProcessPool("a worker died")

        work._pool.submit = broken
        work.skip()
        assert work._pool is None
        assert list(work) == [i * 2 for i in range(1, n)] and items.taken == n
    finally:
        work.close()


def test_fewer_items_than_sizes_is_an_error_not_an_early_end() -> None:
    work = processes.InOrder(double, Counted(3), [1] * 4, jobs=0)
    assert [next(work) for _ in range(3)] == [0, 2, 4]
    with pytest.raises(ValueError):
        next(work)


def test_apply_makes_no_job_before_the_transcripts_are_written_here(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """With no worker, the encoding's jobs are made one at a time as the transcripts are
    written: none while the backup is written; what is written is the same as ever."""
    pristine, ws = tmp_path / "pristine", tmp_path / "ws"
    generate_workspace(pristine, sessions=40, damaged=True, seed=5)
    shutil.copytree(pristine, ws, symlinks=True)
    _, report_before = migrate(ws, workers=False)
    files_before = tree(ws)
    shutil.rmtree(ws)
    shutil.copytree(pristine, ws, symlinks=True)

    made: list[int] = []
    at_backup: list[int] = []
    real_job, real_backup = apply.Run._job, apply.Run.backup_phase

    def counted_job(self: apply.Run, ps: object) -> object:
        made.append(1)
        return real_job(self, ps)  # type: ignore[arg-type]

    def watched_backup(self: apply.Run) -> None:
        at_backup.append(len(made))
        real_backup(self)

    monkeypatch.setattr(apply.Run, "_job", counted_job)
    monkeypatch.setattr(apply.Run, "backup_phase", watched_backup)
    _, report = migrate(ws, workers=False)
    assert at_backup == [0]
    assert len(made) > 30  # one a transcript written
    assert report == report_before and tree(ws) == files_before
