"""The workers' batch sizes (scan._batch_sizes): each legacy file's size, at most what is
read of it, the usual size for a file not looked at one by one: what a look-up and a
min() a file gave."""

from __future__ import annotations

import random

from migrate_tui.engine import scan


def test_batch_sizes() -> None:
    rnd = random.Random(14)
    names = sorted(f"s{i:05d}.json" for i in range(3000))
    legacy = [(name, rnd.random() < 0.9) for name in names]
    for found in (0, 1, 5, 100, 1000, 3000, 5000):
        sizes = {rnd.choice(names) if rnd.random() < 0.5 else f"other{i}": rnd.randrange(1 << 24)
                 for i in range(found)}
        for usual, limit in ((5000, 1 << 20), (1 << 21, 1 << 20)):
            want = [min(sizes.get(name, usual), limit) for name, _ in legacy]
            assert scan._batch_sizes(legacy, sizes, min(usual, limit), limit) == want
    assert scan._batch_sizes([], {"a": 1}, 5, 10) == []
    assert scan._batch_sizes([("a.json", True)], {}, 5, 10) == [5]
