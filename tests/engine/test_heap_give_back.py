"""core/heap.give_back: the free pages of the C heap go back to the system (verify calls it
before its plan, once the scan's big blocks are freed)."""

from __future__ import annotations

import sys

import pytest

from migrate_tui.core import heap


def _rss_kib() -> int:
    with open("/proc/self/status", encoding="ascii") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's heap")
def test_freed_heap_blocks_are_given_back() -> None:
    # 64 MB in blocks below glibc's threshold for a mapping of their own (they come from the
    # heap), then one small block above them, so that freeing them leaves a hole
    blocks = [bytearray(64 * 1024) for _ in range(1024)]
    for block in blocks:
        block[::4096] = b"x" * len(block[::4096])  # touched: resident
    pin = bytearray(100)
    del blocks
    before = _rss_kib()
    assert heap.give_back() is True
    after = _rss_kib()
    assert before - after > 32 * 1024, (before, after)
    assert heap.give_back() is True  # again: nothing left to give, still fine
    del pin
