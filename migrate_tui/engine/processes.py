"""Parsing and encoding spread over the machine's cores, results in order.

The scan and the transcripts phase spend most of their time parsing, one file at a time.
``InOrder`` runs such a per-file function in worker processes, as many as there are cores
(at most ``MAX_JOBS``), and hands back the results in the order of the items, so the
caller's loop (events, the cancel flag, the journal, writing) stays exactly as it is, in
this process.  The workers only compute: they read the source file and return values;
nothing is written outside this process.  Files go to a worker in batches (up to
``BATCH_BYTES``), so that handing them over costs little; the last ones smaller (at most a
``TAIL_SHARE``-th of what is left for each worker), so that the workers end together and
this process has few results left to take when they do.

Workers are forked from this process when it runs no other thread (the command line), which
costs nothing at start; otherwise (the wizard, the fsync writers) they are started by a fork
server, a fresh interpreter, since forking a process that runs threads is unsafe.  The work
stays here, one item at a time, when:

* there is little of it (``MIN_ITEMS``, ``MIN_TOTAL_BYTES``), or the files are small
  (``MIN_AVERAGE_BYTES``: sending a result back costs as much as computing it; a caller
  whose results are cheap to send, as the scan's, asks for less), or one core, or
  ``MIGRATE_TUI_JOBS=1``;
* a fault hook is installed (``fsio.fault_hook``): the hook must see every operation;
* the workers cannot be started or die (the remaining items are done here).

A worker never outlives this process: on Linux it asks the kernel to kill it when its parent
ends, whatever ends it (a signal, SIGKILL, the OOM killer), and a fork server ends when this
process does.  ``close()`` waits for the workers, and at exit this process waits for the fork
server, so nothing is left holding the caller's pipes or running unaccounted.

At most ``WINDOW_BYTES`` of source files are in flight beyond the batch being waited for, so
memory stays bounded by a few files, as in one process.  The items themselves are taken from
the caller's iterator only as they are handed out (to a worker, or worked on here): a caller
may pass a generator, and never holds all its items at once (apply: one job per transcript,
0.45 KB a session).  A batch handed to a worker is kept until its results came, to be done
here if the worker dies.
"""

from __future__ import annotations

import array
import collections
import itertools
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeVar

from migrate_tui.core import fsio

T = TypeVar("T")
R = TypeVar("R")

MIN_ITEMS = 32
MIN_TOTAL_BYTES = 8 << 20
# A small file's result costs about as much to send back (pickled, about 14 us a session)
# as to compute: corpora B (20,000 files of 5 KB) and D (100,000 of 0.7 KB) took more CPU
# and more time with two workers than in one process (make bench, 2 cores).
MIN_AVERAGE_BYTES = 32 * 1024
MAX_JOBS = 4
BATCH_BYTES = 4 << 20
BATCH_ITEMS = 1024
TAIL_SHARE = 2
MIN_BATCH_ITEMS = 32
WINDOW_BYTES = 32 * 1024 * 1024
MAX_PENDING = 64
JOBS_VARIABLE = "MIGRATE_TUI_JOBS"
PRELOAD = ["migrate_tui.engine.scan", "migrate_tui.engine.transcript_encoding"]
PR_SET_PDEATHSIG = 1


def jobs_for(sizes: list[int], min_average_bytes: int | None = None) -> int:
    """How many worker processes to use for items of these sizes (0: none, work here).
    ``min_average_bytes``: the least average size worth sending out, for a caller whose
    results cost less to send back than ``MIN_AVERAGE_BYTES`` assumes (never more than it)."""
    total = sum(sizes)
    least = MIN_AVERAGE_BYTES if min_average_bytes is None else min(min_average_bytes, MIN_AVERAGE_BYTES)
    if (fsio.hooked() or len(sizes) < MIN_ITEMS or total < MIN_TOTAL_BYTES
            or total < least * len(sizes)):
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


