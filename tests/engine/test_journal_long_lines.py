"""``journal.file_lines``: the lines of a file read a chunk at a time are the file's lines,
whatever the chunk size, long lines included (read again in one piece once their end is
found, never held as pieces beside their join), a last line without its newline said to
be cut short, unwanted long lines passed over."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest

from migrate_tui.core import fsio
from migrate_tui.engine import journal


def _lines(seed: int) -> list[bytes]:
    rng = random.Random(seed)
    out = []
    for n in range(40):
        size = rng.choice([0, 1, 5, 63, 64, 65, 200, 1000])
        out.append((b"L%d:" % n + b"x" * size)[:max(size, 1)] if size else b"")
    return out


@pytest.mark.parametrize("chunk", [1, 2, 7, 64, 65, 100, 4096])
@pytest.mark.parametrize("tail", [b"", b"cut short, no newline"])
def test_the_lines_read_are_the_files(tmp_path: Path, chunk: int, tail: bytes) -> None:
    lines = _lines(chunk)
    path = tmp_path / "j"
    path.write_bytes(b"\n".join(lines) + b"\n" + tail)
    torn: list[bool] = []
    got = list(journal.file_lines(str(path), path.stat().st_size, torn, None, chunk))
    assert got == [(n + 1, line) for n, line in enumerate(lines)]
    assert bool(torn) == bool(tail)


@pytest.mark.parametrize("chunk", [3, 64, 100])
def test_long_lines_not_wanted_are_passed_over(tmp_path: Path, chunk: int) -> None:
    lines = [b"keep " + b"k" * 300, b"drop " + b"d" * 300, b"short", b"drop", b"keep " + b"z" * 70]
    path = tmp_path / "j"
    path.write_bytes(b"\n".join(lines) + b"\n")
    got = list(journal.file_lines(str(path), path.stat().st_size, None,
                                  lambda head: head.startswith(b"keep"), chunk))
    # a line longer than what is left of its chunk and not wanted is never given; any other is
    assert (1, lines[0]) in got and (5, lines[4]) in got
    assert all(line != lines[1] for _, line in got)
    assert [n for n, _ in got] == sorted(n for n, _ in got)


def test_a_long_line_is_read_in_one_piece(tmp_path: Path, monkeypatch: Any) -> None:
    """Its bytes are read once more, whole, where it ends (one read of its length), so
    that it is never held as pieces and their join at once."""
    long = b"{" + b"a" * 10_000 + b"}"
    path = tmp_path / "j"
    path.write_bytes(b"short\n" + long + b"\nend\n")
    reads: list[tuple[int, int]] = []
    real = fsio.read_range

    def spy(p: str, start: int, length: int) -> bytes:
        reads.append((start, length))
        return real(p, start, length)

    monkeypatch.setattr(fsio, "read_range", spy)
    got = list(journal.file_lines(str(path), path.stat().st_size, None, None, 1024))
    assert got == [(1, b"short"), (2, long), (3, b"end")]
    assert (6, len(long)) in reads


def test_a_file_shorter_than_it_was_ends_the_lines(tmp_path: Path) -> None:
    """Read for more bytes than the file holds now: what is missing is a tail cut short."""
    path = tmp_path / "j"
    path.write_bytes(b"one\n" + b"b" * 500 + b"\n")
    torn: list[bool] = []
    got = list(journal.file_lines(str(path), path.stat().st_size + 100, torn, None, 64))
    assert got == [(1, b"one"), (2, b"b" * 500)] and torn == []
    path.write_bytes(b"one\n" + b"b" * 500)
    got = list(journal.file_lines(str(path), path.stat().st_size, torn, None, 64))
    assert got == [(1, b"one")] and torn == [True]
