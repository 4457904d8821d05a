"""Parsing and encoding spread over the machine's cores, results in order.

The scan and the transcripts phase spend most of their time in Python's JSON parser, one
file at a time.  ``InOrder`` runs such a per-file function in worker processes, as many as
there are cores (at most ``MAX_JOBS``), and hands back the results in the order of the
items, so the caller's loop (events, the cancel flag, the journal, writing) stays exactly
as it is, in this process.  The workers only compute: they read the source file and return
values; nothing is written outside this process.

Processes are started by a fork server (a fresh interpreter), never forked from this
process, which may run threads (the wizard, the fsync writers).  The work stays here, one
item at a time, when:

* there are few items (``MIN_ITEMS``) or small ones (``MIN_AVERAGE_BYTES``), or one core,
  or ``MIGRATE_TUI_JOBS=1``;
* a fault hook is installed (``fsio.fault_hook``): the hook must see every operation;
* the workers cannot be started or die (the remaining items are done here).

At most ``WINDOW_BYTES`` of source files are in flight beyond the one being waited for, so
memory stays bounded by a few files, as in one process.
"""

from __future__ import annotations

import collections
import concurrent.futures
import multiprocessing
import os
import signal
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures.process import BrokenProcessPool
from typing import Any, TypeVar

from migrate_tui.core import fsio

T = TypeVar("T")
R = TypeVar("R")

MIN_ITEMS = 32
# Handing a file to a worker and its result back costs about as much as parsing 50 KB here:
# 20,000 files of 5 KB took 12-14 s with two workers against 10 s without (make bench, B).
MIN_AVERAGE_BYTES = 64 * 1024
MAX_JOBS = 4
WINDOW_BYTES = 32 * 1024 * 1024
MAX_PENDING = 64
JOBS_VARIABLE = "MIGRATE_TUI_JOBS"
PRELOAD = ["migrate_tui.engine.scan", "migrate_tui.engine.transcript_encoding"]


def jobs_for(sizes: list[int]) -> int:
    """How many worker processes to use for items of these sizes (0: none, work here)."""
    if fsio.hooked() or len(sizes) < MIN_ITEMS or sum(sizes) < MIN_AVERAGE_BYTES * len(sizes):
        return 0
    wanted = os.environ.get(JOBS_VARIABLE, "").strip()
    if wanted:
        try:
            jobs = int(wanted)
        except ValueError:
            jobs = 1
    else:
        jobs = min(len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
                   else os.cpu_count() or 1, MAX_JOBS)
    return jobs if jobs > 1 else 0


def _worker_start(initializer: Callable[..., None] | None, initargs: tuple[Any, ...]) -> None:
    """In each worker: Ctrl-C is for this process, which stops at a safe point (the whole
    process group gets the signal; a worker must not die of it mid-file)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if initializer is not None:
        initializer(*initargs)


class InOrder(Iterator[R]):
    """``task(item)`` for each item, in order: in ``jobs`` worker processes, or here (lazily,
    as each result is asked for) when ``jobs`` is 0.

    With workers, the first items are handed out as soon as this is made, so they can be
    worked on while the caller still does something else (apply: the backup).  ``sizes``
    (bytes per item) bounds what is in flight.  ``task`` and ``initializer`` must be
    module-level functions; ``initializer(*initargs)`` runs once in each worker.  Here,
    ``local_task`` (default ``task``) does the work, with no initializer and no global
    state.  ``close()`` (also on a cancel) cancels what has not started and waits for what
    has."""

    def __init__(self, task: Callable[[T], R], items: Iterable[T], sizes: Iterable[int], *,
                 jobs: int, initializer: Callable[..., None] | None = None,
                 initargs: tuple[Any, ...] = (),
                 local_task: Callable[[T], R] | None = None) -> None:
        self._task = task
        self._local_task = local_task or task
        self._pairs = list(zip(items, sizes))
        self._done = 0  # results handed out
        self._next = 0  # items handed to the workers
        self._in_flight = 0
        self._pending: collections.deque[tuple[concurrent.futures.Future[R], int]] = collections.deque()
        self._pool: concurrent.futures.ProcessPoolExecutor | None = None
        if jobs > 0:
            try:
                context = multiprocessing.get_context("forkserver")
                context.set_forkserver_preload(PRELOAD)
                self._pool = concurrent.futures.ProcessPoolExecutor(
                    jobs, mp_context=context, initializer=_worker_start,
                    initargs=(initializer, initargs))
                self._fill()
            except (OSError, ValueError, ImportError, NotImplementedError, BrokenProcessPool):
                self._stop_workers()

    def _fill(self) -> None:
        """Keep the workers fed, within the byte window (one item always, however big)."""
        assert self._pool is not None
        pairs = self._pairs
        while self._next < len(pairs) and len(self._pending) < MAX_PENDING and (
                not self._pending or self._in_flight + pairs[self._next][1] <= WINDOW_BYTES):
            item, size = pairs[self._next]
            self._pending.append((self._pool.submit(self._task, item), size))
            self._in_flight += size
            self._next += 1

    def _take(self) -> concurrent.futures.Future[R]:
        """The oldest item in flight (the next result in order)."""
        future, size = self._pending.popleft()
        self._in_flight -= size
        return future

    def _stop_workers(self) -> None:
        """From here on the items left are worked on in this process."""
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None
        self._pending.clear()

    def __next__(self) -> R:
        if self._done >= len(self._pairs):
            raise StopIteration
        if self._pool is not None:
            try:
                result = self._take().result()
                self._fill()
                self._done += 1
                return result
            except BrokenProcessPool:
                self._stop_workers()  # a worker died: this item and the rest are done here
        result = self._local_task(self._pairs[self._done][0])
        self._done += 1
        return result

    def skip(self) -> None:
        """Pass the next item by: its result is not wanted (not computed, if not started)."""
        if self._done >= len(self._pairs):
            return
        if self._pool is not None and self._pending:
            self._take().cancel()
            self._fill()
        self._done += 1

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
        self._pending.clear()