def die_with_parent(parent: int | None = None) -> bool:
    """Ask Linux to SIGKILL this process when its parent ends (``PR_SET_PDEATHSIG``), then
    make sure the parent (``parent``, when known) had not already ended.  False where the
    kernel has no such call."""
    if not sys.platform.startswith("linux"):
        return False
    parent = parent or os.getppid()
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0) != 0:
            return False
    except (OSError, AttributeError):
        return False
    if os.getppid() != parent:  # the parent ended before the request was made
        os._exit(1)
    return True


def _worker_start(parent: int | None, initializer: Callable[..., None] | None,
                  initargs: tuple[Any, ...]) -> None:
    """In each worker: die with the parent (``parent``: its pid when forked from it); Ctrl-C
    is for this process, which stops at a safe point (the whole process group gets the
    signal; a worker must not die of it mid-file)."""
    die_with_parent(parent)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if initializer is not None:
        initializer(*initargs)


def _run_batch(task: Callable[[T], R], items: list[T]) -> list[R]:
    return [task(item) for item in items]


_server_lock = threading.Lock()
_server_used = False


def _context() -> Any:
    """Fork when this process runs no other thread; else a fork server (see the module's
    docstring), stopped and waited for when this process exits."""
    global _server_used
    import multiprocessing

    if threading.active_count() == 1 and "fork" in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("fork")
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(PRELOAD)
    with _server_lock:
        if not _server_used:
            import atexit

            atexit.register(_stop_fork_server)
            _server_used = True
    return context


def _stop_fork_server() -> None:
    """Close the fork server's "alive" pipe and wait for it to end."""
    try:
        from multiprocessing import forkserver

        # what the standard library's own tests use; private, so looked up, not assumed
        stop = getattr(forkserver._forkserver, "_stop", None)
        if stop is not None:
            stop()
    except (AttributeError, OSError, ChildProcessError):
        pass


