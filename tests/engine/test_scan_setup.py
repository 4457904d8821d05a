"""The scan's start before the files are read: the names sorted into legacy files and the
others in one pass, and the size each legacy file is counted at for the workers' batches
(the sample's average for a regular file not looked at, its own size for one looked at)."""

from __future__ import annotations

import os

import pytest

from migrate_tui.engine import processes
from migrate_tui.engine import scan as scan_module
from migrate_tui.engine.scan import scan_workspace


def test_zeros_are_the_positions_of_the_zero_bytes() -> None:
    assert list(scan_module._zeros(b"")) == []
    assert list(scan_module._zeros(b"\x01\x01")) == []
    assert list(scan_module._zeros(b"\x00\x01\x00\x00\x01\x00")) == [0, 2, 3, 5]


def _sizes_asked(ws, monkeypatch: pytest.MonkeyPatch, **kwargs) -> list[int]:
    asked: list[list[int]] = []
    real = processes.jobs_for

    def jobs_for(sizes, *args):
        asked.append(list(sizes))
        return real(sizes, *args)

    monkeypatch.setattr(processes, "jobs_for", jobs_for)
    scan_workspace(str(ws.root), workers=True, **kwargs)
    assert len(asked) == 1
    return asked[0]


@pytest.mark.parametrize("many", [False, True])
def test_each_legacy_file_is_counted_at_its_size_or_the_samples(
        ws, monkeypatch: pytest.MonkeyPatch, many: bool) -> None:
    count = scan_module.LOOK_AT_ALL_BELOW + 10 if many else 20
    for n in range(count):
        ws.add(f"s-{n:04d}", keys=(f"agent:main:k{n}",))
    ws.write_raw("zz-big.json", b"{" + b" " * 50_000 + b"}")  # not a session: any size counts
    ws.write_raw("s-0001.jsonl", b"{}\n")  # a transcript, not a legacy file
    os.symlink("s-0001.json", ws.sessions / "s-0005-link.json")  # looked at: its own lstat
    names = sorted(n for n in os.listdir(ws.sessions) if scan_module.is_legacy_name(n))
    sizes = _sizes_asked(ws, monkeypatch)
    assert len(sizes) == len(names)
    link = names.index("s-0005-link.json")
    assert sizes[link] == os.lstat(ws.sessions / "s-0005-link.json").st_size
    big = names.index("zz-big.json")
    if many:  # the others at the sample's average, the big one among them
        usual = {size for i, size in enumerate(sizes) if i != link}
        assert len(usual) == 1 and 0 < usual.pop() < 50_000
    else:  # each at its own size
        assert sizes == [os.lstat(ws.sessions / n).st_size for n in names]
        assert sizes[big] == 50_002
    capped = _sizes_asked(ws, monkeypatch, max_file_bytes=10)
    assert capped == [min(size, 10) for size in sizes]
