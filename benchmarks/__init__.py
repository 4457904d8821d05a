"""Benchmarks of the migration (``make bench`` → ``python -m benchmarks.run``).

``corpus``  seeded legacy workspaces, generated once into ``benchmarks/corpora/``
``naive``   the naive baseline (standalone, no engine import) and the ``cp -r`` floor
``run``     the side-by-side measurements, the table, ``benchmarks/results/latest.json``
"""