class InOrder(Iterator[R]):
    """``task(item)`` for each item, in order: in ``jobs`` worker processes, or here (lazily,
    as each result is asked for) when ``jobs`` is 0.

    With workers, the first items are handed out as soon as this is made, so they can be
    worked on while the caller still does something else (apply: the backup).  ``items`` is
    read only as far as items are handed out; ``sizes`` (bytes per item, one per item, read
    at once: it says how many items there are) bounds what is in flight and makes the
    batches; ``items`` yielding fewer raises ``ValueError``.  ``task`` and
    ``initializer`` must be module-level functions; ``initializer(*initargs)`` runs once in
    each worker.  Here, ``local_task`` (default ``task``) does the work, with no initializer
    and no global state.  ``close()`` (also on a cancel) cancels what has not started and
    waits for what has, and for the workers to end."""

    def __init__(self, task: Callable[[T], R], items: Iterable[T], sizes: Iterable[int], *,
                 jobs: int, initializer: Callable[..., None] | None = None,
                 initargs: tuple[Any, ...] = (),
                 local_task: Callable[[T], R] | None = None) -> None:
        self._task = task
        self._local_task = local_task or task
        self._items = iter(items)  # those not taken yet, in order
        self._sizes = array.array("q", sizes)  # 8 bytes an item, not a Python int's 36
        self._here: collections.deque[Any] = collections.deque()  # taken back from dead workers
        self._done = 0  # results handed out
        self._next = 0  # items handed to the workers
        self._in_flight = 0
        # future, its items (kept to be done here if a worker dies), bytes
        self._pending: collections.deque[tuple[Any, list[Any], int]] = collections.deque()
        self._ready: collections.deque[R] = collections.deque()  # results of the batch at hand
        self._pool: Any = None
        self._jobs = jobs
        if jobs > 0:
            from concurrent.futures.process import BrokenProcessPool, ProcessPoolExecutor

            self._broken = BrokenProcessPool
            try:
                context = _context()
                parent = os.getpid() if context.get_start_method() == "fork" else None
                if parent is not None:
                    # a forked worker keeps its own copy of every page the parent later
                    # writes: the free pages of the heap are given back first, not copied
                    # (verify at 100,000 sessions: the tree's peak 195 -> 186 MB)
                    from migrate_tui.core import heap

                    heap.give_back()
                self._pool = ProcessPoolExecutor(jobs, mp_context=context, initializer=_worker_start,
                                                 initargs=(parent, initializer, initargs))
                self._fill()
            except (OSError, ValueError, ImportError, NotImplementedError, BrokenProcessPool):
                self._stop_workers()

    def _fill(self) -> None:
        """Keep the workers fed, within the byte window (one batch always, however big)."""
        assert self._pool is not None
        sizes = self._sizes
        while self._next < len(sizes) and len(self._pending) < MAX_PENDING and (
                not self._pending or self._in_flight + sizes[self._next] <= WINDOW_BYTES):
            first, size = self._next, 0
            # near the end, smaller batches: a worker with nothing left to take waits for
            # the others only as long as a small batch takes
            most = min(BATCH_ITEMS, max(MIN_BATCH_ITEMS, (len(sizes) - first) // (self._jobs * TAIL_SHARE)))
            while self._next < len(sizes) and self._next - first < most and (
                    self._next == first or size + sizes[self._next] <= BATCH_BYTES):
                size += sizes[self._next]
                self._next += 1
            batch = list(itertools.islice(self._items, self._next - first))  # (in C)
            if len(batch) < self._next - first:
                raise ValueError(f"fewer items than the {len(self._sizes)} sizes given")
            try:
                future = self._pool.submit(_run_batch, self._task, batch)
            except BaseException:
                self._pending.append((None, batch, size))  # taken: done here (_stop_workers)
                raise
            self._pending.append((future, batch, size))
            self._in_flight += size

    def _taken(self) -> Any:
        """The next item from the caller's iterator."""
        for item in self._items:
            return item
        raise ValueError(f"fewer items than the {len(self._sizes)} sizes given")

    def _item_here(self) -> Any:
        """The next item to work on here: one a dead worker left, else a new one."""
        return self._here.popleft() if self._here else self._taken()

    def _take(self) -> Any:
        """The oldest batch in flight (the next results in order), let go once its results
        came: its future."""
        future, _batch, size = self._pending.popleft()
        self._in_flight -= size
        return future

    def _stop_workers(self) -> None:
        """From here on the items left are worked on in this process: first those handed to
        the workers and not done, in order, then the ones not taken yet."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
        for _future, batch, _size in self._pending:
            self._here.extend(batch)
        self._pending.clear()
        self._in_flight = 0

    def __next__(self) -> R:
        if self._done >= len(self._sizes):
            raise StopIteration
        if not self._ready and self._pool is not None:
            try:
                results = self._pending[0][0].result()  # the batch stays until it came
                self._take()
                self._ready.extend(results)
                self._fill()
            except self._broken:
                self._stop_workers()  # a worker died: this batch and the rest are done here
        if self._ready:
            self._done += 1
            return self._ready.popleft()
        result = self._local_task(self._item_here())
        self._done += 1
        return result

    def batches(self) -> Iterator[collections.deque[R] | tuple[R]]:
        """The results in order, a batch at a time, as iterating this gives them one at a
        time (``itertools.chain.from_iterable`` makes them one at a time again, in C): a
        caller that takes every result pays no method call a result (corpus B: 20,000
        calls, 12 M instructions of the process that gathers them)."""
        while self._done < len(self._sizes):
            if not self._ready:
                yield (next(self),)  # the next batch taken (or an item worked on here)
            ready = self._ready
            if ready:
                self._ready = collections.deque()
                self._done += len(ready)
                yield ready

    def skip(self) -> None:
        """Pass the next item by: its result is not wanted (not computed, if its batch has
        not started and holds nothing else)."""
        if self._done >= len(self._sizes):
            return
        if self._ready:
            self._ready.popleft()
        elif self._pool is not None and self._pending:
            future, batch, _size = self._pending[0]
            passed = False
            try:
                if len(batch) == 1:
                    self._take()
                    future.cancel()
                else:
                    results = future.result()  # the batch stays until it came
                    self._take()
                    self._ready.extend(results[1:])
                passed = True
                self._fill()
            except self._broken:
                self._stop_workers()  # a worker died: the rest of this batch is done here
                if not passed:
                    self._here.popleft()
        else:
            self._item_here()  # passed by, not worked on
        self._done += 1

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
        self._pending.clear()
        self._here.clear()
        self._ready.clear()
