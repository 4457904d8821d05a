"""The last batches handed to the workers are smaller (processes.InOrder), so the workers end
together; every result still comes back, in order."""

from __future__ import annotations

import os

from migrate_tui.engine import processes
from tests.engine.test_processes import double


def test_the_last_batches_are_smaller_and_every_result_comes_back() -> None:
    n = 3000
    work = processes.InOrder(double, [(os.getpid(), i) for i in range(n)], [1] * n, jobs=2)
    try:
        counts = [len(batch) for _, batch, _ in work._pending]
        assert sum(counts) == n  # all handed out at once: far below the byte window
        assert counts[0] == n // (2 * processes.TAIL_SHARE)
        assert counts == sorted(counts, reverse=True) and counts[-1] <= processes.MIN_BATCH_ITEMS
        assert list(work) == [i * 2 for i in range(n)]
    finally:
        work.close()


def test_many_items_go_in_full_batches_until_the_end() -> None:
    n = 6 * processes.BATCH_ITEMS
    work = processes.InOrder(double, [(os.getpid(), i) for i in range(n)], [1] * n, jobs=2)
    try:
        counts = [len(batch) for _, batch, _ in work._pending]
        assert counts[:2] == [processes.BATCH_ITEMS] * 2 and counts[-1] < processes.BATCH_ITEMS
        assert list(work) == [i * 2 for i in range(n)]
    finally:
        work.close()
